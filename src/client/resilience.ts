/**
 * The client's resilience state: the retry engine, a circuit breaker and a health record
 * per host, and one retry budget for the client. The attempt pipeline asks it before an
 * attempt (may it go?), tells it after (what happened), and asks it whether to retry.
 * Per-host state is bounded: past {@link MAX_HOSTS} hosts, quiet ones are forgotten.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import { CircuitOpenError, InvalidRequestError } from '../core/errors.js';
import {
  type CallOutcome,
  CircuitBreaker,
  type CircuitBreakerStats,
  classifyOutcome,
  HostHealth,
  type HostHealthStats,
  healthOutcome,
  normalizeCircuitBreakerConfig,
  RetryBudget,
  type RetryBudgetStats,
  type RetryConfig,
  RetryEngine,
} from '../retry/index.js';
import type { EventHub } from './events.js';
import type { ClientOptions } from './options.js';

const MAX_HOSTS = 1024;

/** One host's breaker and health. */
export interface HostGuard {
  readonly breaker: CircuitBreaker | undefined;
  readonly health: HostHealth | undefined;
}

/** Retry figures of `client.stats()`. */
export interface RetryStats {
  /** Retries made (attempts after the first). */
  retries: number;
  /** Retries the policy allowed but the client-wide budget refused. */
  refusedByBudget: number;
  /** Retries refused because the host's retry throttle was at or below half. */
  refusedByThrottle: number;
  /**
   * Attempts kept from a host because its breaker was open. For an upstream each
   * backend passed over counts, though the attempt may have gone to another backend.
   */
  rejectedByBreaker: number;
  /** First attempts shed locally by adaptive throttling. */
  shed: number;
  /** The client-wide budget, when one is in use. */
  budget: RetryBudgetStats | undefined;
}

/** Per-host resilience figures of `client.stats()`. */
export interface HostResilienceStats {
  breaker: CircuitBreakerStats | undefined;
  health: HostHealthStats | undefined;
}

/**
 * The clock the breakers, health records and budget read. They take a reading for every
 * counter they touch (five per attempt), each as dear as the bookkeeping around it; the
 * attempt pipeline already has a reading of the same clock when it admits or settles an
 * attempt, and while it {@link hold}s one, that reading is what they get. Everything
 * else (timers, random draws, readings at any other time) goes to the client's clock.
 */
class HeldClock implements Clock {
  readonly #source: Clock;
  #held = false;
  #at = 0;

  constructor(source: Clock) {
    this.#source = source;
  }

  /** From now until {@link release}, `now()` answers `at`. */
  hold(at: number): void {
    this.#held = true;
    this.#at = at;
  }

  release(): void {
    this.#held = false;
  }

  now(): number {
    return this.#held ? this.#at : this.#source.now();
  }

  wallNow(): number {
    return this.#source.wallNow();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.#source.setTimeout(fn, ms);
  }

  clearTimeout(handle: TimerHandle): void {
    this.#source.clearTimeout(handle);
  }

  random(): number {
    return this.#source.random();
  }
}

export class Resilience {
  readonly engine: RetryEngine | undefined;
  readonly budget: RetryBudget | undefined;
  readonly #clock: Clock;
  /** The clock of the budget, breakers and health records: see {@link HeldClock}. */
  readonly #held: HeldClock;
  readonly #breakerConfig: Parameters<typeof normalizeCircuitBreakerConfig>[0] | undefined;
  readonly #healthConfig: ConstructorParameters<typeof HostHealth>[0] | undefined;
  readonly #shed: boolean;
  readonly #hosts = new Map<string, HostGuard>();
  readonly #engines = new WeakMap<object, RetryEngine>();
  retries = 0;
  refusedByBudget = 0;
  refusedByThrottle = 0;
  rejectedByBreaker = 0;
  shed = 0;

  readonly #events: EventHub;

