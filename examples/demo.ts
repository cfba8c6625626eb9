/**
 * `npm run demo`: http-sentinel against an embedded local server, in a few seconds and
 * without network — the six verbs, a timeout, a body-size refusal, retries (with
 * Retry-After), a circuit breaker opening and closing, and the pool's statistics.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { HttpClient, isSentinelError } from '../src/index.js';
import { startDemoServer } from './demo-server.js';

const line = (label: string, text: string): void => console.log(`  ${label.padEnd(22)} ${text}`);

function describe(err: unknown): string {
  if (!isSentinelError(err)) return String(err);
  const extra =
    'phase' in err
      ? ` phase=${String(err.phase)}`
      : 'limit' in err
        ? ` limit=${String(err.limit)}`
        : '';
  const attempts = err.attempts ? ` after ${err.attempts} attempt(s)` : '';
  return `${err.name} (${err.code}${extra})${attempts}`;
}

/** Runs the tour against its own embedded server (`demo-server.ts`). */
export async function main(): Promise<void> {
  const server = await startDemoServer();
  const client = new HttpClient({ baseUrl: server.url, retry: { initialDelayMs: 50 } });
  console.log(`http-sentinel demo — embedded server at ${server.url}\n`);
  try {
    console.log('The six verbs');
    for (const res of [
      await client.get('/items', { accept: 'application/json' }),
      await client.head('/items'),
      await client.post(
        '/items',
        { 'content-type': 'application/json' },
        JSON.stringify({ name: 'a' }),
      ),
      await client.put('/items', {}, undefined, { idempotencyKey: true }),
      await client.patch('/items', { 'content-type': 'application/json' }, '{"name":"b"}'),
      await client.delete('/items'),
    ]) {
      const body = res.body.length > 0 ? res.text() : '(no body)';
      line(`${res.status} ${res.statusText}`, body);
    }

    console.log('\nDeadlines and limits');
    const t0 = Date.now();
    try {
      await client.get('/slow', undefined, { timeout: 300, retry: false });
    } catch (err) {
      line('GET /slow (300 ms)', `${describe(err)} in ${Date.now() - t0} ms`);
    }
    try {
      await client.get('/large', undefined, { maxBodySize: 1024 * 1024 });
    } catch (err) {
      line('GET /large (1 MiB cap)', describe(err));
    }

    console.log('\nRetries');
    const flaky = await client.get('/flaky');
    line(
      'GET /flaky',
      `${flaky.status} ${flaky.text()} after ${flaky.attempts} attempts (two 503s)`,
    );
    const t1 = Date.now();
    const throttled = await client.get('/throttled');
    line(
      'GET /throttled',
      `${throttled.status} after ${throttled.attempts} attempts, waited ${Date.now() - t1} ms for Retry-After: 1`,
    );
    const post = await client.post('/flaky', {}, 'x');
    line('POST /flaky', `${post.status} after ${post.attempts} attempt: POST is not retried`);

    console.log(
      '\nCircuit breaker: opens for a host that is down, here after 3 consecutive 503s (10 by\n' +
        'default), and probes after 500 ms; retries are off, so each call is one failure',
    );
    const guarded = new HttpClient({
      baseUrl: server.url,
      retry: false,
      // minOutageMs 0: the run alone opens it, so the demo needs no wait (by default the
      // host must also have gone 1 s without a healthy answer).
      circuitBreaker: { consecutiveFailures: 3, minOutageMs: 0, openDurationMs: 500 },
    });
    const host = new URL(server.url).host;
    const state = (): string => guarded.stats().hosts[host]?.breaker?.state ?? 'closed';
    for (let i = 0; i < 5; i++) await guarded.get('/missing');
    line('5 x GET /missing', `404 -> breaker ${state()}: an error answer says the host is up`);
    for (let i = 1; i <= 5; i++) {
      try {
        const res = await guarded.get('/dead');
        line(`call ${i} to /dead`, `${res.status} -> breaker ${state()}`);
      } catch (err) {
        line(`call ${i} to /dead`, `${describe(err)} -> breaker ${state()}, no request sent`);
      }
    }
    server.setDeadRecovered(true);
    await sleep(600);
    const probe = await guarded.get('/dead');
    line('after 600 ms', `probe ${probe.status} ${probe.text()} -> breaker ${state()}`);
    line('server saw', `${server.hits('/dead')} requests to /dead for 6 calls`);
    await guarded.close();

    console.log('\nStatistics');
    const stats = client.stats();
    const h = stats.pool.hosts[host];
    if (h !== undefined) {
      line('connections', JSON.stringify(h.connections));
      line('requests', JSON.stringify(h.requests));
      const ms = (n: number): string => `${n.toFixed(2)} ms`;
      line(
        'latency',
        `p50 ${ms(h.latency.p50)}, p90 ${ms(h.latency.p90)}, p99 ${ms(h.latency.p99)}`,
      );
      line('bytes', JSON.stringify(h.bytes));
      line('health', `score ${h.health.score.toFixed(2)} (${h.health.state})`);
    }
    line(
      'retries',
      JSON.stringify({ made: stats.retry.retries, refusedByBudget: stats.retry.refusedByBudget }),
    );
  } finally {
    await client.close();
    await server.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
