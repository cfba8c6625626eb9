/**
 * The benchmark suite: `npm run bench` (about seven minutes), `npm run bench -- --quick`
 * (under a minute), `npm run bench -- --url http://127.0.0.1:8080/path` (any server).
 *
 * The bench server runs in its own process; every measurement runs in a fresh client
 * process (`client-runner.ts`). Within a round the adapters of a scenario run one after
 * the other (A B C … A B C …); each adapter's ratio to the baseline is computed per
 * round, and the tables show the median over rounds. Absolute figures move a lot on a
 * shared machine; ratios from the same round hold much better. `--help` lists options.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ADAPTERS } from './adapters.js';
import { killAll, killChildrenOnExit, progress, runChild, ServerProcess } from './processes.js';
import type { IdleResult, MemoryResult, StreamResult, ThroughputResult } from './protocol.js';
import { benchReport } from './report/bench-report.js';
import { REPORT_OPTIONS, reportHelp, reportPath, shownPath, writeReport } from './report/write.js';
import { BUILD_ENV, buildSentinel } from './sentinel.js';
import type { ServerStats } from './server.js';
import { fmt, fmtBytes, fmtInt, fmtRatio, maxOf, median, table } from './stats.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RESULTS = fileURLToPath(new URL('../.bench-results/', import.meta.url));
const MiB = 1024 * 1024;

const HELP = `npm run bench -- [options]

  --quick               a developer's loop: fewer adapters, one short round (< 1 min)
  --url <url>           measure against this URL instead of the bench server
                        (throughput at concurrency 1 and 64, and the memory run)
  --rounds <n>          rounds of interleaved runs (default 4, quick 1)
  --warmup <s>          warm-up per run, seconds (default 0.5, quick 0.25)
  --duration <s>        measured time per run, seconds (default 1, quick 0.5)
  --adapters <a,b,…>    adapters of the throughput scenarios (default: all)
                        ${Object.keys(ADAPTERS).join(', ')}
  --scenarios <a,b,…>   c1-64b, c64-64b, c1-64k, c64-64k, buffered, stream, memory, idle
  --requests <n>        requests of the memory run (default 1000000, quick 100000)
  --stream-mib <n>      size of the streamed download in MiB (default 1024, quick 256)
  --hosts <n>           hosts of the idle-connection run (default 1000)
  --per-host <n>        idle connections per host (default 10)
  --source <build|tsx>  http-sentinel compiled by the project's tsc (default, what the
                        package ships) or src/ through the tsx loader
${reportHelp('bench.html')}  --help
`;

// ---- scenarios ----

interface ThroughputScenario {
  kind: 'throughput';
  id: string;
  title: string;
  url: string;
  concurrency: number;
  adapters: string[];
  countCopies: boolean;
}

interface StreamScenario {
  kind: 'stream';
  id: string;
  title: string;
  url: string;
  bytes: number;
  adapters: string[];
}

type Scenario = ThroughputScenario | StreamScenario;

interface Sample {
  round: number;
  scenario: string;
  adapter: string;
  result: ThroughputResult | StreamResult | undefined;
  server: ServerStats | undefined;
  error: string | undefined;
}

const BASELINE = 'undici-request';
const RAW_CLIENT = 'undici-client';

interface Settings {
  quick: boolean;
  url: string | undefined;
  rounds: number;
  warmup: number;
  duration: number;
  adapters: string[];
  scenarios: Set<string>;
  requests: number;
  streamBytes: number;
  hosts: number;
  perHost: number;
  source: 'build' | 'tsx';
  /** The HTML report's path; undefined with `--no-report`. */
  report: string | undefined;
}

