/**
 * The retry engine: a validated, normalised retry configuration, the backoff and the policy
 * behind one object that the HTTP client asks (`decide`) and standalone users run work
 * through (`execute`).
 */
import { type Clock, systemClock } from '../core/clock.js';
import { InvalidRequestError, isSentinelError } from '../core/errors.js';
import { integer, timeout } from '../core/validate.js';
import { runAttempts } from './attempt-loop.js';
import { calculateDelay } from './backoff.js';
import { CallScope } from './call-scope.js';
import { decideRetry, type RetryContext, type RetryDecision } from './policy.js';
import {
  type NormalizedRetryConfig,
  normalizeRetryConfig,
  type RetryConfig,
} from './retry-config.js';

export type { RetryContext, RetryDecision, RetryStopReason } from './policy.js';
export {
  DEFAULT_RETRY_CONFIG,
  type NormalizedRetryConfig,
  normalizeRetryConfig,
  type RetryConfig,
} from './retry-config.js';

/** A budget that `execute` charges: one deposit per call, one withdrawal per retry. */
export interface RetryBudgetLike {
  deposit(): void;
  tryWithdraw(): boolean;
}

/** What `execute` reports before each retry. */
export interface RetryEvent {
  /** The 0-based attempt that failed. */
  attempt: number;
  delayMs: number;
  error: unknown;
}

/** Options of one {@link RetryEngine.execute} call. */
export interface RetryExecuteOptions {
  /** Aborting it ends the call at once with `AbortError`, during an attempt or a delay. */
  signal?: AbortSignal;
  /**
   * Deadline for the whole call, retries and delays included (`TimeoutError`, phase
   * `total`). Backoff delays may add up to more than this: that is allowed, the deadline
   * simply wins, and a retry whose delay would reach it is not made.
   * @default Infinity
   */
  timeoutMs?: number;
  /**
   * Deadline for one attempt (`TimeoutError`, phase `attempt`, retried by default). Must
   * not exceed `timeoutMs`.
   * @default Infinity
   */
  attemptTimeoutMs?: number;
  /** Shared retry budget: when it refuses, the last error is thrown instead of retrying. */
  budget?: RetryBudgetLike;
  /**
   * The HTTP method the work performs, for the idempotency check. Without it the work is
   * taken to be safe to repeat: the caller chose to run it through a retry engine.
   */
  method?: string;
  /** Called before each delay; for logging and metrics. */
  onRetry?: (event: RetryEvent) => void;
}

function withAttempts(error: unknown, attempts: number): unknown {
  if (isSentinelError(error)) error.attempts = attempts;
  return error;
}

/**
 * Retries with exponential backoff and jitter, `Retry-After`, a whole-call deadline and an
 * optional retry budget. Stateless between calls: one engine serves any number of
 * concurrent requests.
 *
 * @example
 * ```ts
 * const engine = new RetryEngine({ maxAttempts: 5, initialDelayMs: 100, jitterFactor: 0.1 });
 * const data = await engine.execute(async (attempt, signal) => {
 *   const res = await fetch(url, { signal });
 *   if (res.status >= 500) throw new Error(`HTTP ${res.status}`);
 *   return res.json();
 * }, { timeoutMs: 10_000 });
 * ```
 */
export class RetryEngine {
  /** The validated configuration, frozen. */
  readonly config: Readonly<NormalizedRetryConfig>;
  readonly #clock: Clock;

  /** @throws InvalidRequestError naming the first invalid option */
  constructor(config: Partial<RetryConfig> = {}, deps: { clock?: Clock } = {}) {
    this.config = normalizeRetryConfig(config);
    this.#clock = deps.clock ?? systemClock;
  }

  /**
   * The delay in ms after failed attempt `attempt` (0-based), jittered with a fresh draw.
   * @param previousDelayMs - the delay used last time, for `decorrelated` jitter
   */
  calculateDelay(attempt: number, previousDelayMs?: number): number {
    integer('attempt', attempt, 0);
    return calculateDelay(this.config, attempt, this.#clock.random(), previousDelayMs);
  }

  /**
   * Whether to retry after a failed attempt, and after how long. See `decideRetry` for the
   * order of the checks.
   * @param previousDelayMs - the delay used before the attempt, for `decorrelated` jitter
   */
  decide(ctx: RetryContext, previousDelayMs?: number): RetryDecision {
    return decideRetry(
      this.config,
      ctx,
      () => this.calculateDelay(ctx.attempt, previousDelayMs),
      this.#clock.wallNow(),
    );
  }

  /**
   * Runs `fn` until it succeeds or the policy stops, waiting between attempts. A failure is
   * retried when `decide` says so (errors only: a resolved value is a success). After the
   * last attempt its error is thrown, with `attempts` set when it is a `SentinelError`.
   *
   * @param fn - one attempt; `signal` is aborted if the attempt is abandoned (abort,
   *   deadline, attempt timeout) or after it fails, never after it succeeds
   * @throws AbortError at once when `options.signal` aborts, the pending delay cleared
   * @throws TimeoutError phase `total` when `options.timeoutMs` runs out
   * @throws InvalidRequestError for invalid options, before the first attempt
   */
  async execute<T>(
    fn: (attempt: number, signal: AbortSignal) => T | PromiseLike<T>,
    options: RetryExecuteOptions = {},
  ): Promise<T> {
    const timeoutMs =
      options.timeoutMs === undefined
        ? Number.POSITIVE_INFINITY
        : timeout('timeoutMs', options.timeoutMs);
    const attemptTimeoutMs =
      options.attemptTimeoutMs === undefined
        ? Number.POSITIVE_INFINITY
        : timeout('attemptTimeoutMs', options.attemptTimeoutMs);
    if (options.attemptTimeoutMs !== undefined && attemptTimeoutMs > timeoutMs) {
      throw new InvalidRequestError(
        `attemptTimeoutMs (${attemptTimeoutMs}) must not exceed timeoutMs (${timeoutMs})`,
      );
    }
    const scope = new CallScope(this.#clock, options.signal, timeoutMs, fn, attemptTimeoutMs, {
      budget: options.budget,
      method: options.method,
      onRetry: options.onRetry,
    });
    try {
      if (scope.ended) throw scope.ended;
      options.budget?.deposit();
      const last = await runAttempts(scope, scope, this);
      if (last.failed) throw withAttempts(last.error, scope.attempts);
      return last.value;
    } finally {
      scope.dispose();
    }
  }
}
