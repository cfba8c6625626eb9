/**
 * One backend of an upstream: its origin and weight, and the state the balancers, the
 * outlier detector and the health checker read and update — in-flight requests, a peak
 * EWMA of round-trip times, the run of failures, ejection and active-check health. Memory
 * is fixed per backend; nothing grows with traffic.
 */
import { type Clock, systemClock } from '../../core/clock.js';
import { InvalidRequestError } from '../../core/errors.js';
import { positive } from '../../core/validate.js';
import { type Origin, parseOrigin } from '../origin.js';

/** A backend as the caller lists it: an origin, or an origin with a weight. */
export type BackendSpec =
  | string
  | URL
  | { readonly origin: string | URL; readonly weight?: number };

/** Finagle's τ: the mean lifetime of an RTT sample in the peak EWMA. */
export const DEFAULT_EWMA_DECAY_MS = 10_000;

/**
 * Load of a backend that has requests out but no RTT sample yet (Finagle's penalty,
 * `Long.MaxValue >> 16`): large enough that any measured backend is preferred, small
 * enough that adding the pending count still orders penalised backends.
 */
export const UNSAMPLED_PENALTY = 2 ** 47;

/** Active health-check state: whether the backend is healthy and how long the run against it is. */
export interface ActiveHealth {
  readonly healthy: boolean;
  /** Consecutive check results that disagree with `healthy`; reset when one agrees. */
  readonly streak: number;
}

/** Parses and checks a {@link BackendSpec}; `name` is how errors refer to it. */
export function parseBackendSpec(
  spec: BackendSpec,
  name = 'backend',
): { origin: Origin; weight: number } {
  const isObject = typeof spec === 'object' && spec !== null && !(spec instanceof URL);
  const raw: unknown = isObject ? (spec as { origin: unknown }).origin : spec;
  const weight: unknown = isObject ? ((spec as { weight?: unknown }).weight ?? 1) : 1;
  const where = isObject ? `${name}.origin` : name;
  if (typeof raw !== 'string' && !(raw instanceof URL)) {
    throw new InvalidRequestError(
      `${where} must be an origin such as 'http://10.0.0.1:8080', got ${describe(raw)}`,
    );
  }
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) {
    throw new InvalidRequestError(
      `${name}.weight must be a finite number > 0, got ${describe(weight)}`,
    );
  }
  return { origin: parseBackendOrigin(raw, where), weight };
}

/**
 * An origin and nothing more: a path, query, fragment or credentials in a backend would be
 * dropped silently by `parseOrigin`, sending requests somewhere other than the caller
 * wrote.
 */
