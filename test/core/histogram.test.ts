import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LatencyHistogram } from '../../src/core/histogram.js';

/** Relative width of one bucket: 8 sub-buckets per power of two. */
const BUCKET_RATIO = 2 ** (1 / 8);

/** A small deterministic generator (mulberry32), so failures reproduce. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function exactQuantile(sorted: Float64Array, q: number): number {
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}

describe('LatencyHistogram', () => {
  test('1e5 samples: quantiles within one bucket of the exact ones, mean and max exact', () => {
    const random = seeded(42);
    const n = 100_000;
    const samples = new Float64Array(n);
    const h = new LatencyHistogram();
    let sum = 0;
    for (let i = 0; i < n; i++) {
      // Log-uniform from 0.05 ms to 20 s, like real latencies spanning many scales.
      const ms = 0.05 * 400_000 ** random();
      samples[i] = ms;
      sum += ms;
      h.record(ms);
    }
    samples.sort();
    assert.equal(h.count, n);
    for (const q of [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1]) {
      const exact = exactQuantile(samples, q);
      const got = h.quantile(q);
      assert.ok(
        got >= exact && got <= exact * BUCKET_RATIO,
        `q${q}: ${got} not within a bucket of ${exact}`,
      );
    }
    const s = h.summary();
    assert.ok(Math.abs(s.mean - sum / n) < 1e-9 * s.mean);
    assert.equal(s.max, samples[n - 1]);
    assert.equal(s.p50, h.quantile(0.5));
    assert.equal(s.p99, h.quantile(0.99));
  });

  test('memory is fixed: a million more samples leave the quantiles coherent and cost no heap', () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 1000; i++) h.record(i % 100);
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 1_000_000; i++) h.record((i % 1000) + 1);
    const grown = process.memoryUsage().heapUsed - before;
    // A growing array of 1e6 doubles would be 8 MB; garbage from boxing stays far below.
    assert.ok(grown < 4 * 1024 * 1024, `heap grew ${grown} bytes`);
    assert.equal(h.count, 1_001_000);
    const p50 = h.quantile(0.5);
    assert.ok(p50 >= 500 && p50 <= 500 * BUCKET_RATIO, String(p50));
  });

  test('empty histogram reports zeros', () => {
    assert.deepEqual(new LatencyHistogram().summary(), {
      count: 0,
      mean: 0,
      p50: 0,
      p90: 0,
      p99: 0,
      max: 0,
    });
  });

  test('a single sample is reported exactly (quantiles are capped at the max seen)', () => {
    const h = new LatencyHistogram();
    h.record(12.5);
    assert.deepEqual(h.summary(), {
      count: 1,
      mean: 12.5,
      p50: 12.5,
      p90: 12.5,
      p99: 12.5,
      max: 12.5,
    });
  });

  test('zero and out-of-range samples are clamped into the end buckets', () => {
    const h = new LatencyHistogram();
    h.record(0);
    h.record(1e-9);
    h.record(2 ** 40);
    assert.equal(h.count, 3);
    assert.ok(h.quantile(0.5) <= 0.002, 'tiny samples land in the first bucket');
    assert.equal(h.quantile(1), 2 ** 31, 'the top bucket’s bound');
    assert.equal(h.summary().max, 2 ** 40, 'the max itself is exact');
  });

  test('reset forgets everything', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 100; i++) h.record(i);
    h.reset();
    assert.equal(h.count, 0);
    assert.equal(h.quantile(0.5), 0);
    h.record(3);
    assert.equal(h.summary().mean, 3);
    assert.equal(h.summary().max, 3);
  });
});

describe('LatencyHistogram with bad samples', () => {
  test('ignores NaN and Infinity, and clamps negatives to 0', () => {
    const h = new LatencyHistogram();
    h.record(10);
    h.record(Number.NaN);
    h.record(Number.POSITIVE_INFINITY);
    h.record(-5);
    const s = h.summary();
    assert.equal(s.count, 2);
    assert.equal(s.mean, 5);
    assert.equal(s.max, 10);
  });
});
