/**
 * A per-host circuit breaker: stops sending to a host that keeps failing, then lets a few
 * probes through to find out whether it has recovered. No timers: every transition is
 * computed lazily from `clock.now()` when the breaker is next asked.
 */
import { type Clock, systemClock } from '../core/clock.js';
import { CircuitOpenError, InvalidRequestError } from '../core/errors.js';
import { SlidingWindowCounters } from '../core/sliding-window.js';
import {
  type CircuitBreakerConfig,
  type NormalizedCircuitBreakerConfig,
  normalizeCircuitBreakerConfig,
} from './circuit-breaker-config.js';
import { type CallOutcome, classifyOutcome } from './outcome.js';

export {
  type CircuitBreakerConfig,
  DEFAULT_CIRCUIT_BREAKER_CONFIG,
  type NormalizedCircuitBreakerConfig,
  normalizeCircuitBreakerConfig,
} from './circuit-breaker-config.js';
export { type CallOutcome, classifyOutcome } from './outcome.js';

/** The breaker's state, as a tagged union. */
export type BreakerState =
  | { readonly state: 'closed' }
  | { readonly state: 'open'; readonly until: number; readonly openCount: number }
  | {
      readonly state: 'half-open';
      readonly inFlight: number;
      readonly successes: number;
      readonly openCount: number;
    };

/** The name of a {@link BreakerState}. */
export type BreakerStateName = BreakerState['state'];

/** A plain-JSON snapshot of a breaker. */
export interface CircuitBreakerStats {
  state: BreakerStateName;
  /** Failures / calls in the window (0 when empty). */
  failureRate: number;
  /** Calls recorded in the window (ignored ones excluded). */
  requests: number;
  failures: number;
  consecutiveFailures: number;
  /** How many times in a row the breaker has opened without closing. */
  openCount: number;
  /** When the breaker will next let a probe through, as epoch ms; only while open. */
  openUntil?: number;
  /** Ms until a probe may go; 0 unless open. */
  retryAfterMs: number;
  /** Probes out now; only while half-open. */
  halfOpenInFlight?: number;
}

/** The `never` check of the exhaustive switches: a new state that is not handled fails to compile. */
function unreachableState(state: never): never {
  throw new TypeError(`unknown breaker state ${JSON.stringify(state)}`);
}

const REQUESTS = 0;
const FAILURES = 1;

/** A ticket of {@link CircuitBreaker.acquire}: refused, a plain admission, or a probe. */
export const REFUSED = -1;

/**
 * A circuit breaker for one host. Opens on a run of consecutive failures with no success
 * between (and, when configured, on a failure rate over a sliding window with a minimum
 * volume); stays open for a duration that doubles while probes keep failing; half-open,
 * lets `halfOpenProbes` calls through, each holding a probe slot by ticket.
 *
 * Three rules keep it from opening on a host that works:
 * - a failure of a call sent before the latest success is stale and does not extend the
 *   run (with many calls in flight, a batch of old failures landing together is not a
 *   run: the success in between already said the host answers);
 * - the run opens it only once the host has also gone `minOutageMs` without a success:
 *   a half-working host answers well every few calls;
 * - a slot is freed only by the call that took it: a late outcome of a call admitted
 *   while the breaker was closed never lets an extra probe through.
 *
 * A late success of a call admitted before the breaker opened is fresh evidence that the
 * host works and counts like a probe's; any outcome recorded while open is dropped.
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker({ name: 'api.example.com:443', consecutiveFailures: 3 });
 * const ticket = breaker.acquire();
 * if (ticket === REFUSED) throw new CircuitOpenError(breaker.name, breaker.retryAfterMs());
 * const sentAt = performance.now();
 * try { await send(); breaker.record('success', performance.now() - sentAt, ticket, sentAt); }
 * catch (error) { breaker.record(classifyOutcome({ error }), undefined, ticket, sentAt); throw error; }
 * ```
 */
export class CircuitBreaker {
  /** Host (or any label) named in `CircuitOpenError`. */
  readonly name: string;
  /** The validated configuration, frozen. */
  readonly config: NormalizedCircuitBreakerConfig;
  readonly #clock: Clock;
  readonly #window: SlidingWindowCounters;
  readonly #listeners = new Set<(to: BreakerStateName, from: BreakerStateName) => void>();
  #state: BreakerState = { state: 'closed' };
  #consecutive = 0;
  /** Clock time of the latest success recorded; failures of calls sent before it are stale. */
  #aliveAt = Number.NEGATIVE_INFINITY;
  /** Counts half-open periods: a probe's ticket is the number of its period. */
  #period = 0;

