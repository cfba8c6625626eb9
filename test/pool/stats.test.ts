import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { ConnectionPool, type HostStats } from '../../src/pool/index.js';
import { startServer, type TestServer } from '../helpers/server.js';

const servers: TestServer[] = [];
let pool: ConnectionPool | undefined;

afterEach(async () => {
  await pool?.close();
  pool = undefined;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('pool.stats()', () => {
  test('a fresh pool reports empty totals, no hosts and no upstreams', () => {
    pool = new ConnectionPool();
    assert.deepEqual(pool.stats(), {
      totals: { connections: 0, active: 0, idle: 0, pending: 0, requests: 0, inFlight: 0 },
      hosts: {},
      upstreams: {},
    });
  });

  test('HostStats after a known sequence of requests', async () => {
    const clock = new ManualClock();
    // The handler moves the pool's clock, so each request's latency is exact: the
    // latency of request i is given by the `x-ms` request header.
    const server = await startServer(
      (req, res) => {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (chunk: string) => {
          body += chunk;
        });
        req.on('end', () => {
          clock.advance(Number(req.headers['x-ms']));
          res.statusCode = req.url === '/fail' ? 500 : 200;
          res.end(`got:${body}`);
        });
      },
      { keepAliveTimeout: 600_000 },
    );
    servers.push(server);
    pool = new ConnectionPool({ clock });
    const key = `127.0.0.1:${server.port}`;
    const plan: [path: string, ms: number, body: string][] = [
      ['/a', 10, 'abcd'],
      ['/b', 20, ''],
      ['/c', 30, 'xy'],
      ['/fail', 40, ''],
    ];
    let received = 0;
    for (const [path, ms, body] of plan) {
      const conn = await pool.acquire(server.url);
      const res = await conn.request(
        body ? 'POST' : 'GET',
        path,
        { 'x-ms': String(ms) },
        body || null,
      );
      received += res.body.length;
      pool.release(conn);
    }
    const host = pool.stats().hosts[key]!;
    const expected: HostStats = {
      connections: { active: 0, idle: 1, pending: 0, created: 1, closed: 0 },
      requests: { total: 4, succeeded: 3, failed: 1, cancelled: 0, inFlight: 0 },
      latency: host.latency, // checked below, within the histogram's bucket error
      bytes: { sent: 6, received },
      health: { score: 0.75, state: 'degraded', ejectedUntil: null },
    };
    assert.deepEqual(host, expected);
    assert.equal(received, 'got:abcd'.length + 'got:'.length + 'got:xy'.length + 'got:'.length);
    assert.deepEqual(Object.keys(host.latency).sort(), ['mean', 'p50', 'p90', 'p99']);
    assert.equal(host.latency.mean, 25);
    // Quantiles are bucket upper bounds (~9% relative error), capped at the largest sample.
    const within = (actual: number, exact: number) =>
      assert.ok(actual >= exact && actual <= exact * 1.1, `${actual} vs ${exact}`);
    within(host.latency.p50, 20);
    within(host.latency.p90, 40);
    within(host.latency.p99, 40);
    assert.deepEqual(pool.stats().totals, {
      connections: 1,
      active: 0,
      idle: 1,
      pending: 0,
      requests: 4,
      inFlight: 0,
    });
    // The whole thing is plain JSON.
    assert.deepEqual(JSON.parse(JSON.stringify(pool.stats())), pool.stats());
  });

  test('active, inFlight and pending while requests are under way', async () => {
    let seen: ReturnType<ConnectionPool['stats']> | undefined;
    const server = await startServer((_req, res) => {
      seen = pool!.stats();
      res.end('ok');
    });
    servers.push(server);
    pool = new ConnectionPool({ maxConnections: 1 });
    const key = `127.0.0.1:${server.port}`;
    const conn = await pool.acquire(server.url);
    const waiting = pool.acquire(server.url);
    await conn.request('GET', '/');
    assert.equal(seen!.hosts[key]!.connections.active, 1);
    assert.equal(seen!.hosts[key]!.connections.pending, 1);
    assert.equal(seen!.hosts[key]!.requests.inFlight, 1);
    assert.equal(seen!.totals.inFlight, 1);
    assert.equal(seen!.totals.pending, 1);
    pool.release(conn);
    const next = await waiting;
    const s = pool.stats().hosts[key]!;
    assert.equal(s.connections.active, 1);
    assert.equal(s.connections.pending, 0);
    assert.equal(s.requests.inFlight, 0);
    pool.release(next);
  });

  test('health turns unhealthy with failures and recovers as the window slides', async () => {
    const clock = new ManualClock();
    const server = await startServer((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    servers.push(server);
    pool = new ConnectionPool({ clock });
    const key = `127.0.0.1:${server.port}`;
    for (let i = 0; i < 3; i++) {
      const conn = await pool.acquire(server.url);
      await conn.request('GET', '/');
      pool.release(conn);
    }
    assert.deepEqual(pool.stats().hosts[key]!.health, {
      score: 0,
      state: 'unhealthy',
      ejectedUntil: null,
    });
    clock.advance(31_000);
    assert.deepEqual(pool.stats().hosts[key]!.health, {
      score: 1,
      state: 'healthy',
      ejectedUntil: null,
    });
    // Counters are cumulative; only the health window forgets.
    assert.equal(pool.stats().hosts[key]!.requests.failed, 3);
  });

  test('stats are per host', async () => {
    const a = await startServer((_req, res) => res.end('aaaa'));
    const b = await startServer((_req, res) => res.end('b'));
    servers.push(a, b);
    pool = new ConnectionPool();
    for (const [server, n] of [
      [a, 2],
      [b, 3],
    ] as const) {
      for (let i = 0; i < n; i++) {
        const conn = await pool.acquire(server.url);
        await conn.request('GET', '/');
        pool.release(conn);
      }
    }
    const { hosts, totals } = pool.stats();
    assert.equal(hosts[`127.0.0.1:${a.port}`]!.requests.total, 2);
    assert.equal(hosts[`127.0.0.1:${a.port}`]!.bytes.received, 8);
    assert.equal(hosts[`127.0.0.1:${b.port}`]!.requests.total, 3);
    assert.equal(hosts[`127.0.0.1:${b.port}`]!.bytes.received, 3);
    assert.equal(totals.requests, 5);
    assert.equal(totals.connections, 2);
  });
});
