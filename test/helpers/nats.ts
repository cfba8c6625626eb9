/**
 * Whether the NATS example's tests can run here. They need a `nats-server` binary: on a
 * developer's machine without one they are skipped with a line that says how to install
 * it; in CI (the `CI` variable set) they always run, so a missing binary fails them.
 */
import { findNatsServer } from '../../examples/nats/nats-server.js';

/** What the skip line says. */
export const NATS_SKIP_REASON =
  'nats-server is not installed: apt-get install -y nats-server (or set NATS_SERVER_BIN); CI runs these tests';

/**
 * The `skip` option for a suite that needs `nats-server`: false to run it, else the reason.
 * `env` is the environment to decide by (`CI`, `NATS_SERVER_BIN`).
 */
export async function natsSkip(env: NodeJS.ProcessEnv = process.env): Promise<string | false> {
  if (isCI(env)) return false;
  return (await findNatsServer(env.NATS_SERVER_BIN)) === undefined ? NATS_SKIP_REASON : false;
}

/** `CI` as CI services set it: any value but empty, `0` or `false`. */
function isCI(env: NodeJS.ProcessEnv): boolean {
  const value = env.CI?.trim().toLowerCase();
  return value !== undefined && value !== '' && value !== '0' && value !== 'false';
}
