/** Fixed results of both benches, in the shapes their scripts hand to the report. */
import type { BenchReportInput, BenchRow } from '../../bench/report/bench-report.js';
import type { ResilienceReportInput } from '../../bench/report/resilience-report.js';
import type { Outcome } from '../../bench/resilience/harness.js';

const LABELS: Record<string, string> = {
  'undici-request': 'undici request (Pool)',
  'undici-client': 'undici Client.request',
  'sentinel-get': 'sentinel client.get',
  'sentinel-stream': 'sentinel client.stream',
  'undici-stream': 'undici request stream',
};

function throughputRow(adapter: string, rps: number, cpu: number, p50: number): BenchRow {
  return {
    adapter,
    notes: [],
    values: {
      rps,
      mibps: (rps * 64) / 2 ** 20,
      vsRequest: rps / 20_000,
      vsClient: rps / 40_000,
      p50,
      p90: p50 * 1.5,
      p99: p50 * 3,
      cpu,
      faults: 0,
      cpuVsClient: cpu / 25,
      conns: 64,
      serverCpu: 4.2,
      copiesParser: Number.NaN,
      copiesClient: Number.NaN,
    },
  };
}

export function benchInput(): BenchReportInput {
  const failing = throughputRow('a-client<script>', Number.NaN, Number.NaN, Number.NaN);
  failing.notes.push('1 run(s) failed: ECONNRESET & "<b>"');
  return {
    meta: ['2 x Test CPU, 4.0 GiB RAM', 'Node v20.0.0, undici 7.0.0'],
    rounds: 2,
    scenarios: [
      { id: 'c64-64b', title: 'concurrency 64, 64 B bodies', kind: 'throughput' },
      { id: 'buffered', title: 'one 8 MiB body', kind: 'throughput', countCopies: true },
      { id: 'stream', title: 'one 256 MiB streamed download', kind: 'stream' },
    ],
    summary: {
      'c64-64b': [
        throughputRow('undici-request', 20_000, 46, 3000),
        throughputRow('undici-client', 40_000, 25, 1500),
        throughputRow('sentinel-get', 42_000, 23, 1400),
        failing,
      ],
      buffered: [
        {
          ...throughputRow('sentinel-get', 60, 9000, 16_000),
          values: { rps: 60, mibps: 480, vsRequest: 1.1, p50: 16_000, p90: 17_000, p99: 20_000 },
        },
      ],
      stream: [
        {
          adapter: 'undici-stream',
          notes: [],
          values: { mibps: 900, vsUndici: 1, cpuPerGiB: 700, rssGrowth: 12 * 2 ** 20 },
        },
        {
          adapter: 'sentinel-stream',
          notes: [],
          values: { mibps: 1100, vsUndici: 1.22, cpuPerGiB: 650, rssGrowth: 9 * 2 ** 20 },
        },
      ],
    },
    label: (adapter) => LABELS[adapter] ?? adapter,
    idleLabel: (adapter) => (adapter === 'undici-request' ? 'undici Agent' : adapter),
    targets: [
      { what: 'client.get vs undici request', goal: '>= 1.30x', shown: '2.10x', pass: true },
      { what: 'client.get CPU vs Client', goal: '<= 1.15x', shown: '1.20x', pass: false },
      { what: 'stream RSS growth', goal: '< 64.0 MiB', shown: '—', pass: undefined },
    ],
    memory: {
      mode: 'memory',
      adapter: 'sentinel-get',
      concurrency: 64,
      requests: 20_000,
      errors: 0,
      seconds: 1,
      checkpoints: [
        { requests: 10_000, heapUsed: 8e6, rss: 9e7, external: 1e6 },
        { requests: 20_000, heapUsed: 8.1e6, rss: 9.1e7, external: 1e6 },
      ],
      heapGrowth: 1e5,
    },
    idle: [
      {
        result: {
          mode: 'idle',
          adapter: 'undici-request',
          hosts: 10,
          perHost: 10,
          idleReported: undefined,
          seconds: 0.5,
          heapPerConnection: 7000,
          externalPerConnection: 100,
          rssPerConnection: 9000,
        },
        open: 100,
        error: undefined,
      },
      { result: undefined, open: 0, error: 'runner crashed' },
    ],
  };
}

function outcomes(ok: number, failed: number, ms: (i: number) => number): Outcome[] {
  return Array.from({ length: ok + failed }, (_, i) => ({
    ok: i < ok,
    ...(i < ok ? { status: 200 } : { code: 'SENTINEL_HTTP_STATUS' }),
    startedAt: i,
    ms: ms(i),
  }));
}

export function resilienceInput(): ResilienceReportInput {
  return {
    meta: ['Resilience scorecard — Node v20.0.0, quick run'],
    scenarios: [
      { name: 'ten', title: '10 % transient 503', target: '>= 99.9 % success' },
      { name: 'hedge', title: 'slow tail </script><b>', target: 'p99 < 200 ms' },
      { name: 'skipped', title: 'not run this time', target: 'none' },
    ],
    rows: [
      {
        scenario: 'ten',
        client: 'http-sentinel',
        outcomes: outcomes(100, 0, (i) => 2 + (i % 10)),
        requests: 110,
        notes: ['retries 10, refused by budget 0'],
        verdict: { pass: true, text: '100.0 % at 1.10 requests/call' },
      },
      {
        scenario: 'ten',
        client: 'got 14',
        outcomes: outcomes(90, 10, (i) => 5 + i),
        requests: 250,
        notes: [],
      },
      {
        scenario: 'hedge',
        client: 'http-sentinel, hedge 50 ms',
        outcomes: outcomes(40, 0, (i) => (i < 36 ? 3 : 1000)),
        requests: 44,
        notes: ['hedges 4, won 4'],
        verdict: { pass: false, text: 'p99 1000 ms at 1.10 requests/call' },
      },
    ],
  };
}
