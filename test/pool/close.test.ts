import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { ConnectionPool } from '../../src/pool/index.js';
import { rejectsWith, settledState, tick, waitFor } from '../helpers/pool-helpers.js';
import { startServer, type TestServer } from '../helpers/server.js';

const servers: TestServer[] = [];
let pool: ConnectionPool | undefined;

afterEach(async () => {
  await pool?.close();
  pool = undefined;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(
  handler: Parameters<typeof startServer>[0] = (_req, res) => res.end('ok'),
): Promise<TestServer> {
  const s = await startServer(handler, { keepAliveTimeout: 600_000 });
  servers.push(s);
  return s;
}

/** Handles that keep the event loop alive, by kind. */
function liveHandles(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) {
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

describe('close()', () => {
  test('closes idle sockets on the server side and leaves nothing keeping the process alive', async () => {
    const s = await server();
    const baseline = liveHandles();
    pool = new ConnectionPool({ maxConnections: 3 });
    const conns = await Promise.all([1, 2, 3].map(() => pool!.acquire(s.url)));
    await Promise.all(conns.map((c) => c.request('GET', '/')));
    for (const c of conns) pool.release(c);
    assert.equal(s.openSockets, 3);
    await pool.close();
    assert.equal(pool.closed, true);
    assert.equal(pool.stats().totals.connections, 0);
    await waitFor(() => s.openSockets === 0, 'the server to see every socket close');
    await tick();
    const now = liveHandles();
    for (const kind of ['TCPSocketWrap', 'Timeout', 'Immediate', 'TLSWrap']) {
      assert.equal(now.get(kind) ?? 0, baseline.get(kind) ?? 0, `${kind} handles left`);
    }
  });

  test('waiters are rejected with PoolClosedError', async () => {
    const s = await server();
    const clock = new ManualClock();
    pool = new ConnectionPool({ maxConnections: 1, clock });
    const held = await pool.acquire(s.url);
    const waiters = [pool.acquire(s.url), pool.acquire(s.url)];
    await pool.close();
    for (const w of waiters) await rejectsWith(w, 'PoolClosedError', 'SENTINEL_POOL_CLOSED');
    assert.equal(pool.stats().totals.pending, 0);
    assert.equal(clock.pendingTimers, 0, 'the waiters’ timers were cleared');
    pool.release(held);
  });

  test('acquire after close fails with PoolClosedError and opens nothing', async () => {
    const s = await server();
    pool = new ConnectionPool();
    await pool.close();
    await rejectsWith(pool.acquire(s.url), 'PoolClosedError', 'SENTINEL_POOL_CLOSED');
    await rejectsWith(pool.acquire('127.0.0.1', s.port), 'PoolClosedError', 'SENTINEL_POOL_CLOSED');
    assert.equal(s.connections, 0);
  });

  test('closing twice is fine, also concurrently', async () => {
    const s = await server();
    pool = new ConnectionPool();
    const conn = await pool.acquire(s.url);
    await conn.request('GET', '/');
    pool.release(conn);
    const [a, b] = [pool.close(), pool.close()];
    await Promise.all([a, b]);
    await pool.close();
    await waitFor(() => s.openSockets === 0, 'the socket to close');
  });

  test('a request in flight at close finishes; its connection closes after', async () => {
    let respond: (() => void) | undefined;
    const s = await server((_req, res) => {
      respond = () => res.end('done');
    });
    pool = new ConnectionPool();
    const conn = await pool.acquire(s.url);
    const request = conn.request('GET', '/');
    await waitFor(() => respond !== undefined, 'the request to reach the server');
    const closing = pool.close();
    const closed = settledState(closing);
    await tick();
    assert.equal(closed.state, 'pending', 'close waits for the request under way');
    respond!();
    assert.equal((await request).text(), 'done');
    await closing;
    pool.release(conn);
    assert.equal(pool.stats().totals.connections, 0);
    await waitFor(() => s.openSockets === 0, 'the socket to close');
  });

  test('a connection released after close is closed, not kept', async () => {
    const s = await server();
    pool = new ConnectionPool();
    const conn = await pool.acquire(s.url);
    await conn.request('GET', '/');
    await pool.close();
    pool.release(conn);
    assert.equal(pool.stats().totals.idle, 0);
    assert.equal(pool.stats().totals.connections, 0);
    await waitFor(() => s.openSockets === 0, 'the socket to close');
  });

  test('await using closes the pool at the end of the block', async () => {
    const s = await server();
    let escaped: ConnectionPool | undefined;
    {
      await using p = new ConnectionPool();
      escaped = p;
      const conn = await p.acquire(s.url);
      await conn.request('GET', '/');
      p.release(conn);
      assert.equal(s.openSockets, 1);
    }
    assert.equal(escaped.closed, true);
    await waitFor(() => s.openSockets === 0, 'the socket to close');
    await rejectsWith(escaped.acquire(s.url), 'PoolClosedError', 'SENTINEL_POOL_CLOSED');
  });
});
