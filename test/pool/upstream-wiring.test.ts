/**
 * Upstreams wired into the pool: `addUpstream`, `acquire(name)`, recording outcomes,
 * health checks sent through the pool, ejection in the figures, and `close()`. Against
 * real loopback servers; time is a ManualClock wherever ejections or check intervals
 * matter, so nothing here waits for them.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { afterEach, describe, test } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../../src/core/clock.js';
import {
  Backend,
  type Connection,
  ConnectionPool,
  STRATEGIES,
  Upstream,
} from '../../src/pool/index.js';
import { rejectsWith, waitFor } from '../helpers/pool-helpers.js';
import { startServer, type TestServer } from '../helpers/server.js';

const WALL = 1_700_000_000_000;
const servers: TestServer[] = [];
let pool: ConnectionPool | undefined;

afterEach(async () => {
  await pool?.close();
  pool = undefined;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A server answering `status()` to every request, and counting requests per path. */
async function backend(
  status: (req: http.IncomingMessage) => number = () => 200,
): Promise<TestServer & { hits: Map<string, number> }> {
  const hits = new Map<string, number>();
  const server = await startServer(
    (req, res) => {
      hits.set(req.url ?? '', (hits.get(req.url ?? '') ?? 0) + 1);
      res.statusCode = status(req);
      res.end('ok');
    },
    { keepAliveTimeout: 600_000 },
  );
  servers.push(server);
  return Object.assign(server, { hits });
}

/** One request through `acquire(name)`, its outcome recorded; returns the backend's origin. */
async function send(p: ConnectionPool, name: string, path = '/'): Promise<string> {
  const conn = await p.acquire(name);
  try {
    const res = await conn.request('GET', path);
    p.recordUpstream(conn, res.status < 500);
    return conn.origin.origin;
  } finally {
    p.release(conn);
  }
}

function inFlight(upstream: Upstream): number[] {
  return upstream.backends.map((b) => b.inFlight);
}

describe('Upstream.pick(avoid)', () => {
  const origins = ['http://a.test', 'http://b.test', 'http://c.test'];

  test('passes over the avoided backend whenever another is usable, for every strategy', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...STRATEGIES),
        fc.integer({ min: 0, max: 2 }),
        fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 20 }),
        (strategy, avoided, warmup) => {
          const clock = new ManualClock({ random: Math.random });
          const upstream = new Upstream('api', origins, { strategy }, { clock });
          // Uneven load and latency, so no strategy would pass it over by chance.
          for (const i of warmup) upstream.record(upstream.backends[i]!, true, i * 7);
          const avoid = upstream.backends[avoided]!;
          for (let n = 0; n < 10; n++) {
            const picked = upstream.pick(avoid);
            assert.notEqual(picked, avoid);
            upstream.cancel(picked);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  test('avoids every backend of a set, and falls back when nothing else is usable', () => {
    for (const strategy of STRATEGIES) {
      const upstream = new Upstream('api', origins, { strategy }, { clock: new ManualClock() });
      const [a, b, c] = upstream.backends as [Backend, Backend, Backend];
      for (let n = 0; n < 10; n++) {
        const picked = upstream.pick(new Set([a, b]));
        assert.equal(picked, c, strategy);
        upstream.cancel(picked);
      }
      // All avoided: the pick is made as if nothing were.
      const picked = upstream.pick(new Set([a, b, c]));
      assert.ok(upstream.backends.includes(picked));
      upstream.cancel(picked);
      // The only usable one is avoided: it still comes back.
      c.health = { healthy: false, streak: 0 };
      b.health = { healthy: false, streak: 0 };
      assert.equal(upstream.pick(a), a);
      upstream.cancel(a);
      assert.deepEqual(inFlight(upstream), [0, 0, 0]);
    }
  });

  test('an avoided backend is a Backend or a set, never confused', () => {
    const upstream = new Upstream('api', origins, { strategy: 'round-robin' });
    const stranger = new Backend('http://a.test');
    // A backend of another upstream with the same origin is a different backend.
    const picks = [0, 1, 2].map(() => upstream.pick(stranger).origin.origin);
    assert.deepEqual(picks.sort(), origins);
  });
});

