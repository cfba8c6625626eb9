import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import type {
  BodyTooLargeError,
  ConnectionError,
  ProtocolError,
  TimeoutError,
} from '../../src/core/errors.js';
import { type Connection, ConnectionPool, type HostStats } from '../../src/pool/index.js';
import {
  type FloodServer,
  rejectsWith,
  settledState,
  startFloodServer,
  startScriptedServer,
  tick,
  waitFor,
} from '../helpers/pool-helpers.js';
import { closedPort, type TestServer } from '../helpers/server.js';

const servers: TestServer[] = [];
let pool: ConnectionPool | undefined;

afterEach(async () => {
  await pool?.close();
  pool = undefined;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

/**
 * A raw server whose first request on each socket gets `misbehave(socket)` and every
 * later request (on any socket) a clean `200 ok`, so the test can show the pool moves on.
 */
async function serverWhoseFirstAnswer(misbehave: (socket: Socket) => void): Promise<TestServer> {
  const server = await startScriptedServer((socket, head, index) => {
    if (index === 0 && !head.includes('/healthy')) misbehave(socket);
    else socket.write(OK);
  });
  servers.push(server);
  return server;
}

/**
 * Runs `fn` after the event loop has gone through one more poll phase, in which the
 * client side (same process, loopback) reads what the server just wrote.
 */
function afterPeerRead(fn: () => void): void {
  setImmediate(() => setImmediate(fn));
}

function hostOf(p: ConnectionPool, server: TestServer): HostStats {
  return p.stats().hosts[`127.0.0.1:${server.port}`]!;
}

/**
 * After a failed exchange on `conn`: the pool must drop it, the server must see its
 * socket close, and the next caller must get a new connection on a new socket.
 */
async function assertDiscarded(p: ConnectionPool, server: TestServer, conn: Connection) {
  assert.equal(conn.alive, false, 'the connection is dead');
  p.release(conn);
  assert.equal(hostOf(p, server).connections.idle, 0, 'not kept idle');
  assert.equal(p.stats().totals.connections, 0);
  await waitFor(() => server.openSockets === 0, 'the server to see the socket close');
  await waitFor(() => hostOf(p, server).connections.closed === 1, 'stats closed to count it');
  const next = await p.acquire(server.url);
  assert.notEqual(next.id, conn.id, 'a new connection');
  const res = await next.request('GET', '/healthy');
  assert.equal(res.text(), 'ok');
  assert.equal(server.connections, 2, 'on a new socket');
  p.release(next);
  const host = hostOf(p, server);
  assert.equal(host.requests.failed, 1);
  assert.equal(host.requests.succeeded, 1);
  assert.equal(host.connections.idle, 1);
}

describe('a connection that failed is never reused', () => {
  test('reset mid-body -> ConnectionError ECONNRESET', async () => {
    const server = await serverWhoseFirstAnswer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789');
      // Reset once the client has read those bytes: a reset racing unread data can
      // reach the client as a plain end of stream.
      afterPeerRead(() => socket.resetAndDestroy());
    });
    pool = new ConnectionPool();
    const conn = await pool.acquire(server.url);
    const err = await rejectsWith<ConnectionError>(
      conn.request('GET', '/'),
      'ConnectionError',
      'SENTINEL_CONNECTION',
    );
    assert.equal(err.errno, 'ECONNRESET');
    assert.equal(err.beforeResponse, false, 'headers had arrived');
    await assertDiscarded(pool, server, conn);
  });

  test('closed mid-body (Content-Length longer than the body) -> ConnectionError after the response began', async () => {
    const server = await serverWhoseFirstAnswer((socket) => {
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-twenty-bytes!!!');
    });
    pool = new ConnectionPool();
    const conn = await pool.acquire(server.url);
    const err = await rejectsWith<ConnectionError>(
      conn.request('GET', '/'),
      'ConnectionError',
      'SENTINEL_CONNECTION',
    );
    assert.equal(err.beforeResponse, false);
    await assertDiscarded(pool, server, conn);
  });

  test('Connection: close with a body shorter than Content-Length -> ConnectionError', async () => {
    const server = await serverWhoseFirstAnswer((socket) => {
      socket.end('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 50\r\n\r\nshort');
    });
    pool = new ConnectionPool();
    const conn = await pool.acquire(server.url);
    const err = await rejectsWith<ConnectionError>(
      conn.request('GET', '/'),
      'ConnectionError',
      'SENTINEL_CONNECTION',
    );
    assert.equal(err.beforeResponse, false);
    await assertDiscarded(pool, server, conn);
  });

  test('a body longer than Content-Length: the extra bytes never reach the next caller', async () => {
    const server = await serverWhoseFirstAnswer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA-BYTES-NOT-HTTP');
    });
    pool = new ConnectionPool();
    const conn = await pool.acquire(server.url);
    // The declared length is honoured; what follows is garbage on the socket.
    const res = await conn.request('GET', '/');
    assert.equal(res.text(), 'ok');
    pool.release(conn);
    // Whatever the timing, the next request must not read the garbage.
    const next = await pool.acquire(server.url);
    const again = await next.request('GET', '/healthy');
    assert.equal(again.text(), 'ok');
    pool.release(next);
    await waitFor(() => hostOf(pool!, server).connections.closed >= 1, 'the bad socket to close');
    assert.equal(server.connections, 2, 'the second request went on a new socket');
    assert.equal(hostOf(pool, server).requests.succeeded, 2);
  });

  test('malformed status line -> ProtocolError', async () => {
    const server = await serverWhoseFirstAnswer((socket) => {
      socket.write('HTTP/1.1 abc Nope\r\n\r\n');
    });
    pool = new ConnectionPool();
    const conn = await pool.acquire(server.url);
    await rejectsWith<ProtocolError>(
      conn.request('GET', '/'),
      'ProtocolError',
      'SENTINEL_PROTOCOL',
    );
    await assertDiscarded(pool, server, conn);
  });

  test('closed before any response -> ConnectionError before the response', async () => {
    const server = await serverWhoseFirstAnswer((socket) => socket.end());
    pool = new ConnectionPool();
    const conn = await pool.acquire(server.url);
    const err = await rejectsWith<ConnectionError>(
      conn.request('GET', '/'),
      'ConnectionError',
      'SENTINEL_CONNECTION',
    );
    assert.equal(err.beforeResponse, true);
    await assertDiscarded(pool, server, conn);
  });

  test('a server that never answers -> TimeoutError phase attempt (injected clock)', async () => {
    let arrived = 0;
    const server = await serverWhoseFirstAnswer(() => {
      arrived++;
    });
    const clock = new ManualClock();
    pool = new ConnectionPool({ clock });
    const conn = await pool.acquire(server.url);
    const request = conn.request('GET', '/', undefined, undefined, { timeoutMs: 1000 });
    await waitFor(() => arrived === 1, 'the request to reach the server');
    clock.advance(1000);
    const err = await rejectsWith<TimeoutError>(request, 'TimeoutError', 'SENTINEL_TIMEOUT');
    assert.equal(err.phase, 'attempt');
    assert.equal(err.timeoutMs, 1000);
    await assertDiscarded(pool, server, conn);
  });

  test('a server that never answers -> TimeoutError phase attempt (real, small timeout)', async () => {
    const server = await serverWhoseFirstAnswer(() => {});
    pool = new ConnectionPool();
    const conn = await pool.acquire(server.url);
    const err = await rejectsWith<TimeoutError>(
      conn.request('GET', '/', undefined, undefined, { timeoutMs: 30 }),
      'TimeoutError',
      'SENTINEL_TIMEOUT',
    );
    assert.ok(err.phase === 'attempt' || err.phase === 'headers', err.phase);
    await assertDiscarded(pool, server, conn);
  });

  test('a TLS handshake that never completes -> TimeoutError phase connect (injected clock)', async () => {
    // A TCP server that accepts and reads but never answers the ClientHello.
    const server = await startScriptedServer(() => {});
    servers.push(server);
    const clock = new ManualClock();
    pool = new ConnectionPool({ clock, connectTimeoutMs: 1000 });
    const conn = await pool.acquire(`https://127.0.0.1:${server.port}`);
    const request = conn.request('GET', '/', undefined, undefined, { timeoutMs: 60_000 });
    await waitFor(() => server.connections === 1, 'the server to accept the socket');
    const state = settledState(request);
    clock.advance(999);
    await tick();
    assert.equal(state.state, 'pending');
    assert.equal(conn.alive, true);
    clock.advance(1);
    await tick();
    assert.equal(state.state, 'rejected', 'at the deadline on the injected clock');
    const err = await rejectsWith<TimeoutError>(request, 'TimeoutError', 'SENTINEL_TIMEOUT');
    assert.equal(err.phase, 'connect');
    assert.equal(err.timeoutMs, 1000);
    assert.equal(conn.alive, false);
    pool.release(conn);
    const host = pool.stats().hosts[`127.0.0.1:${server.port}`]!;
    assert.equal(host.connections.idle, 0);
    assert.equal(host.requests.failed, 1);
    assert.equal(pool.stats().totals.connections, 0);
    const next = await pool.acquire(`https://127.0.0.1:${server.port}`);
    assert.notEqual(next.id, conn.id);
    pool.release(next);
  });

  test('a small connectTimeoutMs is honoured as given, not rounded up to undici’s timer tick', async () => {
    // Regression: undici's connect timeout runs on a ~0.5 s timer wheel, so 30 ms meant
    // about a second, and the request deadline (here 500 ms) fired first as 'attempt'.
    const server = await startScriptedServer(() => {});
    servers.push(server);
    pool = new ConnectionPool({ connectTimeoutMs: 30 });
    const conn = await pool.acquire(`https://127.0.0.1:${server.port}`);
    const err = await rejectsWith<TimeoutError>(
      conn.request('GET', '/', undefined, undefined, { timeoutMs: 500 }),
      'TimeoutError',
      'SENTINEL_TIMEOUT',
    );
    assert.equal(err.phase, 'connect');
    assert.equal(err.timeoutMs, 30);
    pool.release(conn);
  });

  test('the handshake deadline does not apply to requests on a kept-alive socket', async () => {
    const clock = new ManualClock();
    const server = await startScriptedServer((socket) => socket.write(OK));
    servers.push(server);
    pool = new ConnectionPool({ clock, connectTimeoutMs: 1000 });
    const conn = await pool.acquire(server.url);
    await conn.request('GET', '/');
    assert.equal(clock.pendingTimers, 0, 'cleared once connected');
    await conn.request('GET', '/');
    assert.equal(clock.pendingTimers, 0, 'none armed on a connected socket');
    pool.release(conn);
  });

  test('connection refused -> ConnectionError ECONNREFUSED; nothing kept', async () => {
    const port = await closedPort();
    pool = new ConnectionPool();
    const conn = await pool.acquire('127.0.0.1', port);
    const err = await rejectsWith<ConnectionError>(
      conn.request('GET', '/'),
      'ConnectionError',
      'SENTINEL_CONNECTION',
    );
    assert.equal(err.errno, 'ECONNREFUSED');
    assert.equal(err.beforeResponse, true);
    assert.equal(conn.alive, false);
    pool.release(conn);
    const host = pool.stats().hosts[`127.0.0.1:${port}`]!;
    assert.equal(host.connections.idle, 0);
    assert.equal(host.connections.created, 0, 'no socket was ever connected');
    assert.equal(host.requests.failed, 1);
    assert.equal(pool.stats().totals.connections, 0);
  });

  test('a 5xx status is a response: counted as failed, but the connection is reused', async () => {
    const server = await startScriptedServer((socket) => {
      socket.write('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n');
    });
    servers.push(server);
    pool = new ConnectionPool();
    for (let i = 0; i < 2; i++) {
      const conn: Connection = await pool.acquire(server.url);
      assert.equal((await conn.request('GET', '/')).status, 503);
      pool.release(conn);
    }
    assert.equal(server.connections, 1);
    assert.equal(hostOf(pool, server).requests.failed, 2);
  });
});

