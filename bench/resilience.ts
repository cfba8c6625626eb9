/**
 * The resilience scorecard: `npm run bench:resilience [-- --quick] [--scenario NAME]
 * [--report FILE | --no-report]`.
 *
 * Each scenario runs against a real local server, for http-sentinel with its defaults, got
 * 14 with its defaults and undici's RetryAgent with its defaults (same server, same run; no
 * client's backoff is shortened), and prints success, server requests per call, p50/p99
 * latency and errors by code, with a PASS/FAIL against http-sentinel's target, and writes
 * the same as an HTML report with charts (`.bench-results/resilience.html` by default).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import {
  errorCodes,
  requestsPerCall,
  resilienceReport,
  successShare,
} from './report/resilience-report.js';
import { REPORT_OPTIONS, reportHelp, reportPath, shownPath, writeReport } from './report/write.js';
import {
  type BenchClient,
  CLIENTS,
  type ClientFactory,
  type ClientSpec,
  draws,
  drive,
  FaultServer,
  type Outcome,
  percentile,
  sentinelDefaults,
} from './resilience/harness.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    scenario: { type: 'string' },
    ...REPORT_OPTIONS,
    help: { type: 'boolean', default: false },
  },
});
const QUICK = values.quick;
const scale = (n: number): number => (QUICK ? Math.max(10, Math.round(n / 4)) : n);

/** What one client did in one scenario. */
interface Row {
  scenario: string;
  client: string;
  outcomes: Outcome[];
  requests: number;
  /** The scenario's own figures and verdict (http-sentinel's target). */
  notes: string[];
  verdict?: { pass: boolean; text: string };
}

interface Scenario {
  name: string;
  title: string;
  target: string;
  /** Runs one client; returns its outcomes and notes. */
  run(server: FaultServer, make: ClientFactory): Promise<Omit<Row, 'scenario'>>;
  /** http-sentinel's target, judged on its row. */
  judge?(row: Row): { pass: boolean; text: string };
  /** Which clients take part (default: all three). */
  clients?: readonly ClientFactory[];
}

const okShare = (r: Row): number => successShare(r.outcomes);
const perCall = (r: Row): number => requestsPerCall(r);
const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;

async function withClient<T>(
  make: ClientFactory,
  server: FaultServer,
  spec: ClientSpec,
  body: (client: BenchClient) => Promise<T>,
): Promise<T> {
  const client = make(server.url, spec);
  try {
    return await body(client);
  } finally {
    await client.close();
    server.dropConnections();
  }
}

/** A share of requests answered 503, by a deterministic draw. */
function failing(server: FaultServer, share: number): void {
  const draw = draws();
  server.reset((_req, res) => {
    res.statusCode = draw() < share ? 503 : 200;
    res.end();
  });
}

function plain(
  name: string,
  title: string,
  target: string,
  calls: number,
  concurrency: number,
  share: number,
  spec: ClientSpec,
  judge: Scenario['judge'],
): Scenario {
  return {
    name,
    title,
    target,
    judge,
    async run(server, make) {
      failing(server, share);
      return withClient(make, server, spec, async (client) => {
        const t0 = performance.now();
        const outcomes = await drive(scale(calls), concurrency, () =>
          client.call({ path: '/' }, t0),
        );
        const stats = client.sentinel?.stats().retry;
        return {
          client: client.name,
          outcomes,
          requests: server.seen.length,
          notes:
            stats === undefined
              ? []
              : [`retries ${stats.retries}, refused by budget ${stats.refusedByBudget}`],
        };
      });
    },
  };
}

