import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { isSentinelError } from '../../src/core/errors.js';
import { type Connection, ConnectionPool, type HostStats } from '../../src/pool/index.js';
import { settledState, tick, waitFor } from '../helpers/pool-helpers.js';
import { startServer, type TestServer } from '../helpers/server.js';

const servers: TestServer[] = [];
let pool: ConnectionPool | undefined;

afterEach(async () => {
  await pool?.close();
  pool = undefined;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/**
 * A server that keeps sockets open far longer than any test, so every close seen here
 * is the pool's doing (its hint: `Keep-Alive: timeout=600`).
 */
async function patientServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end('ok'),
): Promise<TestServer> {
  const server = await startServer(handler, { keepAliveTimeout: 600_000 });
  servers.push(server);
  return server;
}

function hostOf(p: ConnectionPool, server: TestServer): HostStats {
  return p.stats().hosts[`127.0.0.1:${server.port}`]!;
}

async function use(p: ConnectionPool, server: TestServer): Promise<Connection> {
  const conn = await p.acquire(server.url);
  assert.equal((await conn.request('GET', '/')).status, 200);
  return conn;
}

describe('idle eviction', () => {
  test('an idle connection is closed after idleTimeoutMs, on the server side too', async () => {
    const server = await patientServer();
    const clock = new ManualClock();
    pool = new ConnectionPool({ idleTimeoutMs: 10_000, clock });
    pool.release(await use(pool, server));
    assert.equal(hostOf(pool, server).connections.idle, 1);
    clock.advance(9_000);
    assert.equal(hostOf(pool, server).connections.idle, 1, 'not yet');
    await tick();
    assert.equal(server.openSockets, 1);
    clock.advance(2_000);
    assert.equal(hostOf(pool, server).connections.idle, 0);
    assert.equal(pool.stats().totals.connections, 0);
    await waitFor(() => server.openSockets === 0, 'the server to see the socket close');
    await waitFor(() => hostOf(pool!, server).connections.closed === 1, 'closed to count');
    assert.equal(clock.pendingTimers, 0, 'the sweep stops when nothing is idle');
    // The next caller gets a new socket.
    pool.release(await use(pool, server));
    assert.equal(server.connections, 2);
  });

  test('a connection reused in time is not evicted; the idle clock restarts at release', async () => {
    const server = await patientServer();
    const clock = new ManualClock();
    pool = new ConnectionPool({ idleTimeoutMs: 10_000, clock });
    pool.release(await use(pool, server));
    clock.advance(8_000);
    pool.release(await use(pool, server));
    clock.advance(8_000);
    assert.equal(hostOf(pool, server).connections.idle, 1);
    pool.release(await use(pool, server));
    assert.equal(server.connections, 1);
  });

  test('only connections idle past the timeout are evicted, oldest first', async () => {
    const server = await patientServer();
    const clock = new ManualClock();
    pool = new ConnectionPool({ idleTimeoutMs: 10_000, clock });
    const a = await use(pool, server);
    const b = await use(pool, server);
    pool.release(a);
    clock.advance(6_000);
    pool.release(b);
    clock.advance(5_000);
    assert.equal(hostOf(pool, server).connections.idle, 1);
    const next = await pool.acquire(server.url);
    assert.equal(next.id, b.id, 'the younger one survived');
    pool.release(next);
  });
});

describe('maximum lifetime', () => {
  test('a connection older than maxConnectionLifetimeMs is closed when released', async () => {
    const server = await patientServer();
    const clock = new ManualClock();
    pool = new ConnectionPool({ maxConnectionLifetimeMs: 5_000, clock });
    const conn = await use(pool, server);
    pool.release(conn);
    clock.advance(1_000);
    const again = await use(pool, server);
    assert.equal(again.id, conn.id, 'young enough to reuse');
    clock.advance(4_000);
    pool.release(again);
    assert.equal(hostOf(pool, server).connections.idle, 0);
    assert.equal(pool.stats().totals.connections, 0);
    await waitFor(() => server.openSockets === 0, 'the server to see the socket close');
    const fresh = await use(pool, server);
    assert.notEqual(fresh.id, conn.id);
    assert.equal(server.connections, 2);
    pool.release(fresh);
  });

  test('an idle connection that outlived its lifetime is closed, not handed out', async () => {
    const server = await patientServer();
    const clock = new ManualClock();
    pool = new ConnectionPool({ maxConnectionLifetimeMs: 5_000, idleTimeoutMs: 600_000, clock });
    const conn = await use(pool, server);
    pool.release(conn);
    clock.advance(4_999);
    assert.equal(hostOf(pool, server).connections.idle, 1);
    clock.advance(1);
    assert.equal(hostOf(pool, server).connections.idle, 0);
    await waitFor(() => server.openSockets === 0, 'the server to see the socket close');
    const next = await pool.acquire(server.url);
    assert.notEqual(next.id, conn.id);
    pool.release(next);
  });
});

describe('idle limit', () => {
  test('maxIdleConnections are kept; the rest close on release', async () => {
    const server = await patientServer();
    pool = new ConnectionPool({ maxConnections: 5, maxIdleConnections: 2 });
    const conns = await Promise.all(Array.from({ length: 5 }, () => use(pool!, server)));
    assert.equal(server.connections, 5);
    for (const c of conns) pool.release(c);
    const host = hostOf(pool, server);
    assert.equal(host.connections.idle, 2);
    assert.equal(host.connections.active, 0);
    assert.equal(pool.stats().totals.connections, 2);
    await waitFor(() => server.openSockets === 2, 'the server to see 3 sockets close');
    await waitFor(() => hostOf(pool!, server).connections.closed === 3, 'closed to count 3');
  });

  test('maxIdleConnections 0 closes every connection on release', async () => {
    const server = await patientServer();
    pool = new ConnectionPool({ maxIdleConnections: 0 });
    pool.release(await use(pool, server));
    pool.release(await use(pool, server));
    assert.equal(server.connections, 2);
    assert.equal(pool.stats().totals.connections, 0);
    await waitFor(() => server.openSockets === 0, 'sockets to close');
  });
});

describe('a server closing an idle socket', () => {
  test('the pool drops the connection and the next caller gets a new socket', async () => {
    const server = await patientServer((req, res) => {
      res.end('ok', () => {
        // Close after the response, as a server does when its keep-alive timer fires.
        if (req.url === '/then-close') setImmediate(() => req.socket.end());
      });
    });
    pool = new ConnectionPool();
    const conn = await pool.acquire(server.url);
    assert.equal((await conn.request('GET', '/then-close')).text(), 'ok');
    pool.release(conn);
    await waitFor(() => hostOf(pool!, server).connections.idle === 0, 'the pool to notice');
    assert.equal(conn.alive, false);
    assert.equal(hostOf(pool, server).connections.closed, 1);
    assert.equal(pool.stats().totals.connections, 0);
    const next = await use(pool, server);
    assert.notEqual(next.id, conn.id);
    assert.equal(server.connections, 2);
    pool.release(next);
  });
});

describe('release', () => {
  test('releasing twice is harmless', async () => {
    const server = await patientServer();
    pool = new ConnectionPool({ maxConnections: 1 });
    const conn = await use(pool, server);
    pool.release(conn);
    pool.release(conn);
    const host = hostOf(pool, server);
    assert.equal(host.connections.idle, 1);
    assert.equal(host.connections.active, 0);
    assert.equal(pool.stats().totals.connections, 1);
    // The limit of 1 still holds exactly one connection, usable again.
    const again = await use(pool, server);
    assert.equal(again.id, conn.id);
    pool.release(again);
    assert.equal(server.connections, 1);
  });

  test('releasing a connection while its request is in flight discards it', async () => {
    let arrived = false;
    const server = await patientServer((_req, res) => {
      arrived = true;
      setTimeout(() => res.end('late'), 50).unref();
    });
    pool = new ConnectionPool();
    const conn = await pool.acquire(server.url);
    const request = conn.request('GET', '/slow');
    const state = settledState(request);
    await waitFor(() => arrived, 'the request to reach the server');
    pool.release(conn);
    let error: unknown;
    await request.catch((err: unknown) => {
      error = err;
    });
    assert.equal(state.state, 'rejected');
    assert.ok(isSentinelError(error), `a typed error, got ${String(error)}`);
    assert.equal(conn.alive, false);
    assert.equal(pool.stats().totals.connections, 0);
    // Ended by our side (the release destroyed it): counted, but not against the host.
    assert.equal(hostOf(pool, server).requests.cancelled, 1);
    assert.equal(hostOf(pool, server).requests.failed, 0);
    await waitFor(() => server.openSockets === 0, 'the socket to close');
    const next = await use(pool, server);
    assert.notEqual(next.id, conn.id);
    pool.release(next);
  });

  test('a connection handed to a waiter stays checked out until that caller releases it', async () => {
    const server = await patientServer();
    pool = new ConnectionPool({ maxConnections: 1 });
    const conn = await use(pool, server);
    const waiting = pool.acquire(server.url);
    pool.release(conn);
    const again = await waiting;
    assert.equal(hostOf(pool, server).connections.active, 1);
    pool.release(conn); // a stale second release by the first caller
    // Same object, so the pool cannot tell the callers apart; it must at least stay
    // consistent: one connection, counted once.
    const totals = pool.stats().totals;
    assert.equal(totals.connections, 1);
    assert.equal(totals.active + totals.idle, 1);
    pool.release(again);
  });
});
