/**
 * `npm run bench`'s results as a report: per scenario req/s, CPU per request and latency
 * percentiles per client as bars, and the ratio table; then memory, idle connections and
 * the targets. Works on any adapter list: a client is whatever the rows name.
 */
import type { IdleResult, MemoryResult } from '../protocol.js';
import { fmt, fmtBytes, fmtInt, fmtRatio } from '../stats.js';
import { type BarChart, type Cell, figure, type Report, type ReportSection } from './model.js';

/** One adapter's medians in one scenario, as `run.ts` summarises them. */
export interface BenchRow {
  adapter: string;
  values: Record<string, number>;
  notes: string[];
}

export interface BenchScenario {
  id: string;
  title: string;
  kind: 'throughput' | 'stream';
  /** The buffered scenario: copies counted, MiB/s shown. */
  countCopies?: boolean;
}

export interface BenchTarget {
  what: string;
  goal: string;
  shown: string;
  pass: boolean | undefined;
}

export interface BenchIdle {
  result: IdleResult | undefined;
  open: number;
  error: string | undefined;
}

/** What `run.ts` has at the end of a run. */
export interface BenchReportInput {
  /** The run's header lines: machine, versions, load, settings, column legend. */
  meta: string[];
  rounds: number;
  scenarios: BenchScenario[];
  /** Rows by scenario id. */
  summary: Record<string, BenchRow[]>;
  /** The printed name of an adapter. */
  label: (adapter: string) => string;
  /** Its name in the idle-connection table (where undici's client is an Agent). */
  idleLabel: (adapter: string) => string;
  targets: BenchTarget[];
  memory: MemoryResult | string | undefined;
  idle: BenchIdle[];
}

/** http-sentinel's own adapters, drawn in the accent colour. */
function ours(adapter: string): boolean {
  return adapter.startsWith('sentinel');
}

function bars(
  title: string,
  unit: string,
  rows: BenchRow[],
  label: (adapter: string) => string,
  series: { label: string; key: string }[],
  digits: number,
): BarChart {
  return {
    title,
    unit,
    digits,
    ...(series.length > 1 ? { ordered: true } : {}),
    categories: rows.map((r) => label(r.adapter)),
    emphasis: rows.map((r) => ours(r.adapter)),
    series: series.map((s) => ({
      label: s.label,
      values: rows.map((r) => figure(r.values[s.key])),
    })),
  };
}

const LATENCY = [
  { label: 'p50', key: 'p50' },
  { label: 'p90', key: 'p90' },
  { label: 'p99', key: 'p99' },
];

function notesCell(row: BenchRow): string {
  return row.notes.join('; ');
}

function throughputSection(
  scenario: BenchScenario,
  rows: BenchRow[],
  label: (adapter: string) => string,
): ReportSection {
  const v = (r: BenchRow, key: string): number => r.values[key] ?? Number.NaN;
  const header = scenario.countCopies
    ? ['client', 'req/s', 'MiB/s', '× request', 'p50 µs', 'p90 µs', 'p99 µs', 'CPU µs/req']
    : ['client', 'req/s', '× request', '× Client', 'p50 µs', 'p90 µs', 'p99 µs', 'CPU µs/req'];
  const tail = scenario.countCopies
    ? ['faults/req', 'parser copies', 'client copies', 'notes']
    : ['CPU × Client', 'faults/req', 'conns', 'srv µs/req', 'notes'];
  return {
    title: `${scenario.id}: ${scenario.title}`,
    short: scenario.id,
    notes: [],
    charts: [
      bars('Requests per second', 'req/s', rows, label, [{ label: 'req/s', key: 'rps' }], 0),
      bars(
        'CPU time per request',
        'µs of client CPU (user + system) per request',
        rows,
        label,
        [{ label: 'CPU µs/req', key: 'cpu' }],
        1,
      ),
      bars('Latency percentiles', 'µs', rows, label, LATENCY, 0),
    ],
    tables: [
      {
        caption: 'Medians over rounds; × columns are per-round ratios, then their median',
        header: [...header, ...tail],
        textColumns: [header.length + tail.length - 1],
        rows: rows.map((r) => [
          label(r.adapter),
          fmtInt(v(r, 'rps')),
          ...(scenario.countCopies
            ? [fmtInt(v(r, 'mibps')), fmtRatio(v(r, 'vsRequest'))]
            : [fmtRatio(v(r, 'vsRequest')), fmtRatio(v(r, 'vsClient'))]),
          fmtInt(v(r, 'p50')),
          fmtInt(v(r, 'p90')),
          fmtInt(v(r, 'p99')),
          fmt(v(r, 'cpu')),
          ...(scenario.countCopies
            ? [fmt(v(r, 'faults')), fmt(v(r, 'copiesParser'), 2), fmt(v(r, 'copiesClient'), 2)]
            : [
                fmtRatio(v(r, 'cpuVsClient')),
                fmt(v(r, 'faults')),
                fmtInt(v(r, 'conns')),
                fmt(v(r, 'serverCpu')),
              ]),
          notesCell(r),
        ]),
      },
    ],
  };
}

