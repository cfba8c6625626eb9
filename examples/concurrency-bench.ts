/**
 * Requests per second for the two concurrency patterns of CONCURRENCY.md: one client
 * shared by async calls on the main thread, and one client per worker thread with 1 and
 * 2 workers — each with and without CPU work around every response. The server runs in
 * its own child process, so it does not share the measured thread's event loop.
 *
 *   npx tsx examples/concurrency-bench.ts [--duration 1200] [--rounds 3] [--quick]
 *
 * Prints a Markdown table: the best of the rounds (and their range), and the CPU the
 * client process (all its threads) and the server process used in that round, in % of
 * one core. The
 * same total number of calls is in flight in every configuration: only the number of
 * threads sending them changes.
 */
import { type ChildProcess, fork } from 'node:child_process';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { HttpClient } from '../src/index.js';
import { cpuWork, runWorkers, timedLoad } from './load.js';

export interface BenchOptions {
  /** Measured ms per configuration and round, after `warmupMs`. @default 1200 */
  durationMs?: number;
  /** @default 400 */
  warmupMs?: number;
  /** Rounds over all configurations, in alternating order; the table shows the best. @default 3 */
  rounds?: number;
  /** Calls in flight in total, split evenly between the threads. @default 32 */
  inFlight?: number;
  /** SHA-256 digests of 16 KiB per response in the CPU workload. @default 32 */
  cpuUnits?: number;
}

/** One measured run. */
export interface Sample {
  rps: number;
  /** CPU time of this process (every thread) and of the server, in % of one core. */
  clientCpu: number;
  serverCpu: number;
}

export interface BenchRow {
  pattern: string;
  threads: number;
  io: Sample[];
  cpu: Sample[];
}

const PATTERNS = [
  { pattern: '1 client shared by async calls, main thread', threads: 0 },
  { pattern: '1 client per worker, 1 worker', threads: 1 },
  { pattern: '1 client per worker, 2 workers', threads: 2 },
] as const;

interface BenchServer {
  url: string;
  /** CPU time (user + system) the server has used so far, in µs. */
  cpuMicros(): Promise<number>;
  stop(): Promise<void>;
}

const micros = (u: NodeJS.CpuUsage): number => u.user + u.system;

