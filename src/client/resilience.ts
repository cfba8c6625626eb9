/**
 * The client's resilience state: the retry engine, a circuit breaker and a health record
 * per host, and one retry budget for the client. The attempt pipeline asks it before an
 * attempt (may it go?), tells it when the request is sent, tells it after (what the one
 * outcome classifier made of it), and asks it whether to retry.
 * Per-host state is bounded: past {@link MAX_HOSTS} hosts, quiet ones are forgotten.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import { CircuitOpenError, InvalidRequestError } from '../core/errors.js';
import type { Verdict } from '../core/outcome.js';
import {
  CircuitBreaker,
  type CircuitBreakerStats,
  HostHealth,
  type HostHealthStats,
  normalizeCircuitBreakerConfig,
  REFUSED,
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
  /** Hedged requests sent (each also counts in its response's `attempts`). */
  hedges: number;
  /** Calls whose response came from a hedge rather than the first request. */
  hedgesWon: number;
  /** Hedges the retry budget refused. */
  hedgesRefused: number;
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
  readonly #engines = new WeakMap<object, Map<RetryEngine | undefined, RetryEngine>>();
  retries = 0;
  refusedByBudget = 0;
  hedges = 0;
  hedgesWon = 0;
  hedgesRefused = 0;
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

  /**
   * The engine for one request: none, or one built from its overrides over `base` (the
   * client's engine), made once per override object.
   */
  engineFor(
    override: Partial<RetryConfig> | false,
    base: RetryEngine | undefined,
  ): RetryEngine | undefined {
    if (override === false) return undefined;
    let byBase = this.#engines.get(override);
    if (byBase === undefined) {
      byBase = new Map();
      this.#engines.set(override, byBase);
    }
    let engine = byBase.get(base);
    if (engine === undefined) {
      engine = new RetryEngine(
        { ...((base?.config ?? {}) as Partial<RetryConfig>), ...override },
        { clock: this.#clock },
      );
      byBase.set(base, engine);
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
        if (this.#events.breakers) this.#events.emit({ type: 'breaker', host: key, from, to });
      });
      this.#hosts.set(key, guard);
    }
    return guard;
  }

  /**
   * May an attempt go to this host? Throws `CircuitOpenError` when the breaker refuses
   * (or, with `shedFirstAttempts`, adaptive throttling sheds a first attempt). Nothing is
   * counted for the host yet: that waits until the request is {@link sent}.
   *
   * @param first - the call's first attempt (only those are shed)
   * @param now - the client clock's reading the attempt starts at
   * @returns the breaker's ticket, to hand back to {@link settleBreaker} exactly once
   */
  admit(key: string, guard: HostGuard, first: boolean, now: number): number {
    this.#held.hold(now);
    try {
      const breaker = guard.breaker;
      const ticket = breaker === undefined ? 0 : breaker.acquire();
      if (ticket === REFUSED) {
        this.rejectedByBreaker++;
        throw new CircuitOpenError(key, breaker!.retryAfterMs());
      }
      const health = guard.health;
      if (health !== undefined && this.#shed && first && health.shouldShed()) {
        this.shed++;
        health.recordShed();
        this.#events.otel?.shed(key);
        breaker?.record('ignored', undefined, ticket);
        throw new CircuitOpenError(key, 0);
      }
      return ticket;
    } finally {
      this.#held.release();
    }
  }

  /**
   * The call's first request went out on a connection: it earns the retry budget its
   * share. Time spent in our own queue before this is never counted.
   */
  sent(now: number): void {
    if (this.budget === undefined) return;
    this.#held.hold(now);
    this.budget.deposit();
    this.#held.release();
  }

  /**
   * Records what the host did with an attempt, by the classifier's verdict: host health
   * now; the breaker too unless `deferBreaker` (the caller then calls
   * {@link settleBreaker} once it knows whether the call goes on).
   *
   * @param sentAt - client clock time the request went out (stale-failure rule)
   * @param now - the client clock's reading the attempt ended at
   */
  settle(
    guard: HostGuard,
    verdict: Verdict,
    ticket: number,
    sentAt: number,
    latencyMs: number,
    now: number,
    deferBreaker: boolean,
  ): void {
    this.#held.hold(now);
    try {
      if (verdict.health !== 'none') {
        guard.health?.recordOutcome(verdict.health === 'served', latencyMs);
      }
      if (!deferBreaker) this.#record(guard, verdict.breaker, ticket, sentAt, latencyMs);
    } finally {
      this.#held.release();
    }
  }

  /**
   * The breaker's part of {@link settle}, for an outcome counted once per call (a 503
   * that a retry follows is not yet a verdict: the retry's answer is).
   */
  settleBreaker(
    guard: HostGuard,
    verdict: Verdict,
    ticket: number,
    sentAt: number,
    latencyMs: number,
    retried: boolean,
  ): void {
    this.#record(guard, retried ? 'none' : verdict.breaker, ticket, sentAt, latencyMs);
  }

  #record(
    guard: HostGuard,
    judged: Verdict['breaker'],
    ticket: number,
    sentAt: number,
    latencyMs: number,
  ): void {
    guard.breaker?.record(
      judged === 'down' ? 'failure' : judged === 'alive' ? 'success' : 'ignored',
      latencyMs,
      ticket,
      sentAt,
    );
  }

  /** Hands back a ticket of an attempt that was admitted but never began. */
  release(guard: HostGuard, ticket: number): void {
    guard.breaker?.record('ignored', undefined, ticket);
  }

  /** May a hedge be sent? It draws on the retry budget like a retry. */
  allowHedge(): boolean {
    if (this.budget !== undefined && !this.budget.canWithdraw()) {
      this.hedgesRefused++;
      return false;
    }
    return true;
  }

  /** A hedge that {@link allowHedge} allowed went out: it spends its share of the budget. */
  hedgeSent(): void {
    this.budget?.tryWithdraw();
    this.hedges++;
  }

  /**
   * May a retry the policy allows be made? Spends budget when yes; says so when the
   * budget refused.
   */
  refuseRetry(): 'budget' | undefined {
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
        hedges: this.hedges,
        hedgesWon: this.hedgesWon,
        hedgesRefused: this.hedgesRefused,
        rejectedByBreaker: this.rejectedByBreaker,
        shed: this.shed,
        budget: this.budget?.stats(),
      },
      hosts,
    };
  }
}
