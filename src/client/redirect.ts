/**
 * Redirect rules as a pure function: which responses are followed, with what method,
 * body and headers. Credentials never cross origins, and https never downgrades to http.
 */
import { InvalidRequestError, ProtocolError } from '../core/errors.js';
import { type HeaderList, withoutHeaders } from '../core/headers.js';
import { redactInvalidUrl } from '../core/redact.js';
import { scrubbedUrlError } from './url.js';

/** Headers that carry credentials and never reach another origin, whatever the options. */
export const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'] as const;

/**
 * The default of `ClientOptions.redirectStripHeaders`: the API-key and token headers in
 * common use, dropped on a cross-origin hop like `authorization`.
 */
export const DEFAULT_REDIRECT_STRIP_HEADERS: readonly string[] = Object.freeze([
  'x-api-key',
  'api-key',
  'x-auth-token',
  'x-access-token',
  'x-refresh-token',
  'x-session-token',
  'x-csrf-token',
  'x-xsrf-token',
  'x-amz-security-token',
  'x-goog-api-key',
  'ocp-apim-subscription-key',
  'x-functions-key',
  'x-vault-token',
  'private-token',
]);

/**
 * The Fetch standard's request-body headers (HTTP-redirect fetch removes them when the
 * method becomes GET), with the framing headers that describe the body too.
 */
const BODY_HEADERS = [
  'content-type',
  'content-length',
  'content-encoding',
  'content-language',
  'content-location',
  'transfer-encoding',
];

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The headers a cross-origin hop drops: {@link CREDENTIAL_HEADERS}, `host`, and `extra`
 * (checked and lower-cased).
 *
 * @throws {InvalidRequestError} when `extra` is not an array of header names
 */
export function crossOriginStripList(extra: unknown): readonly string[] {
  if (!Array.isArray(extra)) {
    throw new InvalidRequestError('redirectStripHeaders must be an array of header names');
  }
  const names = new Set<string>([...CREDENTIAL_HEADERS, 'host']);
  for (const name of extra) {
    if (typeof name !== 'string' || !TOKEN.test(name)) {
      throw new InvalidRequestError(
        `redirectStripHeaders: invalid header name ${JSON.stringify(name)}`,
      );
    }
    names.add(name.toLowerCase());
  }
  return Object.freeze([...names]);
}

const DEFAULT_STRIP = crossOriginStripList(DEFAULT_REDIRECT_STRIP_HEADERS);

/** The next hop of a redirect. */
export interface RedirectHop {
  url: URL;
  method: string;
  /** False when the body must be dropped (the method became GET). */
  keepBody: boolean;
  headers: HeaderList;
}

/** Whether `status` is a redirect that carries a `Location`. */
export function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/**
 * The next hop for a redirect response, or undefined when it is not to be followed
 * (no `Location`, or a 307/308 whose one-shot body cannot be sent again).
 *
 * @param crossOriginStrip - headers dropped on a hop to another origin
 *   ({@link crossOriginStripList})
 * @throws {ProtocolError} for an invalid `Location` or an https -> http redirect
 */
export function nextHop(
  current: URL,
  method: string,
  status: number,
  location: string | undefined,
  headers: HeaderList,
  bodyReplayable: boolean,
  hasBody: boolean,
  crossOriginStrip: readonly string[] = DEFAULT_STRIP,
): RedirectHop | undefined {
  if (location === undefined || location === '') return undefined;
  let url: URL;
  try {
    url = new URL(location, current);
  } catch (cause) {
    throw new ProtocolError(
      `invalid redirect location ${JSON.stringify(redactInvalidUrl(location))}`,
      { cause: scrubbedUrlError(cause) },
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ProtocolError(`refusing redirect to ${url.protocol} URL`);
  }
  if (current.protocol === 'https:' && url.protocol === 'http:') {
    throw new ProtocolError(`refusing redirect from https to http (${url.origin})`);
  }
  let nextMethod = method;
  let keepBody = true;
  if (
    (status === 303 && method !== 'HEAD') ||
    ((status === 301 || status === 302) && method === 'POST')
  ) {
    nextMethod = status === 303 && method === 'HEAD' ? 'HEAD' : 'GET';
    keepBody = false;
  }
  if (keepBody && hasBody && !bodyReplayable) return undefined;
  let nextHeaders = keepBody ? headers : withoutHeaders(headers, BODY_HEADERS);
  if (url.origin !== current.origin) {
    nextHeaders = withoutHeaders(nextHeaders, crossOriginStrip);
  }
  return { url, method: nextMethod, keepBody, headers: nextHeaders };
}
