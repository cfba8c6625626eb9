/**
 * Retries as the client drives them (the retry module has its own tests). Clients that
 * must retry deterministically turn `adaptive` off: its SRE throttle has no minimum
 * volume, so on a fresh host it refuses a retry at random with probability
 * failures / (failures + 1).
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { afterEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { CircuitOpenError, type ConnectionError } from '../../src/core/errors.js';
import type { Reply } from '../../src/testing/index.js';
import { Fixtures, onRawRequests, rejectsWith, waitFor } from '../helpers/client-helpers.js';
import { closedPort } from '../helpers/server.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

const FAST = { initialDelayMs: 1, maxDelayMs: 2 };

/** A server answering `steps` in turn, then 200 with the number of the request. */
async function sequence(...steps: Reply[]) {
  const server = await fx.testServer();
  server.route('*', '/').sequence([...steps, (req) => `attempt ${req.index + 1}`]);
  return { server, bodies: () => server.requests.map((r) => r.body.toString()) };
}

describe('client retries', () => {
  it('503 twice then 200: three attempts, one successful response', async () => {
    const { server } = await sequence(503, 503);
    const client = fx.client({ retry: FAST, adaptive: false });
    const res = await client.get(server.url);
    assert.equal(res.status, 200);
    assert.equal(res.attempts, 3);
    assert.equal(res.text(), 'attempt 3');
    assert.equal(server.requests.length, 3);
    assert.equal(client.stats().retry.retries, 2);
  });

  it('every retryable status is retried: 408 425 429 500 502 503 504', async () => {
    for (const status of [408, 425, 429, 500, 502, 503, 504]) {
      const { server } = await sequence(status);
      const client = fx.client({ retry: FAST, adaptive: false });
      const res = await client.get(server.url);
      assert.equal(res.status, 200, String(status));
      assert.equal(res.attempts, 2);
    }
  });

  it('other error statuses are returned at once', async () => {
    for (const status of [400, 401, 404, 409, 501]) {
      const { server } = await sequence(status);
      const client = fx.client({ retry: FAST, adaptive: false });
      const res = await client.get(server.url);
      assert.equal(res.status, status);
      assert.equal(res.attempts, 1);
    }
  });

  it('after the last attempt the last response is returned with attempts set', async () => {
    const { server } = await sequence(
      { status: 503, body: 'attempt 1' },
      { status: 503, body: 'attempt 2' },
      { status: 503, body: 'attempt 3' },
      503,
    );
    const client = fx.client({ retry: { ...FAST, maxAttempts: 3 }, adaptive: false });
    const res = await client.get(server.url);
    assert.equal(res.status, 503);
    assert.equal(res.attempts, 3);
    assert.equal(res.text(), 'attempt 3');
  });

  it('after the last attempt the last error is thrown with attempts set', async () => {
    const port = await closedPort();
    const client = fx.client({ retry: { ...FAST, maxAttempts: 3 }, adaptive: false });
    const err = await rejectsWith<ConnectionError>(
      client.get(`http://127.0.0.1:${port}/`),
      'SENTINEL_CONNECTION',
    );
    assert.equal(err.errno, 'ECONNREFUSED');
    assert.equal(err.attempts, 3);
  });

  it('a connection dropped before the response is retried for GET', async () => {
    const server = await fx.rawServer((socket, index) => {
      onRawRequests(socket, () => {
        if (index < 2) socket.destroy();
        else socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      });
    });
    const client = fx.client({ retry: FAST, adaptive: false });
    const res = await client.get(server.url);
    assert.equal(res.text(), 'ok');
    assert.equal(res.attempts, 3);
  });

  it('Retry-After: 0 and retry-after-ms are honoured', async () => {
    const cases: Reply[] = [
      { status: 503, retryAfter: 0 },
      { status: 503, headers: { 'retry-after-ms': '1' } },
    ];
    for (const reply of cases) {
      const { server } = await sequence(reply);
      const client = fx.client({ retry: FAST, adaptive: false });
      const res = await client.get(server.url);
      assert.equal(res.status, 200);
      assert.equal(res.attempts, 2);
    }
  });

  it('the retry waits for Retry-After (seconds, ms, HTTP date) on the client clock', async () => {
    const cases: Array<[Reply, number]> = [
      [{ status: 503, retryAfter: 3 }, 3000],
      [{ status: 503, headers: { 'retry-after-ms': '1500' } }, 1500],
      [{ status: 503, retryAfter: new Date('2030-01-01T00:00:02Z') }, 2000],
    ];
    for (const [reply, waitMs] of cases) {
      const clock = new ManualClock({ wallNow: Date.parse('2030-01-01T00:00:00Z') });
      const { server } = await sequence(reply);
      const client = fx.client({
        clock,
        retry: { initialDelayMs: 1, maxDelayMs: 1, jitter: 'none' },
        adaptive: false,
        retryBudget: false,
      });
      const pending = client.get(server.url);
      await waitFor(() => client.stats().retry.retries === 1, 'the retry to be scheduled');
      clock.advance(waitMs - 1);
      // Give a request every chance to go out early; none must.
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(server.requests.length, 1, `${JSON.stringify(reply)}: not before ${waitMs} ms`);
      clock.advance(1);
      const res = await pending;
      assert.equal(res.status, 200);
      assert.equal(server.requests.length, 2);
    }
  });

  it('a Retry-After beyond maxRetryAfterMs returns the response instead', async () => {
    const { server } = await sequence({ status: 503, retryAfter: 120 });
    const client = fx.client({ retry: FAST, adaptive: false });
    const res = await client.get(server.url);
    assert.equal(res.status, 503);
    assert.equal(res.attempts, 1);
  });

  it('POST and PATCH are not retried', async () => {
    const { server } = await sequence(503, 503);
    const client = fx.client({ retry: FAST, adaptive: false });
    const post = await client.post(server.url, undefined, 'once');
    assert.equal(post.status, 503);
    assert.equal(post.attempts, 1);
    const patch = await client.patch(server.url, undefined, 'once');
    assert.equal(patch.status, 503);
    assert.equal(patch.attempts, 1);
    assert.equal(server.requests.length, 2);
  });

  it('a one-shot stream body is never retried, even for PUT', async () => {
    const { server, bodies } = await sequence(503);
    const client = fx.client({ retry: FAST, adaptive: false });
    const res = await client.put(server.url, undefined, Readable.from(['streamed']));
    assert.equal(res.status, 503);
    assert.equal(res.attempts, 1);
    assert.deepEqual(bodies(), ['streamed']);
  });

  it('a PUT with a replayable body sends the same body every attempt', async () => {
    const { server, bodies } = await sequence(503, 502);
    const client = fx.client({ retry: FAST, adaptive: false });
    const res = await client.put(server.url, undefined, new URLSearchParams({ a: 'b' }));
    assert.equal(res.attempts, 3);
    assert.deepEqual(bodies(), ['a=b', 'a=b', 'a=b']);
  });

  it('retry: false on the client or on one request', async () => {
    const { server } = await sequence(503, 503, 503);
    const off = fx.client({ retry: false });
    assert.equal((await off.get(server.url)).attempts, 1);
    const on = fx.client({ retry: FAST, adaptive: false });
    assert.equal((await on.get(server.url, undefined, { retry: false })).attempts, 1);
    assert.equal(server.requests.length, 2);
  });

  it('per-request retry settings override the client’s', async () => {
    const { server } = await sequence(503, 503, 503, 503);
    const client = fx.client({ retry: { ...FAST, maxAttempts: 2 }, adaptive: false });
    const res = await client.get(server.url, undefined, { retry: { maxAttempts: 5 } });
    assert.equal(res.status, 200);
    assert.equal(res.attempts, 5);
  });

  it('stream(): a retryable status is retried before the body is handed over', async () => {
    const { server } = await sequence(503);
    const client = fx.client({ retry: FAST, adaptive: false });
    const res = await client.stream({ method: 'GET', url: server.url });
    assert.equal(res.attempts, 2);
    assert.equal(await res.text(), 'attempt 2');
    await waitFor(() => client.pool.stats().totals.active === 0, 'connections released');
  });
});

