/**
 * Requests to an upstream name through HttpClient: balancing over real loopback
 * servers, ejection and health checks, retries and breakers per backend, and the rule
 * that every pick ends in exactly one record or cancel. Retries run on the real clock
 * (their delays are 1-2 ms); ejection and check intervals on a ManualClock.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { afterEach, describe, it } from 'node:test';
import { HttpClient } from '../../src/client/index.js';
import { ManualClock } from '../../src/core/clock.js';
import type { CircuitOpenError, TimeoutError } from '../../src/core/errors.js';
import { type Backend, ConnectionPool, type Upstream } from '../../src/pool/index.js';
import { Fixtures, rejectsWith, waitFor } from '../helpers/client-helpers.js';
import { closedPort, type TestServer } from '../helpers/server.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

const FAST = { initialDelayMs: 1, maxDelayMs: 2 };
const WALL = 1_700_000_000_000;

/** A backend counting requests per path; `handler` answers (200 "ok" by default). */
async function backend(
  handler: http.RequestListener = (_req, res) => res.end('ok'),
): Promise<TestServer & { hits: Map<string, number> }> {
  const hits = new Map<string, number>();
  const server = await fx.server((req, res) => {
    hits.set(req.url ?? '', (hits.get(req.url ?? '') ?? 0) + 1);
    handler(req, res);
  });
  return Object.assign(server, { hits });
}

function status(code: number): http.RequestListener {
  return (_req, res) => {
    res.statusCode = code;
    res.end(String(code));
  };
}

/** A handler that answers nothing until `release()`; `received` counts requests. */
function hanging() {
  const waiting: http.ServerResponse[] = [];
  return {
    handler: ((_req, res) => {
      waiting.push(res);
    }) as http.RequestListener,
    get received() {
      return waiting.length;
    },
    release() {
      for (const res of waiting.splice(0)) res.end('late');
    },
  };
}

function upstreamOf(client: HttpClient, name = 'api'): Upstream {
  const upstream = client.pool.upstream(name);
  assert.ok(upstream !== undefined);
  return upstream;
}

function inFlight(upstream: Upstream): number[] {
  return upstream.backends.map((b) => b.inFlight);
}

