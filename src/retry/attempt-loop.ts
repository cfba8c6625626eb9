/**
 * The one retry loop: attempts until one stands. Both `RetryEngine.execute` and the HTTP
 * client's retry stage run it, each with a driver that knows how to make one attempt of its
 * own and what to tell about it; the loop owns the order of what happens between attempts:
 *
 * 1. the call ended from outside (abort, deadline)? Its error, not a retry;
 * 2. the policy's decision (`RetryEngine.decide`: attempt cap, idempotency, the outcome
 *    classifier's verdict, backoff with jitter, `Retry-After` capped by `maxRetryAfterMs`,
 *    and a delay that would use up the remaining deadline refused);
 * 3. a retry the policy grants is withdrawn from the budget, or refused by it;
 * 4. the retry or its refusal reported, the driver told the decision (a breaker verdict
 *    held until then);
 * 5. the attempt given up, the driver's hooks, and the delay: an abortable sleep on the
 *    injected clock ({@link Pause}).
 *
 * Internal: not exported from the package.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import type { RetryContext, RetryDecision } from './policy.js';

/** What the loop asks of the policy: `RetryEngine.decide`. */
export interface RetryDecider {
  decide(ctx: RetryContext, previousDelayMs?: number): RetryDecision;
}

/** A retry granted by the policy. */
export type RetryGranted = Extract<RetryDecision, { retry: true }>;

/**
 * One user of the loop. `S` is the state of one run (passed back to every method, so that
 * one long-lived driver serves any number of runs), `A` one attempt's outcome, `D` the
 * policy it runs under.
 */
export interface AttemptDriver<S, A, D extends RetryDecider = RetryDecider> {
  /**
   * Makes attempt `n` (0-based) and resolves with its outcome, failure included: a
   * rejection ends the loop with that error.
   * @param previous - the attempt before it (a retry follows a failure); undefined for the
   *   first
   */
  attempt(state: S, n: number, previous: A | undefined): Promise<A>;
  /** The error that ended the run from outside while `att` was under way, if one did. */
  interrupted(state: S, att: A): unknown;
  /**
   * The policy's question about `att`, or undefined when no policy could retry it (a
   * success, an outcome this driver never retries): then the policy is not asked.
   */
  question(state: S, att: A, n: number, decider: D): RetryContext | undefined;
  /** Takes one retry from the budget: what refused it, or undefined when granted. */
  withdraw(state: S): string | undefined;
  /** A retry was granted and withdrawn: about to be made after `decision.delayMs`. */
  retrying(state: S, att: A, n: number, decision: RetryGranted): void;
  /** A retry the policy granted was refused by `by` (see {@link withdraw}). */
  refused(state: S, att: A, n: number, by: string): void;
  /**
   * The decision on `att` is made: `retrying` when another attempt follows. Also called
   * when deciding threw (then `retrying` is false).
   */
  decided(state: S, att: A, retrying: boolean): void;
  /** `att` does not stand: a retry follows, or deciding threw. */
  abandon(state: S, att: A): void;
  /** Before the delay of a retry; returns a promise only when it has to wait. */
  beforeRetry(state: S, att: A, n: number): Promise<void> | undefined;
  /** The delay before the next attempt: rejects at once when the run is ended meanwhile. */
  pause(state: S, ms: number): Promise<void>;
}

/**
 * Runs attempts until one stands (a success the policy does not retry, or a failure it
 * refuses to) and resolves with it; a failure is the caller's to throw.
 * @param decider - the retry policy; undefined for none (the first attempt stands)
 */
export async function runAttempts<S, A, D extends RetryDecider>(
  driver: AttemptDriver<S, A, D>,
  state: S,
  decider: D | undefined,
): Promise<A> {
  const att = await driver.attempt(state, 0, undefined);
  const delay = settle(driver, state, att, 0, decider, undefined);
  return delay === undefined ? att : retryAfter(driver, state, att, 0, delay, decider);
}

/**
 * The loop from the first retry on, after attempt `n` failed and `delayMs` was granted
 * (by {@link settle}). A driver whose first attempt is on a hot path makes it inline and
 * settles it itself, and comes here only for a retry.
 */
export async function retryAfter<S, A, D extends RetryDecider>(
  driver: AttemptDriver<S, A, D>,
  state: S,
  att: A,
  n: number,
  delayMs: number,
  decider: D | undefined,
): Promise<A> {
  let delay: number | undefined = delayMs;
  while (delay !== undefined) {
    driver.abandon(state, att);
    const hooked = driver.beforeRetry(state, att, n);
    if (hooked !== undefined) await hooked;
    await driver.pause(state, delay);
    n++;
    att = await driver.attempt(state, n, att);
    delay = settle(driver, state, att, n, decider, delay);
  }
  return att;
}

/**
 * The decision after attempt `n`: the delay before the next one, or undefined when `att`
 * stands. Throws the run's interruption, or an error of the policy (a `shouldRetry` that
 * threw), with `att` abandoned.
 * @param previousDelayMs - the delay before attempt `n`, for `decorrelated` jitter
 */
export function settle<S, A, D extends RetryDecider>(
  driver: AttemptDriver<S, A, D>,
  state: S,
  att: A,
  n: number,
  decider: D | undefined,
  previousDelayMs: number | undefined,
): number | undefined {
  let delay: number | undefined;
  try {
    const ended = driver.interrupted(state, att);
    if (ended !== undefined) throw ended;
    if (decider !== undefined) delay = grant(driver, state, att, n, decider, previousDelayMs);
  } catch (err) {
    driver.abandon(state, att);
    throw err;
  } finally {
    driver.decided(state, att, delay !== undefined);
  }
  return delay;
}

/** Policy, then budget; the outcome reported either way. */
function grant<S, A, D extends RetryDecider>(
  driver: AttemptDriver<S, A, D>,
  state: S,
  att: A,
  n: number,
  decider: D,
  previousDelayMs: number | undefined,
): number | undefined {
  const ctx = driver.question(state, att, n, decider);
  if (ctx === undefined) return undefined;
  const decision = decider.decide(ctx, previousDelayMs);
  if (!decision.retry) return undefined;
  const refused = driver.withdraw(state);
  if (refused !== undefined) {
    driver.refused(state, att, n, refused);
    return undefined;
  }
  driver.retrying(state, att, n, decision);
  return decision.delayMs;
}

/**
 * The delay between attempts on the injected clock, cut short by {@link interrupt}: the
 * owner (a call, a scope) interrupts it when it is ended from outside. One per owner,
 * reused; at most one wait pending.
 */
export class Pause {
  readonly #clock: Clock;
  #timer: TimerHandle | undefined = undefined;
  #reject: ((error: unknown) => void) | undefined = undefined;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Waits `ms` on the clock (a timer even for 0); rejects at once if interrupted. */
  wait(ms: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#reject = reject;
      this.#timer = this.#clock.setTimeout(() => {
        this.#timer = undefined;
        this.#reject = undefined;
        resolve();
      }, ms);
    });
  }

  /** Ends the pending wait, if any, with `error`; its timer is cleared. */
  interrupt(error: unknown): void {
    const reject = this.#reject;
    if (reject === undefined) return;
    this.#clock.clearTimeout(this.#timer!);
    this.#timer = undefined;
    this.#reject = undefined;
    reject(error);
  }
}