describe('pool.addUpstream', () => {
  test('returns the upstream; names are case-insensitive and taken once', () => {
    pool = new ConnectionPool();
    const upstream = pool.addUpstream('Api', ['http://127.0.0.1:1']);
    assert.ok(upstream instanceof Upstream);
    assert.equal(upstream.name, 'api');
    assert.equal(pool.upstream('API'), upstream);
    assert.throws(
      () => pool!.addUpstream('api', ['http://127.0.0.1:2']),
      (err: Error & { code?: string }) =>
        err.code === 'SENTINEL_INVALID_REQUEST' && /already exists/.test(err.message),
    );
  });

  test('names that could be real hosts of another kind are refused', () => {
    pool = new ConnectionPool();
    for (const name of ['10.0.0.1', 'svc.1', '0x10', 'a b', '', 'http://api', 'api:80']) {
      assert.throws(
        () => pool!.addUpstream(name, ['http://127.0.0.1:1']),
        (err: { code?: string }) => err.code === 'SENTINEL_INVALID_REQUEST',
        name,
      );
    }
    assert.deepEqual(pool.stats().upstreams, {});
  });

  test('a bad definition is refused before any health check is sent', async () => {
    const server = await backend();
    pool = new ConnectionPool();
    const bad: [unknown[], Record<string, unknown>][] = [
      [[], { healthCheck: {} }],
      [[server.url, server.url], { healthCheck: {} }],
      [[`${server.url}/path`], { healthCheck: {} }],
      [[{ origin: server.url, weight: 0 }], { healthCheck: {} }],
      [[server.url], { healthCheck: { path: 'health' } }],
      [[server.url], { healthCheck: {}, strategy: 'random' }],
      [[server.url], { healthCheck: {}, outlierDetection: { consecutiveFailures: 0 } }],
      [[server.url], { healthCheck: {}, retries: 3 }],
    ];
    for (const [backends, options] of bad) {
      assert.throws(
        () => pool!.addUpstream('api', backends as string[], options),
        (err: { code?: string }) => err.code === 'SENTINEL_INVALID_REQUEST',
        JSON.stringify([backends, options]),
      );
    }
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(server.requests, 0);
    assert.equal(pool.upstream('api'), undefined);
  });

  test('after close: PoolClosedError', async () => {
    pool = new ConnectionPool();
    await pool.close();
    assert.throws(
      () => pool!.addUpstream('api', ['http://127.0.0.1:1']),
      (err: { code?: string }) => err.code === 'SENTINEL_POOL_CLOSED',
    );
  });
});