function settingsFrom(argv: string[]): Settings | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      url: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      duration: { type: 'string' },
      adapters: { type: 'string' },
      scenarios: { type: 'string' },
      requests: { type: 'string' },
      'stream-mib': { type: 'string' },
      hosts: { type: 'string' },
      'per-host': { type: 'string' },
      source: { type: 'string', default: 'build' },
      ...REPORT_OPTIONS,
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return undefined;
  }
  const quick = values.quick;
  const num = (text: string | undefined, fallback: number, name: string): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
    return n;
  };
  const all = [
    'raw-socket',
    'undici-dispatch',
    'undici-client',
    'undici-request',
    'sentinel-get',
    'sentinel-hook',
    'sentinel-conn',
    'node-http',
    'fetch',
    'got',
    'axios',
  ];
  const quickSet = [
    'undici-dispatch',
    'undici-client',
    'undici-request',
    'sentinel-get',
    'sentinel-hook',
    'sentinel-conn',
  ];
  const adapters = values.adapters?.split(',').filter(Boolean) ?? (quick ? quickSet : all);
  for (const a of adapters) {
    if (ADAPTERS[a] === undefined) throw new Error(`unknown adapter ${a}`);
  }
  const known = ['c1-64b', 'c64-64b', 'c1-64k', 'c64-64k', 'buffered', 'stream', 'memory', 'idle'];
  const scenarios = new Set(values.scenarios?.split(',').filter(Boolean) ?? known);
  for (const s of scenarios) {
    if (!known.includes(s)) throw new Error(`unknown scenario ${s}; known: ${known.join(', ')}`);
  }
  if (values.source !== 'build' && values.source !== 'tsx') {
    throw new Error('--source must be build or tsx');
  }
  if (values.url !== undefined) {
    const u = new URL(values.url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('--url must be http(s)');
  }
  return {
    quick,
    url: values.url,
    rounds: Math.round(num(values.rounds, quick ? 1 : 4, 'rounds')),
    warmup: num(values.warmup, quick ? 0.25 : 0.5, 'warmup'),
    duration: num(values.duration, quick ? 0.5 : 1, 'duration'),
    adapters,
    scenarios,
    requests: Math.round(num(values.requests, quick ? 100_000 : 1_000_000, 'requests')),
    streamBytes: Math.round(num(values['stream-mib'], quick ? 256 : 1024, 'stream-mib') * MiB),
    hosts: Math.round(num(values.hosts, 1000, 'hosts')),
    perHost: Math.round(num(values['per-host'], 10, 'per-host')),
    source: values.source,
    report: reportPath(values, 'bench.html'),
  };
}

function scenariosFor(s: Settings, origin: string | undefined): Scenario[] {
  const list: Scenario[] = [];
  if (origin === undefined) {
    const remote = s.adapters.filter((a) => !ADAPTERS[a]!.localOnly);
    for (const c of [1, 64]) {
      list.push({
        kind: 'throughput',
        id: `c${c}-url`,
        title: `concurrency ${c}, ${s.url}`,
        url: s.url!,
        concurrency: c,
        adapters: remote,
        countCopies: false,
      });
    }
    return list;
  }
  for (const [id, c, size, label] of [
    ['c1-64b', 1, 64, '64 B'],
    ['c64-64b', 64, 64, '64 B'],
    ['c1-64k', 1, 65536, '64 KiB'],
    ['c64-64k', 64, 65536, '64 KiB'],
  ] as const) {
    if (!s.scenarios.has(id)) continue;
    list.push({
      kind: 'throughput',
      id,
      title: `concurrency ${c}, ${label} bodies`,
      url: `${origin}/bytes/${size}`,
      concurrency: c,
      adapters: s.adapters,
      countCopies: false,
    });
  }
  if (s.scenarios.has('buffered')) {
    list.push({
      kind: 'throughput',
      id: 'buffered',
      title: 'one 8 MiB body read into memory, concurrency 1',
      url: `${origin}/bytes/${8 * MiB}`,
      concurrency: 1,
      adapters: s.quick
        ? ['undici-dispatch', 'undici-request', 'sentinel-get']
        : ['undici-dispatch', 'undici-client', 'undici-request', 'sentinel-get', 'sentinel-conn'],
      countCopies: true,
    });
  }
  if (s.scenarios.has('stream')) {
    list.push({
      kind: 'stream',
      id: 'stream',
      title: `one ${fmtBytes(s.streamBytes)} streamed download`,
      url: `${origin}/stream/${s.streamBytes}`,
      bytes: s.streamBytes,
      adapters: ['undici-stream', 'sentinel-stream'],
    });
  }
  return list;
}