describe('client.get(http://<upstream>/...)', () => {
  it('round-robin spreads requests evenly; res.url keeps the upstream name', async () => {
    const servers = await Promise.all([backend(), backend(), backend()]);
    const client = fx.client({
      upstreams: { api: { backends: servers.map((s) => s.url), strategy: 'round-robin' } },
    });
    for (let i = 0; i < 30; i++) {
      const res = await client.get('http://api/x?n=1');
      assert.equal(res.status, 200);
      assert.equal(res.url, 'http://api/x?n=1');
    }
    assert.deepEqual(
      servers.map((s) => s.requests),
      [10, 10, 10],
    );
    assert.deepEqual(inFlight(upstreamOf(client)), [0, 0, 0]);
  });

  it('works with baseUrl, any case of the name, and https backends are not required for http', async () => {
    const server = await backend();
    const client = fx.client({
      baseUrl: 'http://API/v1/',
      upstreams: { api: { backends: [server.url] } },
    });
    const res = await client.get('items');
    assert.equal(res.url, 'http://api/v1/items');
    assert.equal(server.hits.get('/v1/items'), 1);
  });

  it('least-connections: a busy backend is passed over; simultaneous calls spread evenly', async () => {
    let stuck: http.ServerResponse | undefined;
    const busy = await backend((req, res) => {
      if (req.url === '/stuck') stuck = res;
      else res.end('ok');
    });
    const others = await Promise.all([backend(), backend()]);
    // With this draw every tie goes to the first backend listed: the busy one.
    const pool = new ConnectionPool({ clock: new ManualClock({ random: () => 0.99 }) });
    const client = fx.client({
      pool,
      retry: false,
      upstreams: {
        api: { backends: [busy.url, ...others.map((s) => s.url)], strategy: 'least-connections' },
      },
    });
    const upstream = upstreamOf(client);
    const held = client.get('http://api/stuck');
    await waitFor(() => stuck !== undefined, 'the first call held by the busy backend');
    for (let i = 0; i < 10; i++) await client.get('http://api/quick');
    assert.equal(busy.requests, 1, 'a backend with a call in flight loses every tie');
    assert.equal(others[0]!.requests + others[1]!.requests, 10);
    stuck!.end('done');
    await held;

    // Each pick sees the ones made before it in flight, though none has answered yet.
    const before = [busy, ...others].map((s) => s.requests);
    await Promise.all(Array.from({ length: 9 }, () => client.get('http://api/burst')));
    assert.deepEqual(
      [busy, ...others].map((s, i) => s.requests - before[i]!),
      [3, 3, 3],
    );
    assert.deepEqual(inFlight(upstream), [0, 0, 0]);
    await client.close();
    await pool.close();
  });

  it('p2c-ewma steers away from a backend that answers 50 ms late', async () => {
    const slow = await backend((_req, res) => setTimeout(() => res.end('slow'), 50));
    const fast = await backend();
    const client = fx.client({
      upstreams: { api: { backends: [slow.url, fast.url] } },
    });
    // One at a time, so the choice is by latency alone (in-flight load counts too); an
    // even split would be 100 each.
    for (let i = 0; i < 200; i++) await client.get('http://api/');
    assert.equal(slow.requests + fast.requests, 200);
    assert.ok(slow.requests < 20, `slow server got ${slow.requests} of 200`);
    const stats = client.stats().pool.upstreams.api!;
    assert.equal(stats.strategy, 'p2c-ewma');
    assert.ok(stats.backends[0]!.ewmaMs > stats.backends[1]!.ewmaMs);
  });

  it('a backend is judged by its time to headers, the response timings.ttfb', async () => {
    const clock = new ManualClock();
    const server = await backend((_req, res) => {
      clock.advance(20);
      res.write('head ');
      // Body time is not the backend's latency. (A real timer, so that the client has
      // read the headers before the clock moves again.)
      setTimeout(() => {
        clock.advance(500);
        res.end('tail');
      }, 20);
    });
    const client = fx.client({ clock, upstreams: { api: { backends: [server.url] } } });
    const res = await client.get('http://api/');
    assert.equal(res.text(), 'head tail');
    assert.equal(res.timings.ttfb, 20);
    assert.equal(upstreamOf(client).backends[0]!.ewma(), 20);
  });

  it('a redirect to a relative location stays on the upstream', async () => {
    const server = await backend((req, res) => {
      if (req.url === '/old') {
        res.writeHead(302, { location: '/new' });
        res.end();
      } else res.end('moved');
    });
    const client = fx.client({ upstreams: { api: { backends: [server.url] } } });
    const res = await client.get('http://api/old');
    assert.equal(res.url, 'http://api/new');
    assert.equal(res.redirected, true);
    assert.equal(res.text(), 'moved');
    assert.deepEqual(inFlight(upstreamOf(client)), [0]);
  });

  it('stats: the upstream in pool.upstreams, breakers and health per backend host', async () => {
    const servers = await Promise.all([backend(), backend()]);
    const client = fx.client({ upstreams: { api: { backends: servers.map((s) => s.url) } } });
    for (let i = 0; i < 4; i++) await client.get('http://api/');
    const stats = client.stats();
    assert.deepEqual(Object.keys(stats.pool.upstreams), ['api']);
    assert.deepEqual(
      stats.pool.upstreams.api!.backends.map((b) => b.origin),
      servers.map((s) => s.url),
    );
    const keys = Object.keys(stats.hosts).sort();
    for (const key of keys) assert.match(key, /^127\.0\.0\.1:\d+$/);
    assert.ok(!('api:80' in stats.hosts), 'no breaker for the upstream name itself');
    assert.deepEqual(JSON.parse(JSON.stringify(stats)), stats);
  });
});

