/**
 * Where a request's URL points: a `baseUrl` checked once, and each URL resolved against
 * it as a prefix (ky's `prefixUrl`), before any I/O.
 */
import { InvalidRequestError } from '../core/errors.js';
import { redactInvalidUrl, redactUrl } from '../core/redact.js';

/** A scheme and `//`: an absolute URL, which a `baseUrl` does not prefix. */
const ABSOLUTE = /^[a-z][a-z\d+\-.]*:\/\//i;

/**
 * A `baseUrl` checked at construction: an absolute http(s) URL without query or fragment,
 * since it is a prefix that paths are appended to.
 *
 * @throws {InvalidRequestError}
 */
export function parseBaseUrl(baseUrl: unknown): URL | undefined {
  if (baseUrl === undefined) return undefined;
  let base: URL;
  try {
    base = new URL(baseUrl as string | URL);
  } catch (cause) {
    throw new InvalidRequestError(
      `invalid baseUrl ${JSON.stringify(redactInvalidUrl(String(baseUrl)))}`,
      { cause: scrubbedUrlError(cause) },
    );
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new InvalidRequestError(`unsupported protocol ${base.protocol} in baseUrl`);
  }
  if (
    base.search !== '' ||
    base.hash !== '' ||
    base.href.endsWith('?') ||
    base.href.endsWith('#')
  ) {
    throw new InvalidRequestError(
      `baseUrl ${redactUrl(base.href)} has a query or fragment: it is a prefix that request paths are appended to; give query parameters with each request (searchParams)`,
    );
  }
  return base;
}

/**
 * The absolute URL of a request. A string that is not absolute is appended to `baseUrl`
 * with one `/` between them, whatever slashes either side has (a prefix, as ky's
 * `prefixUrl`, not WHATWG resolution, which would drop the base's path for `/users`);
 * `..` segments must stay within the base's path.
 *
 * @throws {InvalidRequestError}
 */
export function resolveUrl(url: unknown, baseUrl: URL | undefined): URL {
  let resolved: URL;
  if (url instanceof URL) {
    resolved = url;
  } else if (typeof url === 'string') {
    const prefixed = baseUrl !== undefined && !ABSOLUTE.test(url);
    try {
      resolved = new URL(prefixed ? joinBase(baseUrl, url) : url);
    } catch (cause) {
      // The parser's own error quotes the input; the message and its cause must not.
      const shown = JSON.stringify(redactInvalidUrl(url));
      throw new InvalidRequestError(
        baseUrl === undefined
          ? `invalid URL ${shown} (relative URLs need a baseUrl)`
          : `invalid URL ${shown}`,
        { cause: scrubbedUrlError(cause) },
      );
    }
    if (prefixed) checkWithinBase(resolved, baseUrl, url);
  } else {
    throw new InvalidRequestError(`url must be a string or URL, got ${typeof url}`);
  }
  if (resolved.protocol !== 'http:' && resolved.protocol !== 'https:') {
    throw new InvalidRequestError(
      `unsupported protocol ${resolved.protocol} in ${redactUrl(resolved.href)}`,
    );
  }
  if (resolved.hostname === '') {
    throw new InvalidRequestError(`URL has no host: ${redactUrl(resolved.href)}`);
  }
  return resolved;
}

/** `path` after `base`: one slash between a path and the base, none before `?` or `#`. */
function joinBase(base: URL, path: string): string {
  const href = base.href;
  if (path === '' || path[0] === '?' || path[0] === '#') return href + path;
  const head = href.endsWith('/') ? href.slice(0, -1) : href;
  return path[0] === '/' ? head + path : `${head}/${path}`;
}

/**
 * Refuses a path whose `..` segments climb out of the base's path: the prefix is where
 * the client's requests go, and a path built from input must not reach past it.
 */
function checkWithinBase(resolved: URL, base: URL, path: string): void {
  const prefix = base.pathname.endsWith('/') ? base.pathname.slice(0, -1) : base.pathname;
  const at = resolved.pathname;
  if (prefix === '' || at === prefix || at.startsWith(`${prefix}/`)) return;
  throw new InvalidRequestError(
    `${JSON.stringify(redactInvalidUrl(path))} leads out of the baseUrl's path ${prefix}/ (to ${at}); give an absolute URL to go elsewhere`,
  );
}

/**
 * The WHATWG parser's error without the input it carries (`input`, and the message on
 * some Node versions), which may hold a password.
 */
export function scrubbedUrlError(cause: unknown): TypeError {
  const code = (cause as { code?: unknown } | null)?.code;
  return Object.assign(new TypeError('Invalid URL'), typeof code === 'string' ? { code } : {});
}