describe('circuit breaker in the client', () => {
  it('opens after consecutive failures; the rejected call sends nothing', async () => {
    const server = await fx.server((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    const client = fx.client({
      retry: false,
      circuitBreaker: { consecutiveFailures: 2 },
    });
    assert.equal((await client.get(server.url)).status, 503);
    assert.equal((await client.get(server.url)).status, 503);
    const err = await rejectsWith<CircuitOpenError>(
      client.get(server.url),
      'SENTINEL_CIRCUIT_OPEN',
    );
    assert.ok(err instanceof CircuitOpenError);
    assert.equal(err.host, `127.0.0.1:${server.port}`);
    assert.ok(err.retryAfterMs > 0);
    assert.equal(err.attempts, 0, 'refused before any attempt');
    assert.equal(server.requests, 2, 'no wire traffic for the rejected call');
    const stats = client.stats();
    assert.equal(stats.retry.rejectedByBreaker, 1);
    assert.equal(stats.hosts[`127.0.0.1:${server.port}`]!.breaker!.state, 'open');
  });

  it('an open breaker stops retries at once', async () => {
    // Connection failures count per attempt (a 503 counts once per call).
    const server = await fx.server((req) => {
      req.socket.destroy();
    });
    const client = fx.client({
      retry: { ...FAST, maxAttempts: 10 },
      adaptive: false,
      circuitBreaker: { consecutiveFailures: 2 },
    });
    const err = await rejectsWith(client.get(server.url), 'SENTINEL_CIRCUIT_OPEN');
    // Two attempts went out; the third was refused by the breaker.
    assert.equal(err.attempts, 2);
    assert.equal(server.requests, 2);
  });

  it('4xx responses do not open the breaker', async () => {
    const server = await fx.server((_req, res) => {
      res.statusCode = 404;
      res.end();
    });
    const client = fx.client({ retry: false, circuitBreaker: { consecutiveFailures: 2 } });
    for (let i = 0; i < 5; i++) assert.equal((await client.get(server.url)).status, 404);
    assert.equal(server.requests, 5);
  });

  it('breakers are per host', async () => {
    const bad = await fx.server((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    const good = await fx.server((_req, res) => res.end('fine'));
    const client = fx.client({ retry: false, circuitBreaker: { consecutiveFailures: 1 } });
    await client.get(bad.url);
    await rejectsWith(client.get(bad.url), 'SENTINEL_CIRCUIT_OPEN');
    assert.equal((await client.get(good.url)).text(), 'fine');
  });
});