describe('ejection and health checks, as the client sees them', () => {
  it('a backend answering 503 is ejected after 5 failures, gets no traffic, and is back after 30 s', async () => {
    const good = await Promise.all([backend(), backend()]);
    const bad = await backend(status(503));
    const clock = new ManualClock({ wallNow: WALL });
    const client = fx.client({
      clock,
      retry: false,
      circuitBreaker: false,
      upstreams: {
        api: { backends: [...good.map((s) => s.url), bad.url], strategy: 'round-robin' },
      },
    });
    let failures = 0;
    for (let i = 0; i < 15; i++) if ((await client.get('http://api/')).status === 503) failures++;
    assert.equal(failures, 5);
    const key = `127.0.0.1:${bad.port}`;
    let stats = client.stats().pool;
    assert.equal(stats.upstreams.api!.backends[2]!.ejected, true);
    assert.equal(stats.hosts[key]!.health.ejectedUntil, WALL + 30_000);

    for (let i = 0; i < 20; i++) assert.equal((await client.get('http://api/')).status, 200);
    assert.equal(bad.requests, 5);

    clock.advance(30_000);
    stats = client.stats().pool;
    assert.equal(stats.hosts[key]!.health.ejectedUntil, null);
    assert.equal(stats.upstreams.api!.backends[2]!.ejected, false);
    for (let i = 0; i < 3; i++) await client.get('http://api/');
    assert.equal(bad.requests, 6, 'back in rotation');
  });

  it('a failing active health check takes a backend out and a passing one brings it back', async () => {
    let sick = true;
    const a = await backend();
    const b = await backend((req, res) => {
      res.statusCode = req.url === '/health' && sick ? 503 : 200;
      res.end();
    });
    const clock = new ManualClock({ wallNow: WALL });
    const client = fx.client({
      clock,
      upstreams: {
        api: {
          backends: [a.url, b.url],
          strategy: 'round-robin',
          healthCheck: {
            path: '/health',
            intervalMs: 1000,
            unhealthyThreshold: 1,
            healthyThreshold: 1,
          },
        },
      },
    });
    const [, bBackend] = upstreamOf(client).backends as [Backend, Backend];
    await waitFor(() => !bBackend.healthy, 'b out after its first check');
    for (let i = 0; i < 6; i++) await client.get('http://api/');
    assert.equal(b.hits.get('/') ?? 0, 0);
    assert.equal(a.hits.get('/'), 6);

    sick = false;
    await waitFor(() => a.hits.get('/health') === 1, 'first round settled');
    clock.advance(1000);
    await waitFor(() => bBackend.healthy, 'b back');
    for (let i = 0; i < 6; i++) await client.get('http://api/');
    assert.equal(b.hits.get('/'), 3);
  });

  it('every backend failing its checks: ConnectionError, no wire traffic', async () => {
    const a = await backend(status(503));
    const clock = new ManualClock();
    const client = fx.client({
      clock,
      retry: false,
      upstreams: {
        api: { backends: [a.url], healthCheck: { path: '/h', unhealthyThreshold: 1 } },
      },
    });
    await waitFor(() => !upstreamOf(client).backends[0]!.healthy, 'a out');
    const err = await rejectsWith(client.get('http://api/'), 'SENTINEL_CONNECTION');
    assert.match(err.message, /no backend of upstream api is healthy/);
    assert.equal(err.attempts, 1);
    assert.equal(a.hits.get('/') ?? 0, 0);
    assert.deepEqual(inFlight(upstreamOf(client)), [0]);
  });

  it('client.close() stops the health checks of the pool it made: no timer is left', async () => {
    const a = await backend();
    const clock = new ManualClock();
    const client = new HttpClient({
      clock,
      upstreams: { api: { backends: [a.url], healthCheck: { path: '/h', intervalMs: 1000 } } },
    });
    await waitFor(() => a.hits.get('/h') === 1, 'first check');
    await client.get('http://api/');
    await waitFor(() => client.pool.stats().totals.active === 0, 'connections idle');
    assert.ok(clock.pendingTimers > 0);
    await client.close();
    assert.equal(clock.pendingTimers, 0);
    await rejectsWith(client.get('http://api/'), 'SENTINEL_POOL_CLOSED');
  });
});

