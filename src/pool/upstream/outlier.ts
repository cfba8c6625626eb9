/**
 * Passive outlier detection after Envoy's `consecutive_5xx`: a backend whose last N
 * requests all failed (5xx or connection failure, as the caller judges) is ejected for
 * `baseEjectionTimeMs × level`, capped; no more than `maxEjectionPercent` of backends are
 * ejected at once (but always at least one may be); and when too few backends are left,
 * panic mode ignores ejections rather than send nothing. Ejection ends lazily when its
 * time is up; no timers.
 */
import { InvalidRequestError } from '../../core/errors.js';
import { inRange, integer, MAX_TIMER_MS, positive } from '../../core/validate.js';
import type { Backend } from './backend.js';

/** Options of passive outlier detection. All optional; defaults in {@link DEFAULT_OUTLIER_DETECTION}. */
export interface OutlierDetectionOptions {
  /**
   * Failures in a row (5xx or connection failures) that eject a backend.
   * @default 5
   */
  consecutiveFailures: number;
  /**
   * The first ejection lasts this long; the n-th in a row lasts n times as long.
   * @default 30000
   */
  baseEjectionTimeMs: number;
  /**
   * Cap on one ejection's length.
   * @default 300000
   */
  maxEjectionTimeMs: number;
  /**
   * Most backends, in percent, ejected at once; one backend may always be ejected.
   * @default 10
   */
  maxEjectionPercent: number;
  /**
   * Each full interval a backend spends back in rotation lowers its ejection multiplier
   * by one (Envoy's `interval`), so a backend that recovered is not punished for an old
   * outage with a long ejection.
   * @default 10000
   */
  intervalMs: number;
  /**
   * Below this share of backends (in percent) neither ejected nor failing active health
   * checks, ejections are ignored: sending to a suspect backend beats sending nothing or
   * piling everything on the few left (Envoy's `healthy_panic_threshold`).
   * @default 50
   */
  panicThresholdPercent: number;
}

/** The defaults that the documentation's table mirrors (Envoy's). */
export const DEFAULT_OUTLIER_DETECTION: Readonly<OutlierDetectionOptions> = Object.freeze({
  consecutiveFailures: 5,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000,
  maxEjectionPercent: 10,
  intervalMs: 10_000,
  panicThresholdPercent: 50,
});

/**
 * Checks `user` and fills in defaults; never mutates its input.
 * @throws {InvalidRequestError} naming the first invalid option, prefixed with `name`
 */
export function normalizeOutlierDetection(
  user: Partial<OutlierDetectionOptions> = {},
  name = 'outlierDetection',
): Readonly<OutlierDetectionOptions> {
  if (typeof user !== 'object' || user === null || Array.isArray(user)) {
    throw new InvalidRequestError(`${name} must be an object or false`);
  }
  for (const key of Object.keys(user)) {
    if (!(key in DEFAULT_OUTLIER_DETECTION)) {
      throw new InvalidRequestError(`unknown option ${name}.${key}`);
    }
  }
  const d = DEFAULT_OUTLIER_DETECTION;
  const ms = (key: 'baseEjectionTimeMs' | 'maxEjectionTimeMs' | 'intervalMs'): number => {
    const value = positive(`${name}.${key}`, user[key] ?? d[key]);
    if (value > MAX_TIMER_MS) {
      throw new InvalidRequestError(`${name}.${key} must be at most ${MAX_TIMER_MS} ms`);
    }
    return value;
  };
  const options: OutlierDetectionOptions = {
    consecutiveFailures: integer(
      `${name}.consecutiveFailures`,
      user.consecutiveFailures ?? d.consecutiveFailures,
      1,
    ),
    baseEjectionTimeMs: ms('baseEjectionTimeMs'),
    maxEjectionTimeMs: ms('maxEjectionTimeMs'),
    maxEjectionPercent: inRange(
      `${name}.maxEjectionPercent`,
      user.maxEjectionPercent ?? d.maxEjectionPercent,
      0,
      100,
    ),
    intervalMs: ms('intervalMs'),
    panicThresholdPercent: inRange(
      `${name}.panicThresholdPercent`,
      user.panicThresholdPercent ?? d.panicThresholdPercent,
      0,
      100,
    ),
  };
  if (options.maxEjectionTimeMs < options.baseEjectionTimeMs) {
    throw new InvalidRequestError(
      `${name}.maxEjectionTimeMs (${options.maxEjectionTimeMs}) must be >= baseEjectionTimeMs (${options.baseEjectionTimeMs})`,
    );
  }
  return Object.freeze(options);
}

/** How long an ejection at multiplier `level` (>= 1) lasts: `base × level`, capped at `max`. */
export function ejectionTimeMs(level: number, baseMs: number, maxMs: number): number {
  return Math.min(baseMs * level, maxMs);
}

/**
 * Whether one more of `total` backends may be ejected while `ejected` already are: only
 * if that stays within `maxPercent`, except that the first ejection is always allowed
 * (Envoy: "will eject at least one host regardless of the value").
 */
export function mayEject(ejected: number, total: number, maxPercent: number): boolean {
  if (ejected === 0) return total > 0;
  return (ejected + 1) * 100 <= maxPercent * total;
}

/**
 * Whether the upstream is in panic: fewer than `thresholdPercent` of `total` backends are
 * `available` (neither ejected nor failing health checks), or none at all are.
 */
export function inPanic(available: number, total: number, thresholdPercent: number): boolean {
  return available === 0 || available * 100 < thresholdPercent * total;
}

/**
 * The ejection multiplier after `backMs` back in rotation: one lower per full
 * `intervalMs`, never below 0.
 */
export function decayedLevel(level: number, backMs: number, intervalMs: number): number {
  if (backMs <= 0) return level;
  return Math.max(0, level - Math.floor(backMs / intervalMs));
}

/** Applies {@link OutlierDetectionOptions} to an upstream's backends. */
export class OutlierDetector {
  readonly options: Readonly<OutlierDetectionOptions>;
  /** The multiplier past which the cap makes a longer ejection impossible anyway. */
  readonly #maxLevel: number;

  constructor(options: Readonly<OutlierDetectionOptions>) {
    this.options = options;
    this.#maxLevel = Math.ceil(options.maxEjectionTimeMs / options.baseEjectionTimeMs);
  }

  /**
   * Call after a result was recorded on `backend`: ejects it if its run of failures has
   * reached the threshold and the cap allows. A backend held back by the cap stays a
   * candidate and is ejected on its next failure once room frees up.
   *
   * @returns true when `backend` was ejected now
   */
  afterResult(backend: Backend, backends: readonly Backend[], now: number): boolean {
    if (backend.consecutiveFailures < this.options.consecutiveFailures) return false;
    if (backend.isEjected(now)) return false;
    let ejected = 0;
    for (const other of backends) if (other.isEjected(now)) ejected++;
    if (!mayEject(ejected, backends.length, this.options.maxEjectionPercent)) return false;
    // `ejectedUntil` is -Infinity for a backend never ejected, which decays any level to 0.
    const level = Math.min(
      this.#maxLevel,
      decayedLevel(backend.ejectionLevel, now - backend.ejectedUntil, this.options.intervalMs) + 1,
    );
    const { baseEjectionTimeMs, maxEjectionTimeMs } = this.options;
    backend.eject(now + ejectionTimeMs(level, baseEjectionTimeMs, maxEjectionTimeMs), level);
    return true;
  }
}