function streamSection(
  scenario: BenchScenario,
  rows: BenchRow[],
  label: (adapter: string) => string,
): ReportSection {
  const v = (r: BenchRow, key: string): number => r.values[key] ?? Number.NaN;
  return {
    title: `${scenario.id}: ${scenario.title}`,
    short: scenario.id,
    notes: [],
    charts: [
      bars('Throughput', 'MiB/s', rows, label, [{ label: 'MiB/s', key: 'mibps' }], 0),
      bars(
        'CPU per GiB',
        'ms of client CPU per GiB',
        rows,
        label,
        [{ label: 'ms', key: 'cpuPerGiB' }],
        0,
      ),
    ],
    tables: [
      {
        caption: 'Medians over rounds',
        header: ['client', 'MiB/s', '× undici', 'CPU ms/GiB', 'RSS growth', 'notes'],
        textColumns: [5],
        rows: rows.map((r) => [
          label(r.adapter),
          fmtInt(v(r, 'mibps')),
          fmtRatio(v(r, 'vsUndici')),
          fmtInt(v(r, 'cpuPerGiB')),
          fmtBytes(v(r, 'rssGrowth')),
          notesCell(r),
        ]),
      },
    ],
  };
}

function targetsSection(targets: BenchTarget[], rounds: number): ReportSection {
  return {
    title: 'Targets',
    notes: [
      rounds === 1
        ? 'One round only: a single noisy sample per adapter, indicative at best.'
        : `Medians of ${rounds} per-round ratios.`,
    ],
    charts: [],
    tables: [
      {
        caption: '',
        header: ['target', 'goal', 'measured', ''],
        textColumns: [0],
        rows: targets.map((t): Cell[] => [
          t.what,
          t.goal,
          t.shown,
          t.pass === undefined
            ? { text: 'n/a', verdict: 'none' }
            : t.pass
              ? { text: 'met', verdict: 'pass' }
              : { text: 'NOT MET', verdict: 'fail' },
        ]),
      },
    ],
  };
}

function memorySection(memory: MemoryResult | string): ReportSection {
  if (typeof memory === 'string') {
    return { title: 'Memory', notes: [`Failed: ${memory}`], charts: [], tables: [] };
  }
  return {
    title: 'Memory',
    notes: [
      `${fmtInt(memory.requests)} requests through one client (${memory.adapter}, concurrency ${memory.concurrency}), ` +
        `${fmtInt(memory.requests / memory.seconds)} req/s, ${memory.errors} errors; heap after forced GC.`,
      `Heap growth from ${fmtInt(memory.checkpoints[0]?.requests ?? Number.NaN)} to ${fmtInt(memory.requests)} requests: ${fmtBytes(memory.heapGrowth)}.`,
    ],
    charts: [],
    tables: [
      {
        caption: '',
        header: ['after requests', 'heap used', 'external', 'rss'],
        rows: memory.checkpoints.map((c) => [
          fmtInt(c.requests),
          fmtBytes(c.heapUsed),
          fmtBytes(c.external),
          fmtBytes(c.rss),
        ]),
      },
    ],
  };
}

function idleSection(idle: BenchIdle[], label: (adapter: string) => string): ReportSection {
  return {
    title: 'Idle connections',
    notes: ['Per idle connection, heap after forced GC.'],
    charts: [],
    tables: [
      {
        caption: '',
        header: [
          'client',
          'open at server',
          'client says idle',
          'heap',
          'external',
          'rss',
          'setup s',
        ],
        rows: idle.map(({ result: r, open, error }) =>
          r === undefined
            ? [`failed: ${error ?? 'unknown'}`, '', '', '', '', '', '']
            : [
                label(r.adapter),
                fmtInt(open),
                r.idleReported === undefined ? '—' : fmtInt(r.idleReported),
                fmtBytes(r.heapPerConnection),
                fmtBytes(r.externalPerConnection),
                fmtBytes(r.rssPerConnection),
                fmt(r.seconds),
              ],
        ),
      },
    ],
  };
}

/** The report of one `npm run bench` run. */
export function benchReport(input: BenchReportInput): Report {
  const sections: ReportSection[] = [];
  if (input.targets.length > 0) sections.push(targetsSection(input.targets, input.rounds));
  for (const scenario of input.scenarios) {
    const rows = input.summary[scenario.id] ?? [];
    sections.push(
      scenario.kind === 'throughput'
        ? throughputSection(scenario, rows, input.label)
        : streamSection(scenario, rows, input.label),
    );
  }
  if (input.memory !== undefined) sections.push(memorySection(input.memory));
  if (input.idle.length > 0) sections.push(idleSection(input.idle, input.idleLabel));
  return { title: 'http-sentinel bench', meta: input.meta, sections };
}
