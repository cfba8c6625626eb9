import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { Reaper } from '../../src/pool/reaper.js';

/** What the reaper reads of a connection, with a name to tell them apart. */
interface Conn {
  name: string;
  createdAt: number;
  idleSince: number;
}

interface Host {
  idle: Conn[];
}

function setup(limits = { idleTimeoutMs: 10_000, maxConnectionLifetimeMs: 60_000 }) {
  const clock = new ManualClock();
  const hosts = new Map<string, Host>();
  const closed: string[] = [];
  let sweeps = 0;
  const reaper = new Reaper<Conn, Host>(
    clock,
    limits,
    hosts,
    (host, conn) => {
      host.idle.splice(host.idle.indexOf(conn), 1);
      closed.push(conn.name);
    },
    () => {
      sweeps++;
    },
  );
  const conn = (name: string, createdAt: number, idleSince: number): Conn => ({
    name,
    createdAt,
    idleSince,
  });
  return { clock, hosts, closed, reaper, conn, sweeps: () => sweeps };
}

describe('Reaper', () => {
  test('a connection is expired once its lifetime has passed, not before', () => {
    const { reaper, conn } = setup();
    const c = conn('a', 1_000, 1_000);
    assert.equal(reaper.expired(c, 60_999), false);
    assert.equal(reaper.expired(c, 61_000), true);
  });

  test('sweeps at half the idle timeout, closing what idled too long, oldest first', () => {
    const { clock, hosts, closed, reaper, conn, sweeps } = setup();
    clock.advance(1_000);
    hosts.set('a', { idle: [conn('old', 0, 0), conn('young', 0, 1_000)] });
    reaper.arm();
    assert.equal(reaper.armed, true);
    // The sweep interval is capped at 1 s.
    clock.advance(999);
    assert.equal(sweeps(), 0);
    clock.advance(1);
    assert.equal(sweeps(), 1);
    assert.deepEqual(closed, []);
    // At 10 s 'old' has idled 10 s: gone at the next sweep; 'young' stays and keeps the
    // sweeps coming.
    clock.advance(8_000);
    assert.deepEqual(closed, ['old']);
    assert.deepEqual(
      hosts.get('a')!.idle.map((c) => c.name),
      ['young'],
    );
    assert.equal(reaper.armed, true);
    clock.advance(1_000);
    assert.deepEqual(closed, ['old', 'young']);
    // Nothing idle: no timer left.
    assert.equal(reaper.armed, false);
    assert.equal(clock.pendingTimers, 0);
  });

  test('a connection past its lifetime is closed even if it idled only briefly', () => {
    const { clock, hosts, closed, reaper, conn } = setup({
      idleTimeoutMs: 10_000,
      maxConnectionLifetimeMs: 5_000,
    });
    clock.advance(4_500);
    hosts.set('a', { idle: [conn('aged', 0, 4_500)] });
    reaper.arm();
    clock.advance(1_000);
    assert.deepEqual(closed, ['aged']);
  });

  test('a short idle timeout sweeps at half of it, at least every ms', () => {
    const { clock, hosts, closed, reaper, conn } = setup({
      idleTimeoutMs: 1,
      maxConnectionLifetimeMs: 60_000,
    });
    hosts.set('a', { idle: [conn('a', 0, 0)] });
    reaper.arm();
    clock.advance(1);
    assert.deepEqual(closed, ['a']);
  });

  test('arm is idempotent; stop clears the timer and later arms do nothing', () => {
    const { clock, hosts, reaper, conn } = setup();
    hosts.set('a', { idle: [conn('a', 0, 0)] });
    reaper.arm();
    reaper.arm();
    assert.equal(clock.pendingTimers, 1);
    reaper.stop();
    assert.equal(clock.pendingTimers, 0);
    reaper.arm();
    assert.equal(reaper.armed, false);
    assert.equal(clock.pendingTimers, 0);
  });

  test('evictLongestIdle closes the connection idle longest across hosts', () => {
    const { hosts, closed, reaper, conn } = setup();
    assert.equal(reaper.evictLongestIdle(), false);
    hosts.set('a', { idle: [conn('a1', 0, 300), conn('a2', 0, 400)] });
    hosts.set('b', { idle: [conn('b1', 0, 200)] });
    hosts.set('c', { idle: [] });
    assert.equal(reaper.evictLongestIdle(), true);
    assert.deepEqual(closed, ['b1']);
    assert.equal(reaper.evictLongestIdle(), true);
    assert.deepEqual(closed, ['b1', 'a1']);
  });

  test('a discard that leaves the connection in place does not hold the sweep', () => {
    const clock = new ManualClock();
    const stuck: Conn = { name: 'stuck', createdAt: 0, idleSince: 0 };
    const hosts = new Map([['a', { idle: [stuck] }]]);
    let discards = 0;
    const reaper = new Reaper<Conn, Host>(
      clock,
      { idleTimeoutMs: 10, maxConnectionLifetimeMs: 60_000 },
      hosts,
      () => {
        discards++;
      },
      () => {},
    );
    reaper.arm();
    clock.advance(10);
    assert.equal(discards, 1);
    reaper.stop();
  });
});
