/**
 * Cookies (`ClientOptions.cookieJar`): the jar's cookies go out with every attempt and
 * redirect hop, and every response's `Set-Cookie` headers go into the jar before the next
 * attempt or hop is sent. The jar decides what is sent where (domain, path, `Secure`,
 * expiry): this file only asks it, at each attempt, for the URL that attempt goes to.
 *
 * The jar is `tough-cookie`'s `CookieJar` (got's convention) or anything with its two
 * methods; the library never imports `tough-cookie` itself.
 */
import { InvalidRequestError } from '../core/errors.js';
import type { HeaderList } from '../core/headers.js';
import type { Call } from './call.js';
import type { PreparedRequest } from './prepare.js';

/**
 * A cookie jar: `tough-cookie`'s `CookieJar`, or an object with the same two methods
 * (got's `PromiseCookieJar`). Either may answer at once or with a promise.
 */
export interface CookieJarLike {
  /** The `Cookie` header value for a request to `url` ('' for none). */
  getCookieString(url: string): Promise<string> | string;
  /**
   * Stores one `Set-Cookie` header value received from `url`. Called with
   * `{ ignoreError: true }`: a cookie the jar refuses (malformed, or for another domain)
   * is dropped, as browsers drop it.
   */
  setCookie(cookie: string, url: string, options?: { ignoreError?: boolean }): unknown;
}

const SET_COOKIE = 'set-cookie';
const IGNORE_ERRORS = Object.freeze({ ignoreError: true });

/**
 * Checks a `cookieJar` option.
 * @throws {InvalidRequestError} when it lacks `getCookieString` or `setCookie`
 */
export function checkCookieJar(jar: unknown): CookieJarLike | undefined {
  if (jar === undefined) return undefined;
  if (
    typeof jar !== 'object' ||
    jar === null ||
    typeof (jar as Partial<CookieJarLike>).getCookieString !== 'function' ||
    typeof (jar as Partial<CookieJarLike>).setCookie !== 'function'
  ) {
    throw new InvalidRequestError(
      'cookieJar must be a tough-cookie CookieJar, or have getCookieString(url) and setCookie(cookie, url)',
    );
  }
  return jar as CookieJarLike;
}

/** The jar failed (its store, or a method that threw): the caller's doing, not a host's. */
function jarFailed(method: string, cause: unknown): InvalidRequestError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new InvalidRequestError(`cookieJar.${method} failed: ${message}`, { cause });
}

/** The client's jar, as the retry stage uses it. */
export class Cookies {
  readonly #jar: CookieJarLike;

  constructor(jar: CookieJarLike) {
    this.#jar = jar;
  }

  /**
   * The request with the jar's cookies for its URL in its `cookie` header, merged with a
   * `cookie` header the caller gave (the caller's value wins for a name in both). A
   * promise only when the jar answers with one.
   *
   * @throws {InvalidRequestError} when the jar fails
   */
  attach(call: Call, request: PreparedRequest): PreparedRequest | Promise<PreparedRequest> {
    let answer: Promise<string> | string;
    try {
      answer = this.#jar.getCookieString(request.target.href);
    } catch (cause) {
      throw jarFailed('getCookieString', cause);
    }
    if (typeof answer === 'string') return withCookies(request, answer);
    return Promise.resolve(answer).then(
      (cookies) => {
        // The jar may take its time: the call may have ended meanwhile.
        if (call.abortError !== undefined) throw call.abortError;
        return withCookies(request, cookies);
      },
      (cause: unknown) => {
        throw jarFailed('getCookieString', cause);
      },
    );
  }

  /**
   * Stores the `Set-Cookie` headers of a response to `request`, one after the other (a
   * later one for the same cookie wins, as in a browser). Undefined when there are none.
   *
   * @throws {InvalidRequestError} (the promise rejects) when the jar fails
   */
  store(request: PreparedRequest, rawHeaders: readonly Buffer[]): Promise<void> | undefined {
    let values: string[] | undefined;
    for (let i = 0; i < rawHeaders.length; i += 2) {
      if (isSetCookie(rawHeaders[i]!)) (values ??= []).push(rawHeaders[i + 1]!.toString('latin1'));
    }
    if (values === undefined) return undefined;
    return this.#storeAll(values, request.target.href);
  }

  async #storeAll(values: readonly string[], url: string): Promise<void> {
    for (const value of values) {
      try {
        await this.#jar.setCookie(value, url, IGNORE_ERRORS);
      } catch (cause) {
        throw jarFailed('setCookie', cause);
      }
    }
  }
}

/** Whether a raw header name is `set-cookie`, in any case. */
function isSetCookie(name: Buffer): boolean {
  return name.length === SET_COOKIE.length && name.toString('latin1').toLowerCase() === SET_COOKIE;
}

/** `request` with `jar` (a `Cookie` header value) merged into its `cookie` header. */
function withCookies(request: PreparedRequest, jar: unknown): PreparedRequest {
  if (typeof jar !== 'string') {
    throw new InvalidRequestError(
      `cookieJar.getCookieString must return a string, got ${jar === null ? 'null' : typeof jar}`,
    );
  }
  if (jar === '') return request;
  return { ...request, headers: mergeCookieHeader(request.headers, jar) };
}

/**
 * `list` with one `cookie` header: the jar's cookies, then the caller's own (from every
 * `cookie` header it had); a jar cookie whose name the caller also sends is left out, so
 * no name goes twice and the caller's explicit value is the one sent.
 */
export function mergeCookieHeader(list: HeaderList, jar: string): HeaderList {
  const out: HeaderList = [];
  let own: string[] | undefined;
  for (let i = 0; i < list.length; i += 2) {
    if (list[i] === 'cookie') (own ??= []).push(list[i + 1]!);
    else out.push(list[i]!, list[i + 1]!);
  }
  if (own === undefined) {
    out.push('cookie', jar);
    return out;
  }
  const pairs = own.flatMap(splitCookies);
  const names = new Set(pairs.map(nameOf));
  const kept = splitCookies(jar).filter((pair) => !names.has(nameOf(pair)));
  out.push('cookie', [...kept, ...pairs].join('; '));
  return out;
}

function splitCookies(value: string): string[] {
  const pairs: string[] = [];
  for (const part of value.split(';')) {
    const pair = part.trim();
    if (pair !== '') pairs.push(pair);
  }
  return pairs;
}

function nameOf(pair: string): string {
  const eq = pair.indexOf('=');
  return (eq === -1 ? pair : pair.slice(0, eq)).trim();
}
