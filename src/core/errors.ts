/**
 * The error hierarchy of http-sentinel. Every error the library throws is a
 * {@link SentinelError} with a stable string `code`; match on `code` (or use
 * {@link isSentinelError}, which narrows on it), never on `message`.
 */
import type { HttpResponse } from '../client/response.js';
import { fieldLine, INSPECT, type InspectContext, stackFrames, summarize } from './inspect.js';

const BRAND = Symbol.for('http-sentinel.error');

/** Fields every error has, left out of the line of a class's own fields when printed. */
const BASE_FIELDS = new Set(['name', 'code', 'attempts', 'method', 'url', 'host', 'detail']);

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
 * An error raised for a client call says which request failed: `method`, `url` (without
 * credentials, secret query values as `***`) and `host`, and its `message` starts with
 * the method and URL: `GET https://api.example.com/x: total timeout after 300 ms`.
 * `detail` keeps the message as raised (`total timeout after 300 ms`).
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
  /**
   * The upper-case method of the request that failed. Undefined for an error not raised
   * for a client call (a `ConnectionPool` or `CircuitBreaker` used on its own, an option
   * refused by a constructor).
   */
  readonly method: string | undefined;
  /**
   * The URL of the request that failed: for a redirect, the hop that failed. Credentials
   * are left out and the values of secret query parameters (`redactQueryParams`) are
   * `***`. Undefined like {@link method}.
   */
  readonly url: string | undefined;
  /**
   * `host:port` the failing request went to (for an upstream, the backend when one was
   * picked, else the upstream's name). Undefined like {@link method}.
   */
  readonly host: string | undefined;
  /** The message as raised, without the method and URL in front of it. */
  readonly detail: string;

  constructor(message: string, options: SentinelErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.attempts = options.attempts;
    this.method = undefined;
    this.url = undefined;
    this.host = undefined;
    this.detail = message;
  }

  /** Survives duplicate installs of the package, unlike `instanceof`. */
  get [BRAND](): true {
    return true;
  }

  /**
   * What `console.log(err)` shows: name, code and message, the request, the class's own
   * fields, the cause in one line, then the stack frames.
   */
  [INSPECT](depth: number, options: InspectContext): string {
    const head = `${this.name} [${this.code}]: ${this.message}`;
    if (depth < 0) return options.stylize(`[${head}]`, 'special');
    const lines = [head];
    const request = fieldLine(
      [
        ['method', this.method],
        ['url', this.url],
        ['host', this.host],
        ['attempts', this.attempts],
      ],
      options,
    );
    if (request !== '') lines.push(`  ${request}`);
    const own: Array<[string, unknown]> = [];
    for (const key of Object.keys(this)) {
      if (!BASE_FIELDS.has(key)) own.push([key, (this as unknown as Record<string, unknown>)[key]]);
    }
    const fields = fieldLine(own, options);
    if (fields !== '') lines.push(`  ${fields}`);
    if (this.cause !== undefined) lines.push(`  cause: ${summarize(this.cause, options)}`);
    const frames = stackFrames(this);
    if (frames !== '') lines.push(frames);
    return lines.join('\n');
  }
}

/**
 * True for any error thrown by any copy of http-sentinel. Narrows to
 * {@link AnySentinelError}, so that a check of `code` narrows to the class.
 *
 * @example
 * ```ts
 * if (isSentinelError(err) && err.code === 'SENTINEL_TIMEOUT') console.log(err.phase);
 * ```
 */
export function isSentinelError(value: unknown): value is AnySentinelError {
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
  override readonly name = 'TimeoutError' as const;
  readonly code = 'SENTINEL_TIMEOUT' as const;
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
  override readonly name = 'ConnectionError' as const;
  readonly code = 'SENTINEL_CONNECTION' as const;
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
  override readonly name = 'ProtocolError' as const;
  readonly code = 'SENTINEL_PROTOCOL' as const;
}

/** The response body is larger than `maxBodySize`. The connection is discarded. */
export class BodyTooLargeError extends SentinelError {
  override readonly name = 'BodyTooLargeError' as const;
  readonly code = 'SENTINEL_BODY_TOO_LARGE' as const;
  /** The limit in bytes. */
  readonly limit: number;

  constructor(limit: number, options?: SentinelErrorOptions) {
    super(`response body exceeds maxBodySize of ${limit} bytes`, options);
    this.limit = limit;
  }
}

