/**
 * Client-side adaptive throttling from the Google SRE book ("Handling Overload"): a client
 * that sees its backend reject more than it accepts starts rejecting locally, with a
 * probability that follows the backend's own acceptance rate, so an overloaded backend is
 * not also asked to refuse our excess.
 */
import { type Clock, systemClock } from '../core/clock.js';
import { SlidingWindowCounters } from '../core/sliding-window.js';
import { inRange, integer, positive } from '../core/validate.js';

/** Tuning of {@link AdaptiveThrottle}. */
export interface AdaptiveThrottleConfig {
  /**
   * Length of the window of requests and accepts, in ms (SRE: "the last two minutes").
   * @default 120_000
   */
  windowMs: number;
  /**
   * The multiplier K: local rejection starts once requests exceed K × accepts. Lower is
   * more aggressive; 2 lets through about twice what the backend accepts. At least 1.
   * @default 2
   */
  k: number;
  /**
   * Requests the window must hold before anything is rejected. The SRE formula is an
   * estimate over sustained traffic: on a handful of requests one failure would reject
   * half of what follows, so below this volume the probability is 0.
   * @default 20
   */
  minRequests: number;
}

/** The defaults of {@link AdaptiveThrottleConfig}. */
export const DEFAULT_ADAPTIVE_THROTTLE_CONFIG: Readonly<AdaptiveThrottleConfig> = Object.freeze({
  windowMs: 120_000,
  k: 2,
  minRequests: 20,
});

/**
 * `max(0, (requests − k·accepts) / (requests + 1))`: the SRE book's local rejection
 * probability. 0 while the backend accepts at least 1/k of what is sent.
 */
export function rejectProbability(requests: number, accepts: number, k: number): number {
  return Math.max(0, (requests - k * accepts) / (requests + 1));
}

const REQUESTS = 0;
const ACCEPTS = 1;

/**
 * Counts requests (every request the application makes, those then shed locally included)
 * and accepts (those the backend served) over a sliding window. Memory is fixed.
 */
export class AdaptiveThrottle {
  /** The validated configuration, frozen. */
  readonly config: Readonly<AdaptiveThrottleConfig>;
  readonly #clock: Clock;
  readonly #window: SlidingWindowCounters;

  /** @throws InvalidRequestError naming the first invalid option */
  constructor(config: Partial<AdaptiveThrottleConfig> = {}, deps: { clock?: Clock } = {}) {
    const d = DEFAULT_ADAPTIVE_THROTTLE_CONFIG;
    this.config = Object.freeze({
      windowMs: positive('windowMs', config.windowMs ?? d.windowMs),
      k: inRange('k', config.k ?? d.k, 1, 1000),
      minRequests: integer('minRequests', config.minRequests ?? d.minRequests, 0),
    });
    this.#clock = deps.clock ?? systemClock;
    // 120 buckets: one per second for the default two-minute window.
    this.#window = new SlidingWindowCounters(
      this.#clock,
      this.config.windowMs,
      this.config.windowMs / 120,
      2,
    );
  }

  /** Counts a request, before it is sent or shed. */
  recordRequest(): void {
    this.#window.add(REQUESTS);
  }

  /** Counts a request the backend accepted (served, rather than refused or failed). */
  recordAccept(): void {
    this.#window.add(ACCEPTS);
  }

  /** Requests counted in the window. */
  get requests(): number {
    return this.#window.sum(REQUESTS);
  }

  /** Accepts counted in the window. */
  get accepts(): number {
    return this.#window.sum(ACCEPTS);
  }

  /** The current local rejection probability, in [0, 1). */
  get rejectProbability(): number {
    const requests = this.requests;
    if (requests < this.config.minRequests) return 0;
    return rejectProbability(requests, this.accepts, this.config.k);
  }

  /** Draws against {@link rejectProbability}: true means "reject this request locally". */
  shouldShed(): boolean {
    const p = this.rejectProbability;
    return p > 0 && this.#clock.random() < p;
  }
}