  constructor(options: ClientOptions, clock: Clock, events: EventHub) {
    this.#clock = clock;
    this.#held = new HeldClock(clock);
    this.#events = events;
    const retry = options.retry;
    if (retry === false) this.engine = undefined;
    else if (retry instanceof RetryEngine) this.engine = retry;
    else this.engine = new RetryEngine(retry ?? {}, { clock });

    const breaker = options.circuitBreaker;
    if (breaker !== false) {
      // Validate now so bad settings fail at construction, not on the first request.
      normalizeCircuitBreakerConfig(breaker ?? {});
      this.#breakerConfig = breaker ?? {};
    }
    const budget = options.retryBudget;
    this.budget =
      budget === false ? undefined : new RetryBudget(budget ?? {}, { clock: this.#held });
    const adaptive = options.adaptive;
    if (adaptive !== false) {
      const { shedFirstAttempts, ...config } = (adaptive ?? {}) as Record<string, unknown>;
      if (shedFirstAttempts !== undefined && typeof shedFirstAttempts !== 'boolean') {
        throw new InvalidRequestError('adaptive.shedFirstAttempts must be a boolean');
      }
      this.#healthConfig = config;
      this.#shed = shedFirstAttempts === true;
      new HostHealth(config, { clock });
    } else {
      this.#shed = false;
    }
  }

  /** The engine for one request: the client's, none, or one built from its overrides. */
  engineFor(override: Partial<RetryConfig> | false | undefined): RetryEngine | undefined {
    if (override === undefined) return this.engine;
    if (override === false) return undefined;
    let engine = this.#engines.get(override);
    if (engine === undefined) {
      const base = this.engine?.config ?? {};
      engine = new RetryEngine(
        { ...(base as Partial<RetryConfig>), ...override },
        { clock: this.#clock },
      );
      this.#engines.set(override, engine);
    }
    return engine;
  }

  /** The guard of host `key`, created on first use. */
  host(key: string): HostGuard {
    let guard = this.#hosts.get(key);
    if (guard === undefined) {
      if (this.#hosts.size >= MAX_HOSTS) this.#forgetQuietHost();
      guard = {
        breaker:
          this.#breakerConfig === undefined
            ? undefined
            : new CircuitBreaker({ ...this.#breakerConfig, name: key }, { clock: this.#held }),
        health:
          this.#healthConfig === undefined
            ? undefined
            : new HostHealth(this.#healthConfig, { clock: this.#held }),
      };
      guard.breaker?.onStateChange((to, from) => {
        if (this.#events.active) this.#events.emit({ type: 'breaker', host: key, from, to });
      });
      this.#hosts.set(key, guard);
    }
    return guard;
  }

  /**
   * May an attempt go to this host? Throws `CircuitOpenError` when the breaker refuses.
   * Every admitted attempt must be followed by exactly one {@link settle}.
   *
   * @param deposit - count the call in the retry budget: once per call, so false when
   *   an upstream's first attempt tries a second backend
   * @param now - the client clock's reading the attempt starts at
   */
  admit(key: string, guard: HostGuard, firstAttempt: boolean, deposit: boolean, now: number): void {
    this.#held.hold(now);
    try {
      if (deposit) this.budget?.deposit();
      const breaker = guard.breaker;
      if (breaker !== undefined && !breaker.tryAcquire()) {
        this.rejectedByBreaker++;
        throw new CircuitOpenError(key, breaker.retryAfterMs());
      }
      const health = guard.health;
      if (health !== undefined) {
        if (this.#shed && firstAttempt && health.shouldShed()) {
          this.shed++;
          breaker?.record('ignored');
          throw new CircuitOpenError(key, 0);
        }
        health.recordAttempt();
      }
    } finally {
      this.#held.release();
    }
  }

  /**
   * Records how an admitted attempt ended.
   * @param now - the client clock's reading the attempt ended at
   */
  settle(
    guard: HostGuard,
    result: { status?: number; error?: unknown },
    latencyMs: number,
    now: number,
  ): CallOutcome {
    this.#held.hold(now);
    try {
      const outcome = classifyOutcome(result);
      guard.breaker?.record(outcome, latencyMs);
      // Health has its own verdict: a 429 is no breaker failure, but it is a refusal that
      // adaptive throttling must see.
      const served = guard.health === undefined ? undefined : healthOutcome(result);
      if (served !== undefined) guard.health!.recordOutcome(served, latencyMs);
      return outcome;
    } finally {
      this.#held.release();
    }
  }

  /**
   * May a retry the policy allows be made? Spends budget when yes; otherwise says who
   * refused. `guard` is the host that failed; undefined when no host was reached (an
   * upstream had no backend to pick), which only the budget can refuse.
   */
  refuseRetry(guard: HostGuard | undefined): 'throttle' | 'budget' | undefined {
    if (guard?.health !== undefined && !guard.health.allowRetry()) {
      this.refusedByThrottle++;
      return 'throttle';
    }
    if (this.budget !== undefined && !this.budget.tryWithdraw()) {
      this.refusedByBudget++;
      return 'budget';
    }
    this.retries++;
    return undefined;
  }

  #forgetQuietHost(): void {
    for (const [key, guard] of this.#hosts) {
      if (guard.breaker === undefined || guard.breaker.state === 'closed') {
        this.#hosts.delete(key);
        return;
      }
    }
    // Every host has an open breaker: forget the oldest anyway rather than grow.
    const first = this.#hosts.keys().next();
    if (!first.done) this.#hosts.delete(first.value);
  }

  stats(): { retry: RetryStats; hosts: Record<string, HostResilienceStats> } {
    const hosts: Record<string, HostResilienceStats> = {};
    for (const [key, guard] of this.#hosts) {
      hosts[key] = { breaker: guard.breaker?.stats(), health: guard.health?.toJSON() };
    }
    return {
      retry: {
        retries: this.retries,
        refusedByBudget: this.refusedByBudget,
        refusedByThrottle: this.refusedByThrottle,
        rejectedByBreaker: this.rejectedByBreaker,
        shed: this.shed,
        budget: this.budget?.stats(),
      },
      hosts,
    };
  }
}
