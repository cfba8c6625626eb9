/**
 * Where the time goes: runs adapters under `node --cpu-prof` against the bench server
 * and prints self time per request, by area (our src/, undici, Node, GC) and by
 * function, counting only the samples inside the measured window.
 *
 *   node --import tsx bench/profile.ts                       # sentinel-get vs undici-dispatch
 *   node --import tsx bench/profile.ts --adapters sentinel-get,sentinel-conn,undici-dispatch \
 *     --concurrency 64 --size 64 --duration 5 --top 25 [--no-inlining]
 *
 * The last adapter is the reference: for each other one, the functions that cost more
 * per request than in the reference are listed, largest first.
 * `--source tsx` profiles src/ through the tsx loader instead of the tsc build.
 * `--no-inlining` runs V8 without TurboFan inlining, so small functions show up under
 * their own name instead of their caller's (the absolute costs then rise somewhat).
 * Profiles are kept in `.bench-results/profiles/`.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ADAPTERS } from './adapters.js';
import { killChildrenOnExit, progress, runChild, ServerProcess } from './processes.js';
import type { ThroughputResult } from './protocol.js';
import { BUILD_ENV, buildSentinel } from './sentinel.js';
import { fmt, table } from './stats.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = fileURLToPath(new URL('../.bench-results/profiles/', import.meta.url));

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame; children?: number[] }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

type Area = 'src' | 'bench' | 'undici' | 'node' | 'gc' | 'program' | 'idle' | 'other';

function areaOf(frame: CallFrame): Area {
  const { url, functionName } = frame;
  if (functionName === '(garbage collector)') return 'gc';
  if (functionName === '(program)') return 'program';
  if (functionName === '(idle)') return 'idle';
  if (url.includes('/node_modules/undici/')) return 'undici';
  if (url.includes('/src/') && !url.includes('/node_modules/')) return 'src';
  if (url.includes('/bench/')) return 'bench';
  if (url.startsWith('node:') || url === '') return 'node';
  return 'other';
}

function where(frame: CallFrame): string {
  const url = frame.url
    .replace(`file://${ROOT}`, '')
    .replace(/^file:\/\/.*\/http-sentinel-bench-\d+\//, '')
    .replace(/^.*node_modules\//, '');
  // Lines of files compiled by the tsx loader do not map back to the source: omit them.
  // Those of the tsc build are lines of the emitted .js.
  if (url === '' || frame.url.startsWith(`file://${ROOT}`)) return url;
  return `${url}:${frame.lineNumber + 1}`;
}

function keyOf(frame: CallFrame): string {
  return `${frame.functionName || '(anonymous)'} ${where(frame)}`.trimEnd();
}

interface Profiled {
  adapter: string;
  result: ThroughputResult;
  /** µs of samples in the window, per area and per function. */
  byArea: Map<Area, number>;
  byFunction: Map<string, { frame: CallFrame; area: Area; us: number }>;
  /** µs of samples with the function anywhere on the stack (counted once per sample). */
  inclusive: Map<string, { area: Area; us: number }>;
  sampledUs: number;
}