describe('pool.acquire(upstreamName)', () => {
  test('round-robin spreads requests evenly over three servers', async () => {
    const backends = await Promise.all([backend(), backend(), backend()]);
    pool = new ConnectionPool();
    const upstream = pool.addUpstream(
      'api',
      backends.map((b) => b.url),
      { strategy: 'round-robin' },
    );
    for (let i = 0; i < 30; i++) await send(pool, 'api');
    assert.deepEqual(
      backends.map((b) => b.requests),
      [10, 10, 10],
    );
    assert.deepEqual(inFlight(upstream), [0, 0, 0]);
    // Keep-alive works per backend: one socket each.
    assert.deepEqual(
      backends.map((b) => b.connections),
      [1, 1, 1],
    );
  });

  test('the name alone, in an origin, in a URL, in any case, or with its default port', async () => {
    const server = await backend();
    pool = new ConnectionPool();
    pool.addUpstream('api', [server.url]);
    const p = pool;
    const forms: [string, () => Promise<Connection>][] = [
      ['api', () => p.acquire('api')],
      ['API', () => p.acquire('API')],
      ['http://api', () => p.acquire('http://api')],
      ['http://api:80', () => p.acquire('http://api:80')],
      ['URL', () => p.acquire(new URL('http://Api/some/path?q=1'))],
      ['api, 80', () => p.acquire('api', 80)],
    ];
    for (const [what, acquire] of forms) {
      const conn = await acquire();
      assert.equal(conn.origin.origin, server.url, what);
      p.release(conn);
    }
    assert.deepEqual(inFlight(pool.upstream('api')!), [0]);
  });

  test('a port, or https to a plain-http backend, is refused before any I/O', async () => {
    const server = await backend();
    pool = new ConnectionPool();
    pool.addUpstream('api', [server.url]);
    await rejectsWith(
      pool.acquire('http://api:8080'),
      'InvalidRequestError',
      'SENTINEL_INVALID_REQUEST',
    );
    await rejectsWith(pool.acquire('api', 8080), 'InvalidRequestError', 'SENTINEL_INVALID_REQUEST');
    const tls = await rejectsWith(
      pool.acquire('https://api'),
      'InvalidRequestError',
      'SENTINEL_INVALID_REQUEST',
    );
    assert.match(tls.message, /plain text/);
    assert.equal(server.connections, 0);
    assert.deepEqual(inFlight(pool.upstream('api')!), [0]);
  });

  test('recordUpstream records once; release without it cancels', async () => {
    const server = await backend();
    const clock = new ManualClock();
    pool = new ConnectionPool({ clock });
    const upstream = pool.addUpstream('api', [server.url]);
    const [b] = upstream.backends as [Backend];

    let conn = await pool.acquire('api');
    assert.equal(b.inFlight, 1);
    await conn.request('GET', '/');
    clock.advance(7);
    assert.equal(pool.recordUpstream(conn, true), true);
    assert.equal(pool.recordUpstream(conn, false), false, 'a second outcome is ignored');
    assert.equal(b.inFlight, 0);
    assert.equal(b.ewma(), 7, 'default round trip: since the connection was handed over');
    pool.release(conn);

    conn = await pool.acquire('api');
    assert.equal(pool.recordUpstream(conn, false, 40), true);
    assert.equal(b.consecutiveFailures, 1);
    assert.equal(b.ewma(), 40);
    pool.release(conn);

    // Released without an outcome: cancelled, nothing learned.
    conn = await pool.acquire('api');
    pool.release(conn);
    assert.equal(b.inFlight, 0);
    assert.equal(b.consecutiveFailures, 1);
    assert.equal(pool.recordUpstream(conn, false), false, 'too late once released');

    // A connection to a real host carries no pick.
    const plain = await pool.acquire(server.url);
    assert.equal(pool.recordUpstream(plain, true), false);
    assert.throws(() => pool!.recordUpstream(plain, 'yes' as unknown as boolean), TypeError);
    pool.release(plain);
  });

  test('a pick whose acquire times out or is aborted is cancelled', async () => {
    const server = await backend();
    pool = new ConnectionPool({ maxConnections: 1, connectionTimeoutMs: 20 });
    const upstream = pool.addUpstream('api', [server.url]);
    const held = await pool.acquire('api');
    await rejectsWith(pool.acquire('api'), 'TimeoutError', 'SENTINEL_TIMEOUT');
    const controller = new AbortController();
    const waiting = pool.acquire('api', { signal: controller.signal, timeoutMs: 5000 });
    assert.deepEqual(inFlight(upstream), [2]);
    controller.abort(new Error('stop'));
    await rejectsWith(waiting, 'AbortError', 'SENTINEL_ABORTED');
    assert.deepEqual(inFlight(upstream), [1]);
    pool.release(held);
    assert.deepEqual(inFlight(upstream), [0]);
    assert.equal(upstream.backends[0]!.consecutiveFailures, 0);
  });

  test('a name that is not an upstream is still refused as an origin', async () => {
    pool = new ConnectionPool();
    pool.addUpstream('api', ['http://127.0.0.1:1']);
    await rejectsWith(pool.acquire('other'), 'InvalidRequestError', 'SENTINEL_INVALID_REQUEST');
  });
});

