/**
 * One client under test, in its own process. `run.ts` forks it once per measurement;
 * it can also be run by hand (and profiled):
 *
 *   node --import tsx bench/client-runner.ts --adapter sentinel-get \
 *     --url http://127.0.0.1:8080/bytes/64 --concurrency 64 --duration 5
 *
 * Modes:
 * - `throughput`: `--concurrency` workers loop over `adapter.request()`; after
 *   `--warmup` s, requests completed in the next `--duration` s are counted, with a
 *   latency histogram and the process's CPU time.
 * - `stream`: a few warm-up downloads, then one `--bytes` download through
 *   `adapter.stream()`, sampling RSS.
 * - `memory`: `--requests` requests at `--concurrency`; heap after forced GC at
 *   `--checkpoint` requests and at ten points after (needs `--expose-gc`).
 * - `idle`: `--per-host` connections to each of `--ports` on 127.0.0.1, left idle;
 *   memory per connection (needs `--expose-gc`).
 *
 * With an IPC channel the result is sent to the parent; otherwise printed as JSON.
 */
import { createHistogram, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { ADAPTERS, type Adapter, targetOf } from './adapters.js';
import type {
  IdleResult,
  MemoryCheckpoint,
  MemoryResult,
  RunnerMessage,
  RunnerResult,
  StreamResult,
  ThroughputResult,
} from './protocol.js';
import { loadSentinel } from './sentinel.js';

const MiB = 1024 * 1024;

// ---- copy accounting (--count-copies) ----

/** Bytes copied while counting: into undici's parser memory, and everything else. */
const copied = { parser: 0, client: 0 };
let countingCopies = false;
let copyCountersInstalled = false;

/**
 * Wraps the userland ways of copying bytes. Node's own internals (Buffer.concat's
 * inner loop, stream internals) use captured primordials and are not seen twice.
 * A copy into undici's llhttp WebAssembly memory (every received chunk, in every
 * undici-based client) is told apart by the stack of the first copy into each target.
 */
function installCopyCounters(): void {
  copyCountersInstalled = true;
  const parserTargets = new WeakSet<ArrayBufferLike>();
  const otherTargets = new WeakSet<ArrayBufferLike>();
  const add = (target: ArrayBufferLike | undefined, n: number): void => {
    if (!countingCopies || n === 0) return;
    if (target !== undefined && !parserTargets.has(target) && !otherTargets.has(target)) {
      if ((new Error().stack ?? '').includes('client-h1')) parserTargets.add(target);
      else otherTargets.add(target);
    }
    if (target !== undefined && parserTargets.has(target)) copied.parser += n;
    else copied.client += n;
  };
  const set = Uint8Array.prototype.set;
  Uint8Array.prototype.set = function (this: Uint8Array, source: ArrayLike<number>, offset) {
    add(this.buffer, source.length);
    return set.call(this, source, offset);
  };
  const concat = Buffer.concat;
  Buffer.concat = (list: readonly Uint8Array[], totalLength?: number) => {
    const out = concat(list, totalLength);
    add(undefined, out.length);
    return out;
  };
  const copy = Buffer.prototype.copy;
  Buffer.prototype.copy = function (this: Buffer, ...args: Parameters<Buffer['copy']>) {
    const n = copy.apply(this, args);
    add(args[0].buffer, n);
    return n;
  };
  const abSlice = ArrayBuffer.prototype.slice;
  ArrayBuffer.prototype.slice = function (this: ArrayBuffer, start?: number, end?: number) {
    const out = abSlice.call(this, start, end);
    add(undefined, out.byteLength);
    return out;
  };
}

// ---- modes ----

async function throughput(
  name: string,
  adapter: Adapter,
  concurrency: number,
  warmupMs: number,
  durationMs: number,
): Promise<ThroughputResult> {
  const histogram = createHistogram({ lowest: 1, highest: 600_000_000, figures: 3 });
  let stop = false;
  let counting = false;
  let requests = 0;
  let bytes = 0;
  let errors = 0;
  let firstError: string | undefined;
  const worker = async (w: number): Promise<void> => {
    while (!stop) {
      const start = performance.now();
      try {
        const n = await adapter.request(w);
        if (counting) {
          requests++;
          bytes += n;
          histogram.record(Math.max(1, Math.round((performance.now() - start) * 1000)));
        }
      } catch (err) {
        if (counting) errors++;
        firstError ??= err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        if (errors > 1000) stop = true;
        await sleep(1);
      }
    }
  };
  const workers = Array.from({ length: concurrency }, (_, w) => worker(w));
  await sleep(warmupMs);
  copied.parser = 0;
  copied.client = 0;
  countingCopies = true;
  const cpu0 = process.cpuUsage();
  const faults0 = process.resourceUsage().minorPageFault;
  const t0 = performance.now();
  const windowStart = Number(process.hrtime.bigint() / 1000n);
  counting = true;
  await sleep(durationMs);
  counting = false;
  const windowEnd = Number(process.hrtime.bigint() / 1000n);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const faults = process.resourceUsage().minorPageFault - faults0;
  countingCopies = false;
  stop = true;
  await Promise.all(workers);
  return {
    mode: 'throughput',
    adapter: name,
    concurrency,
    requests,
    errors,
    firstError,
    seconds,
    rps: requests / seconds,
    bytesPerSecond: bytes / seconds,
    p50: histogram.count > 0 ? histogram.percentile(50) : 0,
    p90: histogram.count > 0 ? histogram.percentile(90) : 0,
    p99: histogram.count > 0 ? histogram.percentile(99) : 0,
    cpuPerRequest: requests > 0 ? (cpu.user + cpu.system) / requests : 0,
    cpuSystemPerRequest: requests > 0 ? cpu.system / requests : 0,
    faultsPerRequest: requests > 0 ? faults / requests : 0,
    window: [windowStart, windowEnd],
    copies:
      copyCountersInstalled && bytes > 0
        ? { parser: copied.parser / bytes, client: copied.client / bytes }
        : undefined,
  };
}

async function streamOnce(
  name: string,
  adapter: Adapter,
  url: string,
  bytes: number,
): Promise<StreamResult> {
  if (adapter.stream === undefined) throw new Error(`${name} cannot stream`);
  const warmUrl = url.replace(/\/stream\/\d+$/, `/stream/${16 * MiB}`);
  for (let i = 0; i < 4; i++) await adapter.stream(warmUrl);
  gc();
  const rssBefore = process.memoryUsage.rss();
  let rssPeak = rssBefore;
  const sampler = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > rssPeak) rssPeak = rss;
  }, 10);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const n = await adapter.stream(url);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  if (n !== bytes) throw new Error(`read ${n} bytes, expected ${bytes}`);
  return {
    mode: 'stream',
    adapter: name,
    bytes: n,
    seconds,
    throughput: n / MiB / seconds,
    cpuPerGiB: (cpu.user + cpu.system) / 1000 / (n / (1024 * MiB)),
    rssGrowth: rssPeak - rssBefore,
    rssBefore,
  };
}