const SCENARIOS: Scenario[] = [
  plain(
    'burst',
    'healthy burst: 2,000 calls at once on default pool limits, 2 % transient 503',
    '>= 99.9 % success, no CircuitOpenError, no retry refused',
    2000,
    2000,
    0.02,
    {},
    (row) => {
      const open = row.outcomes.filter((o) => o.code === 'SENTINEL_CIRCUIT_OPEN').length;
      const refused = /refused by budget (\d+)/.exec(row.notes.join(' '))?.[1] ?? '?';
      return {
        pass: okShare(row) >= 0.999 && open === 0 && refused === '0',
        text: `${pct(okShare(row))}, ${open} circuit-open, ${refused} refused`,
      };
    },
  ),
  plain(
    'ten',
    '10 % transient 503: 2,000 calls, 16 concurrent',
    '>= 99.9 % success, <= 1.15 requests per call',
    2000,
    16,
    0.1,
    {},
    (row) => ({
      pass: okShare(row) >= 0.999 && perCall(row) <= 1.15,
      text: `${pct(okShare(row))} at ${perCall(row).toFixed(2)} requests/call`,
    }),
  ),
  plain(
    'half',
    '50 % 503, a half-broken host: 2,000 calls, 32 concurrent',
    '>= 55 % success at <= 1.3 requests per call',
    2000,
    32,
    0.5,
    {},
    (row) => ({
      pass: okShare(row) >= 0.55 && perCall(row) <= 1.3,
      text: `${pct(okShare(row))} at ${perCall(row).toFixed(2)} requests/call`,
    }),
  ),
  {
    name: 'outage',
    title: '100 % outage for 3 s, then recovery: 16 callers, one call each per 20 ms, 11 s',
    target: '<= 1.1 requests/call in the outage; first success <= 6 s after; all succeed after it',
    async run(server, make) {
      const start = 500;
      const end = start + 3000;
      server.reset((_req, res) => {
        const t = server.now();
        res.statusCode = t >= start && t < end ? 503 : 200;
        res.end();
      });
      return withClient(make, server, {}, async (client) => {
        const t0 = performance.now();
        const outcomes: Outcome[] = [];
        const stopAt = end + (QUICK ? 4000 : 7500);
        await Promise.all(
          Array.from({ length: 16 }, async () => {
            while (performance.now() - t0 < stopAt) {
              outcomes.push(await client.call({ path: '/' }, t0));
              await sleep(20);
            }
          }),
        );
        const during = outcomes.filter((o) => o.startedAt >= start && o.startedAt < end);
        const inOutage = server.seen.filter((s) => s.at >= start && s.at < end).length;
        const firstOk = Math.min(
          ...outcomes
            .filter((o) => o.ok && o.startedAt + o.ms >= end)
            .map((o) => o.startedAt + o.ms),
        );
        const after = outcomes.filter((o) => o.startedAt >= firstOk);
        const failedAfter = after.filter((o) => !o.ok).length;
        return {
          client: client.name,
          outcomes,
          requests: server.seen.length,
          notes: [
            `outage: ${(inOutage / Math.max(1, during.length)).toFixed(2)} requests/call`,
            `first success ${((firstOk - end) / 1000).toFixed(2)} s after recovery`,
            `${failedAfter} of ${after.length} calls after it failed`,
          ],
        };
      });
    },
    judge(row) {
      const ratio = Number(/outage: ([\d.]+)/.exec(row.notes[0]!)?.[1]);
      const first = Number(/first success ([\d.-]+) s/.exec(row.notes[1]!)?.[1]);
      const failedAfter = Number(/^(\d+) of/.exec(row.notes[2]!)?.[1]);
      return {
        pass: ratio <= 1.1 && first <= 6 && failedAfter === 0,
        text: row.notes.join('; '),
      };
    },
  },
  {
    name: 'paths',
    title: 'one path always 500, another healthy, same host: 16 + 16 calls, 16 concurrent',
    target: 'every healthy-path call succeeds',
    async run(server, make) {
      server.reset((req, res) => {
        res.statusCode = req.url === '/bad' ? 500 : 200;
        res.end();
      });
      return withClient(make, server, {}, async (client) => {
        const t0 = performance.now();
        const outcomes = await drive(32, 16, (i) =>
          client.call({ path: i % 2 === 0 ? '/bad' : '/good' }, t0),
        );
        const good = outcomes.filter((_, i) => i % 2 === 1);
        return {
          client: client.name,
          outcomes,
          requests: server.seen.length,
          notes: [`healthy path ${good.filter((o) => o.ok).length} of ${good.length}`],
        };
      });
    },
    judge(row) {
      const [ok, of] = (/(\d+) of (\d+)/.exec(row.notes[0]!) ?? []).slice(1).map(Number);
      return { pass: ok === of, text: row.notes[0]! };
    },
  },
  {
    name: 'queued',
    title:
      'calls queued past their deadline: 1 connection, timeout 100 ms, 10 calls at once to a 50 ms endpoint, then 10 more one at a time',
    target: 'the host untouched: the next calls succeed',
    async run(server, make) {
      server.reset((_req, res) => {
        setTimeout(() => res.end('ok'), 50);
      });
      return withClient(make, server, { maxConnections: 1, timeoutMs: 100 }, async (client) => {
        const t0 = performance.now();
        const burst = await drive(10, 10, () => client.call({ path: '/' }, t0));
        const next = await drive(10, 1, () => client.call({ path: '/' }, t0));
        const breaker = client.sentinel?.stats().hosts[new URL(server.url).host]?.breaker;
        return {
          client: client.name,
          outcomes: [...burst, ...next],
          requests: server.seen.length,
          notes: [
            `follow-up ${next.filter((o) => o.ok).length} of 10`,
            ...(breaker === undefined
              ? []
              : [`breaker ${breaker.state}, run ${breaker.consecutiveFailures}`]),
          ],
        };
      });
    },
    judge(row) {
      return {
        pass:
          row.notes[0] === 'follow-up 10 of 10' && /breaker closed, run 0/.test(row.notes[1] ?? ''),
        text: row.notes.join('; '),
      };
    },
  },
  {
    name: 'hang',
    title: '10 % of requests hang, only a 3 s timeout set: 500 calls, 16 concurrent',
    target: '>= 99 % success within the deadline',
    async run(server, make) {
      const draw = draws(7);
      server.reset((_req, res) => {
        if (draw() >= 0.1) res.end('ok');
      });
      return withClient(make, server, { timeoutMs: 3000 }, async (client) => {
        const t0 = performance.now();
        const outcomes = await drive(scale(500), 16, () => client.call({ path: '/' }, t0));
        const inTime = outcomes.filter((o) => o.ok && o.ms <= 3000 + 250).length;
        return {
          client: client.name,
          outcomes,
          requests: server.seen.length,
          notes: [`${pct(inTime / outcomes.length)} succeeded within 3 s (+250 ms)`],
        };
      });
    },
    judge(row) {
      const share = Number(/^([\d.]+) %/.exec(row.notes[0]!)?.[1]) / 100;
      return { pass: share >= 0.99, text: row.notes[0]! };
    },
  },
  {
    name: 'caller',
    title:
      'caller-side faults: 5 POSTs whose body source throws, 5 GETs the caller aborts, then 20 GETs',
    target: 'the next calls to that host succeed',
    async run(server, make) {
      server.reset((req, res) => {
        if (req.url === '/slow') setTimeout(() => res.end('late'), 300);
        else {
          req.resume();
          req.on('end', () => res.end('ok'));
          req.on('error', () => {});
        }
      });
      return withClient(make, server, {}, async (client) => {
        const t0 = performance.now();
        const faults: Outcome[] = [];
        for (let i = 0; i < 5; i++) {
          faults.push(
            await client.call(
              {
                path: '/upload',
                method: 'POST',
                body: () =>
                  (async function* () {
                    yield Buffer.from('part');
                    throw new Error('disk read failed');
                  })(),
              },
              t0,
            ),
          );
          faults.push(await client.call({ path: '/slow', signal: AbortSignal.timeout(10) }, t0));
        }
        const next = await drive(20, 4, () => client.call({ path: '/' }, t0));
        return {
          client: client.name,
          outcomes: [...faults, ...next],
          requests: server.seen.length,
          notes: [`next calls ${next.filter((o) => o.ok).length} of 20`],
        };
      });
    },
    judge(row) {
      return { pass: row.notes[0] === 'next calls 20 of 20', text: row.notes[0]! };
    },
  },
  {
    name: 'low',
    title:
      'low traffic: each call answered 503, 503, then 200; one call started every 100 ms, 30 calls',
    target: 'every call succeeds on its 3rd attempt',
    async run(server, make) {
      const count = new Map<string, number>();
      server.reset((req, res) => {
        const id = String(req.headers['x-call-id']);
        const n = (count.get(id) ?? 0) + 1;
        count.set(id, n);
        res.statusCode = n < 3 ? 503 : 200;
        res.end();
      });
      return withClient(make, server, {}, async (client) => {
        const t0 = performance.now();
        const pending: Promise<Outcome>[] = [];
        for (let i = 0; i < 30; i++) {
          pending.push(client.call({ path: '/', headers: { 'x-call-id': String(i) } }, t0));
          await sleep(100);
        }
        const outcomes = await Promise.all(pending);
        // Attempts as the server counted them, the same for every client.
        const third = outcomes.filter((o, i) => o.ok && count.get(String(i)) === 3).length;
        return {
          client: client.name,
          outcomes,
          requests: server.seen.length,
          notes: [`${third} of 30 succeeded on the 3rd attempt`],
        };
      });
    },
    judge(row) {
      return { pass: row.notes[0]!.startsWith('30 of 30'), text: row.notes[0]! };
    },
  },
  {
    name: 'dead',
    title:
      'a call with a 500 ms timeout against a dead host (accepts, never answers; and a closed port)',
    target: 'settles within its deadline (+250 ms), never hangs',
    async run(server, make) {
      server.reset(() => {});
      const closed = new FaultServer();
      await closed.listen();
      const closedUrl = closed.url;
      await closed.close();
      const outcomes: Outcome[] = [];
      for (const base of [server.url, closedUrl]) {
        const client = make(base, { timeoutMs: 500 });
        try {
          outcomes.push(await client.call({ path: '/' }, performance.now()));
        } finally {
          await client.close();
          server.dropConnections();
        }
      }
      const name = make(server.url, {}).name;
      return {
        client: name,
        outcomes,
        requests: server.seen.length,
        notes: [`settled in ${outcomes.map((o) => Math.round(o.ms)).join(' and ')} ms`],
      };
    },
    judge(row) {
      return { pass: row.outcomes.every((o) => o.ms <= 750), text: row.notes[0]! };
    },
  },
  {
    name: 'hedge',
    title: 'slow tail: 10 % of requests take 1 s, the rest 2 ms; 500 calls, 16 concurrent',
    target: 'with hedge { delayMs: 50 }: p99 < 200 ms at <= 1.2 requests per call',
    clients: [
      sentinelDefaults,
      (url, spec) => sentinelDefaults(url, { ...spec, hedge: { delayMs: 50 } }),
    ],
    async run(server, make) {
      const draw = draws(11);
      server.reset((_req, res) => {
        const slow = draw() < 0.1;
        setTimeout(() => res.end('ok'), slow ? 1000 : 2).unref();
      });
      return withClient(make, server, {}, async (client) => {
        const t0 = performance.now();
        const outcomes = await drive(scale(500), 16, () => client.call({ path: '/' }, t0));
        const stats = client.sentinel?.stats().retry;
        return {
          client: client.name,
          outcomes,
          requests: server.seen.length,
          notes: stats === undefined ? [] : [`hedges ${stats.hedges}, won ${stats.hedgesWon}`],
        };
      });
    },
    judge(row) {
      if (!row.client.includes('hedge')) return { pass: true, text: 'baseline' };
      const p99 = percentile(
        row.outcomes.map((o) => o.ms),
        99,
      );
      return {
        pass: p99 < 200 && perCall(row) <= 1.2,
        text: `p99 ${p99.toFixed(0)} ms at ${perCall(row).toFixed(2)} requests/call`,
      };
    },
  },
];