describe('response bodies past maxBodySize', () => {
  const GiB = 1024 ** 3;
  const limit = 256 * 1024;

  async function flood(announced: number | undefined): Promise<FloodServer> {
    const server = await startFloodServer(announced);
    servers.push(server);
    return server;
  }

  test('1 GiB announced by Content-Length -> BodyTooLargeError at the headers', async () => {
    const server = await flood(GiB);
    pool = new ConnectionPool();
    const conn = await pool.acquire(server.url);
    const before = process.memoryUsage().rss;
    const err = await rejectsWith<BodyTooLargeError>(
      conn.request('GET', '/', undefined, undefined, { maxBodySize: limit }),
      'BodyTooLargeError',
      'SENTINEL_BODY_TOO_LARGE',
    );
    assert.equal(err.limit, limit);
    assert.equal(conn.alive, false);
    pool.release(conn);
    await waitFor(() => server.openSockets === 0, 'the server to see the socket close');
    assert.ok(server.bytesWritten < 64 * 1024 ** 2, `server wrote ${server.bytesWritten} bytes`);
    assert.ok(process.memoryUsage().rss - before < 256 * 1024 ** 2, 'nothing near 1 GiB held');
    // Our own limit refused the body: no verdict on the host's health.
    assert.equal(hostOf(pool, server).requests.cancelled, 1);
    assert.equal(hostOf(pool, server).requests.failed, 0);
    assert.equal(hostOf(pool, server).health.score, 1);
    assert.equal(hostOf(pool, server).connections.idle, 0);
  });

  test('an endless chunked body -> BodyTooLargeError once past the limit', async () => {
    const server = await flood(undefined);
    pool = new ConnectionPool();
    const conn = await pool.acquire(server.url);
    const err = await rejectsWith<BodyTooLargeError>(
      conn.request('GET', '/', undefined, undefined, { maxBodySize: limit }),
      'BodyTooLargeError',
      'SENTINEL_BODY_TOO_LARGE',
    );
    assert.equal(err.limit, limit);
    assert.equal(conn.alive, false);
    pool.release(conn);
    await waitFor(() => server.openSockets === 0, 'the server to see the socket close');
    assert.ok(server.bytesWritten < 64 * 1024 ** 2, `server wrote ${server.bytesWritten} bytes`);
    const host = hostOf(pool, server);
    assert.ok(host.bytes.received > limit && host.bytes.received < limit + 1024 ** 2);
    assert.equal(host.connections.idle, 0);
    assert.equal(pool.stats().totals.connections, 0);
  });

  test('a body of exactly maxBodySize is accepted', async () => {
    const server = await flood(limit);
    pool = new ConnectionPool();
    const conn = await pool.acquire(server.url);
    const res = await conn.request('GET', '/', undefined, undefined, { maxBodySize: limit });
    assert.equal(res.body.length, limit);
    assert.equal(conn.alive, true);
    pool.release(conn);
    assert.equal(hostOf(pool, server).connections.idle, 1);
  });
});
