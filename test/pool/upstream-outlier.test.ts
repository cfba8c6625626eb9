import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import {
  type Backend,
  DEFAULT_OUTLIER_DETECTION,
  decayedLevel,
  ejectionTimeMs,
  inPanic,
  mayEject,
  type OutlierDetectionOptions,
  Upstream,
} from '../../src/pool/upstream/index.js';

const WALL = 1_700_000_000_000;

function setup(n: number, outlierDetection: Partial<OutlierDetectionOptions> | false = {}) {
  const clock = new ManualClock({ wallNow: WALL });
  const origins = Array.from({ length: n }, (_, i) => `http://10.0.0.${i + 1}:8080`);
  const upstream = new Upstream(
    'api',
    origins,
    { strategy: 'round-robin', outlierDetection },
    { clock },
  );
  return { clock, upstream, backends: upstream.backends };
}

function fail(upstream: Upstream, backend: Backend, times: number): void {
  for (let i = 0; i < times; i++) upstream.record(backend, false, 5);
}

/** The backends picked over `n` picks, each recorded as a success so nothing else changes. */
function picked(upstream: Upstream, n: number): Set<Backend> {
  const seen = new Set<Backend>();
  for (let i = 0; i < n; i++) {
    const b = upstream.pick();
    seen.add(b);
    upstream.cancel(b);
  }
  return seen;
}

describe('outlier rules (pure)', () => {
  test('ejectionTimeMs: base × level, capped', () => {
    const table: [level: number, expected: number][] = [
      [1, 30_000],
      [2, 60_000],
      [9, 270_000],
      [10, 300_000],
      [11, 300_000],
      [1000, 300_000],
    ];
    for (const [level, expected] of table) {
      assert.equal(ejectionTimeMs(level, 30_000, 300_000), expected, `level ${level}`);
    }
  });

  test('mayEject: within the percentage, and always the first', () => {
    const table: [ejected: number, total: number, percent: number, expected: boolean][] = [
      [0, 1, 10, true],
      [0, 3, 10, true],
      [0, 10, 0, true],
      [1, 10, 10, false],
      [1, 20, 10, true],
      [2, 20, 10, false],
      [1, 4, 50, true],
      [2, 4, 50, false],
      [3, 4, 100, true],
      [0, 0, 100, false],
    ];
    for (const [ejected, total, percent, expected] of table) {
      assert.equal(
        mayEject(ejected, total, percent),
        expected,
        `${ejected}/${total} at ${percent}%`,
      );
    }
  });

  test('inPanic: below the threshold share, or nothing available', () => {
    const table: [available: number, total: number, threshold: number, expected: boolean][] = [
      [2, 2, 50, false],
      [1, 2, 50, false],
      [1, 3, 50, true],
      [0, 2, 50, true],
      [0, 2, 0, true],
      [1, 10, 0, false],
      [9, 10, 100, true],
      [10, 10, 100, false],
    ];
    for (const [available, total, threshold, expected] of table) {
      assert.equal(inPanic(available, total, threshold), expected, `${available}/${total}`);
    }
  });

  test('decayedLevel: one lower per full interval back in rotation', () => {
    const table: [level: number, backMs: number, expected: number][] = [
      [3, 0, 3],
      [3, 9_999, 3],
      [3, 10_000, 2],
      [3, 25_000, 1],
      [3, 1_000_000, 0],
      [3, Number.POSITIVE_INFINITY, 0],
      [0, 50_000, 0],
    ];
    for (const [level, backMs, expected] of table) {
      assert.equal(decayedLevel(level, backMs, 10_000), expected, `${level} after ${backMs}`);
    }
  });

  test('the defaults are Envoy’s', () => {
    assert.deepEqual(
      { ...DEFAULT_OUTLIER_DETECTION },
      {
        consecutiveFailures: 5,
        baseEjectionTimeMs: 30_000,
        maxEjectionTimeMs: 300_000,
        maxEjectionPercent: 10,
        intervalMs: 10_000,
        panicThresholdPercent: 50,
      },
    );
  });
});