function parseBackendOrigin(raw: string | URL, where: string): Origin {
  let url: URL;
  try {
    url = typeof raw === 'string' ? new URL(raw) : raw;
  } catch (cause) {
    throw new InvalidRequestError(
      `${where} must be an origin such as 'http://10.0.0.1:8080', got ${describe(raw)}`,
      { cause },
    );
  }
  if (
    url.username !== '' ||
    url.password !== '' ||
    (url.pathname !== '/' && url.pathname !== '') ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    throw new InvalidRequestError(
      `${where} must be an origin without credentials, path, query or fragment, got ${describe(String(raw))}`,
    );
  }
  try {
    return parseOrigin(url);
  } catch (cause) {
    throw new InvalidRequestError(`${where} is not a valid origin: ${describe(String(raw))}`, {
      cause,
    });
  }
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/**
 * The state of one backend. Times are on the injected clock's monotonic scale.
 *
 * @example
 * ```ts
 * const backend = new Backend({ origin: 'http://10.0.0.1:8080', weight: 2 });
 * backend.onStart();
 * backend.onEnd(true, 12.5);
 * backend.ewma(); // 12.5
 * ```
 */
export class Backend {
  readonly origin: Origin;
  /** Relative share of traffic; 1 unless given. */
  readonly weight: number;
  readonly #clock: Clock;
  readonly #decayMs: number;
  #inFlight = 0;
  /** The peak EWMA as of `#stamp`; decays towards 0 between samples. */
  #cost = 0;
  #stamp: number;
  #consecutiveFailures = 0;
  /** Monotonic ms until which the backend is ejected; in the past when it is not. */
  #ejectedUntil = Number.NEGATIVE_INFINITY;
  #timesEjected = 0;
  #ejectionLevel = 0;
  /** Active-check state, replaced as a whole by the health checker. */
  health: ActiveHealth = { healthy: true, streak: 0 };

  /**
   * @param decayMs - τ of the peak EWMA
   * @throws {InvalidRequestError} bad origin, weight or decay
   */
  constructor(spec: BackendSpec, clock: Clock = systemClock, decayMs = DEFAULT_EWMA_DECAY_MS) {
    const { origin, weight } = parseBackendSpec(spec);
    this.origin = origin;
    this.weight = weight;
    this.#clock = clock;
    this.#decayMs = positive('decayMs', decayMs);
    this.#stamp = clock.now();
  }

  /** Requests picked for this backend and not yet ended. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Failures since the last success (or the last ejection). */
  get consecutiveFailures(): number {
    return this.#consecutiveFailures;
  }

  /** Monotonic ms until which the backend is (or was last) ejected; -Infinity if never. */
  get ejectedUntil(): number {
    return this.#ejectedUntil;
  }

  /** How many times the backend has been ejected, ever. */
  get timesEjected(): number {
    return this.#timesEjected;
  }

  /** Envoy's ejection multiplier: the last ejection lasted base × this (before the cap). */
  get ejectionLevel(): number {
    return this.#ejectionLevel;
  }

  /** True when active health checks have not marked the backend unhealthy. */
  get healthy(): boolean {
    return this.health.healthy;
  }

  /** A request was sent (or is about to be): counts towards in-flight load. */
  onStart(): void {
    this.#inFlight++;
  }

  /**
   * A request ended. Feeds the peak EWMA and the run of failures. A failure may raise the
   * cost but never lowers it: a backend that fails fast (connection refused) must not
   * look fast and draw more traffic.
   */
  onEnd(success: boolean, rttMs: number): void {
    if (this.#inFlight > 0) this.#inFlight--;
    const rtt = Number.isFinite(rttMs) && rttMs > 0 ? rttMs : 0;
    if (success) {
      this.#consecutiveFailures = 0;
      this.#observe(rtt);
    } else {
      this.#consecutiveFailures++;
      if (rtt > this.#cost) this.#observe(rtt);
    }
  }

  /** Ends a request without an outcome (it never reached the backend, or was abandoned). */
  onCancel(): void {
    if (this.#inFlight > 0) this.#inFlight--;
  }

  /**
   * Finagle's peak EWMA on an unevenly spaced series: the weight of the old cost decays
   * with the time since the last sample, and a peak replaces the cost at once so a slow
   * backend is avoided immediately and trusted again only gradually.
   */
  #observe(rtt: number): void {
    const now = this.#clock.now();
    const w = Math.exp(-Math.max(0, now - this.#stamp) / this.#decayMs);
    this.#cost = rtt > this.#cost ? rtt : this.#cost * w + rtt * (1 - w);
    this.#stamp = now;
  }

  /** The peak EWMA of RTTs in ms, decayed to `now` (0 before any sample). */
  ewma(now = this.#clock.now()): number {
    if (this.#cost === 0) return 0;
    return this.#cost * Math.exp(-Math.max(0, now - this.#stamp) / this.#decayMs);
  }

  /**
   * Expected cost of sending one more request here: `ewma × (inFlight + 1) / weight`,
   * or {@link UNSAMPLED_PENALTY} for a backend with requests out and no RTT yet, so a
   * new backend gets one probe before a burst.
   */
  load(now = this.#clock.now()): number {
    const cost = this.ewma(now);
    if (cost === 0 && this.#inFlight > 0) return UNSAMPLED_PENALTY + this.#inFlight;
    return (cost * (this.#inFlight + 1)) / this.weight;
  }

  /** True while ejected by outlier detection. */
  isEjected(now = this.#clock.now()): boolean {
    return now < this.#ejectedUntil;
  }

  /**
   * Ejects the backend until `until` (monotonic ms) at ejection level `level`. Resets the
   * run of failures, as Envoy does, so a returning backend starts from a clean count.
   */
  eject(until: number, level: number): void {
    this.#ejectedUntil = until;
    this.#ejectionLevel = level;
    this.#timesEjected++;
    this.#consecutiveFailures = 0;
  }
}
