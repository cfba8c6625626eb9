/**
 * Server pushback: `retry-after-ms` and `Retry-After` (RFC 9110 §10.2.3), parsed strictly.
 * `Date.parse` is not used: V8 turns strings such as `"1"` or `"5 apples"` into dates.
 */

/**
 * Response headers as a WHATWG `Headers` (any implementation with `get`, such as undici's
 * own copy) or a plain object with names in any case.
 */
export type HeaderSource =
  | Pick<Headers, 'get'>
  | Readonly<Record<string, string | readonly string[] | undefined>>;

const DECIMAL = /^\d+(?:\.\d+)?$/;
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MONTH = '(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
// IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
const IMF_FIXDATE = new RegExp(`^[a-z]{3}, (\\d{1,2}) ${MONTH} (\\d{4}) ${TIME} gmt$`, 'i');
// Obsolete RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
const RFC_850 = new RegExp(`^[a-z]{6,9}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} gmt$`, 'i');
// Obsolete asctime: Sun Nov  6 08:49:37 1994
const ASCTIME = new RegExp(`^[a-z]{3} ${MONTH} +(\\d{1,2}) ${TIME} (\\d{4})$`, 'i');

function headerValue(headers: HeaderSource, name: string): string | undefined {
  // Duck-typed: a plain record's values are strings, so a `get` function means Headers.
  if (typeof headers.get === 'function') {
    return (headers as Pick<Headers, 'get'>).get(name) ?? undefined;
  }
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
  let value = record[name];
  if (value === undefined) {
    for (const key of Object.keys(record)) {
      if (key.toLowerCase() === name) {
        value = record[key];
        break;
      }
    }
  }
  return typeof value === 'string' ? value : value?.[0];
}

function utc(
  year: number,
  month: string,
  day: number,
  h: number,
  m: number,
  s: number,
): number | undefined {
  const mon = MONTHS.indexOf(month.toLowerCase());
  if (h > 23 || m > 59 || s > 60) return undefined;
  const ms = Date.UTC(year, mon, day, h, m, Math.min(s, 59));
  // Date.UTC rolls 31 Feb over into March; a date that does not round-trip is garbage.
  const d = new Date(ms);
  if (d.getUTCDate() !== day || d.getUTCMonth() !== mon) return undefined;
  return ms;
}

/**
 * Parses an HTTP-date in any of the three RFC 9110 formats to epoch ms, or undefined.
 * Two-digit RFC 850 years more than 50 years ahead of `nowWallMs` are taken as last century.
 */
export function parseHttpDate(value: string, nowWallMs: number): number | undefined {
  const text = value.trim();
  let match = IMF_FIXDATE.exec(text);
  if (match) {
    const [, d, mon, y, h, m, s] = match;
    return utc(Number(y), mon!, Number(d), Number(h), Number(m), Number(s));
  }
  match = RFC_850.exec(text);
  if (match) {
    const [, d, mon, yy, h, m, s] = match;
    const nowYear = new Date(nowWallMs).getUTCFullYear();
    let year = Math.floor(nowYear / 100) * 100 + Number(yy);
    if (year > nowYear + 50) year -= 100;
    return utc(year, mon!, Number(d), Number(h), Number(m), Number(s));
  }
  match = ASCTIME.exec(text);
  if (match) {
    const [, mon, d, h, m, s, y] = match;
    return utc(Number(y), mon!, Number(d), Number(h), Number(m), Number(s));
  }
  return undefined;
}

/**
 * How long the server asks us to wait, in ms, or undefined when it does not say (or says
 * something unparseable or negative). `retry-after-ms` (milliseconds, as sent by some APIs)
 * wins over `Retry-After` (delta-seconds or an HTTP-date). A date in the past means 0.
 *
 * @param nowWallMs - the current wall-clock time (`Clock.wallNow()`), for HTTP-dates
 * @example
 * ```ts
 * parseRetryAfter(new Headers({ 'retry-after': '2' }), Date.now()); // 2000
 * parseRetryAfter({ 'Retry-After': 'soon' }, Date.now());          // undefined
 * ```
 */
export function parseRetryAfter(headers: HeaderSource, nowWallMs: number): number | undefined {
  const ms = headerValue(headers, 'retry-after-ms')?.trim();
  if (ms !== undefined && DECIMAL.test(ms)) return Number(ms);

  const value = headerValue(headers, 'retry-after')?.trim();
  if (value === undefined || value === '') return undefined;
  if (DECIMAL.test(value)) return Number(value) * 1000;
  const at = parseHttpDate(value, nowWallMs);
  return at === undefined ? undefined : Math.max(0, at - nowWallMs);
}