describe('retries and breakers per backend', () => {
  it('a retry goes to another backend, even where the balancer would pick the same one', async () => {
    const bad = await backend(status(503));
    const good = await backend();
    // With this draw least-connections breaks every tie towards the first backend, so
    // only the avoid rule keeps a retry off the one that just failed.
    const pool = new ConnectionPool({ clock: new ManualClock({ random: () => 0.99 }) });
    const client = fx.client({
      pool,
      retry: FAST,
      adaptive: false,
      circuitBreaker: false,
      upstreams: {
        api: {
          backends: [bad.url, good.url],
          strategy: 'least-connections',
          outlierDetection: false,
        },
      },
    });
    for (let i = 0; i < 10; i++) {
      const res = await client.get('http://api/');
      assert.equal(res.status, 200);
      assert.equal(res.attempts, 2);
    }
    assert.equal(bad.requests, 10);
    assert.equal(good.requests, 10);
    await client.close();
    await pool.close();
  });

  it('a retry after a refused connection goes to another backend', async () => {
    const good = await backend();
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const client = fx.client({
      retry: FAST,
      adaptive: false,
      upstreams: { api: { backends: [dead, good.url], strategy: 'round-robin' } },
    });
    for (let i = 0; i < 4; i++) assert.equal((await client.get('http://api/')).status, 200);
    const [deadBackend] = upstreamOf(client).backends as [Backend, Backend];
    assert.ok(deadBackend.consecutiveFailures >= 1);
    assert.deepEqual(inFlight(upstreamOf(client)), [0, 0]);
  });

  it('an open breaker on one backend sends its calls to another instead of failing them', async () => {
    const bad = await backend(status(503));
    const good = await backend();
    const client = fx.client({
      retry: false,
      adaptive: false,
      circuitBreaker: { consecutiveFailures: 2 },
      upstreams: {
        api: { backends: [bad.url, good.url], strategy: 'round-robin', outlierDetection: false },
      },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await client.get('http://api/')).status);
    assert.deepEqual(statuses.slice(0, 3), [503, 200, 503]);
    assert.ok(statuses.slice(3).every((s) => s === 200));
    assert.equal(bad.requests, 2);
    const stats = client.stats();
    assert.equal(stats.hosts[`127.0.0.1:${bad.port}`]!.breaker!.state, 'open');
    assert.equal(stats.hosts[`127.0.0.1:${good.port}`]!.breaker!.state, 'closed');
    assert.ok(stats.retry.rejectedByBreaker > 0);
    assert.deepEqual(inFlight(upstreamOf(client)), [0, 0]);
  });

  it('a retry goes back to the backend that failed when every other breaker is open', async () => {
    let failNext = false;
    const a = await backend((_req, res) => {
      res.statusCode = failNext ? 503 : 200;
      failNext = false;
      res.end();
    });
    const b = await backend(status(503));
    const client = fx.client({
      retry: FAST,
      adaptive: false,
      circuitBreaker: { consecutiveFailures: 2 },
      upstreams: {
        api: { backends: [a.url, b.url], strategy: 'round-robin', outlierDetection: false },
      },
    });
    // Round-robin: a, b, a, b. b fails twice: its breaker opens; a's stays closed.
    for (let i = 0; i < 4; i++) await client.get('http://api/', undefined, { retry: false });
    assert.equal(client.stats().hosts[`127.0.0.1:${b.port}`]!.breaker!.state, 'open');
    failNext = true;
    // a fails; the retry passes a over, b's breaker refuses, and a is all that is left.
    const res = await client.get('http://api/');
    assert.equal(res.status, 200);
    assert.equal(res.attempts, 2);
    assert.equal(a.requests, 4);
    assert.equal(b.requests, 2);
    assert.deepEqual(inFlight(upstreamOf(client)), [0, 0]);
  });

  it('when every backend breaker is open: CircuitOpenError naming the upstream, no traffic', async () => {
    const servers = await Promise.all([backend(status(503)), backend(status(503))]);
    const client = fx.client({
      retry: false,
      adaptive: false,
      circuitBreaker: { consecutiveFailures: 1 },
      upstreams: { api: { backends: servers.map((s) => s.url), strategy: 'round-robin' } },
    });
    await client.get('http://api/');
    await client.get('http://api/');
    const err = await rejectsWith<CircuitOpenError>(
      client.get('http://api/'),
      'SENTINEL_CIRCUIT_OPEN',
    );
    assert.equal(err.host, 'api');
    assert.ok(err.retryAfterMs > 0);
    assert.equal(err.attempts, 0);
    assert.deepEqual(
      servers.map((s) => s.requests),
      [1, 1],
    );
    assert.deepEqual(inFlight(upstreamOf(client)), [0, 0]);
  });
});

