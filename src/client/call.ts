/**
 * The state of one call across its attempts: what is under way now (waiting for a
 * connection, an exchange, or a retry delay), so a deadline, the caller's signal or
 * `client.close()` can end it at once, wherever it is.
 */
import type { Clock } from '../core/clock.js';
import { DeadlineEntry, type DeadlineQueue } from '../core/deadlines.js';
import { AbortError, type SentinelError, TimeoutError } from '../core/errors.js';
import type { Exchange } from '../pool/exchange.js';
import { Pause } from '../retry/attempt-loop.js';
import type { ResolvedHooks } from './hooks.js';
import type { ResolvedOptions } from './options.js';
import type { PreparedRequest } from './prepare.js';

/** What the retry stage keeps of a hop for its attempts after the first. */
export interface RetryHop {
  /** The hop's request as prepared, before `beforeRequest` hooks. */
  readonly request: PreparedRequest;
  readonly opts: Readonly<ResolvedOptions>;
  readonly stream: boolean;
  readonly hooks: ResolvedHooks;
}

/**
 * One call. It is the entry of its current attempt's deadline in the client's
 * {@link DeadlineQueue}: arming a deadline per attempt allocates nothing.
 */
export class Call extends DeadlineEntry {
  readonly clock: Clock;
  readonly startedAt: number;
  /** Clock time the whole call must end by (Infinity for none). */
  readonly deadlineAt: number;
  /** Deadline of each attempt once its request is sent, in ms (Infinity for none). */
  readonly attemptMs: number;
  /** The first reason the call was ended from outside, if any. */
  abortError: SentinelError | undefined;
  /** The error that ended the current attempt from outside (its deadline), if any. */
  attemptError: SentinelError | undefined;
  /** Attempts made so far, the first attempt of each redirect hop included. */
  attempts = 0;
  /** Redirects followed so far. */
  redirects = 0;
  /** The hop being retried; set only once a retry is granted. */
  retryHop: RetryHop | undefined = undefined;
  /** Set when a streamed response is handed to the caller: runs when its body ends. */
  onStreamEnd: (() => void) | undefined;
  readonly #timeoutMs: number;
  readonly #deadlines: DeadlineQueue;
  #exchange: Exchange | undefined;
  /** Hedges of the current attempt still on the wire, when it has any. */
  #hedges: Exchange[] | undefined;
  #acquire: AbortController | undefined;
  /** The delay between attempts; made at the first retry. */
  #pause: Pause | undefined = undefined;
  /** Ends the wait of {@link underWay}, when the caller's own work is under way. */
  #stopWaiting: ((error: SentinelError) => void) | undefined = undefined;
  /** Whether the armed deadline is the whole call's (else the attempt's own). */
  #attemptTotal = false;
  readonly #signal: AbortSignal | undefined;
  readonly #onSignal: (() => void) | undefined;

