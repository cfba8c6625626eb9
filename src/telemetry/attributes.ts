/**
 * Names and values of the OpenTelemetry HTTP client semantic conventions, and the
 * library's own, as the instruments and spans use them.
 */
import type { Attributes } from '@opentelemetry/api';
import { redactQueryParams } from '../core/redact.js';
import { bareHost } from '../pool/channels.js';

/** @internal The library's instrumentation scope. */
export const SCOPE = 'http-sentinel';

/** @internal */
export const METHOD = 'http.request.method';
/** @internal */
export const METHOD_ORIGINAL = 'http.request.method_original';
/** @internal */
export const SERVER_ADDRESS = 'server.address';
/** @internal */
export const SERVER_PORT = 'server.port';
/** @internal */
export const URL_SCHEME = 'url.scheme';
/** @internal */
export const URL_FULL = 'url.full';
/** @internal */
export const STATUS_CODE = 'http.response.status_code';
/** @internal */
export const ERROR_TYPE = 'error.type';
/** @internal */
export const RESEND_COUNT = 'http.request.resend_count';
/** @internal */
export const CONNECTION_STATE = 'http.connection.state';
/** @internal */
export const BREAKER_STATE = 'http_sentinel.breaker.state';
/** @internal */
export const REFUSED_BY = 'http_sentinel.retry.refused_by';

/** @internal The semantic conventions' buckets for request durations, in seconds. */
export const DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];
/** @internal The semantic conventions' buckets for connection lifetimes, in seconds. */
export const CONNECTION_BUCKETS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];

const KNOWN_METHODS = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'TRACE',
]);

/**
 * @internal
 * The method as the conventions name it: a known one as is, any other `_OTHER` (the
 * original then goes in `http.request.method_original`), so the value stays bounded.
 */
export function methodOf(method: string): string {
  return KNOWN_METHODS.has(method) ? method : '_OTHER';
}

/** @internal Sets the method attributes on `attrs`. */
export function setMethod(attrs: Attributes, method: string): void {
  const known = methodOf(method);
  attrs[METHOD] = known;
  if (known === '_OTHER') attrs[METHOD_ORIGINAL] = method;
}

/** Query parameters whose values the conventions redact in `url.full` (signed URLs). */
const SIGNED = /([?&](?:AWSAccessKeyId|Signature|sig|X-Goog-Signature)=)[^&#]*/g;

/**
 * @internal
 * `url.full`: the target (which never holds credentials: they travel in a header) with
 * the values of signing query parameters replaced by `REDACTED`, and those of the client's
 * `redactQueryParams` by `***`, as its errors show them.
 */
export function fullUrl(href: string, redact?: ReadonlySet<string>): string {
  const shown = redact === undefined ? href : redactQueryParams(href, redact);
  return shown.includes('?') ? shown.replace(SIGNED, '$1REDACTED') : shown;
}

/**
 * @internal
 * `server.address` and `server.port` of a `host:port` key (as the pool and breakers
 * name hosts), or of an origin when the key had to carry its scheme.
 */
export function hostAttributes(key: string): Attributes {
  const at = key.indexOf('://');
  const hostPort = at === -1 ? key : key.slice(at + 3);
  const colon = hostPort.lastIndexOf(':');
  return {
    [SERVER_ADDRESS]: bareHost(hostPort.slice(0, colon)),
    [SERVER_PORT]: Number(hostPort.slice(colon + 1)),
  };
}

/** @internal `server.address` and `server.port` of a URL (a retry event's). */
export function urlAttributes(url: string): Attributes {
  try {
    const parsed = new URL(url);
    const port =
      parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
    return { [SERVER_ADDRESS]: bareHost(parsed.hostname), [SERVER_PORT]: port };
  } catch {
    return {};
  }
}