/** Runs `count` requests with `concurrency` workers; returns the errors. */
async function batch(adapter: Adapter, concurrency: number, count: number): Promise<number> {
  let issued = 0;
  let errors = 0;
  const worker = async (w: number): Promise<void> => {
    while (issued < count) {
      issued++;
      try {
        await adapter.request(w);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, (_, w) => worker(w)));
  return errors;
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error('run with --expose-gc');
  collect();
  collect();
}

async function settle(): Promise<void> {
  await sleep(20);
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
}

async function memory(
  name: string,
  adapter: Adapter,
  concurrency: number,
  total: number,
  first: number,
): Promise<MemoryResult> {
  const checkpoints: MemoryCheckpoint[] = [];
  const marks = [Math.min(first, total)];
  for (let i = 1; i <= 10; i++) {
    const at = Math.round(first + ((total - first) * i) / 10);
    if (at > marks[marks.length - 1]!) marks.push(at);
  }
  let done = 0;
  let errors = 0;
  const t0 = performance.now();
  for (const mark of marks) {
    errors += await batch(adapter, concurrency, mark - done);
    done = mark;
    await settle();
    const m = process.memoryUsage();
    checkpoints.push({ requests: done, heapUsed: m.heapUsed, rss: m.rss, external: m.external });
  }
  return {
    mode: 'memory',
    adapter: name,
    concurrency,
    requests: done,
    errors,
    seconds: (performance.now() - t0) / 1000,
    checkpoints,
    heapGrowth: checkpoints[checkpoints.length - 1]!.heapUsed - checkpoints[0]!.heapUsed,
  };
}

interface IdleClient {
  open(port: number, perHost: number): Promise<void>;
  idle(): number | undefined;
  close(): Promise<void>;
}

async function idleClient(name: string): Promise<IdleClient> {
  if (name === 'sentinel-get') {
    const { HttpClient } = await loadSentinel();
    const client = new HttpClient();
    return {
      async open(port, perHost) {
        const url = `http://127.0.0.1:${port}/bytes/64`;
        await Promise.all(Array.from({ length: perHost }, () => client.get(url)));
      },
      idle: () => client.stats().pool.totals.idle,
      close: () => client.close(),
    };
  }
  if (name === 'undici-request') {
    const { Agent, request } = await import('undici');
    let connections = 1;
    let agent: InstanceType<typeof Agent> | undefined;
    return {
      async open(port, perHost) {
        if (agent === undefined) {
          connections = perHost;
          agent = new Agent({
            connections,
            pipelining: 1,
            keepAliveTimeout: 600_000,
            keepAliveMaxTimeout: 600_000,
          });
        }
        const dispatcher = agent;
        const url = `http://127.0.0.1:${port}/bytes/64`;
        await Promise.all(
          Array.from({ length: perHost }, async () => {
            const res = await request(url, { dispatcher });
            await res.body.arrayBuffer();
          }),
        );
      },
      idle: () => undefined,
      close: async () => agent?.close(),
    };
  }
  if (name === 'raw-socket') {
    const net = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    return {
      async open(port, perHost) {
        await Promise.all(
          Array.from(
            { length: perHost },
            () =>
              new Promise<void>((resolve, reject) => {
                const socket = net.connect({ host: '127.0.0.1', port }, () => resolve());
                socket.on('error', reject);
                sockets.push(socket);
              }),
          ),
        );
      },
      idle: () => sockets.length,
      close: async () => {
        for (const s of sockets) s.destroy();
      },
    };
  }
  throw new Error(`idle mode supports sentinel-get, undici-request and raw-socket, not ${name}`);
}

async function idle(
  name: string,
  ports: number[],
  perHost: number,
): Promise<{ result: IdleResult; close(): Promise<void> }> {
  const client = await idleClient(name);
  // Warm the code paths on the first host, so per-connection figures carry no JIT code.
  await client.open(ports[0]!, perHost);
  await settle();
  const before = process.memoryUsage();
  const t0 = performance.now();
  const batchSize = 20;
  for (let i = 1; i < ports.length; i += batchSize) {
    await Promise.all(ports.slice(i, i + batchSize).map((port) => client.open(port, perHost)));
  }
  const seconds = (performance.now() - t0) / 1000;
  await settle();
  const after = process.memoryUsage();
  const n = (ports.length - 1) * perHost;
  return {
    result: {
      mode: 'idle',
      adapter: name,
      hosts: ports.length,
      perHost,
      idleReported: client.idle(),
      seconds,
      heapPerConnection: (after.heapUsed - before.heapUsed) / n,
      externalPerConnection: (after.external - before.external) / n,
      rssPerConnection: (after.rss - before.rss) / n,
    },
    close: () => client.close(),
  };
}

// ---- main ----

function send(message: RunnerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined) {
      if (message.type === 'result') console.log(JSON.stringify(message.result, null, 2));
      else console.error(message.error);
      resolve();
    } else {
      process.send(message, undefined, undefined, () => resolve());
    }
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      adapter: { type: 'string' },
      url: { type: 'string' },
      mode: { type: 'string', default: 'throughput' },
      concurrency: { type: 'string', default: '64' },
      warmup: { type: 'string', default: '1' },
      duration: { type: 'string', default: '3' },
      bytes: { type: 'string' },
      requests: { type: 'string', default: '100000' },
      checkpoint: { type: 'string', default: '10000' },
      ports: { type: 'string' },
      'per-host': { type: 'string', default: '10' },
      'count-copies': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const name = values.adapter ?? '';
  const spec = ADAPTERS[name];
  if (spec === undefined) {
    throw new Error(`--adapter must be one of ${Object.keys(ADAPTERS).join(', ')}`);
  }
  if (process.send !== undefined) process.on('disconnect', () => process.exit(0));
  const concurrency = Number(values.concurrency);

  if (values.mode === 'idle') {
    const ports = (values.ports ?? '').split(',').filter(Boolean).map(Number);
    if (ports.length < 2) throw new Error('--ports needs at least two ports');
    const { result, close } = await idle(name, ports, Number(values['per-host']));
    await send({ type: 'result', result });
    if (process.send !== undefined) {
      // Hold the connections until the parent has counted them at the server.
      await new Promise<void>((resolve) => process.once('message', () => resolve()));
    }
    await close();
    return;
  }

  if (values.url === undefined) throw new Error('--url is required');
  if (values['count-copies']) installCopyCounters();
  const adapter = await spec.create(targetOf(values.url), concurrency);
  let result: RunnerResult;
  try {
    if (values.mode === 'throughput') {
      result = await throughput(
        name,
        adapter,
        concurrency,
        Number(values.warmup) * 1000,
        Number(values.duration) * 1000,
      );
    } else if (values.mode === 'stream') {
      const bytes = Number(values.bytes ?? /\/stream\/(\d+)/.exec(values.url)?.[1]);
      result = await streamOnce(name, adapter, values.url, bytes);
    } else if (values.mode === 'memory') {
      result = await memory(
        name,
        adapter,
        concurrency,
        Number(values.requests),
        Number(values.checkpoint),
      );
    } else {
      throw new Error(`unknown --mode ${values.mode}`);
    }
  } finally {
    await adapter.close();
  }
  await send({ type: 'result', result });
}

try {
  await main();
  process.exit(0);
} catch (err) {
  await send({
    type: 'error',
    error: err instanceof Error ? (err.stack ?? err.message) : String(err),
  });
  process.exit(1);
}