describe('ejection timing', () => {
  test('ejected after 5 consecutive failures, not 4; back after exactly 30 s', () => {
    const { clock, upstream, backends } = setup(10);
    const bad = backends[3]!;
    fail(upstream, bad, 4);
    assert.equal(bad.isEjected(), false);
    fail(upstream, bad, 1);
    assert.equal(bad.isEjected(), true);
    assert.equal(picked(upstream, 100).has(bad), false);
    const stats = upstream.stats().backends[3]!;
    assert.equal(stats.ejected, true);
    assert.equal(stats.ejectedUntil, WALL + 30_000);
    assert.equal(stats.timesEjected, 1);
    clock.advance(29_999);
    assert.equal(picked(upstream, 100).has(bad), false);
    clock.advance(1);
    assert.equal(bad.isEjected(), false);
    assert.equal(upstream.stats().backends[3]!.ejectedUntil, null);
    assert.equal(picked(upstream, 10).has(bad), true);
  });

  test('a success breaks the run of failures', () => {
    const { upstream, backends } = setup(10);
    const bad = backends[0]!;
    fail(upstream, bad, 4);
    upstream.record(bad, true, 5);
    fail(upstream, bad, 4);
    assert.equal(bad.isEjected(), false);
    fail(upstream, bad, 1);
    assert.equal(bad.isEjected(), true);
  });

  test('failing again right after returning: 60 s, then 90 s … capped at 300 s', () => {
    const { clock, upstream, backends } = setup(10);
    const bad = backends[0]!;
    const expected = [30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 300, 300];
    for (const [i, seconds] of expected.entries()) {
      const start = clock.now();
      fail(upstream, bad, 5);
      assert.equal(bad.ejectedUntil - start, seconds * 1000, `ejection ${i + 1}`);
      clock.advance(seconds * 1000);
      assert.equal(bad.isEjected(), false);
    }
    assert.equal(bad.timesEjected, expected.length);
  });

  test('failures recorded while ejected do not extend the ejection', () => {
    const { clock, upstream, backends } = setup(10);
    const bad = backends[0]!;
    fail(upstream, bad, 5);
    const until = bad.ejectedUntil;
    clock.advance(10_000);
    fail(upstream, bad, 20);
    assert.equal(bad.ejectedUntil, until);
    assert.equal(bad.timesEjected, 1);
  });

  test('time back in rotation lowers the multiplier, one step per 10 s', () => {
    const { clock, upstream, backends } = setup(10);
    const bad = backends[0]!;
    fail(upstream, bad, 5); // 30 s, level 1
    clock.advance(30_000);
    fail(upstream, bad, 5); // 60 s, level 2
    clock.advance(60_000);
    fail(upstream, bad, 5); // 90 s, level 3
    clock.advance(90_000);
    clock.advance(20_000); // two intervals healthy: level 3 -> 1
    const start = clock.now();
    fail(upstream, bad, 5);
    assert.equal(bad.ejectionLevel, 2);
    assert.equal(bad.ejectedUntil - start, 60_000);
    clock.advance(60_000 + 300_000); // long healthy: back to the base
    fail(upstream, bad, 5);
    assert.equal(bad.ejectionLevel, 1);
  });

  test('the options change threshold and durations', () => {
    const { clock, upstream, backends } = setup(10, {
      consecutiveFailures: 2,
      baseEjectionTimeMs: 1_000,
      maxEjectionTimeMs: 2_500,
    });
    const bad = backends[0]!;
    const lengths: number[] = [];
    for (let i = 0; i < 4; i++) {
      const start = clock.now();
      fail(upstream, bad, 2);
      lengths.push(bad.ejectedUntil - start);
      clock.advance(lengths.at(-1)!);
    }
    assert.deepEqual(lengths, [1_000, 2_000, 2_500, 2_500]);
  });

  test('outlierDetection: false never ejects', () => {
    const { upstream, backends } = setup(3, false);
    fail(upstream, backends[0]!, 100);
    assert.equal(backends[0]!.isEjected(), false);
    assert.equal(picked(upstream, 3).size, 3);
  });
});

