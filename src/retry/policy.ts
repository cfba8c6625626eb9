/**
 * The retry decision as a pure function: given what happened on an attempt and the
 * normalised policy, retry (after how long) or stop (and why). The engine and the HTTP
 * client only ask it; they never decide themselves.
 */
import { InvalidRequestError, isSentinelError, type TimeoutPhase } from '../core/errors.js';
import { classify } from '../core/outcome.js';
import { parseRetryAfter } from './retry-after.js';

/** What the policy knows about the attempt that just failed. */
export interface RetryContext {
  /** 0-based index of the attempt that just failed (0 = the first attempt). */
  attempt: number;
  /** The request method, any case. */
  method: string;
  /** True when the request carries an `Idempotency-Key`: safe to repeat whatever the method. */
  idempotencyKey?: boolean;
  /** False when the body is one-shot (a stream already consumed): it can never be re-sent. */
  replayable: boolean;
  /** The error the attempt failed with, if it threw. */
  error?: unknown;
  /** The response status, if a response arrived. */
  status?: number;
  /** The response headers, for `Retry-After` / `retry-after-ms`. */
  headers?: Headers;
  /** Time left of the whole-call deadline, in ms; Infinity (or absent) when there is none. */
  remainingMs?: number;
}

/** Why the policy said no. */
export type RetryStopReason =
  | 'max-attempts'
  | 'not-idempotent'
  | 'not-replayable'
  | 'not-retryable'
  | 'retry-after-too-long'
  | 'deadline'
  | 'user';

/** The policy's answer: retry after `delayMs`, or stop with a reason. */
export type RetryDecision =
  | {
      retry: true;
      /** How long to wait before the next attempt. */
      delayMs: number;
      /** What the server asked for, when it did (`delayMs` is never less). */
      retryAfterMs?: number;
    }
  | { retry: false; reason: RetryStopReason };

/** The fields of a normalised retry configuration that the decision reads. */
export interface RetryPolicyConfig {
  readonly maxAttempts: number;
  readonly methods: ReadonlySet<string>;
  readonly statusCodes: ReadonlySet<number>;
  readonly timeoutPhases: ReadonlySet<TimeoutPhase>;
  readonly maxRetryAfterMs: number;
  readonly shouldRetry?: ((ctx: Readonly<RetryContext>) => boolean | undefined) | undefined;
}

/**
 * System error codes that will not change on a retry: the name does not resolve, or the
 * peer's certificate is not trusted. Everything else at the connection level (reset,
 * refused, EAI_AGAIN, EPIPE, unreachable, socket closed) is treated as transient.
 */
const PERMANENT_ERRNOS = new Set([
  'ENOTFOUND',
  'EAI_NONAME',
  'EAI_FAIL',
  'EAI_NODATA',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** True for a system error code that a retry will not cure. */
export function isPermanentErrno(errno: string | undefined): boolean {
  return errno !== undefined && PERMANENT_ERRNOS.has(errno);
}

/**
 * Whether an error is worth another attempt, by the outcome classifier's verdict (its
 * stable `code`, never its message):
 *
 * - connection failures: yes, unless the errno is permanent (ENOTFOUND, TLS trust);
 * - timeouts: when the phase is in `timeoutPhases` (default connect, headers, attempt).
 *   `total` never (the call is over); `acquire` not by default: our own pool is saturated
 *   and a retry would only queue behind the same backlog;
 * - `HttpStatusError`: by its status, like a response;
 * - aborts, the caller's body, invalid requests, oversize bodies, open circuits, closed
 *   pools, malformed responses: no;
 * - errors that are not http-sentinel's (a standalone `execute` of the caller's own
 *   work): yes, as cockatiel and Polly do, except anything named `AbortError` and a
 *   permanent system error code.
 */
export function isRetryableError(
  error: unknown,
  config: Pick<RetryPolicyConfig, 'timeoutPhases' | 'statusCodes'>,
): boolean {
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    status?: number;
    phase?: TimeoutPhase;
    errno?: string;
    code?: unknown;
  };
  switch (classify({ error }).retry) {
    case 'never':
      return false;
    case 'status':
      return config.statusCodes.has(e.status!);
    case 'phase':
      return config.timeoutPhases.has(e.phase!);
    case 'errno':
      return !isPermanentErrno(
        isSentinelError(error) ? e.errno : typeof e.code === 'string' ? e.code : undefined,
      );
  }
}

/** The status and headers carried by an `HttpStatusError`, when that is the error. */
function responseOf(error: unknown): { status?: number; headers?: Headers } {
  if (!isSentinelError(error) || error.code !== 'SENTINEL_HTTP_STATUS') return {};
  const { status, response } = error as unknown as {
    status: number;
    response?: { headers?: unknown };
  };
  const headers = response?.headers;
  return typeof (headers as Headers | undefined)?.get === 'function'
    ? { status, headers: headers as Headers }
    : { status };
}

/**
 * Decides whether to retry after a failed attempt. Pure: the computed backoff and the wall
 * clock are arguments.
 *
 * Order: the attempt cap and a one-shot body are hard limits; then `shouldRetry` (if it
 * returns a boolean) replaces the method/status/error classification; then `Retry-After`
 * is a floor on the delay (`max(retryAfter, computed)`) — above `maxRetryAfterMs` the
 * response stands; finally a delay that would use up the remaining deadline is not taken.
 *
 * @param computeDelayMs - the backoff for this attempt (from `calculateDelay`); called only
 *   when a retry is on the cards, so a random draw is not spent on a refusal
 * @param nowWallMs - `Clock.wallNow()`, for HTTP-date `Retry-After` values
 */
export function decideRetry(
  config: RetryPolicyConfig,
  ctx: Readonly<RetryContext>,
  computeDelayMs: () => number,
  nowWallMs: number,
): RetryDecision {
  if (ctx.attempt + 1 >= config.maxAttempts) return { retry: false, reason: 'max-attempts' };
  if (!ctx.replayable) return { retry: false, reason: 'not-replayable' };

  const fromError = responseOf(ctx.error);
  const status = ctx.status ?? fromError.status;
  const headers = ctx.headers ?? fromError.headers;

  let verdict: boolean | undefined;
  try {
    verdict = config.shouldRetry?.(ctx);
  } catch (cause) {
    // The caller's bug, not a verdict on the attempt: fail the call with it as the cause.
    throw new InvalidRequestError(
      `retry.shouldRetry threw: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
  if (verdict === false) return { retry: false, reason: 'user' };
  if (verdict !== true) {
    if (!ctx.idempotencyKey && !config.methods.has(ctx.method.toUpperCase())) {
      return { retry: false, reason: 'not-idempotent' };
    }
    const retryable =
      ctx.error !== undefined
        ? isRetryableError(ctx.error, config)
        : status !== undefined && config.statusCodes.has(status);
    if (!retryable) return { retry: false, reason: 'not-retryable' };
  }

  let delayMs = computeDelayMs();
  const retryAfterMs = headers === undefined ? undefined : parseRetryAfter(headers, nowWallMs);
  if (retryAfterMs !== undefined) {
    if (retryAfterMs > config.maxRetryAfterMs) {
      return { retry: false, reason: 'retry-after-too-long' };
    }
    delayMs = Math.max(delayMs, retryAfterMs);
  }
  // Waiting out the whole remaining deadline leaves no time for the attempt itself.
  if (ctx.remainingMs !== undefined && delayMs >= ctx.remainingMs) {
    return { retry: false, reason: 'deadline' };
  }
  return retryAfterMs === undefined
    ? { retry: true, delayMs }
    : { retry: true, delayMs, retryAfterMs };
}
