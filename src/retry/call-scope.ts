/**
 * The lifetime of one `RetryEngine.execute` call: the caller's signal, the whole-call
 * deadline, the per-attempt signal and timeout, and the delays between attempts. It is the
 * call's driver of the shared retry loop (`attempt-loop.ts`). Everything it arms is
 * disarmed by `dispose()`, so a finished call leaves no timer and no listener.
 * Internal: not exported from the package.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import { AbortError, type SentinelError, TimeoutError } from '../core/errors.js';
import { type AttemptDriver, Pause, type RetryGranted } from './attempt-loop.js';
import type { RetryContext } from './policy.js';

const noop = (): void => {};

/** One attempt's outcome. */
export type ScopeAttempt<T> = { failed: false; value: T } | { failed: true; error: unknown };

/** What `execute` was given, besides the work and the deadlines. */
export interface ScopeOptions {
  budget?: { tryWithdraw(): boolean } | undefined;
  method?: string | undefined;
  onRetry?: ((event: { attempt: number; delayMs: number; error: unknown }) => void) | undefined;
}

export class CallScope<T> implements AttemptDriver<CallScope<T>, ScopeAttempt<T>> {
  readonly #clock: Clock;
  readonly #fn: (attempt: number, signal: AbortSignal) => T | PromiseLike<T>;
  readonly #attemptTimeoutMs: number;
  readonly #options: ScopeOptions;
  #pause: Pause | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #timeoutMs: number;
  readonly #deadline: number;
  readonly #interrupt: Promise<never>;
  #rejectInterrupt!: (error: SentinelError) => void;
  #deadlineTimer: TimerHandle | undefined;
  #onAbort: (() => void) | undefined;
  #current: AbortController | undefined;
  #ended: SentinelError | undefined;
  /** Attempts started so far. */
  attempts = 0;
  /** The error of the most recent failed attempt, the `cause` of a later deadline. */
  lastError: unknown;

  constructor(
    clock: Clock,
    signal: AbortSignal | undefined,
    timeoutMs: number,
    fn: (attempt: number, signal: AbortSignal) => T | PromiseLike<T>,
    attemptTimeoutMs: number,
    options: ScopeOptions,
  ) {
    this.#clock = clock;
    this.#fn = fn;
    this.#attemptTimeoutMs = attemptTimeoutMs;
    this.#options = options;
    this.#signal = signal;
    this.#timeoutMs = timeoutMs;
    this.#deadline = clock.now() + timeoutMs;
    this.#interrupt = new Promise<never>((_, reject) => {
      this.#rejectInterrupt = reject;
    });
    // Nobody may be racing against it when it fires (e.g. between two statements).
    this.#interrupt.catch(noop);
    if (signal) {
      if (signal.aborted) {
        this.#end(new AbortError(signal.reason));
      } else {
        this.#onAbort = () => this.#end(new AbortError(signal.reason));
        signal.addEventListener('abort', this.#onAbort, { once: true });
      }
    }
    if (!this.#ended && Number.isFinite(timeoutMs)) {
      this.#deadlineTimer = clock.setTimeout(
        () =>
          this.#end(
            new TimeoutError(
              'total',
              timeoutMs,
              this.lastError === undefined ? {} : { cause: this.lastError },
            ),
          ),
        timeoutMs,
      );
    }
  }

  /** The abort or deadline that ended the call early, if one did. */
  get ended(): SentinelError | undefined {
    return this.#ended;
  }

  /** Time left before the whole-call deadline (Infinity when there is none). */
  remainingMs(): number {
    return Number.isFinite(this.#timeoutMs)
      ? Math.max(0, this.#deadline - this.#clock.now())
      : Number.POSITIVE_INFINITY;
  }

  #end(error: SentinelError): void {
    if (this.#ended) return;
    error.attempts = this.attempts;
    this.#ended = error;
    this.#current?.abort(error);
    this.#pause?.interrupt(error);
    this.#rejectInterrupt(error);
  }

  async attempt(_: this, n: number): Promise<ScopeAttempt<T>> {
    try {
      const value = await this.#runAttempt((signal) => this.#fn(n, signal), this.#attemptTimeoutMs);
      return { failed: false, value };
    } catch (error) {
      return { failed: true, error };
    }
  }

  interrupted(_: this, att: ScopeAttempt<T>): unknown {
    return att.failed ? this.#ended : undefined;
  }

  question(_: this, att: ScopeAttempt<T>, n: number): RetryContext | undefined {
    // A resolved value is a success: only errors are retried.
    if (!att.failed) return undefined;
    const { method } = this.#options;
    return {
      attempt: n,
      method: method ?? 'GET',
      idempotencyKey: method === undefined,
      replayable: true,
      error: att.error,
      remainingMs: this.remainingMs(),
    };
  }

  withdraw(): string | undefined {
    const { budget } = this.#options;
    return budget === undefined || budget.tryWithdraw() ? undefined : 'budget';
  }

  retrying(_: this, att: ScopeAttempt<T>, n: number, decision: RetryGranted): void {
    this.#options.onRetry?.({
      attempt: n,
      delayMs: decision.delayMs,
      error: (att as { error: unknown }).error,
    });
  }

  refused(): void {}

  decided(): void {}

  abandon(): void {}

  beforeRetry(): undefined {
    return undefined;
  }

  pause(_: this, ms: number): Promise<void> {
    return this.#sleep(ms);
  }

  /**
   * Runs one attempt, rejecting at once if the call is aborted or runs out of time, or the
   * attempt outlives `attemptTimeoutMs` (`TimeoutError` phase `attempt`). The attempt's
   * signal is aborted whenever the attempt is abandoned or fails; after a success it is
   * left alone, so a body still streaming on that signal can be read.
   */
  async #runAttempt(
    fn: (signal: AbortSignal) => T | PromiseLike<T>,
    attemptTimeoutMs: number,
  ): Promise<T> {
    if (this.#ended) throw this.#ended;
    this.attempts++;
    const controller = new AbortController();
    this.#current = controller;
    const work = new Promise<T>((resolve) => resolve(fn(controller.signal)));
    // If the deadline wins the race, the work may still reject later: nobody is listening.
    work.catch(noop);
    const racers: Promise<T>[] = [work, this.#interrupt];
    let attemptTimer: TimerHandle | undefined;
    if (Number.isFinite(attemptTimeoutMs)) {
      racers.push(
        new Promise<never>((_, reject) => {
          attemptTimer = this.#clock.setTimeout(
            () => reject(new TimeoutError('attempt', attemptTimeoutMs)),
            attemptTimeoutMs,
          );
        }),
      );
    }
    try {
      return await Promise.race(racers);
    } catch (error) {
      this.lastError = error;
      if (!controller.signal.aborted) controller.abort(error);
      throw error;
    } finally {
      if (attemptTimer !== undefined) this.#clock.clearTimeout(attemptTimer);
      this.#current = undefined;
    }
  }

  /** Waits `ms`, or rejects at once with the abort or deadline error. */
  async #sleep(ms: number): Promise<void> {
    if (this.#ended) throw this.#ended;
    if (!(ms > 0)) return;
    await (this.#pause ??= new Pause(this.#clock)).wait(ms);
  }

  /** Disarms the deadline and the abort listener. */
  dispose(): void {
    if (this.#deadlineTimer !== undefined) {
      this.#clock.clearTimeout(this.#deadlineTimer);
      this.#deadlineTimer = undefined;
    }
    if (this.#onAbort) {
      this.#signal?.removeEventListener('abort', this.#onAbort);
      this.#onAbort = undefined;
    }
  }
}