  /** @param now - the clock reading the call starts at */
  constructor(
    clock: Clock,
    deadlines: DeadlineQueue,
    timeoutMs: number,
    attemptMs: number,
    signal: AbortSignal | undefined,
    now: number,
  ) {
    super();
    this.clock = clock;
    this.#deadlines = deadlines;
    this.#timeoutMs = timeoutMs;
    this.attemptMs = attemptMs;
    this.startedAt = now;
    this.deadlineAt = now + timeoutMs;
    if (signal !== undefined) {
      this.#signal = signal;
      this.#onSignal = () => this.abort(new AbortError(signal.reason));
      signal.addEventListener('abort', this.#onSignal, { once: true });
    }
  }

  /** Attempts as the caller sees them: 1 + retries (following a redirect is not a retry). */
  get reportedAttempts(): number {
    return this.attempts - this.redirects;
  }

  /** Ms left of the whole-call deadline. */
  remaining(): number {
    return this.deadlineAt - this.clock.now();
  }

  /** Ends whatever is under way with `error`; later stages see `abortError` and stop. */
  abort(error: SentinelError): void {
    if (this.abortError !== undefined) return;
    this.abortError = error;
    this.#exchange?.abort(error);
    if (this.#hedges !== undefined) for (const hedge of [...this.#hedges]) hedge.abort(error);
    this.#acquire?.abort(error);
    this.#pause?.interrupt(error);
    this.#stopWaiting?.(error);
  }

  /**
   * Waits for the caller's own asynchronous work before an attempt (an async hook, a
   * cookie jar that answers with a promise). The call's deadline runs meanwhile, and the
   * call's end (deadline, signal, `close()`) ends the wait at once: work that never
   * settles cannot hold the call, and a late answer is dropped. Nothing was sent, so no
   * host hears of it.
   */
  underWay<T>(work: Promise<T>): Promise<T> {
    if (this.abortError === undefined) this.armTotal(this.clock.now());
    const ended = this.abortError;
    if (ended !== undefined) {
      work.catch(() => {});
      return Promise.reject(ended);
    }
    return new Promise<T>((resolve, reject) => {
      this.#stopWaiting = reject;
      work.then(resolve, reject);
    }).finally(() => {
      this.#stopWaiting = undefined;
      this.#deadlines.remove(this);
    });
  }

  /**
   * Arms the deadline of an attempt whose request is being sent: the sooner of
   * {@link attemptMs} and the call's remaining time, reported with the phase that
   * actually ran out. Time spent waiting for a connection before this is bounded by the
   * call's deadline alone ({@link armTotal}).
   *
   * @param now - the clock reading the request goes out at
   */
  armAttempt(now: number): void {
    // The sooner deadline applies; when both fall at once, the call's. Compared as clock
    // times, not as time left: the first attempt starts at the call's own reading, and
    // (start + timeout) - start need not equal timeout in floating point.
    const attemptEnd = now + this.attemptMs;
    const total = this.deadlineAt <= attemptEnd;
    const at = total ? this.deadlineAt : attemptEnd;
    if (at === Number.POSITIVE_INFINITY) {
      this.#deadlines.remove(this);
      return;
    }
    if (at <= now) {
      this.abort(new TimeoutError('total', this.#timeoutMs));
      return;
    }
    this.#attemptTotal = total;
    // Grouped by the timeout that set the deadline, so that each group's deadlines come
    // in nearly the order they are added (see DeadlineQueue).
    this.#deadlines.add(this, at, total ? this.#timeoutMs : this.attemptMs, now);
  }

  /**
   * Whether the call's deadline has passed while it waited for a connection; if so the
   * call is ended with phase `acquire` (its own timer may not have fired yet).
   */
  expiredInQueue(now: number): boolean {
    if (this.abortError !== undefined) return true;
    if (this.deadlineAt > now) return false;
    this.abort(new TimeoutError('acquire', this.#timeoutMs));
    return true;
  }

  /** The armed deadline passed. */
  onDeadline(): void {
    if (this.#attemptTotal) {
      // Run out while waiting in our own queue: say so, it is no verdict on the host.
      const phase =
        this.#acquire !== undefined && this.#exchange === undefined ? 'acquire' : 'total';
      this.abort(new TimeoutError(phase, this.#timeoutMs));
    } else {
      // An attempt deadline ends this attempt only; the call may retry.
      this.#abortAttempt(new TimeoutError('attempt', this.attemptMs));
    }
  }

  /** The attempt's deadline no longer applies (a stream reached headers). */
  stopAttemptTimer(): void {
    this.#deadlines.remove(this);
  }

  /**
   * Arms the whole call's deadline alone, between attempts that hold no deadline of
   * their own (draining a streamed redirect's body, after its headers stopped the
   * attempt's timer).
   */
  armTotal(now: number): void {
    if (this.deadlineAt === Number.POSITIVE_INFINITY) return;
    if (this.deadlineAt <= now) {
      this.abort(new TimeoutError('total', this.#timeoutMs));
      return;
    }
    this.#attemptTotal = true;
    this.#deadlines.add(this, this.deadlineAt, this.#timeoutMs, now);
  }

  /** The attempt is over. */
  endAttempt(): void {
    this.#deadlines.remove(this);
    this.#exchange = undefined;
    this.#hedges = undefined;
    this.#acquire = undefined;
    this.attemptError = undefined;
  }

  #abortAttempt(error: SentinelError): void {
    this.attemptError = error;
    this.#exchange?.abort(error);
    if (this.#hedges !== undefined) for (const hedge of [...this.#hedges]) hedge.abort(error);
    this.#acquire?.abort(error);
  }

  /** The current stage is waiting for a connection; returns the signal to cancel it. */
  acquiring(): AbortSignal {
    this.#acquire = new AbortController();
    return this.#acquire.signal;
  }

  /** The current stage is this exchange. */
  exchanging(exchange: Exchange): void {
    this.#acquire = undefined;
    this.#exchange = exchange;
    const pending = this.abortError ?? this.attemptError;
    if (pending !== undefined) exchange.abort(pending);
  }

  /** A hedge of the current attempt went out: the call's deadline and signal end it too. */
  hedging(exchange: Exchange): void {
    (this.#hedges ??= []).push(exchange);
    const pending = this.abortError ?? this.attemptError;
    if (pending !== undefined) exchange.abort(pending);
  }

  /** A hedge, or the first request, of the current attempt lost the race: forget it. */
  dropExchange(exchange: Exchange | undefined): void {
    if (exchange === undefined) return;
    if (this.#exchange === exchange) this.#exchange = undefined;
    const hedges = this.#hedges;
    if (hedges !== undefined) {
      const i = hedges.indexOf(exchange);
      if (i !== -1) hedges.splice(i, 1);
    }
  }

  /** The hedge that won is the attempt's exchange from now on (a stream's body). */
  adopt(exchange: Exchange | undefined): void {
    this.dropExchange(exchange);
    this.#exchange = exchange;
  }

  /** Waits `ms` before the next attempt; rejects at once if the call is ended meanwhile. */
  delay(ms: number): Promise<void> {
    if (this.abortError !== undefined) return Promise.reject(this.abortError);
    return (this.#pause ??= new Pause(this.clock)).wait(ms);
  }

  /** Releases the caller's signal and any timer. Call once, when the call is over. */
  finish(): void {
    this.endAttempt();
    if (this.#onSignal !== undefined) this.#signal!.removeEventListener('abort', this.#onSignal);
  }
}
