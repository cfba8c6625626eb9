/**
 * The two concurrency patterns (see CONCURRENCY.md):
 *
 * 1. One client shared by every concurrent call in a thread: 200 calls under
 *    `Promise.all` go through one pool, which opens at most `maxConnections` sockets,
 *    reuses them, and queues the rest in FIFO order.
 * 2. One client per `worker_thread`: a client belongs to the thread that made it (it
 *    cannot even be copied to another one), so each worker makes its own.
 *
 * `tsx examples/concurrent.ts` runs it against its own embedded server.
 */

import { pathToFileURL } from 'node:url';
import { HttpClient } from '../src/index.js';
import { withExampleServer } from './example-server.js';
import { type BurstReport, burst, runWorkers } from './load.js';

const SHARED_CALLS = 200;
const SHARED_MAX_CONNECTIONS = 8;
const WORKERS = 2;
const WORKER_CALLS = 100;
const WORKER_MAX_CONNECTIONS = 4;

function summary(r: BurstReport, limit: number): string[] {
  return [
    `${r.ok}/${r.requests} OK in ${Math.round(r.elapsedMs)} ms`,
    `pool opened ${r.socketsOpened} socket(s) (limit ${limit}), reused for ${r.requests - r.socketsOpened} of ${r.requests} calls`,
    `pool while it ran: peak active ${r.peakActive}, peak pending ${r.peakPending} (queued FIFO)`,
  ];
}

/** Runs the example against `baseUrl`, or against an embedded server when none is given. */
export async function main(options: { baseUrl?: string } = {}): Promise<void> {
  await withExampleServer(options.baseUrl, async (baseUrl) => {
    console.log(
      `One client shared by ${SHARED_CALLS} concurrent calls (Promise.all), maxConnections ${SHARED_MAX_CONNECTIONS}`,
    );
    {
      await using client = new HttpClient({
        baseUrl,
        pool: { maxConnections: SHARED_MAX_CONNECTIONS },
      });
      const r = await burst(client, '/work?ms=5', SHARED_CALLS);
      for (const line of summary(r, SHARED_MAX_CONNECTIONS)) console.log(`  ${line}`);
      console.log(
        `  server: ${r.serverSockets.length} distinct socket(s), at most ${r.serverMaxInFlight} requests in progress at once`,
      );
      const stats = client.stats();
      console.log(
        `  stats cover every call: ${stats.pool.totals.requests} requests, ${stats.retry.retries} retries, ` +
          `breaker ${Object.values(stats.hosts)[0]?.breaker?.state ?? 'n/a'}`,
      );

      // Why not hand this client to a worker? It cannot be copied to another thread.
      try {
        structuredClone(client);
        console.log('  structuredClone(client) succeeded?');
      } catch (err) {
        const e = err as Error;
        console.log(`  structuredClone(client) -> ${e.name}: ${e.message}`);
      }
    }

    console.log(
      `\nOne client per worker_thread (${WORKERS} workers x ${WORKER_CALLS} calls, maxConnections ${WORKER_MAX_CONNECTIONS} each)`,
    );
    const reports = await runWorkers(
      Array.from({ length: WORKERS }, () => ({
        kind: 'burst' as const,
        baseUrl,
        path: '/work?ms=5',
        requests: WORKER_CALLS,
        maxConnections: WORKER_MAX_CONNECTIONS,
      })),
    );
    const sockets = new Set<string>();
    for (const [i, report] of reports.entries()) {
      const r = report.burst!;
      for (const s of r.serverSockets) sockets.add(s);
      console.log(`  worker ${i + 1} (thread ${report.threadId}), its own client:`);
      for (const line of summary(r, WORKER_MAX_CONNECTIONS)) console.log(`    ${line}`);
    }
    console.log(
      `  server: ${sockets.size} distinct socket(s) for ${WORKERS} workers: pools are per thread, limits too`,
    );
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