async function main(): Promise<void> {
  if (values.help) {
    console.log(
      `npm run bench:resilience -- [--quick] [--scenario ${SCENARIOS.map((s) => s.name).join('|')}]\n${reportHelp('resilience.html')}`,
    );
    return;
  }
  const reportFile = reportPath(values, 'resilience.html');
  const chosen = SCENARIOS.filter(
    (s) => values.scenario === undefined || s.name === values.scenario,
  );
  if (chosen.length === 0) throw new Error(`unknown scenario ${values.scenario}`);
  const server = new FaultServer();
  await server.listen();
  const rows: Row[] = [];
  const started = new Date().toISOString();
  const heading = `Resilience scorecard — Node ${process.version}, ${QUICK ? 'quick' : 'full'} run; every client with its own default retry and backoff.`;
  console.log(`${heading}\n`);
  try {
    for (const scenario of chosen) {
      console.log(
        `${scenario.name}: ${scenario.title}\n  http-sentinel target: ${scenario.target}`,
      );
      for (const make of scenario.clients ?? CLIENTS) {
        const result = await scenario.run(server, make);
        const row: Row = { scenario: scenario.name, ...result };
        if (scenario.judge !== undefined && row.client.startsWith('http-sentinel')) {
          row.verdict = scenario.judge(row);
        }
        rows.push(row);
        const ms = row.outcomes.map((o) => o.ms);
        console.log(
          `  ${row.client.padEnd(28)} ${pct(okShare(row)).padStart(7)}  ${perCall(row).toFixed(2)} req/call  p50 ${percentile(ms, 50).toFixed(0)} ms  p99 ${percentile(ms, 99).toFixed(0)} ms  errors: ${errorCodes(row.outcomes)}${row.notes.length > 0 ? `\n  ${' '.repeat(28)} ${row.notes.join('; ')}` : ''}${row.verdict === undefined ? '' : `\n  ${' '.repeat(28)} ${row.verdict.pass ? 'PASS' : 'FAIL'}: ${row.verdict.text}`}`,
        );
      }
      console.log('');
    }
  } finally {
    await server.close();
  }
  console.log(
    '| scenario | client | success | requests/call | p50 ms | p99 ms | errors by code | target |',
  );
  console.log('| --- | --- | --: | --: | --: | --: | --- | --- |');
  for (const row of rows) {
    const ms = row.outcomes.map((o) => o.ms);
    console.log(
      `| ${row.scenario} | ${row.client} | ${pct(okShare(row))} | ${perCall(row).toFixed(2)} | ${percentile(ms, 50).toFixed(0)} | ${percentile(ms, 99).toFixed(0)} | ${errorCodes(row.outcomes)} | ${row.verdict === undefined ? '' : `${row.verdict.pass ? 'PASS' : 'FAIL'}: ${row.verdict.text}`} |`,
    );
  }
  if (reportFile !== undefined) {
    const report = resilienceReport({
      meta: [heading, `started ${started}`],
      scenarios: chosen,
      rows,
    });
    console.log(`\nreport: ${shownPath(writeReport(report, reportFile))}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
