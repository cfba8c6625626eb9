/**
 * Errors that say which request failed: the client's side of `labelRequest`. The URL an
 * error shows is the request's without credentials (they never reach a target's `href`)
 * and with the values of the client's secret query parameters as `***`. Only failed calls
 * pay for it.
 */
import { InvalidRequestError, type SentinelError } from '../core/errors.js';
import { labelRequest } from '../core/label.js';
import {
  DEFAULT_REDACT_QUERY_PARAMS,
  queryParamSet,
  redactInvalidUrl,
  redactQueryParams,
  redactUrl,
} from '../core/redact.js';
import type { Origin } from '../pool/origin.js';
import type { Call } from './call.js';
import { checkMethod, type PreparedRequest, type TargetCache } from './prepare.js';

/**
 * The checked `redactQueryParams`, lower-cased.
 * @throws {InvalidRequestError} when it is not an array of non-empty strings
 */
export function checkRedactQueryParams(names: unknown): ReadonlySet<string> {
  if (names === undefined) return queryParamSet(DEFAULT_REDACT_QUERY_PARAMS);
  if (!Array.isArray(names) || names.some((n) => typeof n !== 'string' || n === '')) {
    throw new InvalidRequestError('redactQueryParams must be an array of non-empty strings');
  }
  return queryParamSet(names as string[]);
}

/** The URL as an error shows it. */
export function shownUrl(href: string, redact: ReadonlySet<string>): string {
  return redactQueryParams(redactUrl(href), redact);
}

/** Labels `error` with a request (see `labelRequest`); once per error. */
export function labelError<E extends SentinelError>(
  error: E,
  method: string,
  href: string,
  host: string | undefined,
  redact: ReadonlySet<string>,
): E {
  if (error.method !== undefined) return error;
  return labelRequest(error, method, shownUrl(href, redact), host);
}

/**
 * Labels the error of an attempt of `request` that went to `origin` (for an upstream, the
 * backend; the URL's own when none was picked); with `call`, its attempts so far too.
 */
export function labelAttempt(
  error: SentinelError,
  request: PreparedRequest,
  origin: Origin | undefined,
  redact: ReadonlySet<string>,
  call?: Call,
): void {
  if (call !== undefined) error.attempts ??= call.reportedAttempts;
  const { target } = request;
  labelError(error, request.method, target.href, (origin ?? target.origin).key, redact);
}

/**
 * Labels the error of a call refused before its request was prepared (a bad method, URL,
 * header or option, a closed client): with the method and URL as far as they can be read.
 */
export function labelRefused<E extends SentinelError>(
  error: E,
  method: unknown,
  url: unknown,
  targets: TargetCache,
  redact: ReadonlySet<string>,
): E {
  if (error.method !== undefined) return error;
  let shownMethod: string;
  try {
    shownMethod = checkMethod(method);
  } catch {
    shownMethod = JSON.stringify(typeof method === 'string' ? method : String(method));
  }
  try {
    const target = targets.resolve(url);
    return labelRequest(error, shownMethod, shownUrl(target.href, redact), target.origin.key);
  } catch {
    const text = url instanceof URL ? redactUrl(url.href) : redactInvalidUrl(String(url));
    return labelRequest(error, shownMethod, redactQueryParams(text, redact), undefined);
  }
}
