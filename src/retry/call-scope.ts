/**
 * The lifetime of one `RetryEngine.execute` call: the caller's signal, the whole-call
 * deadline, the per-attempt signal and timeout, and the delays between attempts. Everything
 * it arms is disarmed by `dispose()`, so a finished call leaves no timer and no listener.
 * Internal: not exported from the package.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import { AbortError, type SentinelError, TimeoutError } from '../core/errors.js';

const noop = (): void => {};

export class CallScope {
  readonly #clock: Clock;
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

  constructor(clock: Clock, signal: AbortSignal | undefined, timeoutMs: number) {
    this.#clock = clock;
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
    this.#rejectInterrupt(error);
  }

  /**
   * Runs one attempt, rejecting at once if the call is aborted or runs out of time, or the
   * attempt outlives `attemptTimeoutMs` (`TimeoutError` phase `attempt`). The attempt's
   * signal is aborted whenever the attempt is abandoned or fails; after a success it is
   * left alone, so a body still streaming on that signal can be read.
   */
  async runAttempt<T>(
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
  async sleep(ms: number): Promise<void> {
    if (this.#ended) throw this.#ended;
    if (!(ms > 0)) return;
    let timer: TimerHandle | undefined;
    const wait = new Promise<void>((resolve) => {
      timer = this.#clock.setTimeout(resolve, ms);
    });
    try {
      await Promise.race([wait, this.#interrupt]);
    } finally {
      this.#clock.clearTimeout(timer!);
    }
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