describe('passive ejection through the pool', () => {
  test('5 consecutive 503s eject a backend for 30 s; stats show it; it comes back', async () => {
    const good = await Promise.all([backend(), backend()]);
    const bad = await backend(() => 503);
    const clock = new ManualClock({ wallNow: WALL });
    pool = new ConnectionPool({ clock });
    const upstream = pool.addUpstream('api', [good[0]!.url, good[1]!.url, bad.url], {
      strategy: 'round-robin',
    });
    const badBackend = upstream.backends[2]!;
    for (let i = 0; i < 15; i++) await send(pool, 'api');
    assert.equal(bad.requests, 5);
    assert.equal(badBackend.timesEjected, 1);

    const stats = pool.stats();
    const until = WALL + 30_000;
    assert.equal(stats.upstreams.api!.backends[2]!.ejectedUntil, until);
    assert.equal(stats.hosts[`127.0.0.1:${bad.port}`]!.health.ejectedUntil, until);
    assert.equal(stats.hosts[`127.0.0.1:${good[0]!.port}`]!.health.ejectedUntil, null);
    assert.deepEqual(JSON.parse(JSON.stringify(stats)), stats, 'plain JSON');

    for (let i = 0; i < 20; i++) await send(pool, 'api');
    assert.equal(bad.requests, 5, 'no traffic while ejected');

    clock.advance(30_000);
    assert.equal(pool.stats().hosts[`127.0.0.1:${bad.port}`]!.health.ejectedUntil, null);
    for (let i = 0; i < 6; i++) await send(pool, 'api');
    assert.ok(bad.requests > 5, 'back in rotation after 30 s');
    assert.deepEqual(inFlight(upstream), [0, 0, 0]);
  });
});

