/**
 * Backoff delays between attempts. Pure functions: the random draw is an argument, so the
 * same inputs always give the same delay and every mode can be table- and property-tested.
 */

/**
 * How the exponential base delay is randomised.
 *
 * - `full`: `U(0, base)` — least total work under contention (AWS); the default.
 * - `equal`: `base/2 + U(0, base/2)` — never shorter than half the base.
 * - `decorrelated`: `min(maxDelayMs, U(initialDelayMs, 3 × previous))` — grows from the
 *   previous delay rather than the attempt number (AWS "decorrelated jitter").
 * - `proportional`: `base × (1 ± jitterFactor)` — a small spread around the base.
 * - `none`: exactly `base`; synchronised clients retry in lock-step, so avoid it in fleets.
 */
export type JitterMode = 'full' | 'equal' | 'decorrelated' | 'proportional' | 'none';

/** Every jitter mode, for validation and exhaustive tests. */
export const JITTER_MODES: readonly JitterMode[] = [
  'full',
  'equal',
  'decorrelated',
  'proportional',
  'none',
];

/** The fields of a normalised retry configuration that shape the delay. */
export interface BackoffConfig {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly backoffMultiplier: number;
  readonly jitter: JitterMode;
  readonly jitterFactor: number;
}

/**
 * The un-jittered delay after failed attempt `attempt` (0-based):
 * `min(maxDelayMs, initialDelayMs × backoffMultiplier^attempt)`.
 */
export function baseDelay(config: BackoffConfig, attempt: number): number {
  // 0 × Infinity is NaN: a zero initial delay stays zero however many attempts are made.
  if (config.initialDelayMs <= 0) return 0;
  const raw = config.initialDelayMs * config.backoffMultiplier ** Math.max(0, attempt);
  return Math.min(config.maxDelayMs, raw);
}

/**
 * The delay in ms to wait after failed attempt `attempt` (0-based), always within
 * `[0, maxDelayMs]`.
 *
 * @param random - one draw in [0, 1) (from `Clock.random()`); ignored by `none`
 * @param previousDelayMs - the delay used before this one, for `decorrelated`. When it is
 *   unknown, `initialDelayMs` stands in for attempt 0 and `base(attempt − 1)` after that,
 *   so a stateless caller still sees delays grow with the attempt number.
 *
 * @example
 * ```ts
 * const cfg = { initialDelayMs: 100, maxDelayMs: 10_000, backoffMultiplier: 2,
 *               jitter: 'equal', jitterFactor: 0 } as const;
 * calculateDelay(cfg, 2, 0.5); // base 400 -> 200 + 0.5 × 200 = 300
 * ```
 */
export function calculateDelay(
  config: BackoffConfig,
  attempt: number,
  random: number,
  previousDelayMs?: number,
): number {
  const r = random >= 0 && random < 1 ? random : 0;
  let delay: number;
  switch (config.jitter) {
    case 'none':
      delay = baseDelay(config, attempt);
      break;
    case 'full':
      delay = r * baseDelay(config, attempt);
      break;
    case 'equal': {
      const half = baseDelay(config, attempt) / 2;
      delay = half + r * half;
      break;
    }
    case 'proportional': {
      const base = baseDelay(config, attempt);
      const low = base * (1 - config.jitterFactor);
      // Clip the top of the window rather than the draw, so delays at the cap stay spread
      // out instead of piling up exactly on maxDelayMs.
      const high = Math.min(config.maxDelayMs, base * (1 + config.jitterFactor));
      delay = low + r * (high - low);
      break;
    }
    case 'decorrelated': {
      const floor = config.initialDelayMs;
      const previous =
        previousDelayMs !== undefined && Number.isFinite(previousDelayMs) && previousDelayMs >= 0
          ? previousDelayMs
          : attempt <= 0
            ? floor
            : baseDelay(config, attempt - 1);
      const ceiling = Math.max(floor, previous * 3);
      delay = floor + r * (ceiling - floor);
      break;
    }
    default: {
      const unreachable: never = config.jitter;
      throw new TypeError(`unknown jitter mode ${String(unreachable)}`);
    }
  }
  if (!(delay > 0)) return 0;
  return Math.min(config.maxDelayMs, delay);
}
