/**
 * `npm run retry-demo`: a timeline of what the resilience layer does against an embedded
 * server with flaky, throttling (429 + Retry-After) and dead routes — each attempt with
 * its outcome, each retry with its delay, the breaker opening, half-opening and closing,
 * and the retry budget refusing retries in an outage.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { type ClientEvent, HttpClient, isSentinelError } from '../src/index.js';
import { startTestServer, type TestServer } from '../src/testing/index.js';

interface RetryDemoServer {
  url: string;
  requests(path: string): number;
  setOutage(down: boolean): void;
  close(): Promise<void>;
}

/** Routes: /flaky fails 2 in 3, /throttled answers 429 with Retry-After first, /dead fails while down. */
export async function startRetryDemoServer(): Promise<RetryDemoServer> {
  const server: TestServer = await startTestServer();
  let down = true;
  const flaky = server.route('GET', '/flaky');
  flaky.reply(() => (flaky.hits % 3 === 0 ? 200 : 503));
  server.route('GET', '/throttled').sequence([{ status: 429, retryAfter: 1 }, 200]);
  server.route('GET', '/dead', () => (down ? 503 : 200));
  return {
    url: server.url,
    requests: (path) => server.route('GET', path).hits,
    setOutage(value) {
      down = value;
    },
    close: () => server.close(),
  };
}

/** Prints client events as a timeline, with ms since `t0`. */
function timeline(client: HttpClient, t0: { value: number }): () => void {
  const at = (): string => `${String(Math.round(performance.now() - t0.value)).padStart(6)} ms`;
  return client.onEvent((e: ClientEvent) => {
    switch (e.type) {
      case 'attempt': {
        const what = e.error ? `${e.error.name} (${e.error.code})` : String(e.status);
        console.log(
          `  ${at()}  attempt ${e.attempt}  ${e.method} ${new URL(e.url).pathname} -> ${what}`,
        );
        break;
      }
      case 'retry': {
        const why = e.retryAfterMs === undefined ? '' : ` (server asked for ${e.retryAfterMs} ms)`;
        console.log(`  ${at()}  retry after ${Math.round(e.delayMs)} ms${why}`);
        break;
      }
      case 'retry-refused':
        console.log(`  ${at()}  retry refused by the ${e.by}`);
        break;
      case 'breaker':
        console.log(`  ${at()}  breaker ${e.host}: ${e.from} -> ${e.to}`);
        break;
    }
  });
}

/** Runs the demo; `quick` keeps only the parts that take no waiting (for `npm run demo`). */
export async function main(options: { quick?: boolean } = {}): Promise<void> {
  const server = await startRetryDemoServer();
  const t0 = { value: performance.now() };
  const client = new HttpClient({
    baseUrl: server.url,
    retry: { maxAttempts: 4, initialDelayMs: 100 },
    // A short run for the demo (the default is 10 host-down failures in a row).
    circuitBreaker: { consecutiveFailures: 2, minOutageMs: 0, openDurationMs: 400 },
  });
  const off = timeline(client, t0);
  try {
    console.log('Flaky route (fails two in three), full-jitter backoff from 100 ms:');
    t0.value = performance.now();
    const flaky = await client.get('/flaky');
    console.log(`  => ${flaky.status} after ${flaky.attempts} attempts\n`);

    if (!options.quick) {
      console.log('Throttling route (429 with Retry-After: 1):');
      t0.value = performance.now();
      const throttled = await client.get('/throttled');
      console.log(`  => ${throttled.status} after ${throttled.attempts} attempts\n`);
    }

    console.log(
      'Outage: every call to /dead answers 503. Each call is retried (the retry budget\n' +
        'allows it) and counts once for the breaker, which opens after consecutiveFailures\n' +
        'such calls in a row (2 in this demo, for brevity; 10 by default):',
    );
    t0.value = performance.now();
    for (let i = 0; i < 4; i++) {
      try {
        const res = await client.get(`/dead?call=${i}`);
        console.log(`  => call ${i + 1}: ${res.status} after ${res.attempts} attempts`);
      } catch (err) {
        if (!isSentinelError(err)) throw err;
        console.log(`  => call ${i + 1}: ${err.name}, nothing sent`);
      }
    }
    console.log(`  server saw ${server.requests('/dead')} requests for 4 calls\n`);

    if (!options.quick) {
      console.log(
        'Recovery: the server is back; after the open period a probe closes the breaker:',
      );
      server.setOutage(false);
      await sleep(450);
      t0.value = performance.now();
      const back = await client.get('/dead');
      console.log(`  => ${back.status}\n`);

      console.log(
        'The retry budget alone in an outage (breaker off, 1000 calls; retries may be\n' +
          '20 % of the requests of the last 10 s plus a reserve of 10 per second, 100):',
      );
      server.setOutage(true);
      const budgeted = new HttpClient({
        baseUrl: server.url,
        retry: { initialDelayMs: 1 },
        circuitBreaker: false,
      });
      const before = server.requests('/dead');
      const CALLS = 1000;
      for (let i = 0; i < CALLS; i += 50) {
        await Promise.all(Array.from({ length: 50 }, () => budgeted.get('/dead')));
      }
      const seen = server.requests('/dead') - before;
      const stats = budgeted.stats().retry;
      console.log(
        `  ${CALLS} calls -> ${seen} requests (${(seen / CALLS).toFixed(2)}x): ${stats.retries} retries made, ` +
          `${stats.refusedByBudget} refused by the budget (without it: ${3 * CALLS} requests, 3.00x)`,
      );
      await budgeted.close();
    }
  } finally {
    off();
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
