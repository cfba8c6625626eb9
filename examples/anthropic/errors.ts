/**
 * Typed errors of the Anthropic API, built from an error response (any non-2xx) or from
 * an `event: error` inside a stream. Transport failures are not wrapped: they stay
 * http-sentinel's own errors (`TimeoutError`, `ConnectionError`, ...), with their codes.
 */

const BRAND = Symbol.for('http-sentinel.examples.anthropic-api-error');

/** Error `type`s the API documents, by the status that carries them. */
const TYPE_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

/** Fields of {@link AnthropicApiError}. */
export interface AnthropicApiErrorInit {
  status: number | undefined;
  type: string;
  message: string;
  requestId: string | undefined;
  retryAfterMs?: number | undefined;
  attempts?: number | undefined;
  cause?: unknown;
}

/**
 * An error answered by the API: `{"type":"error","error":{"type","message"},"request_id"}`.
 *
 * @example
 * ```ts
 * try { await anthropic.sendMessage(model, 'hi', 100); }
 * catch (err) { if (isAnthropicApiError(err) && err.type === 'rate_limit_error') wait(err.retryAfterMs); }
 * ```
 */
export class AnthropicApiError extends Error {
  override readonly name = 'AnthropicApiError';
  readonly code = 'ANTHROPIC_API_ERROR';
  /** HTTP status; `undefined` for an `event: error` inside a 200 stream. */
  readonly status: number | undefined;
  /** The API's `error.type`, e.g. `overloaded_error`. */
  readonly type: string;
  /** The `request-id` header (or the body's `request_id`). */
  readonly requestId: string | undefined;
  /** The server's `retry-after`, in ms, when it sent one. */
  readonly retryAfterMs: number | undefined;
  /** HTTP attempts made before giving up (1 = no retry). */
  readonly attempts: number | undefined;

  constructor(init: AnthropicApiErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.type = init.type;
    this.requestId = init.requestId;
    this.retryAfterMs = init.retryAfterMs;
    this.attempts = init.attempts;
  }

  /** Survives duplicate copies of this module, unlike `instanceof`. */
  get [BRAND](): true {
    return true;
  }
}

/** True for an {@link AnthropicApiError} from any copy of this module. */
export function isAnthropicApiError(value: unknown): value is AnthropicApiError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[BRAND] === true
  );
}

interface ErrorBody {
  error?: { type?: unknown; message?: unknown };
  request_id?: unknown;
}

/** The error of a non-2xx response, whatever its body (JSON error, HTML from a proxy, empty). */
export function apiErrorFromResponse(
  status: number,
  headers: Headers,
  bodyText: string,
  attempts: number,
): AnthropicApiError {
  let body: ErrorBody = {};
  try {
    const parsed: unknown = JSON.parse(bodyText);
    if (typeof parsed === 'object' && parsed !== null) body = parsed as ErrorBody;
  } catch {
    // Not JSON (a proxy's HTML page, an empty body): status and raw text are all there is.
  }
  const type = typeof body.error?.type === 'string' ? body.error.type : undefined;
  const message = typeof body.error?.message === 'string' ? body.error.message : undefined;
  const requestId =
    headers.get('request-id') ??
    (typeof body.request_id === 'string' ? body.request_id : undefined);
  return new AnthropicApiError({
    status,
    type: type ?? TYPE_BY_STATUS[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error'),
    message: message ?? (bodyText.trim().slice(0, 200) || `HTTP ${status}`),
    requestId,
    retryAfterMs: retryAfterMs(headers),
    attempts,
  });
}

/** The error of an `event: error` received inside a stream. */
export function apiErrorFromEvent(data: string, requestId: string | undefined): AnthropicApiError {
  let body: ErrorBody = {};
  try {
    body = JSON.parse(data) as ErrorBody;
  } catch {
    // A malformed error event is still an error.
  }
  return new AnthropicApiError({
    status: undefined,
    type: typeof body.error?.type === 'string' ? body.error.type : 'api_error',
    message: typeof body.error?.message === 'string' ? body.error.message : data,
    requestId,
    attempts: 1,
  });
}

function retryAfterMs(headers: Headers): number | undefined {
  const ms = Number(headers.get('retry-after-ms') ?? Number.NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const seconds = Number(headers.get('retry-after') ?? Number.NaN);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}
