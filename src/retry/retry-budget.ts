/**
 * A retry budget (Finagle's RetryBudget): retries are allowed as a share of recent requests,
 * plus a small floor, so that when a whole fleet fails the retries stay a fraction of the
 * traffic instead of multiplying it.
 */
import { type Clock, systemClock } from '../core/clock.js';
import { InvalidRequestError } from '../core/errors.js';
import { SlidingWindowCounters } from '../core/sliding-window.js';
import { inRange, knownKeys, nonNegative, positive } from '../core/validate.js';

/** How many retries a budget allows. */
export interface RetryBudgetConfig {
  /**
   * Retries allowed per request made in the last `ttlMs` (0.2 = one retry per five
   * requests). In [0, 1000], as in Finagle.
   * @default 0.2
   */
  percentCanRetry: number;
  /**
   * A floor of retries per second that is always allowed, so that a client with little
   * traffic can still retry: `minRetriesPerSecond × ttlMs / 1000` retries per window.
   * @default 10
   */
  minRetriesPerSecond: number;
  /**
   * How long a deposit (request) or withdrawal (retry) counts, in ms.
   * @default 10_000
   */
  ttlMs: number;
}

/** The defaults of every {@link RetryBudgetConfig} field. */
export const DEFAULT_RETRY_BUDGET_CONFIG: Readonly<RetryBudgetConfig> = Object.freeze({
  percentCanRetry: 0.2,
  minRetriesPerSecond: 10,
  ttlMs: 10_000,
});

/**
 * Validates a partial configuration and fills in the defaults; never mutates its input.
 * @throws InvalidRequestError naming the first invalid option
 */
export function normalizeRetryBudgetConfig(
  partial: Partial<RetryBudgetConfig> = {},
): Readonly<RetryBudgetConfig> {
  if (typeof partial !== 'object' || partial === null) {
    throw new InvalidRequestError('retry budget config must be an object');
  }
  const d = DEFAULT_RETRY_BUDGET_CONFIG;
  knownKeys('retryBudget', partial, Object.keys(d));
  return Object.freeze({
    percentCanRetry: inRange(
      'percentCanRetry',
      partial.percentCanRetry ?? d.percentCanRetry,
      0,
      1000,
    ),
    minRetriesPerSecond: nonNegative(
      'minRetriesPerSecond',
      partial.minRetriesPerSecond ?? d.minRetriesPerSecond,
    ),
    ttlMs: positive('ttlMs', partial.ttlMs ?? d.ttlMs),
  });
}

/** A plain-JSON snapshot of a budget. */
export interface RetryBudgetStats {
  /** Retries that may be made now. */
  balance: number;
  /** Requests deposited in the window. */
  requests: number;
  /** Retries withdrawn in the window. */
  retries: number;
  /** The floor of retries per window. */
  reserve: number;
}

const DEPOSITS = 0;
const WITHDRAWALS = 1;
/** Float slack, so 5 deposits at 0.2 buy exactly one retry. */
const EPSILON = 1e-9;

/**
 * Retries as a share of requests over a sliding window of `ttlMs`. Call {@link deposit}
 * for each request (first attempts) and {@link tryWithdraw} before each retry; a refused
 * withdrawal means "do not retry, fail now". Memory is fixed (ten buckets).
 *
 * @example
 * ```ts
 * const budget = new RetryBudget({ percentCanRetry: 0.1 });
 * budget.deposit();                       // a request goes out
 * if (failed && budget.tryWithdraw()) retry();
 * ```
 */
export class RetryBudget {
  /** The validated configuration, frozen. */
  readonly config: Readonly<RetryBudgetConfig>;
  readonly #window: SlidingWindowCounters;
  readonly #reserve: number;

  /** @throws InvalidRequestError naming the first invalid option */
  constructor(config: Partial<RetryBudgetConfig> = {}, deps: { clock?: Clock } = {}) {
    this.config = normalizeRetryBudgetConfig(config);
    const { ttlMs, minRetriesPerSecond } = this.config;
    this.#reserve = (minRetriesPerSecond * ttlMs) / 1000;
    this.#window = new SlidingWindowCounters(deps.clock ?? systemClock, ttlMs, ttlMs / 10, 2);
  }

  /** Records one request: it earns `percentCanRetry` of a retry for `ttlMs`. */
  deposit(): void {
    this.#window.add(DEPOSITS);
  }

  /** Whether {@link tryWithdraw} would take a retry now (nothing is taken). */
  canWithdraw(): boolean {
    return this.balance() >= 1 - EPSILON;
  }

  /** Takes one retry from the budget; false (and nothing taken) when it is spent. */
  tryWithdraw(): boolean {
    if (!this.canWithdraw()) return false;
    this.#window.add(WITHDRAWALS);
    return true;
  }

  /** Retries that may be made now (fractional: 0.6 means not even one). */
  balance(): number {
    const earned = this.config.percentCanRetry * this.#window.sum(DEPOSITS);
    return Math.max(0, this.#reserve + earned - this.#window.sum(WITHDRAWALS));
  }

  /** A plain-JSON snapshot. */
  stats(): RetryBudgetStats {
    return {
      balance: this.balance(),
      requests: this.#window.sum(DEPOSITS),
      retries: this.#window.sum(WITHDRAWALS),
      reserve: this.#reserve,
    };
  }

  /** Same as {@link stats}. */
  toJSON(): RetryBudgetStats {
    return this.stats();
  }
}