/** The circuit breaker of `host` is open: the request was not sent. */
export class CircuitOpenError extends SentinelError {
  override readonly name = 'CircuitOpenError' as const;
  readonly code = 'SENTINEL_CIRCUIT_OPEN' as const;
  /** The breaker's host (`host:port`), or the upstream whose backends all refused. */
  override readonly host: string;
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
  override readonly name = 'PoolClosedError' as const;
  readonly code = 'SENTINEL_POOL_CLOSED' as const;

  constructor(message = 'the connection pool is closed', options?: SentinelErrorOptions) {
    super(message, options);
  }
}

/** The request or an option is invalid. Thrown before any I/O. */
export class InvalidRequestError extends SentinelError {
  override readonly name = 'InvalidRequestError' as const;
  readonly code = 'SENTINEL_INVALID_REQUEST' as const;
}

/** The caller's `AbortSignal` fired. */
export class AbortError extends SentinelError {
  override readonly name = 'AbortError' as const;
  readonly code = 'SENTINEL_ABORTED' as const;
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
  override readonly name = 'RequestBodyError' as const;
  readonly code = 'SENTINEL_REQUEST_BODY' as const;

  constructor(message = 'the request body source failed', options?: SentinelErrorOptions) {
    super(message, options);
  }
}

/**
 * What an {@link HttpStatusError} needs of a response: the client's {@link HttpResponse},
 * or, where one is made by hand (a `RetryEngine.execute` callback), any object with these.
 */
export interface ResponseLike {
  readonly status: number;
  readonly statusText: string;
  readonly url: string;
  /** Read for `Retry-After` by the retry policy. */
  readonly headers?: Headers;
}

/**
 * Status >= 400 with `throwHttpErrors: true`. Carries the full response, body read (for
 * `stream()` too), so `err.response.json()` gives the server's account of the error.
 * `R` is the response type: the client's `HttpResponse` unless one is made by hand.
 *
 * @example
 * ```ts
 * if (err instanceof HttpStatusError && err.status === 422) console.log(err.response.json());
 * ```
 */
export interface HttpStatusError<R extends ResponseLike = HttpResponse> extends SentinelError {
  readonly name: 'HttpStatusError';
  readonly code: 'SENTINEL_HTTP_STATUS';
  /** The response, as the client's other calls return it. */
  readonly response: R;
  readonly status: number;
}

/**
 * The constructor of {@link HttpStatusError}. Its `prototype` is typed with the client's
 * `HttpResponse`, so that `err instanceof HttpStatusError` narrows `err.response` to it.
 */
export interface HttpStatusErrorConstructor {
  new <R extends ResponseLike = HttpResponse>(
    response: R,
    options?: SentinelErrorOptions,
  ): HttpStatusError<R>;
  readonly prototype: HttpStatusError;
}

/** See the {@link HttpStatusError} type. */
export const HttpStatusError: HttpStatusErrorConstructor = class HttpStatusError<
  R extends ResponseLike,
> extends SentinelError {
  override readonly name = 'HttpStatusError' as const;
  readonly code = 'SENTINEL_HTTP_STATUS' as const;
  readonly status: number;
  readonly response: R;

  constructor(response: R, options?: SentinelErrorOptions) {
    super(
      `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`,
      options,
    );
    this.status = response.status;
    this.response = response;
  }
};

/**
 * Every error class, as a union discriminated by `code`: what {@link isSentinelError}
 * narrows to.
 *
 * @example
 * ```ts
 * function describe(err: AnySentinelError): string {
 *   switch (err.code) {
 *     case 'SENTINEL_TIMEOUT': return `timed out (${err.phase})`;
 *     case 'SENTINEL_HTTP_STATUS': return `status ${err.response.status}`;
 *     default: return err.message;
 *   }
 * }
 * ```
 */
export type AnySentinelError =
  | TimeoutError
  | ConnectionError
  | ProtocolError
  | BodyTooLargeError
  | CircuitOpenError
  | PoolClosedError
  | InvalidRequestError
  | AbortError
  | RequestBodyError
  | HttpStatusError;

/** The error class of each code. */
export type SentinelErrorOf<C extends SentinelErrorCode> = Extract<AnySentinelError, { code: C }>;
