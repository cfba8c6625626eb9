/**
 * The error hierarchy of http-sentinel. Every error the library throws is a
 * {@link SentinelError} with a stable string `code`; match on `code` (or use
 * {@link isSentinelError}), never on `message`.
 */

const BRAND = Symbol.for('http-sentinel.error');

/** Stable codes of every error class, for `switch (err.code)`. */
export type SentinelErrorCode =
  | 'SENTINEL_TIMEOUT'
  | 'SENTINEL_CONNECTION'
  | 'SENTINEL_PROTOCOL'
  | 'SENTINEL_BODY_TOO_LARGE'
  | 'SENTINEL_CIRCUIT_OPEN'
  | 'SENTINEL_POOL_CLOSED'
  | 'SENTINEL_INVALID_REQUEST'
  | 'SENTINEL_ABORTED'
  | 'SENTINEL_REQUEST_BODY'
  | 'SENTINEL_HTTP_STATUS';

/** Options every error accepts. */
export interface SentinelErrorOptions {
  cause?: unknown;
  /** Attempts made by the client before this error was thrown (1 = no retry). */
  attempts?: number;
}

/**
 * Base class of every error thrown by http-sentinel.
 *
 * @example
 * ```ts
 * try { await client.get(url); }
 * catch (err) { if (isSentinelError(err) && err.code === 'SENTINEL_TIMEOUT') retryLater(); }
 * ```
 */
export abstract class SentinelError extends Error {
  abstract readonly code: SentinelErrorCode;
  /** Attempts made by the client for this call, set when the client throws it. */
  attempts: number | undefined;

  constructor(message: string, options: SentinelErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.attempts = options.attempts;
  }

  /** Survives duplicate installs of the package, unlike `instanceof`. */
  get [BRAND](): true {
    return true;
  }
}

/** True for any error thrown by any copy of http-sentinel. */
export function isSentinelError(value: unknown): value is SentinelError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[BRAND] === true
  );
}

/** Where in a request a deadline ran out. */
export type TimeoutPhase = 'connect' | 'acquire' | 'headers' | 'body' | 'attempt' | 'total';

/** A deadline ran out; `phase` says which one. */
export class TimeoutError extends SentinelError {
  override readonly name = 'TimeoutError';
  readonly code = 'SENTINEL_TIMEOUT';
  readonly phase: TimeoutPhase;
  /** The deadline that ran out, in ms. */
  readonly timeoutMs: number;

  constructor(phase: TimeoutPhase, timeoutMs: number, options?: SentinelErrorOptions) {
    super(`${phase} timeout after ${timeoutMs} ms`, options);
    this.phase = phase;
    this.timeoutMs = timeoutMs;
  }
}

/** The connection could not be made or broke (refused, reset, DNS failure, closed). */
export class ConnectionError extends SentinelError {
  override readonly name = 'ConnectionError';
  readonly code = 'SENTINEL_CONNECTION';
  /** The failing system call from the cause, e.g. `connect`. */
  readonly syscall: string | undefined;
  /** The system error code from the cause, e.g. `ECONNREFUSED`, `ECONNRESET`, `ENOTFOUND`. */
  readonly errno: string | undefined;
  /** True when no byte of the response had arrived when the connection failed. */
  readonly beforeResponse: boolean;

  constructor(
    message: string,
    options: SentinelErrorOptions & {
      syscall?: string | undefined;
      errno?: string | undefined;
      beforeResponse?: boolean;
    } = {},
  ) {
    super(message, options);
    this.syscall = options.syscall;
    this.errno = options.errno;
    this.beforeResponse = options.beforeResponse ?? false;
  }
}

/** The server sent something that is not valid HTTP, or cut a response short. */
export class ProtocolError extends SentinelError {
  override readonly name = 'ProtocolError';
  readonly code = 'SENTINEL_PROTOCOL';
}

/** The response body is larger than `maxBodySize`. The connection is discarded. */
export class BodyTooLargeError extends SentinelError {
  override readonly name = 'BodyTooLargeError';
  readonly code = 'SENTINEL_BODY_TOO_LARGE';
  /** The limit in bytes. */
  readonly limit: number;

  constructor(limit: number, options?: SentinelErrorOptions) {
    super(`response body exceeds maxBodySize of ${limit} bytes`, options);
    this.limit = limit;
  }
}

/** The circuit breaker of `host` is open: the request was not sent. */
export class CircuitOpenError extends SentinelError {
  override readonly name = 'CircuitOpenError';
  readonly code = 'SENTINEL_CIRCUIT_OPEN';
  readonly host: string;
  /** When a probe will next be let through, in ms from now. */
  readonly retryAfterMs: number;

  constructor(host: string, retryAfterMs: number, options?: SentinelErrorOptions) {
    super(`circuit for ${host} is open; retry after ${Math.ceil(retryAfterMs)} ms`, options);
    this.host = host;
    this.retryAfterMs = retryAfterMs;
  }
}

/** The pool (or client) was closed. */
export class PoolClosedError extends SentinelError {
  override readonly name = 'PoolClosedError';
  readonly code = 'SENTINEL_POOL_CLOSED';

  constructor(message = 'the connection pool is closed', options?: SentinelErrorOptions) {
    super(message, options);
  }
}

/** The request or an option is invalid. Thrown before any I/O. */
export class InvalidRequestError extends SentinelError {
  override readonly name = 'InvalidRequestError';
  readonly code = 'SENTINEL_INVALID_REQUEST';
}

/** The caller's `AbortSignal` fired. */
export class AbortError extends SentinelError {
  override readonly name = 'AbortError';
  readonly code = 'SENTINEL_ABORTED';
  /** The signal's reason. */
  readonly reason: unknown;

  constructor(reason?: unknown, options?: SentinelErrorOptions) {
    super('the request was aborted', { cause: reason, ...options });
    this.reason = reason;
  }
}

/**
 * The caller's request body source failed (a stream or generator threw, a file could not
 * be read). Never retried: the source is spent. Never the host's fault.
 */
export class RequestBodyError extends SentinelError {
  override readonly name = 'RequestBodyError';
  readonly code = 'SENTINEL_REQUEST_BODY';

  constructor(message = 'the request body source failed', options?: SentinelErrorOptions) {
    super(message, options);
  }
}

/** Minimal view of a response, so that core does not import the client. */
export interface ResponseLike {
  readonly status: number;
  readonly statusText: string;
  readonly url: string;
}

/** Status >= 400 with `throwHttpErrors: true`. Carries the full response. */
export class HttpStatusError<R extends ResponseLike = ResponseLike> extends SentinelError {
  override readonly name = 'HttpStatusError';
  readonly code = 'SENTINEL_HTTP_STATUS';
  readonly response: R;
  readonly status: number;

  constructor(response: R, options?: SentinelErrorOptions) {
    super(
      `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''} from ${response.url}`,
      options,
    );
    this.response = response;
    this.status = response.status;
  }
}
