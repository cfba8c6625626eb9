/**
 * Configuration of the circuit breaker: the public options, their defaults and the one
 * place they are validated.
 */
import { InvalidRequestError } from '../core/errors.js';
import { inRange, integer, knownKeys, nonNegative, positive } from '../core/validate.js';

/**
 * When a breaker opens, how long it stays open, and how it recovers. By default it opens
 * only for a host that is down: a run of consecutive host-down failures (connection
 * failures, attempt timeouts, 502/503/504) with no healthy answer between. A host that
 * serves part of its traffic keeps getting it.
 */
export interface CircuitBreakerConfig {
  /**
   * Opt-in failure-rate rule: the breaker also opens when the failure share of the window,
   * in (0, 1], reaches this (once the window holds `minimumRequests`). Off by default: at
   * 50 % failures a host still serves half the calls, and cutting it to zero serves none.
   * @default undefined (off)
   */
  failureRateThreshold: number | undefined;
  /**
   * Calls the window must hold before the failure rate is trusted.
   * @default 20
   */
  minimumRequests: number;
  /**
   * Length of the sliding window of outcomes, in ms (kept in 30–120 buckets; 1 s buckets
   * for the default).
   * @default 30_000
   */
  windowMs: number;
  /**
   * A run of this many host-down failures opens the breaker. A failure of an attempt sent
   * before the latest healthy answer is stale and does not extend the run, so a batch of
   * old timeouts firing together is not a run. 10 keeps a half-working host open: at 50 %
   * failures and one call at a time, a run of 10 has a chance under 1 in 1000 per call,
   * while a host that is down is cut off within ten attempts. `Infinity` turns it off.
   * @default 10
   */
  consecutiveFailures: number;
  /**
   * How long, besides the run of `consecutiveFailures`, the host must have gone without a
   * healthy answer before the breaker opens, in ms. A host that is down stays quiet; one
   * that serves half its calls answers well every few calls, so a run of bad luck after
   * a success never opens it, however the calls fall. A host that never answered well
   * opens on the run alone. 0: the run alone decides.
   * @default 1000
   */
  minOutageMs: number;
  /**
   * A call that takes at least this long counts as a failure even if it succeeded.
   * `undefined` or `Infinity`: off.
   * @default undefined
   */
  slowCallThresholdMs: number | undefined;
  /**
   * How long the breaker stays open the first time, in ms; doubles each time a half-open
   * probe fails.
   * @default 5_000
   */
  openDurationMs: number;
  /**
   * Cap on the growing open duration, in ms.
   * @default 60_000
   */
  maxOpenDurationMs: number;
  /**
   * Share by which each open duration is shortened at random, in [0, 1), so that breakers
   * of many clients opened by one outage do not all probe at the same instant.
   * @default 0.1
   */
  openJitter: number;
  /**
   * Probes let through at once when half-open; that many successes close the breaker.
   * @default 1
   */
  halfOpenProbes: number;
}

/** The validated, fully required form of {@link CircuitBreakerConfig}. */
export interface NormalizedCircuitBreakerConfig extends Readonly<CircuitBreakerConfig> {
  readonly slowCallThresholdMs: number;
}

/** The defaults of every {@link CircuitBreakerConfig} field. */
export const DEFAULT_CIRCUIT_BREAKER_CONFIG: Readonly<CircuitBreakerConfig> = Object.freeze({
  failureRateThreshold: undefined,
  minimumRequests: 20,
  windowMs: 30_000,
  consecutiveFailures: 10,
  minOutageMs: 1000,
  slowCallThresholdMs: undefined,
  openDurationMs: 5_000,
  maxOpenDurationMs: 60_000,
  openJitter: 0.1,
  halfOpenProbes: 1,
});

/**
 * Validates a partial configuration and fills in the defaults; never mutates its input.
 * @throws InvalidRequestError naming the first invalid option
 */
export function normalizeCircuitBreakerConfig(
  partial: Partial<CircuitBreakerConfig> = {},
): NormalizedCircuitBreakerConfig {
  if (typeof partial !== 'object' || partial === null) {
    throw new InvalidRequestError('circuitBreaker config must be an object');
  }
  const d = DEFAULT_CIRCUIT_BREAKER_CONFIG;
  knownKeys('circuitBreaker', partial, Object.keys(d));
  const failureRateThreshold = partial.failureRateThreshold ?? d.failureRateThreshold;
  if (
    failureRateThreshold !== undefined &&
    (typeof failureRateThreshold !== 'number' ||
      !(failureRateThreshold > 0 && failureRateThreshold <= 1))
  ) {
    throw new InvalidRequestError(
      `failureRateThreshold must be a number in (0, 1] or undefined, got ${String(failureRateThreshold)}`,
    );
  }
  const minimumRequests = integer(
    'minimumRequests',
    partial.minimumRequests ?? d.minimumRequests,
    1,
  );
  const windowMs = positive('windowMs', partial.windowMs ?? d.windowMs);
  const consecutiveFailures = integer(
    'consecutiveFailures',
    partial.consecutiveFailures ?? d.consecutiveFailures,
    1,
    true,
  );
  const minOutageMs = nonNegative('minOutageMs', partial.minOutageMs ?? d.minOutageMs);
  const slow = partial.slowCallThresholdMs ?? Number.POSITIVE_INFINITY;
  const slowCallThresholdMs =
    slow === Number.POSITIVE_INFINITY ? slow : positive('slowCallThresholdMs', slow);
  const openDurationMs = positive('openDurationMs', partial.openDurationMs ?? d.openDurationMs);
  const maxOpenDurationMs = positive(
    'maxOpenDurationMs',
    partial.maxOpenDurationMs ?? d.maxOpenDurationMs,
  );
  if (maxOpenDurationMs < openDurationMs) {
    throw new InvalidRequestError(
      `maxOpenDurationMs (${maxOpenDurationMs}) must be >= openDurationMs (${openDurationMs})`,
    );
  }
  const openJitter = inRange('openJitter', partial.openJitter ?? d.openJitter, 0, 0.99);
  const halfOpenProbes = integer('halfOpenProbes', partial.halfOpenProbes ?? d.halfOpenProbes, 1);
  return Object.freeze({
    failureRateThreshold,
    minimumRequests,
    windowMs,
    consecutiveFailures,
    minOutageMs,
    slowCallThresholdMs,
    openDurationMs,
    maxOpenDurationMs,
    openJitter,
    halfOpenProbes,
  });
}