describe('every pick ends in exactly one record or cancel', () => {
  it('caller abort: cancelled, not a failure', async () => {
    const hang = hanging();
    const server = await backend(hang.handler);
    const client = fx.client({ upstreams: { api: { backends: [server.url] } } });
    const controller = new AbortController();
    const pending = client.get('http://api/', undefined, { signal: controller.signal });
    await waitFor(() => hang.received === 1, 'request at the server');
    assert.deepEqual(inFlight(upstreamOf(client)), [1]);
    controller.abort(new Error('user gave up'));
    await rejectsWith(pending, 'SENTINEL_ABORTED');
    const [b] = upstreamOf(client).backends as [Backend];
    assert.equal(b.inFlight, 0);
    assert.equal(b.consecutiveFailures, 0);
    hang.release();
  });

  it('attempt timeout: recorded as a failure', async () => {
    const hang = hanging();
    const server = await backend(hang.handler);
    const client = fx.client({
      retry: false,
      attemptTimeout: 50,
      upstreams: { api: { backends: [server.url] } },
    });
    await rejectsWith<TimeoutError>(client.get('http://api/'), 'SENTINEL_TIMEOUT');
    const [b] = upstreamOf(client).backends as [Backend];
    assert.equal(b.inFlight, 0);
    assert.equal(b.consecutiveFailures, 1);
    assert.ok(b.ewma() >= 40, `a timeout is slow: ${b.ewma()}`);
    hang.release();
  });

  it('connection refused: recorded as a failure', async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const client = fx.client({ retry: false, upstreams: { api: { backends: [dead] } } });
    await rejectsWith(client.get('http://api/'), 'SENTINEL_CONNECTION');
    const [b] = upstreamOf(client).backends as [Backend];
    assert.equal(b.inFlight, 0);
    assert.equal(b.consecutiveFailures, 1);
  });

  it('body too large: cancelled, not a failure', async () => {
    const server = await backend((_req, res) => res.end('x'.repeat(1000)));
    const client = fx.client({ upstreams: { api: { backends: [server.url] } } });
    await rejectsWith(
      client.get('http://api/', undefined, { maxBodySize: 10 }),
      'SENTINEL_BODY_TOO_LARGE',
    );
    const [b] = upstreamOf(client).backends as [Backend];
    assert.equal(b.inFlight, 0);
    assert.equal(b.consecutiveFailures, 0);
  });

  it('our own acquire timeout: cancelled', async () => {
    const hang = hanging();
    const server = await backend(hang.handler);
    const client = fx.client({
      retry: false,
      pool: { maxConnections: 1, connectionTimeoutMs: 30 },
      upstreams: { api: { backends: [server.url] } },
    });
    const first = client.get('http://api/');
    await waitFor(() => hang.received === 1, 'first request at the server');
    const err = await rejectsWith<TimeoutError>(client.get('http://api/'), 'SENTINEL_TIMEOUT');
    assert.equal(err.phase, 'acquire');
    const [b] = upstreamOf(client).backends as [Backend];
    assert.equal(b.inFlight, 1, 'only the first call is out');
    assert.equal(b.consecutiveFailures, 0, 'our own wait says nothing about the backend');
    assert.equal(b.ewma(), 0);
    hang.release();
    await first;
    assert.equal(b.inFlight, 0);
    assert.equal(b.consecutiveFailures, 0);
  });

  it('a stream holds its pick until the body ends, or is cancelled', async () => {
    const server = await backend((_req, res) => {
      res.write('first ');
      setTimeout(() => res.end('last'), 30);
    });
    const client = fx.client({ upstreams: { api: { backends: [server.url] } } });
    const [b] = upstreamOf(client).backends as [Backend];

    const read = await client.stream({ method: 'GET', url: 'http://api/s' });
    assert.equal(read.url, 'http://api/s');
    assert.equal(b.inFlight, 1, 'in flight while the body streams');
    assert.equal(await read.text(), 'first last');
    assert.equal(b.inFlight, 0);
    assert.ok(b.ewma() < 25, `the round trip is to headers, not the whole stream: ${b.ewma()}`);

    const cancelled = await client.stream({ method: 'GET', url: 'http://api/s' });
    assert.equal(b.inFlight, 1);
    cancelled.cancel();
    await waitFor(() => b.inFlight === 0, 'pick cancelled with the stream');
    assert.equal(b.consecutiveFailures, 0);
  });

  it('a short stream ending before the client sees its headers still ends its pick once', async () => {
    const server = await backend();
    const client = fx.client({ upstreams: { api: { backends: [server.url] } } });
    const [b] = upstreamOf(client).backends as [Backend];
    for (let i = 0; i < 20; i++) {
      await using res = await client.stream({ method: 'GET', url: 'http://api/' });
      assert.equal(await res.text(), 'ok');
    }
    assert.equal(b.inFlight, 0);
  });

  it('a streamed 503 retried elsewhere: the discarded body ends its pick as a failure', async () => {
    const bad = await backend(status(503));
    const good = await backend();
    const client = fx.client({
      retry: FAST,
      adaptive: false,
      upstreams: { api: { backends: [bad.url, good.url], strategy: 'round-robin' } },
    });
    await using res = await client.stream({ method: 'GET', url: 'http://api/' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ok');
    const [badBackend] = upstreamOf(client).backends as [Backend, Backend];
    assert.equal(badBackend.consecutiveFailures, 1);
    assert.deepEqual(inFlight(upstreamOf(client)), [0, 0]);
  });
});

describe('configuration', () => {
  it('invalid upstream definitions are refused before any health check is sent', async () => {
    const server = await backend();
    const bad: Record<string, unknown>[] = [
      { api: { backends: [] } },
      { api: { backends: 'http://127.0.0.1:1' } },
      { api: null },
      { 'svc.1': { backends: [server.url] } },
      { '10.0.0.1': { backends: [server.url] } },
      {
        ok: { backends: [server.url], healthCheck: {} },
        api: { backends: [server.url], strategy: 'x' },
      },
      { ok: { backends: [server.url], healthCheck: {} }, OK: { backends: [server.url] } },
      { ok: { backends: [server.url], healthCheck: { path: 'no-slash' } } },
      { ok: { backends: [server.url], unknown: 1 } },
    ];
    for (const upstreams of bad) {
      assert.throws(
        () => new HttpClient({ upstreams } as never),
        (err: { code?: string }) => err.code === 'SENTINEL_INVALID_REQUEST',
        JSON.stringify(upstreams),
      );
    }
    assert.throws(
      () => new HttpClient({ upstreams: { api: { backends: [] } } }),
      /upstreams\.api: backends must be a non-empty array/,
    );
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(server.requests, 0);
  });

  it('a URL to an upstream with a port, or https to plain-http backends, is refused before any I/O', async () => {
    const server = await backend();
    const client = fx.client({ upstreams: { api: { backends: [server.url] } } });
    const port = await rejectsWith(client.get('http://api:8080/'), 'SENTINEL_INVALID_REQUEST');
    assert.equal(port.attempts, 0);
    const tls = await rejectsWith(client.get('https://api/'), 'SENTINEL_INVALID_REQUEST');
    assert.match(tls.message, /plain text/);
    assert.equal(server.connections, 0);
  });

  it('a shared pool: names must not clash, and close() removes what the client added', async () => {
    const server = await backend();
    const pool = new ConnectionPool();
    try {
      pool.addUpstream('taken', [server.url]);
      assert.throws(
        () =>
          new HttpClient({
            pool,
            upstreams: { fresh: { backends: [server.url] }, TAKEN: { backends: [server.url] } },
          }),
        (err: Error & { code?: string }) =>
          err.code === 'SENTINEL_INVALID_REQUEST' &&
          /already has an upstream taken/.test(err.message),
      );
      assert.equal(pool.upstream('fresh'), undefined, 'nothing was added');
      // A bad default header is refused before the client adds its upstreams.
      assert.throws(
        () =>
          new HttpClient({
            pool,
            upstreams: { fresh: { backends: [server.url] } },
            headers: { 'x-api-version': 2 } as never,
          }),
        (err: Error & { code?: string }) =>
          err.code === 'SENTINEL_INVALID_REQUEST' && /x-api-version/.test(err.message),
      );
      assert.equal(pool.upstream('fresh'), undefined, 'nothing was added for a bad header');

      const client = new HttpClient({ pool, upstreams: { fresh: { backends: [server.url] } } });
      assert.equal((await client.get('http://fresh/')).status, 200);
      assert.equal((await client.get('http://taken/')).status, 200, "the pool's own upstream");
      await client.close();
      assert.equal(pool.upstream('fresh'), undefined);
      assert.ok(pool.upstream('taken') !== undefined);
      assert.equal(pool.closed, false);
    } finally {
      await pool.close();
    }
  });

  it('without upstreams a host that looks like a name is an ordinary host', async () => {
    const server = await backend();
    const client = fx.client({ retry: false, upstreams: { api: { backends: [server.url] } } });
    // 127.0.0.1 can never be an upstream name; localhost is a real host here.
    const res = await client.get(`http://localhost:${server.port}/`);
    assert.equal(res.status, 200);
    assert.deepEqual(inFlight(upstreamOf(client)), [0]);
    assert.equal(upstreamOf(client).backends[0]!.ewma(), 0, 'not counted against the upstream');
  });
});

describe('a backend is judged the same whether the call buffers or streams', () => {
  for (const mode of ['get', 'stream'] as const) {
    it(`${mode}: a 503 retried on the other backend is charged to the one that sent it`, async () => {
      const bad = await backend(status(503));
      const good = await backend();
      const client = fx.client({
        retry: FAST,
        upstreams: {
          api: {
            backends: [bad.url, good.url],
            strategy: 'round-robin',
            outlierDetection: { consecutiveFailures: 1, maxEjectionPercent: 100 },
          },
        },
      });
      if (mode === 'get') {
        const res = await client.get('http://api/');
        assert.equal(res.attempts, 2);
      } else {
        const res = await client.stream({ method: 'GET', url: 'http://api/' });
        assert.equal(res.attempts, 2);
        assert.equal(await res.text(), 'ok');
      }
      await waitFor(() => client.pool.stats().totals.active === 0, 'connections released');
      const [badStats, goodStats] = upstreamOf(client).stats().backends;
      assert.equal(badStats!.timesEjected, 1, 'the 503 backend was ejected');
      assert.equal(goodStats!.timesEjected, 0);
      assert.deepEqual(inFlight(upstreamOf(client)), [0, 0]);
    });
  }
});
