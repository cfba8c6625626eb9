/**
 * Checks of option values, shared by every `normalize…Options`. Each throws
 * {@link InvalidRequestError} naming the option, so bad configuration fails at
 * construction (or before any I/O), never on first use.
 */
import { InvalidRequestError } from './errors.js';

/** A finite number >= 0. */
export function nonNegative(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidRequestError(`${name} must be a finite number >= 0, got ${String(value)}`);
  }
  return value;
}

/** A finite number > 0. */
export function positive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidRequestError(`${name} must be a finite number > 0, got ${String(value)}`);
  }
  return value;
}

/** An integer >= `min` (Infinity allowed when `allowInfinity`). */
export function integer(name: string, value: unknown, min = 0, allowInfinity = false): number {
  if (
    typeof value !== 'number' ||
    !(Number.isInteger(value) || (allowInfinity && value === Number.POSITIVE_INFINITY)) ||
    value < min
  ) {
    throw new InvalidRequestError(
      `${name} must be an integer >= ${min}${allowInfinity ? ' (or Infinity)' : ''}, got ${String(value)}`,
    );
  }
  return value;
}

/** A number in [min, max]. */
export function inRange(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !(value >= min && value <= max)) {
    throw new InvalidRequestError(
      `${name} must be a number in [${min}, ${max}], got ${String(value)}`,
    );
  }
  return value;
}

/** A timer delay that setTimeout can hold (2^31 - 1 ms). */
export const MAX_TIMER_MS = 2_147_483_647;

/** A timeout in ms: > 0 and at most {@link MAX_TIMER_MS}, or Infinity for none. */
export function timeout(name: string, value: unknown): number {
  if (value === Number.POSITIVE_INFINITY) return value;
  positive(name, value);
  if ((value as number) > MAX_TIMER_MS) {
    throw new InvalidRequestError(`${name} must be at most ${MAX_TIMER_MS} ms or Infinity`);
  }
  return value as number;
}

/**
 * Refuses keys that are not options (a typo such as `consecutiveFailure` would otherwise
 * be ignored, and the guard would run on its defaults without a word).
 */
export function knownKeys(what: string, value: object, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new InvalidRequestError(
        `unknown ${what} option ${JSON.stringify(key)}; expected one of ${allowed.join(', ')}`,
      );
    }
  }
}
