import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { SlidingWindowCounters } from '../../src/core/sliding-window.js';

const REQUESTS = 0;
const FAILURES = 1;

describe('SlidingWindowCounters', () => {
  test('counts within the window, per field', () => {
    const clock = new ManualClock();
    const w = new SlidingWindowCounters(clock, 10_000, 1000, 2);
    w.add(REQUESTS);
    w.add(REQUESTS, 4);
    w.add(FAILURES);
    clock.advance(2500);
    w.add(REQUESTS, 2);
    assert.equal(w.sum(REQUESTS), 7);
    assert.equal(w.sum(FAILURES), 1);
  });

  test('a bucket leaves the window exactly windowMs after the start of its bucket', () => {
    const clock = new ManualClock();
    const w = new SlidingWindowCounters(clock, 10_000, 1000, 1);
    w.add(0); // bucket [0, 1000)
    clock.advance(1500);
    w.add(0, 10); // bucket [1000, 2000)
    clock.advance(10_000 - 1500 - 1); // t = 9999
    assert.equal(w.sum(0), 11);
    clock.advance(1); // t = 10000: the first bucket is out
    assert.equal(w.sum(0), 10);
    clock.advance(999); // t = 10999
    assert.equal(w.sum(0), 10);
    clock.advance(1); // t = 11000
    assert.equal(w.sum(0), 0);
  });

  test('ring slots are reused after a wrap without leaking old counts', () => {
    const clock = new ManualClock();
    const w = new SlidingWindowCounters(clock, 3000, 1000, 1);
    for (let t = 0; t < 20; t++) {
      w.add(0, t + 1);
      // The window holds the last 3 buckets: t+1, t, t-1 (those that exist).
      const expected = t + 1 + (t >= 1 ? t : 0) + (t >= 2 ? t - 1 : 0);
      assert.equal(w.sum(0), expected, `at bucket ${t}`);
      clock.advance(1000);
    }
  });

  test('a long quiet spell empties the window, however long', () => {
    const clock = new ManualClock();
    const w = new SlidingWindowCounters(clock, 30_000, 1000, 1);
    for (let i = 0; i < 30; i++) {
      w.add(0);
      clock.advance(1000);
    }
    assert.equal(w.sum(0), 29);
    clock.advance(7 * 24 * 3600 * 1000);
    assert.equal(w.sum(0), 0);
    w.add(0);
    assert.equal(w.sum(0), 1);
  });

  test('a window that is not a multiple of the bucket rounds up to whole buckets', () => {
    const clock = new ManualClock();
    const w = new SlidingWindowCounters(clock, 2500, 1000, 1);
    w.add(0);
    clock.advance(2999);
    assert.equal(w.sum(0), 1, 'three buckets are kept');
    clock.advance(1);
    assert.equal(w.sum(0), 0);
  });

  test('fractional counts add up', () => {
    const clock = new ManualClock();
    const w = new SlidingWindowCounters(clock, 1000, 100, 1);
    w.add(0, 0.25);
    w.add(0, 0.5);
    assert.equal(w.sum(0), 0.75);
  });

  test('reset forgets everything', () => {
    const clock = new ManualClock({ now: 123_456 });
    const w = new SlidingWindowCounters(clock, 10_000, 1000, 2);
    w.add(0, 5);
    w.add(1, 2);
    w.reset();
    assert.equal(w.sum(0), 0);
    assert.equal(w.sum(1), 0);
    w.add(1);
    assert.equal(w.sum(1), 1);
  });

  test('starts from any clock reading', () => {
    const clock = new ManualClock({ now: 1_000_000_123 });
    const w = new SlidingWindowCounters(clock, 5000, 1000, 1);
    w.add(0, 3);
    clock.advance(4000);
    assert.equal(w.sum(0), 3);
    clock.advance(1000);
    assert.equal(w.sum(0), 0);
  });
});

describe('SlidingWindowCounters at negative clock readings', () => {
  test('counts while the clock reads below zero, and across zero', () => {
    const clock = new ManualClock({ now: -5000 });
    const window = new SlidingWindowCounters(clock, 10_000, 1000, 1);
    window.add(0, 2);
    assert.equal(window.sum(0), 2);
    clock.advance(6000);
    window.add(0);
    assert.equal(window.sum(0), 3);
    clock.advance(9000);
    assert.equal(window.sum(0), 1, 'the first bucket has left the window');
  });
});