/** Starts `example-server.ts` in a child process. */
async function startServerProcess(): Promise<BenchServer> {
  const child: ChildProcess = fork(new URL('./example-server.ts', import.meta.url), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m: { url: string }) => resolve(m.url));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`server process exited with ${code}`)));
  });
  return {
    url,
    cpuMicros: () =>
      new Promise((resolve) => {
        child.once('message', (m: { cpu: NodeJS.CpuUsage }) => resolve(micros(m.cpu)));
        child.send('cpu');
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}

interface Load {
  inFlight: number;
  warmupMs: number;
  durationMs: number;
  cpuUnits: number;
}

/** The window a run is measured over: from its start to its last report. */
interface Window {
  onStart(): void;
  onDone(): void;
}

/** Requests per second of `threads` workers (0: the main thread) under `load`. */
async function requestsPerSecond(
  baseUrl: string,
  threads: number,
  load: Load,
  window?: Window,
): Promise<number> {
  const task = {
    path: '/hello',
    warmupMs: load.warmupMs,
    durationMs: load.durationMs,
    cpuUnits: load.cpuUnits,
  };
  if (threads === 0) {
    const client = new HttpClient({ baseUrl, pool: { maxConnections: load.inFlight } });
    try {
      window?.onStart();
      const r = await timedLoad(client, { ...task, concurrency: load.inFlight });
      window?.onDone();
      if (r.failed > 0) throw new Error(`${r.failed} calls failed`);
      return r.requestsPerSecond;
    } finally {
      await client.close();
    }
  }
  const each = Math.floor(load.inFlight / threads);
  const reports = await runWorkers(
    Array.from({ length: threads }, () => ({
      kind: 'timed' as const,
      baseUrl,
      maxConnections: each,
      concurrency: each,
      ...task,
    })),
    window,
  );
  let rps = 0;
  for (const report of reports) {
    const timed = report.timed;
    if (timed === undefined || timed.failed > 0) throw new Error('a worker had failed calls');
    rps += timed.requestsPerSecond;
  }
  return rps;
}

/** One run, with the CPU both processes used while it ran (worker start-up excluded). */
async function measure(server: BenchServer, threads: number, load: Load): Promise<Sample> {
  let client0 = process.cpuUsage();
  let clientUsed = 0;
  let server0: Promise<number> = Promise.resolve(0);
  let server1: Promise<number> = Promise.resolve(0);
  let t0 = 0;
  let wallMicros = 0;
  const rps = await requestsPerSecond(server.url, threads, load, {
    onStart() {
      server0 = server.cpuMicros();
      client0 = process.cpuUsage();
      t0 = performance.now();
    },
    onDone() {
      wallMicros = (performance.now() - t0) * 1000;
      clientUsed = micros(process.cpuUsage(client0));
      server1 = server.cpuMicros();
    },
  });
  const serverUsed = (await server1) - (await server0);
  return {
    rps,
    clientCpu: (clientUsed / wallMicros) * 100,
    serverCpu: (serverUsed / wallMicros) * 100,
  };
}

/**
 * The round with the highest rate. Other work on the machine can only slow a run down,
 * so the best round is the one least disturbed; the range shows how much it varied.
 */
const best = (samples: Sample[]): Sample =>
  samples.reduce((a, b) => (b.rps > a.rps ? b : a), samples[0]!);

/** Milliseconds one `cpuWork(units)` takes on this thread. */
function calibrate(units: number): number {
  cpuWork(units * 50);
  const n = 200;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) cpuWork(units);
  return (performance.now() - t0) / n;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const load1 = (): string => os.loadavg()[0]!.toFixed(2);

/** Runs the benchmark and prints the table; resolves to every sample. */
export async function main(options: BenchOptions = {}): Promise<BenchRow[]> {
  const durationMs = options.durationMs ?? 1_200;
  const warmupMs = options.warmupMs ?? 400;
  const rounds = options.rounds ?? 3;
  const inFlight = options.inFlight ?? 32;
  const cpuUnits = options.cpuUnits ?? 32;
  const cpuMs = calibrate(cpuUnits);
  const cpus = os.cpus();
  console.log(
    `${new Date().toISOString()}, node ${process.version}, ${cpus.length} CPU(s) (${cpus[0]?.model.trim()}), ` +
      `load average ${load1()} at start`,
  );
  console.log(
    `server in a child process; ${inFlight} calls in flight in all; ` +
      `${durationMs} ms measured after ${warmupMs} ms warm-up, ${rounds} round(s); ` +
      `CPU workload: ${cpuUnits} x SHA-256 of 16 KiB = ${cpuMs.toFixed(2)} ms per response`,
  );
  const server = await startServerProcess();
  const rows: BenchRow[] = PATTERNS.map((p) => ({ ...p, io: [], cpu: [] }));
  try {
    // Unmeasured: the main thread's code and the server warm up, as each worker does
    // before it reports ready (see concurrent-worker.ts).
    await requestsPerSecond(server.url, 0, {
      inFlight,
      warmupMs: 0,
      durationMs: warmupMs,
      cpuUnits: 0,
    });
    cpuWork(cpuUnits * 50);
    for (let round = 0; round < rounds; round++) {
      // Alternate the order, so drift (other processes, thermal) favours no row.
      const order = round % 2 === 0 ? rows : [...rows].reverse();
      for (const row of order) {
        for (const workload of ['io', 'cpu'] as const) {
          const sample = await measure(server, row.threads, {
            inFlight,
            warmupMs,
            durationMs,
            cpuUnits: workload === 'io' ? 0 : cpuUnits,
          });
          row[workload].push(sample);
        }
      }
    }
  } finally {
    await server.stop();
  }

  const cell = (samples: Sample[], base: Sample[]): string[] => {
    const rps = samples.map((s) => s.rps);
    const range = rps.length > 1 ? ` (${fmt(Math.min(...rps))}–${fmt(Math.max(...rps))})` : '';
    const top = best(samples);
    return [
      `${fmt(top.rps)}${range}`,
      `${(top.rps / best(base).rps).toFixed(2)}x`,
      `${fmt(top.clientCpu)} % / ${fmt(top.serverCpu)} %`,
    ];
  };
  const base = rows[0]!;
  console.log(`load average ${load1()} at the end\n`);
  console.log(
    '| pattern | threads sending | req/s, I/O only | vs shared | CPU client / server | ' +
      `req/s, + ${cpuMs.toFixed(2)} ms CPU per response | vs shared | CPU client / server |`,
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) {
    const cells = [
      row.pattern,
      String(Math.max(1, row.threads)),
      ...cell(row.io, base.io),
      ...cell(row.cpu, base.cpu),
    ];
    console.log(`| ${cells.join(' | ')} |`);
  }
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' },
      rounds: { type: 'string' },
      quick: { type: 'boolean' },
    },
  });
  const quick = values.quick === true;
  main({
    durationMs: values.duration !== undefined ? Number(values.duration) : quick ? 400 : undefined,
    rounds: values.rounds !== undefined ? Number(values.rounds) : quick ? 1 : undefined,
    warmupMs: quick ? 200 : undefined,
  }).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
