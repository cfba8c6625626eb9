/**
 * Per-host adaptive retry: one object per host that combines the Google SRE adaptive
 * throttle, gRPC retry-throttling tokens and a health score, so that a failing host gets
 * fewer retries (and, if asked, fewer first attempts), not more.
 */
import { type Clock, systemClock } from '../core/clock.js';
import { SlidingWindowCounters } from '../core/sliding-window.js';
import { positive } from '../core/validate.js';
import {
  AdaptiveThrottle,
  type AdaptiveThrottleConfig,
  DEFAULT_ADAPTIVE_THROTTLE_CONFIG,
} from './adaptive-throttle.js';
import { classifyOutcome } from './outcome.js';
import {
  DEFAULT_RETRY_THROTTLE_CONFIG,
  RetryThrottle,
  type RetryThrottleConfig,
} from './retry-throttle.js';

/** Tuning of {@link HostHealth}: the throttle's and the token counter's, plus latency. */
export interface HostHealthConfig extends AdaptiveThrottleConfig, RetryThrottleConfig {
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
  ...DEFAULT_RETRY_THROTTLE_CONFIG,
  latencyTargetMs: undefined,
  latencyDecayMs: 10_000,
});

/** A plain-JSON snapshot of a host's health. */
export interface HostHealthStats {
  score: number;
  rejectProbability: number;
  tokens: number;
  /** Attempts counted in the window. */
  requests: number;
  /** Attempts the host served, in the window. */
  accepts: number;
  /** Attempts the host refused or failed, in the window. */
  failures: number;
  /** Smoothed latency in ms; undefined before the first sample. */
  latencyMs: number | undefined;
}

/**
 * What an attempt's result means for host health: `true` served, `false` refused or failed
 * (5xx, 429, network error, timeout), `undefined` not the host's doing (the caller's abort,
 * an invalid request, an open circuit…) — do not record it.
 */
export function healthOutcome(result: { status?: number; error?: unknown }): boolean | undefined {
  const status =
    result.status ?? (result.error as { code?: unknown; status?: number } | undefined)?.status;
  // A throttling response is a refusal: the SRE throttle exists to react to it.
  if (status === 429) return false;
  switch (classifyOutcome(result)) {
    case 'success':
      return true;
    case 'failure':
      return false;
    case 'ignored':
      return undefined;
  }
}

const FAILURES = 0;

/**
 * Adaptive retry state of one host.
 *
 * - `rejectProbability` (SRE): `max(0, (requests − k·accepts) / (requests + 1))` over the
 *   last `windowMs`.
 * - `tokens` (gRPC): retries are allowed only while above `maxTokens / 2`.
 * - `score` in [0, 1]: accepts / (accepts + failures) over the window (1 with no data),
 *   scaled down by latency above `latencyTargetMs` when that is set.
 *
 * @example
 * ```ts
 * const health = new HostHealth();
 * health.recordAttempt();                          // before each attempt is sent
 * health.recordOutcome(res.status < 500, elapsed); // after it
 * if (shouldRetry && health.allowRetry()) retry(); else giveUp();
 * ```
 */
export class HostHealth {
  /** The validated configuration, frozen. */
  readonly config: Readonly<HostHealthConfig>;
  readonly #clock: Clock;
  readonly #throttle: AdaptiveThrottle;
  readonly #tokens: RetryThrottle;
  readonly #failures: SlidingWindowCounters;
  #latency: number | undefined;
  #latencyAt = 0;

  /** @throws InvalidRequestError naming the first invalid option */
  constructor(config: Partial<HostHealthConfig> = {}, deps: { clock?: Clock } = {}) {
    this.#clock = deps.clock ?? systemClock;
    this.#throttle = new AdaptiveThrottle(config, { clock: this.#clock });
    this.#tokens = new RetryThrottle(config);
    const d = DEFAULT_HOST_HEALTH_CONFIG;
    const target = config.latencyTargetMs;
    this.config = Object.freeze({
      ...this.#throttle.config,
      ...this.#tokens.config,
      latencyTargetMs: target === undefined ? undefined : positive('latencyTargetMs', target),
      latencyDecayMs: positive('latencyDecayMs', config.latencyDecayMs ?? d.latencyDecayMs),
    });
    const { windowMs } = this.#throttle.config;
    this.#failures = new SlidingWindowCounters(this.#clock, windowMs, windowMs / 120, 1);
  }

  /** Counts an attempt, before it is sent (or shed): SRE "requests". */
  recordAttempt(): void {
    this.#throttle.recordRequest();
  }

  /**
   * Records what the host did with an attempt (see {@link healthOutcome}).
   * @param success - served (`true`), or refused/failed (`false`)
   * @param latencyMs - how long it took, for the latency part of the score
   */
  recordOutcome(success: boolean, latencyMs?: number): void {
    if (success) {
      this.#throttle.recordAccept();
      this.#tokens.recordSuccess();
    } else {
      this.#failures.add(FAILURES);
      this.#tokens.recordFailure();
    }
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

  /**
   * May a retry be made now? Only while the token counter is above half, and then subject
   * to a draw against {@link rejectProbability}: retries are the first traffic to shed.
   */
  allowRetry(): boolean {
    return this.#tokens.allowRetry() && !this.#throttle.shouldShed();
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

  /** gRPC retry-throttling tokens, in [0, maxTokens]. */
  get tokens(): number {
    return this.#tokens.tokens;
  }

  /** A plain-JSON snapshot. */
  toJSON(): HostHealthStats {
    return {
      score: this.score,
      rejectProbability: this.rejectProbability,
      tokens: this.tokens,
      requests: this.#throttle.requests,
      accepts: this.#throttle.accepts,
      failures: this.#failures.sum(FAILURES),
      latencyMs: this.#latency,
    };
  }
}
