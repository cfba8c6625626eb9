/**
 * Credentials in URLs (`user:password@`) are never printed: every message, event and
 * output line that shows a URL shows it through {@link redactUrl}.
 */

/**
 * The scheme if any, any slashes (the WHATWG parser accepts `http:user:pw@host` and
 * backslashes too), and the userinfo: everything up to the authority's last `@`.
 */
const USERINFO = /^(\s*(?:[a-z][a-z0-9+.-]*:)?[/\\]*)[^/\\?#]*@/i;

/**
 * `text` with the userinfo of the URL it holds replaced by `***`; works on strings that
 * do not parse as URLs too, since those end up in error messages.
 *
 * @example
 * ```ts
 * redactUrl('https://user:secret@api.example.com/x'); // 'https://***@api.example.com/x'
 * ```
 */
export function redactUrl(text: string): string {
  // Most URLs carry no userinfo: a scan for `@` is much cheaper than the expression.
  return text.includes('@') ? text.replace(USERINFO, '$1***@') : text;
}

const UP_TO_LAST_AT = /^(\s*(?:[a-z][a-z0-9+.-]*:)?[/\\]*)[\s\S]*@/i;

/**
 * {@link redactUrl} for text that failed to parse as a URL: where the authority ends is
 * then unknown (`http://u:p#w@host` is invalid, and its password runs past the `#`), so
 * everything up to the last `@` goes.
 */
export function redactInvalidUrl(text: string): string {
  return text.replace(UP_TO_LAST_AT, '$1***@');
}

/**
 * Query parameters whose values are secrets by common usage (API keys, OAuth tokens,
 * signed-URL signatures, passwords). {@link redactQueryParams} hides their values in the
 * URLs of error messages; `ClientOptions.redactQueryParams` replaces the list.
 */
export const DEFAULT_REDACT_QUERY_PARAMS: readonly string[] = Object.freeze([
  'api_key',
  'apikey',
  'api-key',
  'access_token',
  'refresh_token',
  'id_token',
  'token',
  'key',
  'signature',
  'sig',
  'password',
  'passwd',
  'secret',
  'client_secret',
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
  'x-goog-signature',
  'x-goog-credential',
]);

/** The lower-cased set {@link redactQueryParams} matches names against. */
export function queryParamSet(names: readonly string[]): ReadonlySet<string> {
  return new Set(names.map((name) => name.toLowerCase()));
}

const DEFAULT_SET = queryParamSet(DEFAULT_REDACT_QUERY_PARAMS);

/**
 * `url` with the value of every query parameter named in `names` replaced by `***`
 * (names compared case-insensitively and percent-decoded). Parameters in the fragment are
 * treated alike, since OAuth puts tokens there. Everything else is left as it is: the text
 * need not parse as a URL.
 *
 * @param names - the names; a `Set` is taken to hold them lower-cased already. By default
 *   {@link DEFAULT_REDACT_QUERY_PARAMS}
 * @example
 * ```ts
 * redactQueryParams('https://h.example/x?user=1&api_key=abc'); // 'https://h.example/x?user=1&api_key=***'
 * ```
 */
export function redactQueryParams(
  url: string,
  names: ReadonlySet<string> | readonly string[] = DEFAULT_SET,
): string {
  const set = Array.isArray(names) ? queryParamSet(names) : (names as ReadonlySet<string>);
  return redactIn(url, set);
}

function redactIn(url: string, names: ReadonlySet<string>): string {
  const query = url.indexOf('?');
  const hash = url.indexOf('#');
  if ((query === -1 && hash === -1) || names.size === 0) return url;
  if (hash === -1) return url.slice(0, query + 1) + redactParams(url.slice(query + 1), names);
  const fragment = `#${redactFragment(url.slice(hash + 1), names)}`;
  if (query === -1 || query > hash) return url.slice(0, hash) + fragment;
  return url.slice(0, query + 1) + redactParams(url.slice(query + 1, hash), names) + fragment;
}

/** A fragment of parameters (`#access_token=…`), or a route with a query (`#/cb?code=…`). */
function redactFragment(fragment: string, names: ReadonlySet<string>): string {
  const query = fragment.indexOf('?');
  if (query === -1) return redactParams(fragment, names);
  return fragment.slice(0, query + 1) + redactParams(fragment.slice(query + 1), names);
}

function redactParams(params: string, names: ReadonlySet<string>): string {
  if (params === '') return params;
  const parts = params.split('&');
  let changed = false;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const eq = part.indexOf('=');
    if (eq === -1 || eq === part.length - 1) continue;
    const name = part.slice(0, eq);
    if (names.has(decodeName(name))) {
      parts[i] = `${name}=***`;
      changed = true;
    }
  }
  return changed ? parts.join('&') : params;
}

function decodeName(name: string): string {
  const plain = name.replaceAll('+', ' ');
  try {
    return decodeURIComponent(plain).toLowerCase();
  } catch {
    return plain.toLowerCase();
  }
}
