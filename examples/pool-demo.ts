/**
 * `npm run pool-demo`: the ConnectionPool used directly, in a few seconds —
 *
 * 1. a per-host limit: 20 callers share maxConnections 4, the rest wait in a FIFO queue
 *    (`pending`), with live per-host statistics while the load runs;
 * 2. an acquire timeout: `TimeoutError` (phase `acquire`) when nothing frees up in time;
 * 3. idle eviction: idle sockets close after `idleTimeoutMs` (`closed` rises);
 * 4. maximum lifetime: a socket older than `maxConnectionLifetimeMs` is closed when
 *    released, and the next caller gets a new one (`created` rises).
 *
 * `tsx examples/pool-demo.ts` runs it against its own embedded server.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { ConnectionPool, type HostStats, isSentinelError } from '../src/index.js';
import { withExampleServer } from './example-server.js';

const CALLERS = 20;
const MAX_CONNECTIONS = 4;
const WORK_MS = 100;

function row(label: string, h: HostStats | undefined): string {
  if (h === undefined) return `  ${label.padEnd(12)} (no traffic yet)`;
  const c = h.connections;
  const r = h.requests;
  return (
    `  ${label.padEnd(12)} active ${c.active}  idle ${c.idle}  pending ${String(c.pending).padStart(2)}` +
    `  created ${c.created}  closed ${c.closed}  requests ${String(r.total).padStart(2)}` +
    ` (in flight ${r.inFlight})  p50 ${h.latency.p50.toFixed(0)} ms`
  );
}

/** One caller: take a connection (waiting if need be), send a request, give it back. */
async function call(pool: ConnectionPool, origin: string, path: string): Promise<number> {
  const conn = await pool.acquire(origin);
  try {
    const res = await conn.request('GET', path);
    return res.status;
  } finally {
    pool.release(conn);
  }
}

/** Runs the demo against `baseUrl`, or against an embedded server when none is given. */
export async function main(options: { baseUrl?: string } = {}): Promise<void> {
  await withExampleServer(options.baseUrl, async (origin) => {
    const key = new URL(origin).host;

    console.log(
      `1. ${CALLERS} callers, maxConnections ${MAX_CONNECTIONS}, each request takes ${WORK_MS} ms`,
    );
    await using pool = new ConnectionPool({
      maxConnections: MAX_CONNECTIONS,
      connectionTimeoutMs: 2_000,
      idleTimeoutMs: 300,
    });
    const host = (): HostStats | undefined => pool.stats().hosts[key];
    const started = performance.now();
    const since = (): string =>
      `t=${String(Math.round(performance.now() - started)).padStart(4)} ms`;
    const load = Promise.all(
      Array.from({ length: CALLERS }, () => call(pool, origin, `/work?ms=${WORK_MS}`)),
    );
    let done = false;
    void load.finally(() => {
      done = true;
    });
    console.log(row(since(), host()));
    while (!done) {
      await Promise.race([sleep(WORK_MS + 20), load]);
      console.log(row(since(), host()));
    }
    const statuses = await load;
    console.log(
      `  ${statuses.filter((s) => s === 200).length}/${CALLERS} answered 200; never more than ${MAX_CONNECTIONS} sockets`,
    );

    console.log('\n2. Acquire timeout: all 4 connections held, a fifth caller waits 150 ms');
    const held = await Promise.all(
      Array.from({ length: MAX_CONNECTIONS }, () => pool.acquire(origin)),
    );
    const t0 = performance.now();
    try {
      const extra = await pool.acquire(origin, { timeoutMs: 150 });
      pool.release(extra);
      console.log('  got a connection?');
    } catch (err) {
      if (!isSentinelError(err)) throw err;
      const phase = 'phase' in err ? String(err.phase) : '-';
      console.log(
        `  ${err.name} (${err.code}, phase ${phase}) after ${Math.round(performance.now() - t0)} ms`,
      );
    } finally {
      for (const conn of held) pool.release(conn);
    }
    console.log(row('released', host()));

    console.log('\n3. Idle eviction: idleTimeoutMs 300; 4 requests, then nothing to do');
    await Promise.all(Array.from({ length: MAX_CONNECTIONS }, () => call(pool, origin, '/hello')));
    const idleSince = performance.now();
    const idleFor = (): string => `+${Math.round(performance.now() - idleSince)} ms`;
    console.log(row(idleFor(), host()));
    // The sweep runs every idleTimeoutMs / 2; sockets idle past the timeout are closed.
    while ((host()?.connections.idle ?? 0) > 0 && performance.now() - idleSince < 3_000) {
      await sleep(150);
      console.log(row(idleFor(), host()));
    }

    console.log(
      '\n4. Max lifetime: maxConnectionLifetimeMs 250, one caller, a request every 100 ms',
    );
    await using young = new ConnectionPool({ maxConnectionLifetimeMs: 250 });
    for (let i = 1; i <= 10; i++) {
      await call(young, origin, '/hello');
      if (i % 3 === 1) console.log(row(`request ${i}`, young.stats().hosts[key]));
      await sleep(100);
    }
    const c = young.stats().hosts[key]?.connections;
    console.log(
      `  10 requests on ${c?.created} sockets, one at a time: each retired at 250 ms old`,
    );
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