  /** @throws InvalidRequestError naming the first invalid option */
  constructor(
    config: Partial<CircuitBreakerConfig> & { name?: string } = {},
    deps: { clock?: Clock } = {},
  ) {
    if (typeof config !== 'object' || config === null) {
      throw new InvalidRequestError('circuitBreaker config must be an object');
    }
    const { name = 'circuit', ...rest } = config;
    if (typeof name !== 'string' || name === '') {
      throw new InvalidRequestError('name must be a non-empty string');
    }
    this.name = name;
    this.config = normalizeCircuitBreakerConfig(rest);
    this.#clock = deps.clock ?? systemClock;
    const { windowMs } = this.config;
    const bucketMs = Math.max(windowMs / 120, Math.min(1000, windowMs / 30));
    this.#window = new SlidingWindowCounters(this.#clock, windowMs, bucketMs, 2);
  }

  /**
   * The current state, after any transition that time has made due: reading it may move an
   * open breaker whose time is up to half-open (and notify the listeners).
   */
  get state(): BreakerStateName {
    return this.#current().state;
  }

  /** The current state with its data (until, openCount, probes in flight). */
  snapshot(): BreakerState {
    return this.#current();
  }

  /** An open breaker whose time is up is half-open: the switch happens when observed. */
  #current(): BreakerState {
    const s = this.#state;
    if (s.state === 'open' && this.#clock.now() >= s.until) {
      this.#period++;
      this.#transition({ state: 'half-open', inFlight: 0, successes: 0, openCount: s.openCount });
    }
    return this.#state;
  }

  #transition(next: BreakerState): void {
    const from = this.#state.state;
    this.#state = next;
    if (next.state === 'closed') {
      // A fresh start: the failures that opened the breaker must not reopen it the moment it
      // closes. (While open they stay, so stats() shows why it opened.)
      this.#window.reset();
      this.#consecutive = 0;
    }
    if (from === next.state) return;
    for (const listener of [...this.#listeners]) {
      try {
        listener(next.state, from);
      } catch (error) {
        // A listener's bug must not corrupt the breaker or the request that triggered it.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  #open(openCount: number): void {
    const c = this.config;
    const grown = c.openDurationMs * 2 ** Math.min(openCount - 1, 52);
    const duration =
      Math.min(c.maxOpenDurationMs, grown) * (1 - c.openJitter * this.#clock.random());
    this.#transition({ state: 'open', until: this.#clock.now() + duration, openCount });
  }

  /**
   * Asks to send one call: {@link REFUSED} when open, or half-open with every probe slot
   * taken; otherwise a ticket to hand back with the call's {@link record}: 0 for a call
   * admitted while closed, the half-open period's number for a probe. Every ticket must be
   * recorded exactly once.
   */
  acquire(): number {
    const s = this.#current();
    switch (s.state) {
      case 'closed':
        return 0;
      case 'open':
        return REFUSED;
      case 'half-open':
        if (s.inFlight >= this.config.halfOpenProbes) return REFUSED;
        this.#state = { ...s, inFlight: s.inFlight + 1 };
        return this.#period;
      default:
        return unreachableState(s);
    }
  }

  /**
   * {@link acquire} as a yes or no, for callers that record without a ticket (their
   * outcome in half-open is then taken as a probe's).
   */
  tryAcquire(): boolean {
    return this.acquire() !== REFUSED;
  }

  /** Ms until the breaker lets a probe through; 0 unless open. */
  retryAfterMs(): number {
    const s = this.#current();
    return s.state === 'open' ? Math.max(0, s.until - this.#clock.now()) : 0;
  }

  /**
   * Records the outcome of a call admitted by {@link acquire}.
   * @param durationMs - how long it took, for the slow-call threshold
   * @param ticket - what {@link acquire} returned; omitted, the call is taken for a probe
   *   while half-open
   * @param sentAt - clock time the call was sent; a failure sent before the latest success
   *   is stale. Omitted, every failure is fresh.
   */
  record(outcome: CallOutcome, durationMs?: number, ticket?: number, sentAt?: number): void {
    const failed =
      outcome === 'failure' ||
      (outcome === 'success' &&
        durationMs !== undefined &&
        durationMs >= this.config.slowCallThresholdMs);
    const s = this.#current();
    switch (s.state) {
      case 'closed': {
        if (outcome === 'ignored') return;
        this.#window.add(REQUESTS);
        if (!failed) {
          this.#consecutive = 0;
          this.#aliveAt = this.#clock.now();
          return;
        }
        this.#window.add(FAILURES);
        if (sentAt === undefined || sentAt >= this.#aliveAt) this.#consecutive++;
        const threshold = this.config.failureRateThreshold;
        const requests = threshold === undefined ? 0 : this.#window.sum(REQUESTS);
        if (
          (this.#consecutive >= this.config.consecutiveFailures &&
            this.#clock.now() - this.#aliveAt >= this.config.minOutageMs) ||
          (threshold !== undefined &&
            requests >= this.config.minimumRequests &&
            this.#window.sum(FAILURES) / requests >= threshold)
        ) {
          this.#open(1);
        }
        return;
      }
      case 'open':
        return;
      case 'half-open': {
        const probe = ticket === undefined || ticket === this.#period;
        if (!failed && outcome !== 'ignored') this.#aliveAt = this.#clock.now();
        if (!probe) {
          // Admitted before this period: its slot is not ours to free, and a failure of
          // it says nothing new. A success still shows that the host answers.
          if (outcome === 'success' && !failed) this.#probeSucceeded(s, s.inFlight);
          return;
        }
        const inFlight = Math.max(0, s.inFlight - 1);
        if (outcome === 'ignored') {
          this.#state = { ...s, inFlight };
        } else if (failed) {
          this.#open(s.openCount + 1);
        } else {
          this.#probeSucceeded(s, inFlight);
        }
        return;
      }
      default:
        unreachableState(s);
    }
  }

  #probeSucceeded(s: BreakerState & { state: 'half-open' }, inFlight: number): void {
    if (s.successes + 1 >= this.config.halfOpenProbes) {
      this.#transition({ state: 'closed' });
    } else {
      this.#state = { ...s, inFlight, successes: s.successes + 1 };
    }
  }

  /**
   * Subscribes to state changes (`to`, `from`). Listeners run synchronously inside the call
   * that caused the change; one that throws is reported asynchronously, not to the caller.
   * @returns a function that unsubscribes
   */
  onStateChange(fn: (to: BreakerStateName, from: BreakerStateName) => void): () => void {
    this.#listeners.add(fn);
    return () => {
      this.#listeners.delete(fn);
    };
  }

  /** A plain-JSON snapshot for `client.stats()`. */
  stats(): CircuitBreakerStats {
    const s = this.#current();
    const requests = this.#window.sum(REQUESTS);
    const failures = this.#window.sum(FAILURES);
    const base: CircuitBreakerStats = {
      state: s.state,
      failureRate: requests === 0 ? 0 : failures / requests,
      requests,
      failures,
      consecutiveFailures: this.#consecutive,
      openCount: s.state === 'closed' ? 0 : s.openCount,
      retryAfterMs: 0,
    };
    switch (s.state) {
      case 'closed':
        return base;
      case 'open': {
        const retryAfterMs = Math.max(0, s.until - this.#clock.now());
        return { ...base, retryAfterMs, openUntil: this.#clock.wallNow() + retryAfterMs };
      }
      case 'half-open':
        return { ...base, halfOpenInFlight: s.inFlight };
      default:
        return unreachableState(s);
    }
  }

  /** Same as {@link stats}, so `JSON.stringify(breaker)` gives the figures. */
  toJSON(): CircuitBreakerStats {
    return this.stats();
  }

  /**
   * Runs `fn` through the breaker: refused at once when open, otherwise timed and recorded
   * with {@link classifyOutcome} (a resolved value is a success).
   * @throws CircuitOpenError (host = `name`) without calling `fn` when the breaker refuses
   */
  async execute<T>(fn: () => T | PromiseLike<T>): Promise<T> {
    const ticket = this.acquire();
    if (ticket === REFUSED) throw new CircuitOpenError(this.name, this.retryAfterMs());
    const started = this.#clock.now();
    let result: T;
    try {
      result = await fn();
    } catch (error) {
      this.record(classifyOutcome({ error }), this.#clock.now() - started, ticket, started);
      throw error;
    }
    this.record('success', this.#clock.now() - started, ticket, started);
    return result;
  }
}
