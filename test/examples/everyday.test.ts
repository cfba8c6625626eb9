/**
 * Every everyday example runs here, as CI runs it: each `main` is called with console
 * output captured, and the facts it prints are checked — so the examples (and the README
 * that points at them) cannot rot. Each test also checks that the example left no server,
 * socket, timer, worker or child process behind.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { main as basic } from '../../examples/basic.js';
import { main as concurrencyBench } from '../../examples/concurrency-bench.js';
import { main as concurrent } from '../../examples/concurrent.js';
import { main as demo } from '../../examples/demo.js';
import { ADVICE, main as errorHandling } from '../../examples/error-handling.js';
import { main as jsonApi } from '../../examples/json-api.js';
import { main as poolDemo } from '../../examples/pool-demo.js';
import { main as retryDemo } from '../../examples/retry-demo.js';
import { EXAMPLES, type Example, main as runAll, runExamples } from '../../examples/run-all.js';
import { captureConsole } from '../helpers/client-helpers.js';

/** Counts of the resources keeping the event loop alive, by type. */
function resources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo())
    counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

/** Waits (up to 2 s: sockets close asynchronously) until nothing is left over `baseline`. */
async function assertNothingLeft(baseline: Map<string, number>): Promise<void> {
  let extra: string[] = [];
  for (let waited = 0; waited <= 2_000; waited += 20) {
    extra = [];
    for (const [type, n] of resources()) {
      if (n > (baseline.get(type) ?? 0)) extra.push(`${type} x${n - (baseline.get(type) ?? 0)}`);
    }
    if (extra.length === 0) return;
    await sleep(20);
  }
  assert.fail(`left behind: ${extra.join(', ')}`);
}

/** Runs an example's main, returns its output, and checks that it cleaned up. */
async function run(fn: () => Promise<unknown>): Promise<string> {
  const baseline = resources();
  const output = await captureConsole(fn);
  await assertNothingLeft(baseline);
  return output;
}

/** Every number captured by `pattern` (global) in `text`. */
function numbers(text: string, pattern: RegExp): number[] {
  return [...text.matchAll(pattern)].map((m) => Number(m[1]));
}

function firstNumber(text: string, pattern: RegExp): number {
  const m = pattern.exec(text);
  assert.ok(m, `no match for ${pattern} in:\n${text}`);
  return Number(m[1]);
}

describe('examples: the existing demos', () => {
  it('demo.ts shows verbs, a deadline, a body limit, retries and the breaker', async () => {
    const out = await run(() => demo());
    assert.match(out, /The six verbs/);
    assert.equal((out.match(/^ {2}200 OK/gm) ?? []).length, 6);
    assert.match(out, /TimeoutError \(SENTINEL_TIMEOUT phase=total\)/);
    assert.match(out, /BodyTooLargeError \(SENTINEL_BODY_TOO_LARGE limit=1048576\)/);
    assert.match(out, /GET \/flaky +200 ok after 3 attempts/);
    assert.match(out, /POST \/flaky +503 after 1 attempt/);
    // 404s are answers from a live host: they never open the breaker.
    assert.match(out, /5 x GET \/missing +404 -> breaker closed/);
    // 503s say the host is down: the third in a row opens it, the next calls send nothing.
    assert.match(out, /call 2 to \/dead +503 -> breaker closed/);
    assert.match(out, /call 3 to \/dead +503 -> breaker open/);
    assert.match(out, /call 4 to \/dead +CircuitOpenError/);
    assert.match(out, /probe 200 back -> breaker closed/);
    assert.match(out, /server saw +4 requests to \/dead for 6 calls/);
  });

  it('retry-demo.ts prints its timeline: backoff, Retry-After, breaker, budget', async () => {
    const out = await run(() => retryDemo());
    assert.match(out, /=> 200 after 3 attempts/);
    assert.match(out, /retry after 1000 ms \(server asked for 1000 ms\)/);
    // Each outage call is retried and counts once: the breaker opens after the second.
    assert.match(out, /call 2: 503 after 4 attempts/);
    assert.match(out, /call 3: CircuitOpenError, nothing sent/);
    assert.match(out, /server saw 8 requests for 4 calls/);
    assert.match(out, /call 4: CircuitOpenError, nothing sent/);
    assert.equal((out.match(/closed -> open/g) ?? []).length, 1, 'the breaker opened once');
    assert.match(out, /half-open -> closed/);
    assert.doesNotMatch(out, /refused by the throttle/);
    // The budget: 20 % of 1000 requests plus a reserve of 100 retries.
    const requests = firstNumber(out, /1000 calls -> (\d+) requests/);
    assert.ok(
      requests > 1000 && requests <= 1300,
      `the budget kept 1000 calls to ${requests} requests`,
    );
    assert.ok(firstNumber(out, /(\d+) refused by the budget/) > 0);
  });

  it('retry-demo.ts { quick: true } skips the waits', async () => {
    const out = await run(() => retryDemo({ quick: true }));
    assert.match(out, /=> 200 after 3 attempts/);
    assert.match(out, /call 4: CircuitOpenError, nothing sent/);
    assert.doesNotMatch(out, /Throttling route|Recovery|retry budget alone/);
  });
});

