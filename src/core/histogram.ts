/**
 * A fixed-size latency histogram: memory does not grow with the number of samples.
 * Buckets are log-linear (8 sub-buckets per power of two, ~9% relative error), covering
 * 1 µs to ~2^31 ms; samples outside are clamped to the first or last bucket.
 */

const SUB_BUCKETS = 8;
const MIN_EXP = -10; // 2^-10 ms ≈ 1 µs
const MAX_EXP = 31;
const BUCKETS = (MAX_EXP - MIN_EXP) * SUB_BUCKETS;

function bucketOf(ms: number): number {
  if (!(ms > 0)) return 0;
  const log = Math.log2(ms);
  const idx = Math.floor((log - MIN_EXP) * SUB_BUCKETS);
  return idx < 0 ? 0 : idx >= BUCKETS ? BUCKETS - 1 : idx;
}

function upperBoundOf(bucket: number): number {
  return 2 ** (MIN_EXP + (bucket + 1) / SUB_BUCKETS);
}

/** Summary figures of a histogram, in ms. */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Records latencies in ms into a fixed array of counters. */
export class LatencyHistogram {
  readonly #counts = new Uint32Array(BUCKETS);
  #count = 0;
  #sum = 0;
  #max = 0;

  /** Adds one sample. O(1), no allocation. */
  record(ms: number): void {
    // One bad sample must not poison the mean forever.
    if (!(ms >= 0)) {
      if (Number.isNaN(ms)) return;
      ms = 0;
    }
    if (ms === Number.POSITIVE_INFINITY) return;
    this.#counts[bucketOf(ms)]!++;
    this.#count++;
    this.#sum += ms;
    if (ms > this.#max) this.#max = ms;
  }

  get count(): number {
    return this.#count;
  }

  /** The value at quantile `q` (0–1), as the upper bound of its bucket, capped at the max seen. */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(upperBoundOf(i), this.#max);
    }
    return this.#max;
  }

  summary(): LatencySummary {
    return {
      count: this.#count,
      mean: this.#count === 0 ? 0 : this.#sum / this.#count,
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      p99: this.quantile(0.99),
      max: this.#max,
    };
  }

  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#sum = 0;
    this.#max = 0;
  }
}
