/**
 * Runs a throw-away `nats-server` with JetStream for examples and tests: its
 * own temp store directory, loopback only, ports chosen by the server itself.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Options of {@link startNatsServer}; all optional. */
export interface StartNatsServerOptions {
  /** Path of the binary. @default the `NATS_SERVER_BIN` variable, else `nats-server` on PATH or in /usr/sbin */
  binary?: string;
  /** How long to wait for the server to answer `/healthz`. @default 10000 */
  startTimeoutMs?: number;
}

/** A running server; see {@link startNatsServer}. */
export interface NatsServerHandle {
  /** Client URL, e.g. `nats://127.0.0.1:41234`. */
  readonly url: string;
  /** Monitoring base URL (`/healthz`, `/jsz`, `/varz`), e.g. `http://127.0.0.1:41235`. */
  readonly monitorUrl: string;
  readonly port: number;
  readonly monitorPort: number;
  /** Process id of the server. */
  readonly pid: number;
  /** The temp directory holding the JetStream store; removed by `stop()`. */
  readonly dataDir: string;
  /** Kills the server and removes its store directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** The ports file `nats-server --ports_file_dir` writes once it listens. */
interface PortsFile {
  nats?: string[];
  monitoring?: string[];
}

const SEARCH_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/usr/bin'];
const LOG_TAIL_CHARS = 4_000;
const POLL_MS = 25;

/**
 * Starts `nats-server -js` on 127.0.0.1 with a fresh store directory.
 *
 * Ports are `-1` (picked by the server) and read back from the ports file,
 * which avoids the race of probing for a free port and handing it over.
 *
 * @throws Error naming `apt-get install -y nats-server` when the binary is missing,
 *   or with the server's log when it exits or is not healthy in time.
 * @example
 * ```ts
 * const nats = await startNatsServer();
 * try { console.log(nats.url); } finally { await nats.stop(); }
 * ```
 */
export async function startNatsServer(
  options: StartNatsServerOptions = {},
): Promise<NatsServerHandle> {
  const binary = await findBinary(options.binary ?? process.env.NATS_SERVER_BIN);
  const dir = await mkdtemp(join(tmpdir(), 'http-sentinel-nats-'));
  const child = spawn(
    binary,
    [
      '-js',
      '-sd',
      join(dir, 'store'),
      '-a',
      '127.0.0.1',
      '-p',
      '-1',
      '-m',
      '-1',
      '--ports_file_dir',
      dir,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    log = (log + chunk).slice(-LOG_TAIL_CHARS);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A spawn failure is reported as 'error' (and 'exit' may never follow).
  const spawnFailed = new Promise<Error>((resolve) => child.once('error', resolve));
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await kill(child, exited);
      await rm(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
    const why = () => `nats-server did not become healthy; its log:\n${log}`;
    const ports = await Promise.race([
      waitForPorts(dir, child, deadline, why),
      spawnFailed.then((error) => Promise.reject(error)),
    ]);
    const url = ports.nats?.[0];
    const monitorUrl = ports.monitoring?.[0];
    if (url === undefined || monitorUrl === undefined) throw new Error(why());
    await waitForHealth(monitorUrl, child, deadline, why);
    return {
      url,
      monitorUrl,
      port: Number(new URL(url).port),
      monitorPort: Number(new URL(monitorUrl).port),
      pid: child.pid as number,
      dataDir: dir,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Where {@link findNatsServer} looks: `explicit` alone, else PATH and the sbin directories. */
function candidatesFor(explicit: string | undefined): string[] {
  return explicit !== undefined
    ? [explicit]
    : [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SEARCH_DIRS].map((d) =>
        join(d, 'nats-server'),
      );
}

/**
 * The path of an executable `nats-server`, or undefined when there is none.
 * @param explicit a path to check instead of searching. @default the `NATS_SERVER_BIN` variable
 */
export async function findNatsServer(
  explicit: string | undefined = process.env.NATS_SERVER_BIN,
): Promise<string | undefined> {
  for (const candidate of candidatesFor(explicit)) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next place
    }
  }
  return undefined;
}

async function findBinary(explicit: string | undefined): Promise<string> {
  const found = await findNatsServer(explicit);
  if (found !== undefined) return found;
  const candidates = candidatesFor(explicit);
  throw new Error(
    `nats-server not found (looked for ${candidates.join(', ')}). ` +
      'Install it with: apt-get install -y nats-server (or set NATS_SERVER_BIN)',
  );
}

async function waitForPorts(
  dir: string,
  child: ChildProcess,
  deadline: number,
  why: () => string,
): Promise<PortsFile> {
  for (;;) {
    const name = (await readdir(dir)).find((file) => file.endsWith('.ports'));
    if (name !== undefined) {
      try {
        return JSON.parse(await readFile(join(dir, name), 'utf8')) as PortsFile;
      } catch {
        // caught mid-write; read it again on the next turn
      }
    }
    await pause(child, deadline, why);
  }
}

async function waitForHealth(
  monitorUrl: string,
  child: ChildProcess,
  deadline: number,
  why: () => string,
): Promise<void> {
  while (!(await healthy(`${monitorUrl}/healthz`))) await pause(child, deadline, why);
}

async function pause(child: ChildProcess, deadline: number, why: () => string): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
    throw new Error(why());
  }
  await sleep(POLL_MS);
}

// A fresh connection per probe (no agent) so that no keep-alive socket outlives startup.
function healthy(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get(url, { agent: false, timeout: 1_000 }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode === 200));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
  });
}

async function kill(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
