/**
 * A worker thread with its own HttpClient, for `concurrent.ts` and `concurrency-bench.ts`.
 * It makes its client, says `ready`, waits for `start`, runs its task, reports, closes
 * the client and ends. Only plain data crosses the thread boundary: never the client.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { HttpClient } from '../src/index.js';
import {
  type BurstReport,
  burst,
  cpuWork,
  type TimedLoadOptions,
  type TimedLoadReport,
  timedLoad,
} from './load.js';

/** What the parent passes as `workerData`. */
export type WorkerTask =
  | { kind: 'burst'; baseUrl: string; path: string; requests: number; maxConnections: number }
  | ({ kind: 'timed'; baseUrl: string; maxConnections: number } & TimedLoadOptions);

/** Messages from the worker to its parent. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'done'; threadId: number; burst?: BurstReport; timed?: TimedLoadReport };

const port = parentPort;
if (port === null) throw new Error('concurrent-worker.ts runs in a worker thread');
const task = workerData as WorkerTask;

// The client lives and dies in this thread: its sockets, timers and breakers belong to
// this thread's event loop.
const client = new HttpClient({
  baseUrl: task.baseUrl,
  pool: { maxConnections: task.maxConnections },
});
if (task.kind === 'timed') {
  // A fresh isolate starts with cold code; the parent's thread has run for a while. Warm
  // up here, before `ready`, so the measured run compares like with like.
  await timedLoad(client, { ...task, cpuUnits: 0, warmupMs: 0, durationMs: task.warmupMs });
  cpuWork(task.cpuUnits * 50);
}
port.postMessage({ type: 'ready' } satisfies WorkerMessage);
port.once('message', async () => {
  try {
    const message: WorkerMessage =
      task.kind === 'burst'
        ? { type: 'done', threadId, burst: await burst(client, task.path, task.requests) }
        : { type: 'done', threadId, timed: await timedLoad(client, task) };
    port.postMessage(message);
  } finally {
    await client.close();
  }
});
