/**
 * Configuration of retries: the public options, their defaults and the one place they are
 * validated and normalised.
 */
import { InvalidRequestError, type TimeoutPhase } from '../core/errors.js';
import { inRange, integer, knownKeys, MAX_TIMER_MS, nonNegative } from '../core/validate.js';
import { type BackoffConfig, JITTER_MODES, type JitterMode } from './backoff.js';
import type { RetryContext, RetryPolicyConfig } from './policy.js';

/**
 * How requests are retried. Every field is optional where a `Partial<RetryConfig>` is taken;
 * {@link DEFAULT_RETRY_CONFIG} holds the defaults.
 */
export interface RetryConfig {
  /**
   * Attempts in all, the first one included; 1 never retries.
   * @default 3
   */
  maxAttempts: number;
  /**
   * Base of the delay after the first failed attempt, in ms.
   * @default 100
   */
  initialDelayMs: number;
  /**
   * Cap on any computed delay, in ms (a server's `Retry-After` may ask for more, up to
   * `maxRetryAfterMs`).
   * @default 10_000
   */
  maxDelayMs: number;
  /**
   * Growth of the base delay per attempt: `initialDelayMs × backoffMultiplier^attempt`.
   * @default 2
   */
  backoffMultiplier: number;
  /**
   * How the base delay is randomised; see {@link JitterMode}.
   * @default 'full' ('proportional' when only `jitterFactor` is given)
   */
  jitter: JitterMode;
  /**
   * Spread of `proportional` jitter: the delay is `base × (1 ± jitterFactor)`. In [0, 1].
   * @default 0.2
   */
  jitterFactor: number;
  /**
   * Methods that are safe to repeat. Others are retried only with an idempotency key.
   * @default ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']
   */
  methods: Iterable<string>;
  /**
   * Response statuses worth another attempt.
   * @default [408, 425, 429, 500, 502, 503, 504]
   */
  statusCodes: Iterable<number>;
  /**
   * Which `TimeoutError` phases are retried. `total` is refused: the call is over.
   * @default ['connect', 'headers', 'attempt']
   */
  timeoutPhases: Iterable<TimeoutPhase>;
  /**
   * The longest `Retry-After` / `retry-after-ms` honoured, in ms; a server asking for more
   * gets its response returned instead of a retry.
   * @default 60_000
   */
  maxRetryAfterMs: number;
  /**
   * Overrides the method/status/error classification: `true` retries, `false` stops,
   * `undefined` falls back to the default policy. The attempt cap, one-shot bodies,
   * `maxRetryAfterMs` and the deadline still apply.
   * @default undefined
   * @example
   * ```ts
   * new RetryEngine({ shouldRetry: (ctx) => (ctx.status === 409 ? true : undefined) });
   * ```
   */
  shouldRetry: ((ctx: Readonly<RetryContext>) => boolean | undefined) | undefined;
}

/** The fully required, validated form of {@link RetryConfig} an engine runs on. */
export interface NormalizedRetryConfig extends BackoffConfig, RetryPolicyConfig {
  readonly methods: ReadonlySet<string>;
  readonly statusCodes: ReadonlySet<number>;
  readonly timeoutPhases: ReadonlySet<TimeoutPhase>;
}

