/**
 * Counters over a sliding time window, kept in a ring of fixed buckets (resilience4j's
 * TIME_BASED window): O(1) to record, O(buckets) to sum, memory fixed at construction.
 * Used by the circuit breaker (failure rate), adaptive throttling (accepts/requests) and
 * host health.
 */
import type { Clock } from './clock.js';

export class SlidingWindowCounters {
  readonly #clock: Clock;
  readonly #bucketMs: number;
  readonly #buckets: number;
  readonly #fields: number;
  /** Row-major: bucket i, field f at i * fields + f. */
  readonly #counts: Float64Array;
  /** The bucket index (time / bucketMs) each ring slot currently holds. */
  readonly #epochs: Float64Array;
  /**
   * The bucket last written and its slot: nearly every `add` falls in the same bucket as
   * the one before, and finding the slot otherwise takes two float remainders.
   */
  #lastEpoch = Number.NaN;
  #lastSlot = 0;

  /**
   * @param windowMs - length of the window
   * @param bucketMs - resolution; the window holds ceil(windowMs / bucketMs) buckets
   * @param fields - how many counters each bucket holds
   */
  constructor(clock: Clock, windowMs: number, bucketMs: number, fields: number) {
    this.#clock = clock;
    this.#bucketMs = bucketMs;
    this.#buckets = Math.max(1, Math.ceil(windowMs / bucketMs));
    this.#fields = fields;
    this.#counts = new Float64Array(this.#buckets * fields);
    // NaN marks an empty slot: every number, -1 included, is a real bucket at some time,
    // since a clock may read below zero (only differences matter).
    this.#epochs = new Float64Array(this.#buckets).fill(Number.NaN);
  }

  #slot(epoch: number): number {
    if (epoch === this.#lastEpoch) return this.#lastSlot;
    const slot = ((epoch % this.#buckets) + this.#buckets) % this.#buckets;
    if (this.#epochs[slot] !== epoch) {
      this.#epochs[slot] = epoch;
      this.#counts.fill(0, slot * this.#fields, (slot + 1) * this.#fields);
    }
    this.#lastEpoch = epoch;
    this.#lastSlot = slot;
    return slot;
  }

  /**
   * Adds `n` to counter `field` in the current bucket.
   * @param now - a reading of the clock the caller already has, to save taking another
   */
  add(field: number, n = 1, now = this.#clock.now()): void {
    const epoch = Math.floor(now / this.#bucketMs);
    this.#counts[this.#slot(epoch) * this.#fields + field]! += n;
  }

  /** The sum of counter `field` over the window. */
  sum(field: number): number {
    const current = Math.floor(this.#clock.now() / this.#bucketMs);
    const oldest = current - this.#buckets + 1;
    let total = 0;
    for (let slot = 0; slot < this.#buckets; slot++) {
      const epoch = this.#epochs[slot]!;
      if (epoch >= oldest && epoch <= current) total += this.#counts[slot * this.#fields + field]!;
    }
    return total;
  }

  /** Forgets everything. */
  reset(): void {
    this.#counts.fill(0);
    this.#epochs.fill(Number.NaN);
    this.#lastEpoch = Number.NaN;
  }
}