describe('max ejection percent', () => {
  test('10 % of 10 backends: one at a time; the next is ejected once room frees up', () => {
    const { clock, upstream, backends } = setup(10);
    const [first, second] = backends as [Backend, Backend];
    fail(upstream, first, 5);
    fail(upstream, second, 5);
    assert.equal(first.isEjected(), true);
    assert.equal(second.isEjected(), false, 'held back by the cap');
    assert.equal(picked(upstream, 100).has(second), true);
    clock.advance(30_000);
    fail(upstream, second, 1); // still failing: its run never ended
    assert.equal(second.isEjected(), true);
    assert.equal(first.isEjected(), false);
  });

  test('10 % of 20 backends: two', () => {
    const { upstream, backends } = setup(20);
    for (const b of backends.slice(0, 3)) fail(upstream, b, 5);
    assert.deepEqual(
      backends.slice(0, 3).map((b) => b.isEjected()),
      [true, true, false],
    );
  });

  test('at least one backend may be ejected even when 10 % is less than one', () => {
    const { upstream, backends } = setup(3);
    fail(upstream, backends[0]!, 5);
    fail(upstream, backends[1]!, 5);
    assert.equal(backends[0]!.isEjected(), true);
    assert.equal(backends[1]!.isEjected(), false);
    assert.equal(picked(upstream, 50).has(backends[0]!), false);
  });

  test('50 % of 4 backends: two', () => {
    const { upstream, backends } = setup(4, { maxEjectionPercent: 50 });
    for (const b of backends) fail(upstream, b, 5);
    assert.equal(backends.filter((b) => b.isEjected()).length, 2);
  });
});

describe('panic mode', () => {
  test('half of two ejected is not panic: the ejected one gets nothing', () => {
    const { upstream, backends } = setup(2, { maxEjectionPercent: 100 });
    fail(upstream, backends[0]!, 5);
    assert.equal(upstream.inPanic(), false);
    assert.equal(upstream.stats().panic, false);
    assert.deepEqual([...picked(upstream, 20)], [backends[1]]);
  });

  test('below 50 % available, ejections are ignored', () => {
    const { clock, upstream, backends } = setup(3, { maxEjectionPercent: 100 });
    fail(upstream, backends[0]!, 5);
    assert.equal(upstream.inPanic(), false);
    fail(upstream, backends[1]!, 5);
    assert.equal(backends[1]!.isEjected(), true);
    assert.equal(upstream.inPanic(), true);
    assert.equal(upstream.stats().panic, true);
    assert.equal(picked(upstream, 30).size, 3, 'every backend takes traffic again');
    clock.advance(30_000);
    assert.equal(upstream.inPanic(), false);
  });

  test('all ejected: still sends rather than send nothing', () => {
    const { upstream, backends } = setup(2, { maxEjectionPercent: 100 });
    fail(upstream, backends[0]!, 5);
    fail(upstream, backends[1]!, 5);
    assert.ok(backends.every((b) => b.isEjected()));
    assert.equal(picked(upstream, 10).size, 2);
  });

  test('a lone backend can be ejected but is still used', () => {
    const { upstream, backends } = setup(1);
    fail(upstream, backends[0]!, 5);
    assert.equal(backends[0]!.isEjected(), true);
    assert.equal(upstream.stats().backends[0]!.ejected, true);
    assert.equal(upstream.pick(), backends[0]);
  });

  test('panicThresholdPercent 0: panic only when nothing is left', () => {
    const { upstream, backends } = setup(3, {
      maxEjectionPercent: 100,
      panicThresholdPercent: 0,
    });
    fail(upstream, backends[0]!, 5);
    fail(upstream, backends[1]!, 5);
    assert.deepEqual([...picked(upstream, 10)], [backends[2]]);
    fail(upstream, backends[2]!, 5);
    assert.equal(picked(upstream, 30).size, 3);
  });
});
