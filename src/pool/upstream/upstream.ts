/**
 * An upstream: a named set of backends behind one balancer, with passive outlier ejection
 * and optional active health checks. It decides where a request goes and learns from how
 * it went; the pool does the I/O.
 */
import { type Clock, systemClock } from '../../core/clock.js';
import { ConnectionError, InvalidRequestError, PoolClosedError } from '../../core/errors.js';
import { Backend, type BackendSpec, parseBackendSpec } from './backend.js';
import { type Balancer, createBalancer, type Strategy } from './balancers/balancer.js';
import { HealthChecker, type HealthProbe } from './health-checker.js';
import {
  type NormalizedUpstreamOptions,
  normalizeUpstreamName,
  normalizeUpstreamOptions,
  type UpstreamOptions,
} from './options.js';
import { inPanic, OutlierDetector } from './outlier.js';

/** Figures of one backend, as plain JSON. */
export interface BackendStats {
  /** `http://host:port`, default ports omitted. */
  origin: string;
  weight: number;
  /** Requests picked for this backend and not yet recorded. */
  inFlight: number;
  /** Peak EWMA of round-trip times in ms, decayed to now (0 before any sample). */
  ewmaMs: number;
  /** Ejected by outlier detection right now (even if panic mode is ignoring it). */
  ejected: boolean;
  /** Epoch ms when the current ejection ends; null when not ejected. */
  ejectedUntil: number | null;
  /** Ejections since the upstream was created. */
  timesEjected: number;
  /** False while active health checks say the backend is down. */
  healthy: boolean;
}

/** Figures of an upstream, as plain JSON. */
export interface UpstreamStats {
  name: string;
  strategy: Strategy;
  /** Too few backends are available: ejections are being ignored. */
  panic: boolean;
  backends: BackendStats[];
}

/** What the pool provides to an upstream. */
export interface UpstreamDeps {
  /** Source of time, timers and randomness. @default systemClock */
  clock?: Clock;
  /** Sends one health check; required when `healthCheck` is on. */
  probe?: HealthProbe;
}

/**
 * A named set of backends and the policy that spreads requests over them.
 *
 * Every {@link Upstream.pick} must be matched by exactly one {@link Upstream.record}
 * (the request got an outcome) or {@link Upstream.cancel} (it did not), or in-flight
 * counts drift and the balancers avoid the backend.
 *
 * @example
 * ```ts
 * const upstream = new Upstream('api', ['http://10.0.0.1:8080', { origin: 'http://10.0.0.2:8080', weight: 2 }]);
 * const backend = upstream.pick();
 * const started = performance.now();
 * const res = await send(backend.origin.origin);
 * upstream.record(backend, res.status < 500, performance.now() - started);
 * ```
 */
export class Upstream {
  /** The name, lower-cased: requests whose URL host is this name go through the upstream. */
  readonly name: string;
  readonly backends: readonly Backend[];
  readonly options: NormalizedUpstreamOptions;
  readonly #members: ReadonlySet<Backend>;
  readonly #clock: Clock;
  readonly #balancer: Balancer;
  readonly #outlier: OutlierDetector | undefined;
  readonly #checker: HealthChecker | undefined;
  readonly #panicThreshold: number;
  #closed = false;
  /** The time of the pick in progress, read by the predicates below. */
  #now = 0;
  /** What the pick in progress should pass over, read by the predicates below. */
  #avoid: Backend | ReadonlySet<Backend> | undefined;
  // Built once so that a pick allocates no closure.
  readonly #available = (b: Backend): boolean => b.healthy && !b.isEjected(this.#now);
  readonly #notFailingChecks = (b: Backend): boolean => b.healthy;
  readonly #availableNotAvoided = (b: Backend): boolean => this.#available(b) && !this.#avoided(b);
  readonly #notFailingNotAvoided = (b: Backend): boolean => b.healthy && !this.#avoided(b);

  /**
   * Starts active health checks at once when they are on.
   *
   * @throws {InvalidRequestError} bad name, backend list, origin, weight or option
   * @throws {TypeError} `healthCheck` is on but `deps.probe` is missing
   */
  constructor(
    name: string,
    backends: readonly BackendSpec[],
    options: Partial<UpstreamOptions> = {},
    deps: UpstreamDeps = {},
  ) {
    this.name = normalizeUpstreamName(name);
    this.options = normalizeUpstreamOptions(options);
    const clock = deps.clock ?? systemClock;
    this.#clock = clock;
    this.backends = Object.freeze(buildBackends(backends, clock));
    this.#members = new Set(this.backends);
    this.#balancer = createBalancer(this.options.strategy, () => clock.random());
    const outlier = this.options.outlierDetection;
    this.#outlier = outlier === undefined ? undefined : new OutlierDetector(outlier);
    // Without ejections panic can only mean "nothing healthy", which pick() handles.
    this.#panicThreshold = outlier?.panicThresholdPercent ?? 0;
    const healthCheck = this.options.healthCheck;
    if (healthCheck !== undefined) {
      if (deps.probe === undefined) {
        throw new TypeError(`upstream ${this.name}: healthCheck is on but no probe was given`);
      }
      this.#checker = new HealthChecker(this.backends, healthCheck, deps.probe, clock);
      this.#checker.start();
    }
  }