function analyse(adapter: string, result: ThroughputResult, file: string): Profiled {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const inclusive = new Map<string, { area: Area; us: number }>();
  const byArea = new Map<Area, number>();
  const byFunction = new Map<string, { frame: CallFrame; area: Area; us: number }>();
  const [from, to] = result.window;
  let t = profile.startTime;
  let sampledUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]!;
    if (t < from || t > to) continue;
    const us = profile.timeDeltas[i + 1] ?? 0;
    const frame = frames.get(profile.samples[i]!)!;
    const area = areaOf(frame);
    sampledUs += us;
    byArea.set(area, (byArea.get(area) ?? 0) + us);
    const key = keyOf(frame);
    const entry = byFunction.get(key) ?? { frame, area, us: 0 };
    entry.us += us;
    byFunction.set(key, entry);
    const seen = new Set<string>();
    for (let id: number | undefined = profile.samples[i]!; id !== undefined; id = parent.get(id)) {
      const f = frames.get(id)!;
      const k = keyOf(f);
      if (seen.has(k)) continue;
      seen.add(k);
      const inc = inclusive.get(k) ?? { area: areaOf(f), us: 0 };
      inc.us += us;
      inclusive.set(k, inc);
    }
  }
  if (sampledUs === 0) throw new Error(`no samples of ${adapter} fell in the measured window`);
  return { adapter, result, byArea, byFunction, inclusive, sampledUs };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      adapters: { type: 'string', default: 'sentinel-get,undici-dispatch' },
      concurrency: { type: 'string', default: '64' },
      size: { type: 'string', default: '64' },
      warmup: { type: 'string', default: '1.5' },
      duration: { type: 'string', default: '5' },
      interval: { type: 'string', default: '200' },
      top: { type: 'string', default: '20' },
      'no-inlining': { type: 'boolean', default: false },
      source: { type: 'string', default: 'build' },
    },
    strict: true,
  });
  killChildrenOnExit();
  if (values.source === 'build') {
    const build = buildSentinel();
    process.on('exit', build.cleanup);
    process.env[BUILD_ENV] = build.dir;
  } else if (values.source !== 'tsx') {
    throw new Error('--source must be build or tsx');
  }
  const adapters = values.adapters.split(',').filter(Boolean);
  for (const a of adapters) if (ADAPTERS[a] === undefined) throw new Error(`unknown adapter ${a}`);
  const top = Number(values.top);
  const server = await ServerProcess.start();
  const url = `http://127.0.0.1:${server.port}/bytes/${values.size}`;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const runs: Profiled[] = [];
  for (const adapter of adapters) {
    const dir = `${DIR}${adapter}-c${values.concurrency}-${values.size}-${stamp}/`;
    progress(`profiling ${adapter} …`);
    const result = (await runChild(
      [
        '--adapter',
        adapter,
        '--url',
        url,
        '--concurrency',
        values.concurrency,
        '--warmup',
        values.warmup,
        '--duration',
        values.duration,
      ],
      {
        timeoutMs: 120_000,
        nodeOptions: [
          '--cpu-prof',
          '--cpu-prof-dir',
          dir,
          '--cpu-prof-interval',
          values.interval,
          ...(values['no-inlining'] ? ['--no-turbo-inlining'] : []),
        ],
      },
    )) as ThroughputResult;
    // The tsx loader runs in a thread of its own, which writes a profile too: take the
    // main thread's (thread id 0 in Node's default file name).
    const main = readdirSync(dir).find((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f));
    if (main === undefined) throw new Error(`no main-thread profile in ${dir}`);
    runs.push(analyse(adapter, result, `${dir}${main}`));
  }
  server.stop();

  const areas: Area[] = ['src', 'undici', 'node', 'gc', 'program', 'other', 'bench', 'idle'];
  const out: string[] = [
    `profile: concurrency ${values.concurrency}, ${values.size} B bodies, ${values.duration} s measured` +
      `${values['no-inlining'] ? ', TurboFan inlining off' : ''}, http-sentinel from ${values.source}; ` +
      'self time per request, µs',
    ...table(
      ['adapter', 'req/s', 'CPU µs/req', ...areas],
      runs.map((r) => [
        r.adapter,
        fmt(r.result.rps, 0),
        fmt(r.result.cpuPerRequest),
        ...areas.map((a) => fmt((r.byArea.get(a) ?? 0) / r.result.requests, 2)),
      ]),
    ),
    '',
  ];
  for (const r of runs) {
    const n = r.result.requests;
    const rows = [...r.byFunction.entries()].sort((a, b) => b[1].us - a[1].us);
    const ours = rows.filter(([, e]) => e.area === 'src');
    out.push(
      `${r.adapter}: top self time (µs per request, share of sampled time)`,
      ...table(
        ['function', 'area', 'µs/req', 'share'],
        rows
          .slice(0, top)
          .map(([key, e]) => [
            key,
            e.area,
            fmt(e.us / n, 2),
            `${fmt((100 * e.us) / r.sampledUs)}%`,
          ]),
      ),
      '',
    );
    if (ours.length > 0) {
      const inclusive = (key: string): string => fmt((r.inclusive.get(key)?.us ?? 0) / n, 2);
      out.push(
        `${r.adapter}: our code (src/) by self time; total = with everything it calls synchronously`,
        ...table(
          ['function', 'self µs/req', 'share', 'total µs/req'],
          ours
            .slice(0, top)
            .map(([key, e]) => [
              key,
              fmt(e.us / n, 2),
              `${fmt((100 * e.us) / r.sampledUs)}%`,
              inclusive(key),
            ]),
        ),
        '',
      );
      const byTotal = [...r.inclusive.entries()]
        .filter(([, e]) => e.area === 'src')
        .sort((a, b) => b[1].us - a[1].us);
      out.push(
        `${r.adapter}: our code (src/) by total time`,
        ...table(
          ['function', 'total µs/req', 'share'],
          byTotal
            .slice(0, top)
            .map(([key, e]) => [key, fmt(e.us / n, 2), `${fmt((100 * e.us) / r.sampledUs)}%`]),
        ),
        '',
      );
    }
  }
  const reference = runs[runs.length - 1]!;
  for (const r of runs.slice(0, -1)) {
    const mine = (key: string): number => (r.byFunction.get(key)?.us ?? 0) / r.result.requests;
    const theirs = (key: string): number =>
      (reference.byFunction.get(key)?.us ?? 0) / reference.result.requests;
    const keys = new Set([...r.byFunction.keys(), ...reference.byFunction.keys()]);
    const rows = [...keys]
      .filter((k) => !k.startsWith('(idle)'))
      .map((k) => ({ k, d: mine(k) - theirs(k) }))
      .sort((a, b) => b.d - a.d);
    out.push(
      `${r.adapter} minus ${reference.adapter}: self µs/req by function (largest extra cost first)`,
      ...table(
        ['function', 'area', r.adapter, reference.adapter, 'extra'],
        rows
          .slice(0, top)
          .map(({ k, d }) => [
            k,
            (r.byFunction.get(k) ?? reference.byFunction.get(k))!.area,
            fmt(mine(k), 2),
            fmt(theirs(k), 2),
            fmt(d, 2),
          ]),
      ),
      '',
    );
  }
  const report = `${DIR}report-${stamp}.txt`;
  out.push(`profiles in ${DIR.slice(ROOT.length)}, this report in ${report.slice(ROOT.length)}`);
  writeFileSync(report, `${out.join('\n')}\n`);
  console.log(out.join('\n'));
}

try {
  await main();
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
}
