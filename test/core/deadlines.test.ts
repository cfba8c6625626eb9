import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { DeadlineEntry, DeadlineQueue } from '../../src/core/deadlines.js';

class Entry extends DeadlineEntry {
  constructor(
    readonly name: string,
    readonly fired: string[],
  ) {
    super();
  }

  onDeadline(): void {
    this.fired.push(this.name);
  }
}

function setup(): { clock: ManualClock; queue: DeadlineQueue; fired: string[] } {
  const clock = new ManualClock();
  return { clock, queue: new DeadlineQueue(clock), fired: [] };
}

describe('DeadlineQueue', () => {
  test('fires each deadline when it falls due, with one timer per group', () => {
    const { clock, queue, fired } = setup();
    for (let i = 0; i < 5; i++) {
      queue.add(new Entry(`e${i}`, fired), clock.now() + 100, 100, clock.now());
      clock.advance(10);
    }
    assert.equal(clock.pendingTimers, 1);
    clock.advance(49);
    assert.deepEqual(fired, []);
    clock.advance(1);
    assert.deepEqual(fired, ['e0']);
    clock.advance(30);
    assert.deepEqual(fired, ['e0', 'e1', 'e2', 'e3']);
    clock.advance(10);
    assert.deepEqual(fired, ['e0', 'e1', 'e2', 'e3', 'e4']);
    assert.equal(clock.pendingTimers, 0, 'nothing left armed once empty');
    assert.equal(queue.size, 0);
  });

  test('a removed deadline never fires; removing the last clears the timer', () => {
    const { clock, queue, fired } = setup();
    const a = new Entry('a', fired);
    const b = new Entry('b', fired);
    queue.add(a, 100, 100, 0);
    queue.add(b, 150, 100, 0);
    queue.remove(a);
    queue.remove(a);
    clock.advance(120);
    assert.deepEqual(fired, [], 'the timer armed for a re-arms for b');
    assert.equal(clock.pendingTimers, 1);
    clock.advance(30);
    assert.deepEqual(fired, ['b']);
    queue.add(a, 300, 100, clock.now());
    queue.remove(a);
    assert.equal(clock.pendingTimers, 0);
  });

  test('an earlier deadline added later is kept in order and re-arms the timer', () => {
    const { clock, queue, fired } = setup();
    queue.add(new Entry('late', fired), 500, 500, 0);
    queue.add(new Entry('early', fired), 200, 500, 0);
    queue.add(new Entry('middle', fired), 300, 500, 0);
    clock.advance(200);
    assert.deepEqual(fired, ['early']);
    clock.advance(300);
    assert.deepEqual(fired, ['early', 'middle', 'late']);
  });

  test('groups are independent', () => {
    const { clock, queue, fired } = setup();
    queue.add(new Entry('long', fired), 1000, 1000, 0);
    queue.add(new Entry('short', fired), 50, 50, 0);
    assert.equal(clock.pendingTimers, 2);
    clock.advance(50);
    assert.deepEqual(fired, ['short']);
    assert.equal(clock.pendingTimers, 1);
    clock.advance(950);
    assert.deepEqual(fired, ['short', 'long']);
  });

  test('adding an entry again moves its deadline', () => {
    const { clock, queue, fired } = setup();
    const a = new Entry('a', fired);
    queue.add(a, 100, 100, 0);
    queue.add(a, 400, 100, 0);
    assert.equal(queue.size, 1);
    clock.advance(399);
    assert.deepEqual(fired, []);
    clock.advance(1);
    assert.deepEqual(fired, ['a']);
  });

  test('a deadline may add and remove others while firing', () => {
    const { clock, queue, fired } = setup();
    const b = new Entry('b', fired);
    const c = new Entry('c', fired);
    class Chain extends Entry {
      override onDeadline(): void {
        super.onDeadline();
        queue.remove(b);
        queue.add(c, clock.now() + 10, 10, clock.now());
      }
    }
    queue.add(new Chain('a', fired), 100, 100, 0);
    queue.add(b, 100, 100, 0);
    clock.advance(100);
    assert.deepEqual(fired, ['a']);
    clock.advance(10);
    assert.deepEqual(fired, ['a', 'c']);
    assert.equal(clock.pendingTimers, 0);
  });
});
