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
  return text.replace(USERINFO, '$1***@');
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