describe('active health checks through the pool', () => {
  test('a backend whose /health answers 503 is taken out, then brought back', async () => {
    let sick = true;
    const a = await backend();
    const b = await backend((req) => (req.url === '/health' && sick ? 503 : 200));
    const clock = new ManualClock({ wallNow: WALL });
    pool = new ConnectionPool({ clock });
    const upstream = pool.addUpstream('api', [a.url, b.url], {
      strategy: 'round-robin',
      healthCheck: {
        path: '/health',
        intervalMs: 1000,
        unhealthyThreshold: 2,
        healthyThreshold: 2,
      },
    });
    const [, bBackend] = upstream.backends as [Backend, Backend];
    const checks = (s: typeof a) => s.hits.get('/health') ?? 0;

    // The first round starts at once; the second needs the clock.
    await waitFor(() => checks(a) === 1 && bBackend.health.streak === 1, 'first round');
    assert.equal(bBackend.healthy, true, 'one failed check is not enough');
    clock.advance(1000);
    await waitFor(() => !bBackend.healthy, 'b marked unhealthy');
    assert.equal(pool.stats().upstreams.api!.backends[1]!.healthy, false);

    for (let i = 0; i < 10; i++) assert.equal(await send(pool, 'api'), a.url);
    assert.equal(b.hits.get('/') ?? 0, 0);

    sick = false;
    await waitFor(() => checks(a) === 2, 'second round settled on a');
    clock.advance(1000);
    await waitFor(() => bBackend.health.streak === 1, 'one passed check');
    assert.equal(bBackend.healthy, false, 'one passed check is not enough');
    clock.advance(1000);
    await waitFor(() => bBackend.healthy, 'b healthy again');
    const served = new Set<string>();
    for (let i = 0; i < 4; i++) served.add(await send(pool, 'api'));
    assert.deepEqual([...served].sort(), [a.url, b.url].sort());
  });

  test('checks go through the pool: they reuse its connections and count in its stats', async () => {
    const a = await backend();
    const clock = new ManualClock();
    pool = new ConnectionPool({ clock });
    pool.addUpstream('api', [a.url], { healthCheck: { path: '/h', intervalMs: 1000 } });
    await waitFor(() => (a.hits.get('/h') ?? 0) === 1, 'first check');
    await waitFor(() => pool!.stats().totals.active === 0, 'probe connection released');
    clock.advance(1000);
    await waitFor(() => (a.hits.get('/h') ?? 0) === 2, 'second check');
    assert.equal(a.connections, 1, 'the idle connection was reused');
    await waitFor(
      () => pool!.stats().hosts[`127.0.0.1:${a.port}`]!.requests.succeeded === 2,
      'checks in host stats',
    );
  });

  test('close() stops every health check: no timer is left, picks are refused', async () => {
    const a = await backend();
    const clock = new ManualClock();
    const p = new ConnectionPool({ clock });
    pool = p;
    const upstream = p.addUpstream('api', [a.url], {
      healthCheck: { path: '/h', intervalMs: 1000 },
    });
    p.addUpstream('other', [a.url], { healthCheck: { path: '/o', intervalMs: 500 } });
    await waitFor(() => a.hits.get('/h') === 1 && a.hits.get('/o') === 1, 'first rounds');
    await waitFor(() => p.stats().totals.active === 0, 'probes released');
    assert.ok(clock.pendingTimers > 0);
    await p.close();
    assert.equal(clock.pendingTimers, 0);
    assert.equal(upstream.closed, true);
    assert.throws(
      () => upstream.pick(),
      (err: { code?: string }) => err.code === 'SENTINEL_POOL_CLOSED',
    );
    await rejectsWith(p.acquire('api'), 'PoolClosedError', 'SENTINEL_POOL_CLOSED');
    clock.advance(10_000);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(a.hits.get('/h'), 1, 'no check after close');
  });

  test('with the real clock, close() leaves no timer or socket behind', async () => {
    const a = await backend();
    const before = new Map<string, number>();
    for (const name of process.getActiveResourcesInfo()) {
      before.set(name, (before.get(name) ?? 0) + 1);
    }
    const p = new ConnectionPool();
    p.addUpstream('api', [a.url], { healthCheck: { path: '/h', intervalMs: 50 } });
    await waitFor(() => (a.hits.get('/h') ?? 0) >= 2, 'two rounds');
    await p.close();
    await waitFor(() => {
      const now = new Map<string, number>();
      for (const name of process.getActiveResourcesInfo()) now.set(name, (now.get(name) ?? 0) + 1);
      return [...now].every(([name, n]) => n <= (before.get(name) ?? 0));
    }, 'resources released');
    const checks = a.hits.get('/h');
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(a.hits.get('/h'), checks);
  });

  test('removeUpstream stops its checks and frees the name', async () => {
    const a = await backend();
    const clock = new ManualClock();
    pool = new ConnectionPool({ clock });
    const upstream = pool.addUpstream('api', [a.url], {
      healthCheck: { path: '/h', intervalMs: 1000 },
    });
    await waitFor(() => a.hits.get('/h') === 1, 'first check');
    await waitFor(() => pool!.stats().totals.active === 0, 'probe released');
    assert.equal(pool.removeUpstream('API'), true);
    assert.equal(pool.removeUpstream('api'), false);
    assert.equal(upstream.closed, true);
    assert.equal(clock.pendingTimers, 1, 'only the pool idle sweep is left');
    assert.equal(pool.upstream('api'), undefined);
    assert.deepEqual(pool.stats().upstreams, {});
    await rejectsWith(pool.acquire('api'), 'InvalidRequestError', 'SENTINEL_INVALID_REQUEST');
    // The name can be taken again.
    pool.addUpstream('api', [a.url]);
  });
});