async function measure(
  scenario: Scenario,
  adapter: string,
  s: Settings,
  server: ServerProcess | undefined,
  round: number,
): Promise<Sample> {
  const args = ['--adapter', adapter, '--url', scenario.url];
  let timeoutMs: number;
  if (scenario.kind === 'throughput') {
    args.push('--mode', 'throughput', '--concurrency', String(scenario.concurrency));
    args.push('--warmup', String(s.warmup), '--duration', String(s.duration));
    if (scenario.countCopies) args.push('--count-copies');
    timeoutMs = (s.warmup + s.duration) * 1000 + 30_000;
  } else {
    args.push('--mode', 'stream', '--bytes', String(scenario.bytes));
    timeoutMs = 60_000 + (scenario.bytes / MiB) * 200;
  }
  await server?.reset();
  const sample: Sample = {
    round,
    scenario: scenario.id,
    adapter,
    result: undefined,
    server: undefined,
    error: undefined,
  };
  try {
    sample.result = (await runChild(args, { timeoutMs, gc: scenario.kind === 'stream' })) as
      | ThroughputResult
      | StreamResult;
  } catch (err) {
    sample.error = err instanceof Error ? err.message : String(err);
  }
  sample.server = await server?.stats();
  const r = sample.result;
  const shown =
    r === undefined
      ? `ERROR ${sample.error}`
      : r.mode === 'throughput'
        ? `${fmtInt(r.rps)} req/s, ${fmt(r.cpuPerRequest)} µs CPU/req${r.errors > 0 ? `, ${r.errors} errors (${r.firstError})` : ''}`
        : `${fmtInt(r.throughput)} MiB/s, RSS +${fmtBytes(r.rssGrowth)}`;
  progress(`  [round ${round}] ${scenario.id.padEnd(8)} ${adapter.padEnd(16)} ${shown}`);
  return sample;
}

// ---- summaries ----

interface Row {
  adapter: string;
  values: Record<string, number>;
  notes: string[];
}

function perRound(
  samples: Sample[],
  adapter: string,
  reference: string,
  pick: (s: Sample) => number,
): number {
  const ratios: number[] = [];
  const rounds = new Set(samples.map((s) => s.round));
  for (const round of rounds) {
    const mine = samples.find((s) => s.round === round && s.adapter === adapter);
    const ref = samples.find((s) => s.round === round && s.adapter === reference);
    if (mine?.result === undefined || ref?.result === undefined) continue;
    ratios.push(pick(mine) / pick(ref));
  }
  return median(ratios);
}

function throughputRows(samples: Sample[], adapters: string[]): Row[] {
  const rps = (s: Sample): number => (s.result as ThroughputResult).rps;
  const cpu = (s: Sample): number => (s.result as ThroughputResult).cpuPerRequest;
  return adapters.map((adapter) => {
    const mine = samples.filter((s) => s.adapter === adapter && s.result !== undefined);
    const results = mine.map((s) => s.result as ThroughputResult);
    const notes: string[] = [];
    const failed = samples.filter((s) => s.adapter === adapter && s.result === undefined);
    if (failed.length > 0) notes.push(`${failed.length} run(s) failed: ${failed[0]!.error}`);
    const errors = results.reduce((n, r) => n + r.errors, 0);
    if (errors > 0)
      notes.push(`${errors} request errors (${results.find((r) => r.firstError)?.firstError})`);
    const pipelined = mine.reduce((n, s) => n + (s.server?.pipelined ?? 0), 0);
    if (pipelined > 0) notes.push(`${pipelined} pipelined reads seen by the server`);
    const copies = results.map((r) => r.copies).filter((c) => c !== undefined);
    return {
      adapter,
      notes,
      values: {
        rps: median(results.map((r) => r.rps)),
        mibps: median(results.map((r) => r.bytesPerSecond / MiB)),
        vsRequest: perRound(samples, adapter, BASELINE, rps),
        vsClient: perRound(samples, adapter, RAW_CLIENT, rps),
        p50: median(results.map((r) => r.p50)),
        p90: median(results.map((r) => r.p90)),
        p99: median(results.map((r) => r.p99)),
        cpu: median(results.map((r) => r.cpuPerRequest)),
        faults: median(results.map((r) => r.faultsPerRequest)),
        cpuVsClient: perRound(samples, adapter, RAW_CLIENT, cpu),
        conns: maxOf(mine.map((s) => s.server?.opened ?? Number.NaN)),
        serverCpu: median(
          mine.map((s) =>
            s.server !== undefined && s.server.requests > 0
              ? s.server.cpu / s.server.requests
              : Number.NaN,
          ),
        ),
        copiesParser: median(copies.map((c) => c.parser)),
        copiesClient: median(copies.map((c) => c.client)),
      },
    };
  });
}

