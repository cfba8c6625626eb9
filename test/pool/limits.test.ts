import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { type Connection, ConnectionPool } from '../../src/pool/index.js';
import { rejectsWith, settledState, tick } from '../helpers/pool-helpers.js';
import { startServer, type TestServer } from '../helpers/server.js';

const servers: TestServer[] = [];
let pool: ConnectionPool | undefined;

afterEach(async () => {
  await pool?.close();
  pool = undefined;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A server that answers after a macrotask, so requests really overlap. */
async function slowishServer(): Promise<TestServer> {
  const server = await startServer((req, res) => {
    setImmediate(() => res.end(req.url));
  });
  servers.push(server);
  return server;
}

describe('per-host limits', () => {
  test('200 concurrent callers never open more than maxConnections sockets', async () => {
    const server = await slowishServer();
    pool = new ConnectionPool({ maxConnections: 5, connectionTimeoutMs: 10_000 });
    const p = pool;
    let maxActive = 0;
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const conn = await p.acquire(server.url);
        try {
          maxActive = Math.max(maxActive, p.stats().totals.active);
          return (await conn.request('GET', `/${i}`)).text();
        } finally {
          p.release(conn);
        }
      }),
    );
    assert.deepEqual(
      results,
      Array.from({ length: 200 }, (_, i) => `/${i}`),
    );
    assert.ok(server.peakSockets <= 5, `peak ${server.peakSockets} sockets`);
    assert.ok(server.connections <= 5, `${server.connections} sockets opened`);
    assert.equal(maxActive, 5, 'the limit was reached');
    assert.equal(server.requests, 200);
    const host = pool.stats().hosts[`127.0.0.1:${server.port}`]!;
    assert.equal(host.requests.succeeded, 200);
    assert.equal(host.requests.failed, 0);
    assert.equal(host.connections.pending, 0);
    assert.equal(host.connections.active, 0);
    assert.equal(host.connections.idle, 5);
  });

  test('maxTotalConnections caps connections across two hosts', async () => {
    const a = await slowishServer();
    const b = await slowishServer();
    pool = new ConnectionPool({
      maxConnections: 5,
      maxTotalConnections: 3,
      connectionTimeoutMs: 10_000,
    });
    const p = pool;
    let maxTotal = 0;
    const calls = Array.from({ length: 100 }, async (_, i) => {
      const url = i % 2 === 0 ? a.url : b.url;
      const conn = await p.acquire(url);
      try {
        maxTotal = Math.max(maxTotal, p.stats().totals.connections);
        return (await conn.request('GET', `/${i}`)).text();
      } finally {
        p.release(conn);
      }
    });
    const results = await Promise.all(calls);
    assert.equal(results.length, 100);
    assert.ok(results.every((r, i) => r === `/${i}`));
    assert.ok(maxTotal <= 3, `pool held ${maxTotal} connections`);
    assert.ok(a.peakSockets <= 3 && b.peakSockets <= 3);
    assert.equal(a.requests + b.requests, 100);
    assert.ok(pool.stats().totals.connections <= 3);
  });

  test('a host waiting under the total limit gets the room another host frees by going idle', async () => {
    // Regression: a connection released to idle only woke waiters of its own host, so
    // a caller of another host waited for the idle sweep (up to a second) or timed out.
    const a = await slowishServer();
    const b = await slowishServer();
    pool = new ConnectionPool({ maxTotalConnections: 1, connectionTimeoutMs: 10_000 });
    const held = await pool.acquire(a.url);
    await held.request('GET', '/');
    const waiting = pool.acquire(b.url);
    const state = settledState(waiting);
    await tick();
    assert.equal(state.state, 'pending');
    assert.equal(pool.stats().hosts[`127.0.0.1:${b.port}`]!.connections.pending, 1);
    pool.release(held);
    await tick();
    assert.equal(state.state, 'fulfilled');
    const conn = await waiting;
    assert.equal(conn.origin.port, b.port);
    assert.equal((await conn.request('GET', '/b')).text(), '/b');
    pool.release(conn);
    // The idle connection to A was closed to make room.
    assert.equal(pool.stats().hosts[`127.0.0.1:${a.port}`]!.connections.idle, 0);
    assert.equal(pool.stats().totals.connections, 1);
  });

  test('under the total limit, waiters of different hosts are served in arrival order', async () => {
    // Regression: a released connection always went to its own host's next waiter, so
    // a busy host kept the room and callers of other hosts starved until they timed out.
    const a = await slowishServer();
    const b = await slowishServer();
    pool = new ConnectionPool({ maxTotalConnections: 1, connectionTimeoutMs: 10_000 });
    const p = pool;
    const order: string[] = [];
    const queue = (name: string, url: string): Promise<Connection> =>
      p.acquire(url).then((conn) => {
        order.push(name);
        return conn;
      });
    const first = await p.acquire(a.url);
    const a1 = queue('a1', a.url);
    const b1 = queue('b1', b.url);
    const a2 = queue('a2', a.url);
    assert.equal(p.stats().totals.pending, 3);
    p.release(first);
    const c1 = await a1;
    assert.equal((await c1.request('GET', '/a1')).text(), '/a1');
    p.release(c1);
    const c2 = await b1;
    assert.equal((await c2.request('GET', '/b1')).text(), '/b1');
    p.release(c2);
    p.release(await a2);
    assert.deepEqual(order, ['a1', 'b1', 'a2']);
    assert.ok(p.stats().totals.connections <= 1);
  });

  test('waiters are served first in, first out', async () => {
    const server = await slowishServer();
    pool = new ConnectionPool({ maxConnections: 1, connectionTimeoutMs: 10_000 });
    const first = await pool.acquire(server.url);
    const order: number[] = [];
    const waiters = Array.from({ length: 6 }, (_, i) =>
      pool!.acquire(server.url).then((conn) => {
        order.push(i);
        return conn;
      }),
    );
    assert.equal(pool.stats().totals.pending, 6);
    let conn: Connection = first;
    for (let i = 0; i < 6; i++) {
      pool.release(conn);
      conn = await waiters[i]!;
      assert.equal(conn.id, first.id, 'the released connection is handed on, not a new one');
    }
    pool.release(conn);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
    assert.equal(pool.stats().totals.pending, 0);
  });

  test('a caller arriving while others wait queues behind them, even if room appears', async () => {
    const server = await slowishServer();
    pool = new ConnectionPool({ maxConnections: 1, connectionTimeoutMs: 10_000 });
    const first = await pool.acquire(server.url);
    const order: string[] = [];
    const early = pool.acquire(server.url).then((c) => {
      order.push('early');
      return c;
    });
    const late = pool.acquire(server.url).then((c) => {
      order.push('late');
      return c;
    });
    pool.release(first);
    pool.release(await early);
    pool.release(await late);
    assert.deepEqual(order, ['early', 'late']);
  });

  test('the acquire timeout applies per host queue, with the injected clock', async () => {
    const server = await slowishServer();
    const clock = new ManualClock();
    pool = new ConnectionPool({ maxConnections: 2, connectionTimeoutMs: 100, clock });
    const held = [await pool.acquire(server.url), await pool.acquire(server.url)];
    const waiting = pool.acquire(server.url);
    clock.advance(100);
    await rejectsWith(waiting, 'TimeoutError', 'SENTINEL_TIMEOUT');
    for (const c of held) pool.release(c);
    assert.equal(pool.stats().totals.active, 0);
  });
});