describe('examples: everyday patterns', () => {
  it('basic.ts: GET and POST, headers in, status, headers, timings and attempts out', async () => {
    const out = await run(() => basic());
    assert.match(out, /status +200 OK \(ok: true\)/);
    assert.match(out, /x-request-id: req-1/);
    assert.match(out, /query \{"lang":"en"\}, user-agent sentinel-examples\/1\.0/);
    assert.match(
      out,
      /timings +queued [\d.]+ ms, connect [\d.]+ ms, ttfb [\d.]+ ms, total [\d.]+ ms/,
    );
    assert.match(out, /attempts +1/);
    assert.match(out, /connect 0\.0 ms: socket reused/);
    assert.match(out, /server got "hello, server"/);
    assert.match(out, /post\(\) +200, application\/json, body \{"name":"widget","qty":3\}/);
    assert.match(
      out,
      /request\(\{ json \}\) +200, application\/json, body \{"name":"widget","qty":3\}/,
    );
    assert.match(out, /404 Not Found, ok: false/);
  });

  it('json-api.ts: typed results, and 4xx JSON error bodies as ApiError', async () => {
    const out = await run(() => jsonApi());
    assert.match(out, /list\(\) +-> \["Ada","Grace"\]/);
    assert.match(out, /get\(1\) +-> \{"id":1,"name":"Ada"/);
    assert.match(out, /get\(99\) +-> ApiError 404 not_found: no user 99/);
    assert.match(out, /-> \{"id":3,"name":"Linus"/);
    assert.match(out, /ApiError 422 validation_failed: .*"name":"required"/);
    assert.match(out, /without a token +-> ApiError 401 unauthenticated/);
    assert.match(out, /404 ok=false error\.code=not_found/);
    assert.match(out, /HttpStatusError SENTINEL_HTTP_STATUS status=409 attempts=1/);
  });

  it('concurrent.ts: a shared client stays within maxConnections; workers have their own', async () => {
    const out = await run(() => concurrent());
    const [shared, perWorker] = out.split('One client per worker_thread');
    assert.ok(shared !== undefined && perWorker !== undefined, out);

    assert.match(shared, /200\/200 OK/);
    const limit = firstNumber(shared, /maxConnections (\d+)/);
    const opened = firstNumber(shared, /pool opened (\d+) socket/);
    assert.ok(opened >= 1 && opened <= limit, `opened ${opened} sockets, limit ${limit}`);
    assert.ok(firstNumber(shared, /peak active (\d+)/) <= limit);
    assert.ok(firstNumber(shared, /peak pending (\d+)/) > 0, 'callers queued');
    assert.ok(firstNumber(shared, /server: (\d+) distinct socket/) <= limit);
    assert.ok(firstNumber(shared, /at most (\d+) requests in progress/) <= limit);
    assert.match(shared, /structuredClone\(client\) -> DataCloneError/);

    const workerLimit = firstNumber(perWorker, /maxConnections (\d+) each/);
    assert.equal((perWorker.match(/100\/100 OK/g) ?? []).length, 2);
    const workerOpened = numbers(perWorker, /pool opened (\d+) socket/g);
    assert.equal(workerOpened.length, 2);
    for (const n of workerOpened) assert.ok(n >= 1 && n <= workerLimit, `worker opened ${n}`);
    for (const n of numbers(perWorker, /peak active (\d+)/g)) assert.ok(n <= workerLimit);
    const threads = numbers(perWorker, /\(thread (\d+)\)/g);
    assert.equal(new Set(threads).size, 2, 'two distinct threads');
  });

  it('error-handling.ts provokes every error class and prints advice for each', async () => {
    const out = await run(() => errorHandling());
    for (const code of Object.keys(ADVICE)) {
      assert.match(out, new RegExp(`\\b${code}\\b`), `${code} printed`);
    }
    for (const advice of Object.values(ADVICE)) assert.ok(out.includes(advice));
    assert.match(out, /TimeoutError +SENTINEL_TIMEOUT .*phase=total/);
    assert.match(out, /TimeoutError +SENTINEL_TIMEOUT .*timeout 100 ms: phase=acquire/);
    assert.match(out, /RequestBodyError +SENTINEL_REQUEST_BODY .*attempts=1/);
    assert.match(out, /ConnectionError .*errno=ECONNREFUSED attempts=3/);
    assert.match(out, /BodyTooLargeError .*limit=65536/);
    assert.match(out, /InvalidRequestError .*attempts=0/);
    assert.match(out, /CircuitOpenError .*retryAfterMs=\d+ attempts=0/);
    assert.match(out, /HttpStatusError .*status=404/);
    assert.match(out, /PoolClosedError .*attempts=0/);
    assert.match(out, /ProtocolError .*attempts=1/);
  });

  it('pool-demo.ts shows the wait queue, an acquire timeout, idle eviction and max lifetime', async () => {
    const out = await run(() => poolDemo());
    const [queue, timeout, idle, lifetime] = out.split(/^\d\. /m).slice(1);
    assert.ok(queue && timeout && idle && lifetime, out);

    assert.ok(Math.max(...numbers(queue, /pending +(\d+)/g)) > 0, 'callers waited in the queue');
    assert.ok(Math.max(...numbers(queue, /active (\d+)/g)) <= 4, 'never more than 4 active');
    assert.ok(Math.max(...numbers(queue, /created (\d+)/g)) <= 4, 'never more than 4 sockets');
    assert.match(queue, /20\/20 answered 200/);

    assert.match(timeout, /TimeoutError \(SENTINEL_TIMEOUT, phase acquire\)/);

    const idleRows = idle.split('\n').filter((l) => l.includes('closed'));
    const last = idleRows.at(-1) ?? '';
    assert.equal(firstNumber(idleRows[0] ?? '', /closed (\d+)/), 0);
    assert.ok(firstNumber(last, /closed (\d+)/) > 0, `closed rose: ${last}`);
    assert.equal(firstNumber(last, /idle (\d+)/), 0);

    const created = firstNumber(lifetime, /10 requests on (\d+) sockets/);
    assert.ok(created >= 2, `sockets retired by age: ${created}`);
  });
});

describe('examples: npm run examples', () => {
  it('EXAMPLES covers every example module in examples/ that has a main', () => {
    const dir = new URL('../../examples/', import.meta.url);
    const notExamples = new Set(['run-all.ts', 'concurrency-bench.ts', 'example-server.ts']);
    const withMain = readdirSync(dir).filter(
      (f) =>
        f.endsWith('.ts') &&
        !notExamples.has(f) &&
        /export async function main\(/.test(readFileSync(new URL(f, dir), 'utf8')),
    );
    assert.deepEqual(EXAMPLES.map((e) => e.file).sort(), withMain.sort());
  });

  it('runExamples runs each under a heading and reports failures without stopping', async () => {
    const ran: string[] = [];
    const examples: Example[] = [
      { file: 'one.ts', title: 'first', run: async () => void ran.push('one') },
      {
        file: 'bad.ts',
        title: 'fails',
        run: async () => {
          throw new Error('boom');
        },
      },
      { file: 'three.ts', title: 'third', run: async (url) => void ran.push(url) },
    ];
    let summary: Awaited<ReturnType<typeof runExamples>> | undefined;
    const out = await run(async () => {
      summary = await runExamples(examples, 'http://127.0.0.1:1');
    });
    assert.deepEqual(ran, ['one', 'http://127.0.0.1:1']);
    assert.deepEqual(summary, { passed: ['one.ts', 'three.ts'], failed: ['bad.ts'] });
    assert.match(out, /^one\.ts — first\n=+$/m);
    assert.match(out, /\(bad\.ts: FAILED\)/);
    assert.match(out, /Error: boom/);
  });

  it('main() serves the examples from an embedded server and summarises', async () => {
    let summary: Awaited<ReturnType<typeof runAll>> | undefined;
    const out = await run(async () => {
      summary = await runAll([
        EXAMPLES.find((e) => e.file === 'basic.ts')!,
        { file: 'bad.ts', title: 'fails', run: () => Promise.reject(new Error('boom')) },
      ]);
    });
    assert.deepEqual(summary, { passed: ['basic.ts'], failed: ['bad.ts'] });
    assert.match(out, /status +200 OK/);
    assert.match(out, /1\/2 examples passed; failed: bad\.ts/);
  });
});

describe('examples: concurrency-bench.ts', () => {
  it('prints a table with a positive rate for every pattern (server in a child process)', async () => {
    let rows: Awaited<ReturnType<typeof concurrencyBench>> = [];
    const out = await run(async () => {
      rows = await concurrencyBench({
        durationMs: 150,
        warmupMs: 50,
        rounds: 1,
        inFlight: 8,
        cpuUnits: 2,
      });
    });
    assert.equal(rows.length, 3);
    for (const row of rows) {
      assert.ok(row.io[0]!.rps > 0 && row.cpu[0]!.rps > 0, row.pattern);
    }
    assert.match(out, /\| 1 client shared by async calls, main thread \| 1 \| [\d,]+/);
    assert.match(out, /\| 1 client per worker, 2 workers \| 2 \| [\d,]+/);
    assert.match(out, /server in a child process/);
  });
});