function streamRows(samples: Sample[], adapters: string[]): Row[] {
  const mibps = (s: Sample): number => (s.result as StreamResult).throughput;
  return adapters.map((adapter) => {
    const results = samples
      .filter((s) => s.adapter === adapter && s.result !== undefined)
      .map((s) => s.result as StreamResult);
    const failed = samples.filter((s) => s.adapter === adapter && s.result === undefined);
    return {
      adapter,
      notes: failed.length > 0 ? [`${failed.length} run(s) failed: ${failed[0]!.error}`] : [],
      values: {
        mibps: median(results.map((r) => r.throughput)),
        vsUndici: perRound(samples, adapter, 'undici-stream', mibps),
        cpuPerGiB: median(results.map((r) => r.cpuPerGiB)),
        rssGrowth: maxOf(results.map((r) => r.rssGrowth)),
      },
    };
  });
}

function label(adapter: string): string {
  return ADAPTERS[adapter]?.label ?? adapter;
}

function idleLabel(adapter: string): string {
  if (adapter === 'raw-socket') return 'net.Socket (floor)';
  if (adapter === 'undici-request') return 'undici Agent';
  return label(adapter);
}

function notesOf(rows: Row[]): string[] {
  return rows.flatMap((r) => r.notes.map((n) => `  ! ${label(r.adapter)}: ${n}`));
}

function printThroughput(scenario: ThroughputScenario, rows: Row[]): string[] {
  const lines = [`${scenario.title}`];
  if (scenario.countCopies) {
    lines.push(
      ...table(
        [
          'adapter',
          'req/s',
          'MiB/s',
          'x request',
          'p50 µs',
          'p99 µs',
          'CPU µs/req',
          'faults/req',
          'parser copies',
          'client copies',
        ],
        rows.map((r) => [
          label(r.adapter),
          fmtInt(r.values.rps!),
          fmtInt(r.values.mibps!),
          fmtRatio(r.values.vsRequest!),
          fmtInt(r.values.p50!),
          fmtInt(r.values.p99!),
          fmtInt(r.values.cpu!),
          fmtInt(r.values.faults!),
          fmt(r.values.copiesParser!, 2),
          fmt(r.values.copiesClient!, 2),
        ]),
      ),
    );
  } else {
    lines.push(
      ...table(
        [
          'adapter',
          'req/s',
          'x request',
          'x Client',
          'p50 µs',
          'p99 µs',
          'CPU µs/req',
          'CPU x Client',
          'faults/req',
          'conns',
          'srv µs/req',
        ],
        rows.map((r) => [
          label(r.adapter),
          fmtInt(r.values.rps!),
          fmtRatio(r.values.vsRequest!),
          fmtRatio(r.values.vsClient!),
          fmtInt(r.values.p50!),
          fmtInt(r.values.p99!),
          fmt(r.values.cpu!),
          fmtRatio(r.values.cpuVsClient!),
          fmt(r.values.faults!),
          fmtInt(r.values.conns!),
          fmt(r.values.serverCpu!),
        ]),
      ),
    );
  }
  lines.push(...notesOf(rows), '');
  return lines;
}

function printStream(scenario: StreamScenario, rows: Row[]): string[] {
  return [
    scenario.title,
    ...table(
      ['adapter', 'MiB/s', 'x undici', 'CPU ms/GiB', 'RSS growth'],
      rows.map((r) => [
        label(r.adapter),
        fmtInt(r.values.mibps!),
        fmtRatio(r.values.vsUndici!),
        fmtInt(r.values.cpuPerGiB!),
        fmtBytes(r.values.rssGrowth!),
      ]),
    ),
    ...notesOf(rows),
    '',
  ];
}

