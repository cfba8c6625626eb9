/**
 * The resilience scorecard as a report: success and requests per call of every client in
 * every scenario (grouped bars), the scorecard table with http-sentinel's verdicts, then
 * per scenario the latency percentiles and the rows with their notes.
 */
import { type Outcome, percentile } from '../resilience/harness.js';
import { type BarChart, type Cell, figure, type Report, type ReportSection } from './model.js';

/** One client in one scenario, as `resilience.ts` records it. */
export interface ScorecardRow {
  scenario: string;
  client: string;
  outcomes: Outcome[];
  /** Requests the server saw. */
  requests: number;
  notes: string[];
  verdict?: { pass: boolean; text: string };
}

export interface ScorecardScenario {
  name: string;
  title: string;
  target: string;
}

export interface ResilienceReportInput {
  meta: string[];
  scenarios: ScorecardScenario[];
  rows: ScorecardRow[];
}

/** Share of calls that got a 2xx answer. */
export function successShare(outcomes: readonly Outcome[]): number {
  return outcomes.filter((o) => o.ok).length / outcomes.length;
}

function successPercent(row: ScorecardRow): number {
  return (100 * row.outcomes.filter((o) => o.ok).length) / row.outcomes.length;
}

/** Requests the server saw per call: the client's amplification. */
export function requestsPerCall(row: Pick<ScorecardRow, 'requests' | 'outcomes'>): number {
  return row.requests / row.outcomes.length;
}

/** Failed calls counted by error code: `SENTINEL_TIMEOUT ×3, status 503 ×1`, or `—`. */
export function errorCodes(outcomes: readonly Outcome[]): string {
  const counts = new Map<string, number>();
  for (const o of outcomes)
    if (!o.ok) counts.set(o.code ?? '?', (counts.get(o.code ?? '?') ?? 0) + 1);
  return [...counts].map(([c, n]) => `${c} ×${n}`).join(', ') || '—';
}

function latencies(row: ScorecardRow): [number, number, number] {
  const ms = row.outcomes.map((o) => o.ms);
  return [percentile(ms, 50), percentile(ms, 90), percentile(ms, 99)];
}

function verdictCell(row: ScorecardRow): Cell {
  if (row.verdict === undefined) return { text: '', verdict: 'none' };
  return {
    text: `${row.verdict.pass ? 'PASS' : 'FAIL'}: ${row.verdict.text}`,
    verdict: row.verdict.pass ? 'pass' : 'fail',
  };
}

const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : '—');
const fixed = (x: number, digits: number): string => (Number.isFinite(x) ? x.toFixed(digits) : '—');

function rowCells(row: ScorecardRow): Cell[] {
  const [p50, p90, p99] = latencies(row);
  return [
    pct(successShare(row.outcomes)),
    fixed(requestsPerCall(row), 2),
    fixed(p50, 0),
    fixed(p90, 0),
    fixed(p99, 0),
    errorCodes(row.outcomes),
  ];
}

/** Grouped bars: a group per scenario, a bar per client (absent where it did not run). */
function overview(
  title: string,
  unit: string,
  scenarios: ScorecardScenario[],
  rows: ScorecardRow[],
  value: (row: ScorecardRow) => number,
  digits: number,
  max?: number,
): BarChart {
  const clients = [...new Set(rows.map((r) => r.client))];
  return {
    title,
    unit,
    digits,
    ...(max === undefined ? {} : { max }),
    categories: scenarios.map((s) => s.name),
    series: clients.map((client) => ({
      label: client,
      values: scenarios.map((s) => {
        const row = rows.find((r) => r.scenario === s.name && r.client === client);
        return row === undefined ? null : figure(value(row));
      }),
    })),
  };
}

function scenarioSection(scenario: ScorecardScenario, rows: ScorecardRow[]): ReportSection {
  const lat = rows.map(latencies);
  return {
    title: `${scenario.name}: ${scenario.title}`,
    short: scenario.name,
    notes: [`http-sentinel target: ${scenario.target}`],
    charts: [
      {
        title: 'Call latency percentiles',
        unit: 'ms per call, retries included',
        digits: 0,
        ordered: true,
        categories: rows.map((r) => r.client),
        emphasis: rows.map((r) => r.client.startsWith('http-sentinel')),
        series: ['p50', 'p90', 'p99'].map((label, i) => ({
          label,
          values: lat.map((l) => figure(l[i])),
        })),
      },
    ],
    tables: [
      {
        caption: '',
        header: [
          'client',
          'success',
          'requests/call',
          'p50 ms',
          'p90 ms',
          'p99 ms',
          'errors by code',
          'notes',
          'target',
        ],
        textColumns: [6, 7, 8],
        rows: rows.map((r) => [r.client, ...rowCells(r), r.notes.join('; '), verdictCell(r)]),
      },
    ],
  };
}

/** The report of one `npm run bench:resilience` run. */
export function resilienceReport(input: ResilienceReportInput): Report {
  const { scenarios, rows } = input;
  const ran = scenarios.filter((s) => rows.some((r) => r.scenario === s.name));
  const scorecard: ReportSection = {
    title: 'Scorecard',
    notes: [
      'Success: calls answered 2xx. Requests per call: requests the server saw per call (1.00 = no amplification).',
    ],
    charts: [
      overview('Success', '% of calls', ran, rows, successPercent, 1, 100),
      overview('Amplification', 'requests per call', ran, rows, requestsPerCall, 2),
    ],
    tables: [
      {
        caption: '',
        header: [
          'scenario',
          'client',
          'success',
          'requests/call',
          'p50 ms',
          'p90 ms',
          'p99 ms',
          'errors by code',
          'target',
        ],
        textColumns: [1, 7, 8],
        rows: rows.map((r) => [r.scenario, r.client, ...rowCells(r), verdictCell(r)]),
      },
    ],
  };
  return {
    title: 'http-sentinel resilience scorecard',
    meta: input.meta,
    sections: [
      scorecard,
      ...ran.map((s) =>
        scenarioSection(
          s,
          rows.filter((r) => r.scenario === s.name),
        ),
      ),
    ],
  };
}
