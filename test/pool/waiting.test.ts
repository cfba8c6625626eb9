import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import type { AbortError, TimeoutError } from '../../src/core/errors.js';
import { ConnectionPool } from '../../src/pool/index.js';
import { rejectsWith, settledState, tick } from '../helpers/pool-helpers.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let pool: ConnectionPool | undefined;

before(async () => {
  server = await startServer((_req, res) => res.end('ok'));
});
after(() => server.close());
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('acquire timeout', () => {
  test('a full pool fails the waiter with TimeoutError phase acquire after connectionTimeoutMs', async () => {
    const clock = new ManualClock();
    pool = new ConnectionPool({ maxConnections: 1, connectionTimeoutMs: 250, clock });
    const held = await pool.acquire(server.url);
    const waiting = pool.acquire(server.url);
    const state = settledState(waiting);
    clock.advance(249);
    await tick();
    assert.equal(state.state, 'pending');
    assert.equal(pool.stats().totals.pending, 1);
    clock.advance(1);
    const err = await rejectsWith<TimeoutError>(waiting, 'TimeoutError', 'SENTINEL_TIMEOUT');
    assert.equal(err.phase, 'acquire');
    assert.equal(err.timeoutMs, 250);
    assert.equal(pool.stats().totals.pending, 0);
    assert.equal(clock.pendingTimers, 0, 'no timer left behind');
    // The timed-out caller is gone from the queue: the next release keeps the connection.
    pool.release(held);
    assert.equal(pool.stats().totals.idle, 1);
    assert.equal(pool.stats().totals.active, 0);
  });

  test('a per-call timeoutMs overrides the pool’s', async () => {
    const clock = new ManualClock();
    pool = new ConnectionPool({ maxConnections: 1, connectionTimeoutMs: 10_000, clock });
    const held = await pool.acquire(server.url);
    const waiting = pool.acquire(server.url, { timeoutMs: 20 });
    clock.advance(20);
    const err = await rejectsWith<TimeoutError>(waiting, 'TimeoutError', 'SENTINEL_TIMEOUT');
    assert.equal(err.phase, 'acquire');
    assert.equal(err.timeoutMs, 20);
    pool.release(held);
  });

  test('timeoutMs 0 fails at once when the host is full, but not when there is room', async () => {
    const clock = new ManualClock();
    pool = new ConnectionPool({ maxConnections: 1, clock });
    const held = await pool.acquire(server.url, { timeoutMs: 0 });
    const waiting = pool.acquire(server.url, { timeoutMs: 0 });
    clock.advance(0);
    const err = await rejectsWith<TimeoutError>(waiting, 'TimeoutError', 'SENTINEL_TIMEOUT');
    assert.equal(err.phase, 'acquire');
    pool.release(held);
  });

  test('with real time, a small connectionTimeoutMs times out the waiter', async () => {
    pool = new ConnectionPool({ maxConnections: 1, connectionTimeoutMs: 5 });
    const held = await pool.acquire(server.url);
    const err = await rejectsWith<TimeoutError>(
      pool.acquire(server.url),
      'TimeoutError',
      'SENTINEL_TIMEOUT',
    );
    assert.equal(err.phase, 'acquire');
    pool.release(held);
  });

  test('a waiter served before its deadline has its timer cleared', async () => {
    const clock = new ManualClock();
    pool = new ConnectionPool({ maxConnections: 1, connectionTimeoutMs: 1000, clock });
    const held = await pool.acquire(server.url);
    const waiting = pool.acquire(server.url);
    assert.equal(clock.pendingTimers, 1);
    pool.release(held);
    const conn = await waiting;
    assert.equal(conn.id, held.id);
    assert.equal(clock.pendingTimers, 0);
    clock.advance(5000);
    assert.equal((await conn.request('GET', '/')).status, 200);
    pool.release(conn);
  });
});

describe('aborting a waiting acquire', () => {
  test('abort rejects with AbortError carrying the reason; the waiter and its timer are gone', async () => {
    const clock = new ManualClock();
    pool = new ConnectionPool({ maxConnections: 1, connectionTimeoutMs: 1000, clock });
    const held = await pool.acquire(server.url);
    const controller = new AbortController();
    const waiting = pool.acquire(server.url, { signal: controller.signal });
    const other = pool.acquire(server.url);
    assert.equal(pool.stats().totals.pending, 2);
    const reason = new Error('user gave up');
    controller.abort(reason);
    const err = await rejectsWith<AbortError>(waiting, 'AbortError', 'SENTINEL_ABORTED');
    assert.equal(err.reason, reason);
    assert.equal(pool.stats().totals.pending, 1);
    assert.equal(clock.pendingTimers, 1, 'only the other waiter’s timer remains');
    // The next release goes to the remaining waiter, not the aborted one.
    pool.release(held);
    const conn = await other;
    assert.equal(conn.id, held.id);
    pool.release(conn);
    assert.equal(clock.pendingTimers, 1, 'just the idle sweep');
  });

  test('an already aborted signal rejects without queueing or connecting', async () => {
    pool = new ConnectionPool();
    const before = server.connections;
    const err = await rejectsWith<AbortError>(
      pool.acquire(server.url, { signal: AbortSignal.abort('nope') }),
      'AbortError',
      'SENTINEL_ABORTED',
    );
    assert.equal(err.reason, 'nope');
    assert.equal(pool.stats().totals.pending, 0);
    assert.equal(pool.stats().totals.connections, 0);
    assert.equal(server.connections, before);
  });

  test('a signal that aborts after the acquire was served changes nothing', async () => {
    pool = new ConnectionPool({ maxConnections: 1 });
    const controller = new AbortController();
    const conn = await pool.acquire(server.url, { signal: controller.signal });
    controller.abort();
    const res = await conn.request('GET', '/');
    assert.equal(res.status, 200);
    pool.release(conn);
    assert.equal(pool.stats().totals.idle, 1);
  });
});