interface Target {
  what: string;
  goal: string;
  value: number;
  shown: string;
  pass: boolean | undefined;
}

function target(
  what: string,
  value: number | undefined,
  op: '>=' | '<=' | '<',
  limit: number,
  shown: (v: number) => string,
): Target {
  const v = value ?? Number.NaN;
  const pass = !Number.isFinite(v)
    ? undefined
    : op === '>='
      ? v >= limit
      : op === '<='
        ? v <= limit
        : v < limit;
  return {
    what,
    goal: `${op} ${shown(limit)}`,
    value: v,
    shown: Number.isFinite(v) ? shown(v) : '—',
    pass,
  };
}

/** The commit the measured src/ is at, and whether src/ has changes on top. */
function gitRevision(): string {
  try {
    const git = (...args: string[]): string =>
      execFileSync('git', args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim();
    const dirty = git('status', '--porcelain', '--', 'src') !== '';
    return `commit ${git('rev-parse', '--short', 'HEAD')}${dirty ? ' + uncommitted changes in src/' : ''}`;
  } catch {
    return 'commit unknown';
  }
}

// ---- main ----

async function main(): Promise<void> {
  const s = settingsFrom(process.argv.slice(2));
  if (s === undefined) return;
  killChildrenOnExit();
  let source = 'src/ through the tsx loader';
  if (s.source === 'build') {
    const build = buildSentinel();
    process.on('exit', build.cleanup);
    process.env[BUILD_ENV] = build.dir;
    source = "src/ compiled by the project's tsc (tsconfig.build.json)";
    if (build.warnings !== '') progress(`tsc reported (output used anyway):\n${build.warnings}`);
  }
  const started = Date.now();
  const undiciVersion = (
    JSON.parse(readFileSync(`${ROOT}node_modules/undici/package.json`, 'utf8')) as {
      version: string;
    }
  ).version;
  const cpus = os.cpus();
  const machine = `${cpus.length} x ${cpus[0]?.model ?? 'cpu'}, ${fmtBytes(os.totalmem())} RAM, ${os.platform()} ${os.release()}`;
  const loadAtStart = os.loadavg()[0]!;
  const revision = gitRevision();
  const versions = `Node ${process.version}, undici ${undiciVersion} (Node's fetch bundles undici ${process.versions.undici})`;
  progress(`${machine}\n${versions}`);

  const server = s.url === undefined ? await ServerProcess.start() : undefined;
  const origin = server === undefined ? undefined : `http://127.0.0.1:${server.port}`;
  const scenarios = scenariosFor(s, origin);
  const samples: Sample[] = [];

  for (let round = 1; round <= s.rounds; round++) {
    progress(`round ${round} of ${s.rounds}`);
    for (const scenario of scenarios) {
      for (const adapter of scenario.adapters) {
        samples.push(await measure(scenario, adapter, s, server, round));
      }
    }
  }

  let memoryResult: MemoryResult | undefined;
  let memoryError: string | undefined;
  if (s.scenarios.has('memory')) {
    const url = s.url ?? `${origin}/bytes/64`;
    progress(`memory: ${fmtInt(s.requests)} requests through one client`);
    try {
      memoryResult = (await runChild(
        [
          '--adapter',
          'sentinel-get',
          '--url',
          url,
          '--mode',
          'memory',
          '--concurrency',
          '64',
          '--requests',
          String(s.requests),
          '--checkpoint',
          String(Math.min(10_000, s.requests)),
        ],
        { gc: true, timeoutMs: 60_000 + s.requests },
      )) as MemoryResult;
    } catch (err) {
      memoryError = String(err);
    }
  }

  const idle: { result: IdleResult | undefined; open: number; error: string | undefined }[] = [];
  if (s.scenarios.has('idle') && server !== undefined) {
    const { ports } = await server.call<{ ports: number[] }>({
      cmd: 'listen-many',
      count: s.hosts,
    });
    const idleAdapters = s.quick
      ? ['sentinel-get']
      : ['raw-socket', 'undici-request', 'sentinel-get'];
    for (const adapter of idleAdapters) {
      progress(`idle: ${s.hosts} hosts x ${s.perHost} connections, ${adapter}`);
      await server.reset();
      let open = 0;
      try {
        const result = (await runChild(
          [
            '--adapter',
            adapter,
            '--mode',
            'idle',
            '--ports',
            ports.join(','),
            '--per-host',
            String(s.perHost),
          ],
          {
            gc: true,
            timeoutMs: 120_000,
            onResult: async () => {
              open = (await server.stats()).open;
            },
          },
        )) as IdleResult;
        idle.push({ result, open, error: undefined });
      } catch (err) {
        idle.push({ result: undefined, open, error: String(err) });
      }
    }
    await server.call({ cmd: 'close-many' });
  }
  server?.stop();

  // ---- report ----
  const out: string[] = [];
  const seconds = (Date.now() - started) / 1000;
  const header = [
    `http-sentinel bench — ${s.quick ? 'quick' : 'full'} run, ${new Date(started).toISOString()}`,
    machine,
    versions,
    `load average (1 min) ${fmt(loadAtStart, 2)} at start, ${fmt(os.loadavg()[0]!, 2)} at end`,
    `${s.rounds} round(s); per run ${s.warmup} s warm-up + ${s.duration} s measured; every client in its own process, ` +
      `connections = concurrency, no pipelining; server: ${s.url ?? 'bench/server.ts in its own process'}; ` +
      `http-sentinel: ${source}, ${revision}`,
    `x request = req/s ÷ undici request (Pool) in the same round; x Client = ÷ raw undici Client.request; ` +
      'median over rounds. CPU = client process user+system per request. faults/req = minor page faults ' +
      'of the client per request. conns = connections the server saw. srv µs/req = server CPU per request.',
  ];
  out.push(...header, '');
  const summary: Record<string, Row[]> = {};
  for (const scenario of scenarios) {
    const mine = samples.filter((x) => x.scenario === scenario.id);
    if (scenario.kind === 'throughput') {
      const rows = throughputRows(mine, scenario.adapters);
      summary[scenario.id] = rows;
      out.push(...printThroughput(scenario, rows));
    } else {
      const rows = streamRows(mine, scenario.adapters);
      summary[scenario.id] = rows;
      out.push(...printStream(scenario, rows));
    }
  }
  if (memoryResult !== undefined) {
    const m = memoryResult;
    out.push(
      `memory: ${fmtInt(m.requests)} requests through one sentinel client (client.get, concurrency ${m.concurrency}), ` +
        `${fmtInt(m.requests / m.seconds)} req/s, ${m.errors} errors; heap after forced GC`,
      ...table(
        ['after requests', 'heap used', 'external', 'rss'],
        m.checkpoints.map((c) => [
          fmtInt(c.requests),
          fmtBytes(c.heapUsed),
          fmtBytes(c.external),
          fmtBytes(c.rss),
        ]),
      ),
      `heap growth from ${fmtInt(m.checkpoints[0]!.requests)} to ${fmtInt(m.requests)} requests: ${fmtBytes(m.heapGrowth)}`,
      '',
    );
  } else if (memoryError !== undefined) {
    out.push(`memory: FAILED ${memoryError}`, '');
  }
  if (idle.length > 0) {
    out.push(
      `idle connections: ${s.hosts} hosts (one 127.0.0.1 port each) x ${s.perHost}, per connection (heap after forced GC)`,
      ...table(
        ['client', 'open at server', 'client says idle', 'heap', 'external', 'rss', 'setup s'],
        idle.map(({ result: r, open, error }) =>
          r === undefined
            ? [`FAILED ${error}`, '', '', '', '', '', '']
            : [
                idleLabel(r.adapter),
                fmtInt(open),
                r.idleReported === undefined ? '—' : fmtInt(r.idleReported),
                fmtBytes(r.heapPerConnection),
                fmtBytes(r.externalPerConnection),
                fmtBytes(r.rssPerConnection),
                fmt(r.seconds),
              ],
        ),
      ),
      '',
    );
  }

  // ---- targets ----
  const row = (id: string, adapter: string): Row | undefined =>
    summary[id]?.find((r) => r.adapter === adapter);
  const x = (v: number): string => `${v.toFixed(2)}x`;
  const targets: Target[] = [];
  if (s.url === undefined) {
    targets.push(
      target(
        'c64 64 B: client.get req/s vs undici request',
        row('c64-64b', 'sentinel-get')?.values.vsRequest,
        '>=',
        1.3,
        x,
      ),
      target(
        'c64 64 B: client.get req/s vs raw Client',
        row('c64-64b', 'sentinel-get')?.values.vsClient,
        '>=',
        0.9,
        x,
      ),
      target(
        'c64 64 B: client.get + 1 beforeRequest hook req/s vs undici request',
        row('c64-64b', 'sentinel-hook')?.values.vsRequest,
        '>=',
        1.4,
        x,
      ),
      target(
        'c64 64 B: client.get CPU/req vs raw Client',
        row('c64-64b', 'sentinel-get')?.values.cpuVsClient,
        '<=',
        1.15,
        x,
      ),
      target(
        'c1 64 B: client.get req/s vs undici request',
        row('c1-64b', 'sentinel-get')?.values.vsRequest,
        '>=',
        1.0,
        x,
      ),
      target(
        'c64 64 B: conn.request CPU/req vs raw Client',
        row('c64-64b', 'sentinel-conn')?.values.cpuVsClient,
        '<=',
        1.05,
        x,
      ),
      target(
        'stream: client.stream MiB/s vs undici',
        row('stream', 'sentinel-stream')?.values.vsUndici,
        '>=',
        0.9,
        x,
      ),
      target(
        'stream: client.stream RSS growth',
        row('stream', 'sentinel-stream')?.values.rssGrowth,
        '<',
        64 * MiB,
        fmtBytes,
      ),
      target(
        '8 MiB buffered: client.get copies of the body (beyond the parser)',
        row('buffered', 'sentinel-get')?.values.copiesClient,
        '<=',
        1.0,
        (v) => v.toFixed(2),
      ),
    );
  }
  if (memoryResult !== undefined) {
    targets.push(
      target(
        `memory: heap growth over ${fmtInt(memoryResult.requests)} requests`,
        memoryResult.heapGrowth,
        '<=',
        5 * MiB,
        fmtBytes,
      ),
    );
  }
  if (targets.length > 0) {
    out.push(
      s.rounds === 1
        ? 'targets (one round only: a single noisy sample per adapter, indicative at best)'
        : `targets (medians of ${s.rounds} per-round ratios)`,
      ...table(
        ['target', 'goal', 'measured', ''],
        targets.map((t) => [
          t.what,
          t.goal,
          t.shown,
          t.pass === undefined ? 'n/a' : t.pass ? 'met' : 'NOT MET',
        ]),
      ),
      '',
    );
  }
  out.push(`finished in ${fmt(seconds, 0)} s`);

  mkdirSync(RESULTS, { recursive: true });
  const stamp = new Date(started).toISOString().replace(/[:.]/g, '-');
  const file = `${RESULTS}bench-${s.quick ? 'quick' : 'full'}-${stamp}.json`;
  const json = JSON.stringify(
    {
      started: new Date(started).toISOString(),
      seconds,
      machine,
      revision,
      versions: {
        node: process.version,
        undici: undiciVersion,
        fetchUndici: process.versions.undici,
      },
      settings: { ...s, scenarios: [...s.scenarios] },
      summary,
      memory: memoryResult ?? memoryError,
      idle,
      targets,
      samples,
    },
    null,
    2,
  );
  writeFileSync(file, json);
  writeFileSync(`${RESULTS}latest.json`, json);
  out.push(`results: ${file.slice(ROOT.length)}`);
  if (s.report !== undefined) {
    const report = benchReport({
      meta: header,
      rounds: s.rounds,
      scenarios,
      summary,
      label,
      idleLabel,
      targets,
      memory: memoryResult ?? memoryError,
      idle,
    });
    out.push(`report: ${shownPath(writeReport(report, s.report))}`);
  }
  console.log(out.join('\n'));
}

try {
  await main();
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  killAll();
  process.exitCode = 1;
}
