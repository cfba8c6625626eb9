/**
 * Redirect rules as a pure function: which responses are followed, with what method,
 * body and headers. Credentials never cross origins, and https never downgrades to http.
 */
import { ProtocolError } from '../core/errors.js';
import { type HeaderList, withoutHeaders } from '../core/headers.js';

/** Headers that carry credentials and must not reach another origin. */
export const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'] as const;
const BODY_HEADERS = ['content-type', 'content-length', 'content-encoding', 'transfer-encoding'];

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
): RedirectHop | undefined {
  if (location === undefined || location === '') return undefined;
  let url: URL;
  try {
    url = new URL(location, current);
  } catch (cause) {
    throw new ProtocolError(`invalid redirect location ${JSON.stringify(location)}`, { cause });
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
    nextHeaders = withoutHeaders(nextHeaders, [...CREDENTIAL_HEADERS, 'host']);
  }
  return { url, method: nextMethod, keepBody, headers: nextHeaders };
}