/** The defaults of every {@link RetryConfig} field; the docs table mirrors it. */
export const DEFAULT_RETRY_CONFIG = Object.freeze({
  maxAttempts: 3,
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  backoffMultiplier: 2,
  jitter: 'full' as JitterMode,
  jitterFactor: 0.2,
  methods: Object.freeze(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']) as readonly string[],
  statusCodes: Object.freeze([408, 425, 429, 500, 502, 503, 504]) as readonly number[],
  timeoutPhases: Object.freeze(['connect', 'headers', 'attempt']) as readonly TimeoutPhase[],
  maxRetryAfterMs: 60_000,
  shouldRetry: undefined as RetryConfig['shouldRetry'],
}) satisfies Readonly<RetryConfig>;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const RETRYABLE_PHASES: ReadonlySet<string> = new Set([
  'connect',
  'acquire',
  'headers',
  'body',
  'attempt',
]);

function setOf<T>(name: string, value: unknown, check: (item: unknown) => T): ReadonlySet<T> {
  if (
    typeof value === 'string' ||
    typeof value !== 'object' ||
    value === null ||
    typeof (value as Iterable<unknown>)[Symbol.iterator] !== 'function'
  ) {
    throw new InvalidRequestError(`${name} must be an array or other iterable`);
  }
  const out = new Set<T>();
  for (const item of value as Iterable<unknown>) out.add(check(item));
  return out;
}

function capped(name: string, value: unknown): number {
  nonNegative(name, value);
  if ((value as number) > MAX_TIMER_MS) {
    throw new InvalidRequestError(`${name} must be at most ${MAX_TIMER_MS} ms`);
  }
  return value as number;
}

/**
 * Validates a partial configuration and fills in the defaults. Never mutates its input;
 * fields set to `undefined` take their default.
 *
 * @throws InvalidRequestError naming the first invalid option
 */
export function normalizeRetryConfig(partial: Partial<RetryConfig> = {}): NormalizedRetryConfig {
  if (typeof partial !== 'object' || partial === null) {
    throw new InvalidRequestError('retry config must be an object');
  }
  const d = DEFAULT_RETRY_CONFIG;
  knownKeys('retry', partial, Object.keys(d));
  const maxAttempts = integer('maxAttempts', partial.maxAttempts ?? d.maxAttempts, 1);
  const initialDelayMs = capped('initialDelayMs', partial.initialDelayMs ?? d.initialDelayMs);
  const maxDelayMs = capped('maxDelayMs', partial.maxDelayMs ?? d.maxDelayMs);
  if (initialDelayMs > maxDelayMs) {
    throw new InvalidRequestError(
      `initialDelayMs (${initialDelayMs}) must not exceed maxDelayMs (${maxDelayMs})`,
    );
  }
  const backoffMultiplier = partial.backoffMultiplier ?? d.backoffMultiplier;
  if (
    typeof backoffMultiplier !== 'number' ||
    !Number.isFinite(backoffMultiplier) ||
    backoffMultiplier < 1
  ) {
    throw new InvalidRequestError(
      `backoffMultiplier must be a finite number >= 1, got ${String(backoffMultiplier)}`,
    );
  }
  const jitter = partial.jitter ?? (partial.jitterFactor !== undefined ? 'proportional' : d.jitter);
  if (!JITTER_MODES.includes(jitter)) {
    throw new InvalidRequestError(
      `jitter must be one of ${JITTER_MODES.join(', ')}, got ${String(jitter)}`,
    );
  }
  const jitterFactor = inRange('jitterFactor', partial.jitterFactor ?? d.jitterFactor, 0, 1);
  const methods = setOf('methods', partial.methods ?? d.methods, (m) => {
    if (typeof m !== 'string' || !TOKEN.test(m)) {
      throw new InvalidRequestError(`methods must hold HTTP method names, got ${String(m)}`);
    }
    return m.toUpperCase();
  });
  const statusCodes = setOf('statusCodes', partial.statusCodes ?? d.statusCodes, (s) => {
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 100 || s > 599) {
      throw new InvalidRequestError(
        `statusCodes must hold integers in [100, 599], got ${String(s)}`,
      );
    }
    return s;
  });
  const timeoutPhases = setOf('timeoutPhases', partial.timeoutPhases ?? d.timeoutPhases, (p) => {
    if (typeof p !== 'string' || !RETRYABLE_PHASES.has(p)) {
      throw new InvalidRequestError(
        `timeoutPhases must hold ${[...RETRYABLE_PHASES].join(', ')}, got ${String(p)}`,
      );
    }
    return p as TimeoutPhase;
  });
  const maxRetryAfterMs = capped('maxRetryAfterMs', partial.maxRetryAfterMs ?? d.maxRetryAfterMs);
  const shouldRetry = partial.shouldRetry;
  if (shouldRetry !== undefined && typeof shouldRetry !== 'function') {
    throw new InvalidRequestError('shouldRetry must be a function');
  }
  return Object.freeze({
    maxAttempts,
    initialDelayMs,
    maxDelayMs,
    backoffMultiplier,
    jitter,
    jitterFactor,
    methods,
    statusCodes,
    timeoutPhases,
    maxRetryAfterMs,
    shouldRetry,
  });
}
