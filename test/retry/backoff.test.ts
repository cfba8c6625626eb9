import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../../src/core/clock.js';
import {
  type BackoffConfig,
  baseDelay,
  calculateDelay,
  JITTER_MODES,
  type JitterMode,
} from '../../src/retry/backoff.js';
import { RetryEngine } from '../../src/retry/retry-engine.js';

function cfg(jitter: JitterMode, over: Partial<BackoffConfig> = {}): BackoffConfig {
  return {
    initialDelayMs: 100,
    maxDelayMs: 10_000,
    backoffMultiplier: 2,
    jitter,
    jitterFactor: 0.1,
    ...over,
  };
}

describe('baseDelay', () => {
  const table: [attempt: number, expected: number][] = [
    [0, 100],
    [1, 200],
    [2, 400],
    [6, 6400],
    [7, 10_000],
    [50, 10_000],
    [100_000, 10_000],
  ];
  for (const [attempt, expected] of table) {
    test(`attempt ${attempt} -> ${expected}`, () => {
      assert.equal(baseDelay(cfg('none'), attempt), expected);
    });
  }

  test('a zero initial delay stays 0 even where multiplier^attempt overflows', () => {
    assert.equal(baseDelay(cfg('none', { initialDelayMs: 0 }), 5000), 0);
  });
});

describe('calculateDelay per jitter mode', () => {
  const table: [
    name: string,
    config: BackoffConfig,
    attempt: number,
    random: number,
    previous: number | undefined,
    expected: number,
  ][] = [
    ['none ignores the draw', cfg('none'), 2, 0.9, undefined, 400],
    ['none is capped', cfg('none'), 30, 0.3, undefined, 10_000],
    ['full at r=0', cfg('full'), 3, 0, undefined, 0],
    ['full at r=0.5', cfg('full'), 3, 0.5, undefined, 400],
    ['full at the cap', cfg('full'), 40, 0.25, undefined, 2500],
    ['equal at r=0 is half the base', cfg('equal'), 0, 0, undefined, 50],
    ['equal at r=0.5', cfg('equal'), 2, 0.5, undefined, 300],
    ['proportional at r=0 is base×(1−f)', cfg('proportional'), 0, 0, undefined, 90],
    ['proportional at r=0.5 is the base', cfg('proportional'), 1, 0.5, undefined, 200],
    // At the cap the window is [9000, 10000]: clipped, not piled up on maxDelayMs.
    ['proportional at the cap, r=0.5', cfg('proportional'), 30, 0.5, undefined, 9500],
    [
      'proportional with factor 0 is the base',
      cfg('proportional', { jitterFactor: 0 }),
      2,
      0.7,
      undefined,
      400,
    ],
    ['decorrelated first: U(100, 300)', cfg('decorrelated'), 0, 0.5, undefined, 200],
    ['decorrelated from previous 1000', cfg('decorrelated'), 4, 0.5, 1000, 1550],
    ['decorrelated at r=0 is the initial delay', cfg('decorrelated'), 4, 0, 1000, 100],
    ['decorrelated is capped', cfg('decorrelated'), 4, 0.9, 5000, 10_000],
    // Without a previous delay, base(attempt − 1) stands in: attempt 3 -> prev 400.
    ['decorrelated without previous', cfg('decorrelated'), 3, 0.5, undefined, 650],
    ['decorrelated ignores a NaN previous', cfg('decorrelated'), 0, 0.5, Number.NaN, 200],
    ['out-of-range draw counts as 0', cfg('full'), 2, 1, undefined, 0],
    ['NaN draw counts as 0', cfg('equal'), 2, Number.NaN, undefined, 200],
    ['multiplier 1 is constant', cfg('none', { backoffMultiplier: 1 }), 9, 0, undefined, 100],
    ['zero delays', cfg('decorrelated', { initialDelayMs: 0, maxDelayMs: 0 }), 9, 0.7, 50, 0],
  ];
  for (const [name, config, attempt, random, previous, expected] of table) {
    test(name, () => {
      const delay = calculateDelay(config, attempt, random, previous);
      assert.ok(Math.abs(delay - expected) < 1e-9, `${delay} !== ${expected}`);
    });
  }
});

describe('calculateDelay properties', () => {
  const config = fc
    .record({
      initialDelayMs: fc.double({ min: 0, max: 1e6, noNaN: true }),
      extra: fc.double({ min: 0, max: 1e7, noNaN: true }),
      backoffMultiplier: fc.double({ min: 1, max: 10, noNaN: true }),
      jitter: fc.constantFrom(...JITTER_MODES),
      jitterFactor: fc.double({ min: 0, max: 1, noNaN: true }),
    })
    .map(({ extra, ...c }): BackoffConfig => ({ ...c, maxDelayMs: c.initialDelayMs + extra }));

  test('0 <= delay <= maxDelayMs for every mode, config, attempt and draw', () => {
    fc.assert(
      fc.property(
        config,
        fc.nat({ max: 5000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.option(fc.double(), { nil: undefined }),
        (c, attempt, random, previous) => {
          const d = calculateDelay(c, attempt, random, previous);
          return Number.isFinite(d) && d >= 0 && d <= c.maxDelayMs;
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('the un-jittered base never decreases with the attempt', () => {
    fc.assert(
      fc.property(config, fc.nat({ max: 2000 }), (c, attempt) => {
        return baseDelay(c, attempt + 1) >= baseDelay(c, attempt);
      }),
    );
  });

  test('full and equal jitter stay within [0, base] and [base/2, base]', () => {
    fc.assert(
      fc.property(
        config,
        fc.nat({ max: 100 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (c, attempt, r) => {
          const base = baseDelay(c, attempt);
          const full = calculateDelay({ ...c, jitter: 'full' }, attempt, r);
          const equal = calculateDelay({ ...c, jitter: 'equal' }, attempt, r);
          // Tolerance for rounding at subnormal magnitudes.
          return full <= base + 1e-9 && equal >= base / 2 - 1e-9 && equal <= base + 1e-9;
        },
      ),
    );
  });

  test('RetryEngine.calculateDelay is bounded with the system clock too', () => {
    const engine = new RetryEngine({ initialDelayMs: 50, maxDelayMs: 2000, jitter: 'equal' });
    for (let attempt = 0; attempt < 200; attempt++) {
      const d = engine.calculateDelay(attempt);
      assert.ok(d >= 0 && d <= 2000, `attempt ${attempt}: ${d}`);
    }
  });
});

describe('RetryEngine.calculateDelay', () => {
  test('draws from the injected clock', () => {
    const clock = new ManualClock({ random: () => 0.25 });
    const engine = new RetryEngine({ jitter: 'full' }, { clock });
    assert.equal(engine.calculateDelay(2), 100);
  });

  test('jitterFactor alone selects proportional jitter', () => {
    const clock = new ManualClock({ random: () => 0 });
    const engine = new RetryEngine({ jitterFactor: 0.1 }, { clock });
    assert.equal(engine.config.jitter, 'proportional');
    assert.equal(engine.calculateDelay(0), 90);
  });

  test('rejects a negative or fractional attempt', () => {
    const engine = new RetryEngine();
    assert.throws(() => engine.calculateDelay(-1), { code: 'SENTINEL_INVALID_REQUEST' });
    assert.throws(() => engine.calculateDelay(1.5), /attempt/);
  });
});
