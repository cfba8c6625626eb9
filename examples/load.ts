/**
 * Load helpers shared by `concurrent.ts`, `concurrency-bench.ts` and the worker they
 * start: a burst of calls under `Promise.all`, a timed closed loop, a unit of CPU work,
 * and starting a TypeScript worker thread.
 */
import { createHash } from 'node:crypto';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { HttpClient } from '../src/index.js';
import type { WorkerMessage, WorkerTask } from './concurrent-worker.js';

/** What {@link burst} saw, from the client's pool and from the server's answers. */
export interface BurstReport {
  requests: number;
  ok: number;
  elapsedMs: number;
  /** Sockets the pool opened (its `created` counter). */
  socketsOpened: number;
  /** Distinct sockets the server says it served these requests on (`x-connection`). */
  serverSockets: string[];
  /** The most requests the server was handling at once, as it reported (`x-in-flight`). */
  serverMaxInFlight: number;
  /** Highest `active` and `pending` seen in the pool's totals while the burst ran. */
  peakActive: number;
  peakPending: number;
}

/**
 * Fires `requests` GETs of `path` at once through one client and waits for all of them,
 * sampling the pool's totals every millisecond meanwhile.
 */
export async function burst(
  client: HttpClient,
  path: string,
  requests: number,
): Promise<BurstReport> {
  let peakActive = 0;
  let peakPending = 0;
  const sample = (): void => {
    const { active, pending } = client.pool.stats().totals;
    peakActive = Math.max(peakActive, active);
    peakPending = Math.max(peakPending, pending);
  };
  const sampler = setInterval(sample, 1);
  const createdBefore = openedBy(client);
  const started = performance.now();
  try {
    const calls = Array.from({ length: requests }, () => client.get(path));
    // The first sample once every call has reached the pool (after a macrotask).
    await new Promise((resolve) => setImmediate(resolve));
    sample();
    const responses = await Promise.all(calls);
    const elapsedMs = performance.now() - started;
    return {
      requests,
      ok: responses.filter((r) => r.ok).length,
      elapsedMs,
      socketsOpened: openedBy(client) - createdBefore,
      serverSockets: [...new Set(responses.map((r) => r.headers.get('x-connection') ?? '?'))],
      serverMaxInFlight: Math.max(...responses.map((r) => Number(r.headers.get('x-in-flight')))),
      peakActive,
      peakPending,
    };
  } finally {
    clearInterval(sampler);
  }
}

function openedBy(client: HttpClient): number {
  let created = 0;
  for (const host of Object.values(client.pool.stats().hosts)) created += host.connections.created;
  return created;
}

/** Options of {@link timedLoad}. */
export interface TimedLoadOptions {
  path: string;
  /** Calls in flight at once: each is a loop that sends the next call when one ends. */
  concurrency: number;
  /** Completions during the first `warmupMs` are not counted. */
  warmupMs: number;
  durationMs: number;
  /** Units of {@link cpuWork} done after each response (0: none). */
  cpuUnits: number;
}

/** What {@link timedLoad} measured. */
export interface TimedLoadReport {
  completed: number;
  failed: number;
  requestsPerSecond: number;
}

/** A closed loop: `concurrency` callers sending GETs back to back, counted after warm-up. */
export async function timedLoad(
  client: HttpClient,
  options: TimedLoadOptions,
): Promise<TimedLoadReport> {
  const start = performance.now();
  const countFrom = start + options.warmupMs;
  const end = countFrom + options.durationMs;
  let completed = 0;
  let failed = 0;
  const loop = async (): Promise<void> => {
    while (performance.now() < end) {
      try {
        const res = await client.get(options.path);
        if (!res.ok) throw new Error(`status ${res.status}`);
        if (options.cpuUnits > 0) cpuWork(options.cpuUnits);
        const now = performance.now();
        if (now >= countFrom && now < end) completed++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  return { completed, failed, requestsPerSecond: completed / (options.durationMs / 1000) };
}

const BLOCK = Buffer.alloc(16 * 1024, 7);

/**
 * Synchronous CPU work standing in for what a service does around a response (parsing,
 * transforming, signing): `units` SHA-256 digests of 16 KiB.
 */
export function cpuWork(units: number): string {
  let digest = '';
  for (let i = 0; i < units; i++) digest = createHash('sha256').update(BLOCK).digest('hex');
  return digest;
}

/**
 * Starts a worker thread running a TypeScript module. On Node 20, `execArgv: ['--import',
 * 'tsx']` does not reach a worker's entry module (ERR_UNKNOWN_FILE_EXTENSION), so a `.ts`
 * entry is loaded through a small bootstrap that registers tsx's loader in the worker
 * first. A `.js` entry (compiled) is started as is.
 */
export function startWorker(entry: URL, options: WorkerOptions = {}): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, options);
  const bootstrap =
    "import('tsx/esm/api').then(({ register }) => { register(); " +
    `return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/**
 * Runs one `concurrent-worker.ts` per task: starts them all, waits until each has made
 * its client, starts them together (start-up is not part of what they measure; `hooks`
 * mark the start and the last report), and returns their reports in task order once
 * every worker has exited.
 */
export async function runWorkers(
  tasks: readonly WorkerTask[],
  hooks: { onStart?(): void; onDone?(): void } = {},
): Promise<Extract<WorkerMessage, { type: 'done' }>[]> {
  const workers = tasks.map((task) =>
    startWorker(new URL('./concurrent-worker.ts', import.meta.url), { workerData: task }),
  );
  const exited = workers.map(
    (worker) =>
      new Promise<void>((resolve, reject) => {
        worker.once('error', reject);
        worker.once('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`worker exited with code ${code}`)),
        );
      }),
  );
  const next = (worker: Worker, type: WorkerMessage['type']): Promise<WorkerMessage> =>
    new Promise((resolve) => {
      const onMessage = (message: WorkerMessage): void => {
        if (message.type !== type) return;
        worker.off('message', onMessage);
        resolve(message);
      };
      worker.on('message', onMessage);
    });
  try {
    // Settles only if a worker fails (or they all end without a word): never a hang.
    const failed = Promise.all(exited).then((): never => {
      throw new Error('the workers exited without reporting');
    });
    await Promise.race([Promise.all(workers.map((w) => next(w, 'ready'))), failed]);
    const done = workers.map((w) => next(w, 'done'));
    hooks.onStart?.();
    for (const worker of workers) worker.postMessage('start');
    const reports = await Promise.race([Promise.all(done), failed]);
    hooks.onDone?.();
    await Promise.all(exited);
    return reports as Extract<WorkerMessage, { type: 'done' }>[];
  } catch (err) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw err;
  }
}