  /** The load-balancing strategy in force. */
  get strategy(): Strategy {
    return this.options.strategy;
  }

  /** True once {@link close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Chooses the backend for one request and counts it in flight. Never an unhealthy
   * backend; never an ejected one unless the upstream is in panic.
   *
   * @param avoid - a backend (or set of them) to pass over when any other is usable:
   *   a retry avoids the backend that just failed, a caller whose breaker refused one
   *   asks for another. When no other is usable the pick is made as if none were avoided,
   *   so an avoided backend may still come back; the caller decides what to do with it.
   * @throws {PoolClosedError} after {@link close}
   * @throws {ConnectionError} when every backend is failing its active health checks
   */
  pick(avoid?: Backend | ReadonlySet<Backend>): Backend {
    if (this.#closed) throw new PoolClosedError(`upstream ${this.name} is closed`);
    const now = this.#clock.now();
    this.#now = now;
    const { healthy, available } = this.#count(now);
    if (healthy === 0) {
      throw new ConnectionError(
        `no backend of upstream ${this.name} is healthy: all ${this.backends.length} are failing active health checks`,
      );
    }
    const panic = inPanic(available, this.backends.length, this.#panicThreshold);
    let backend: Backend | undefined;
    if (avoid !== undefined) {
      this.#avoid = avoid;
      backend = this.#balancer.pick(
        this.backends,
        panic ? this.#notFailingNotAvoided : this.#availableNotAvoided,
      );
      this.#avoid = undefined;
    }
    backend ??= this.#balancer.pick(
      this.backends,
      panic ? this.#notFailingChecks : this.#available,
    );
    if (backend === undefined) {
      // Unreachable while the balancers keep their contract; fail loudly, not silently.
      throw new ConnectionError(`upstream ${this.name} found no backend to pick`);
    }
    backend.onStart();
    return backend;
  }

  /**
   * The outcome of a picked request: `success` false for a 5xx or a connection failure
   * (what outlier ejection counts), true otherwise; `rttMs` from send to response.
   * Still accepted after {@link close}, for requests that were out.
   *
   * @throws {TypeError} `backend` is not one of this upstream's
   */
  record(backend: Backend, success: boolean, rttMs: number): void {
    this.#own(backend);
    backend.onEnd(success, rttMs);
    if (!success && this.#outlier !== undefined) {
      this.#outlier.afterResult(backend, this.backends, this.#clock.now());
    }
  }

  /**
   * Ends a picked request that has no outcome to learn from: it never reached the
   * backend (our own pool timed out, the caller aborted first), so it must neither eject
   * nor move the latency estimate.
   *
   * @throws {TypeError} `backend` is not one of this upstream's
   */
  cancel(backend: Backend): void {
    this.#own(backend);
    backend.onCancel();
  }

  /** True when too few backends are available and ejections are being ignored. */
  inPanic(): boolean {
    const { available } = this.#count(this.#clock.now());
    return inPanic(available, this.backends.length, this.#panicThreshold);
  }

  /** Per-backend figures, as plain JSON. */
  stats(): UpstreamStats {
    const now = this.#clock.now();
    const toWall = this.#clock.wallNow() - now;
    const { available } = this.#count(now);
    return {
      name: this.name,
      strategy: this.options.strategy,
      panic: inPanic(available, this.backends.length, this.#panicThreshold),
      backends: this.backends.map((b) => {
        const ejected = b.isEjected(now);
        return {
          origin: b.origin.origin,
          weight: b.weight,
          inFlight: b.inFlight,
          ewmaMs: b.ewma(now),
          ejected,
          ejectedUntil: ejected ? Math.round(b.ejectedUntil + toWall) : null,
          timesEjected: b.timesEjected,
          healthy: b.healthy,
        };
      }),
    };
  }

  /** Stops health checks (no timer is left) and refuses further picks. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#checker?.stop();
  }

  #avoided(b: Backend): boolean {
    const avoid = this.#avoid;
    return avoid === b || (avoid !== undefined && !(avoid instanceof Backend) && avoid.has(b));
  }

  /** Backends passing health checks, and those of them not ejected. O(backends). */
  #count(now: number): { healthy: number; available: number } {
    let healthy = 0;
    let available = 0;
    for (const b of this.backends) {
      if (!b.healthy) continue;
      healthy++;
      if (!b.isEjected(now)) available++;
    }
    return { healthy, available };
  }

  #own(backend: Backend): void {
    if (!this.#members.has(backend)) {
      throw new TypeError(
        `backend ${String(backend?.origin?.origin)} is not in upstream ${this.name}`,
      );
    }
  }
}

function buildBackends(specs: readonly BackendSpec[], clock: Clock): Backend[] {
  if (!Array.isArray(specs) || specs.length === 0) {
    throw new InvalidRequestError('backends must be a non-empty array of origins');
  }
  const seen = new Set<string>();
  return specs.map((spec, i) => {
    // Checked here first so that the error names its place in the list.
    const { origin } = parseBackendSpec(spec, `backends[${i}]`);
    if (seen.has(origin.origin)) {
      throw new InvalidRequestError(
        `backends[${i}] repeats ${origin.origin}; give it a weight instead of listing it twice`,
      );
    }
    seen.add(origin.origin);
    return new Backend(spec, clock);
  });
}
