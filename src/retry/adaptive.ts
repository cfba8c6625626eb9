/**
 * Per-host health: the Google SRE adaptive throttle (requests against accepts, for
 * shedding first attempts when asked) and a health score, fed only with what the host
 * did (see `core/outcome.ts`). Retries are held by the client-wide retry budget, not here:
 * a per-host token rule on top of it refused the retries of healthy hosts in a burst and
 * of low-traffic clients, and earned nothing on the scorecard the budget did not.
 */
import { type Clock, systemClock } from '../core/clock.js';
import { SlidingWindowCounters } from '../core/sliding-window.js';
import { knownKeys, positive } from '../core/validate.js';
import {
  AdaptiveThrottle,
  type AdaptiveThrottleConfig,
  DEFAULT_ADAPTIVE_THROTTLE_CONFIG,
} from './adaptive-throttle.js';

/** Tuning of {@link HostHealth}: the throttle's, plus latency. */
export interface HostHealthConfig extends AdaptiveThrottleConfig {
  /**
   * Latency the host is expected to meet, in ms. While the smoothed latency is above it, the
   * score is scaled by `latencyTargetMs / latency`. `undefined`: latency does not count.
   * @default undefined
   */
  latencyTargetMs: number | undefined;
  /**
   * Time constant of the latency average, in ms: a sample's weight halves every
   * `0.69 × latencyDecayMs` (Finagle's peak-EWMA τ).
   * @default 10_000
   */
  latencyDecayMs: number;
}

/** The defaults of {@link HostHealthConfig}. */
export const DEFAULT_HOST_HEALTH_CONFIG: Readonly<HostHealthConfig> = Object.freeze({
  ...DEFAULT_ADAPTIVE_THROTTLE_CONFIG,
  latencyTargetMs: undefined,
  latencyDecayMs: 10_000,
});

/** A plain-JSON snapshot of a host's health. */
export interface HostHealthStats {
  score: number;
  rejectProbability: number;
  /** Attempts counted in the window. */
  requests: number;
  /** Attempts the host served, in the window. */
  accepts: number;
  /** Attempts the host refused or failed, in the window. */
  failures: number;
  /** Smoothed latency in ms; undefined before the first sample. */
  latencyMs: number | undefined;
}

const FAILURES = 0;

/**
 * Health of one host.
 *
 * - `rejectProbability` (SRE): `max(0, (requests − k·accepts) / (requests + 1))` over the
 *   last `windowMs`, where requests are the attempts the host judged plus those shed.
 * - `score` in [0, 1]: accepts / (accepts + failures) over the window (1 with no data),
 *   scaled down by latency above `latencyTargetMs` when that is set.
 *
 * Only outcomes that are the host's doing are recorded: an attempt that waited in our own
 * queue, or that the caller aborted, is not a request the host refused.
 *
 * @example
 * ```ts
 * const health = new HostHealth();
 * health.recordOutcome(res.status < 500, elapsed);
 * if (health.shouldShed()) throw new CircuitOpenError(host, 0);
 * ```
 */
export class HostHealth {
  /** The validated configuration, frozen. */
  readonly config: Readonly<HostHealthConfig>;
  readonly #clock: Clock;
  readonly #throttle: AdaptiveThrottle;
  readonly #failures: SlidingWindowCounters;
  #latency: number | undefined;
  #latencyAt = 0;

  /** @throws InvalidRequestError naming the first invalid option */
  constructor(config: Partial<HostHealthConfig> = {}, deps: { clock?: Clock } = {}) {
    knownKeys('adaptive', config, [...Object.keys(DEFAULT_HOST_HEALTH_CONFIG)]);
    this.#clock = deps.clock ?? systemClock;
    this.#throttle = new AdaptiveThrottle(config, { clock: this.#clock });
    const d = DEFAULT_HOST_HEALTH_CONFIG;
    const target = config.latencyTargetMs;
    this.config = Object.freeze({
      ...this.#throttle.config,
      latencyTargetMs: target === undefined ? undefined : positive('latencyTargetMs', target),
      latencyDecayMs: positive('latencyDecayMs', config.latencyDecayMs ?? d.latencyDecayMs),
    });
    const { windowMs } = this.#throttle.config;
    this.#failures = new SlidingWindowCounters(this.#clock, windowMs, windowMs / 120, 1);
  }

  /** Counts an attempt shed locally: SRE counts it among the requests. */
  recordShed(): void {
    this.#throttle.recordRequest();
  }

  /**
   * Records what the host did with an attempt it was sent.
   * @param success - served (`true`), or refused/failed (`false`)
   * @param latencyMs - how long it took, for the latency part of the score
   */
  recordOutcome(success: boolean, latencyMs?: number): void {
    this.#throttle.recordRequest();
    if (success) this.#throttle.recordAccept();
    else this.#failures.add(FAILURES);
    if (latencyMs !== undefined && Number.isFinite(latencyMs) && latencyMs >= 0) {
      this.#sampleLatency(latencyMs);
    }
  }

  #sampleLatency(ms: number): void {
    const now = this.#clock.now();
    if (this.#latency === undefined) {
      this.#latency = ms;
    } else {
      const w = Math.exp(-Math.max(0, now - this.#latencyAt) / this.config.latencyDecayMs);
      this.#latency = this.#latency * w + ms * (1 - w);
    }
    this.#latencyAt = now;
  }

  /** Should this first attempt be rejected locally (SRE adaptive throttling)? A draw. */
  shouldShed(): boolean {
    return this.#throttle.shouldShed();
  }

  /** Health in [0, 1]: recent success share, lowered by latency above the target. */
  get score(): number {
    const accepts = this.#throttle.accepts;
    const outcomes = accepts + this.#failures.sum(FAILURES);
    let score = outcomes === 0 ? 1 : accepts / outcomes;
    const target = this.config.latencyTargetMs;
    if (target !== undefined && this.#latency !== undefined && this.#latency > target) {
      score *= target / this.#latency;
    }
    return score;
  }

  /** SRE local rejection probability, in [0, 1). */
  get rejectProbability(): number {
    return this.#throttle.rejectProbability;
  }

  /** A plain-JSON snapshot. */
  toJSON(): HostHealthStats {
    return {
      score: this.score,
      rejectProbability: this.rejectProbability,
      requests: this.#throttle.requests,
      accepts: this.#throttle.accepts,
      failures: this.#failures.sum(FAILURES),
      latencyMs: this.#latency,
    };
  }
}
