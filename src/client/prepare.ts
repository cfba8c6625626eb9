/**
 * Turns a caller's request into a validated, wire-ready one before any I/O: method,
 * URL, headers and body are checked here, so bad input fails with
 * `InvalidRequestError` and no socket is touched.
 */
import { randomUUID } from 'node:crypto';
import { type BodyInit, type PreparedBody, prepareBody } from '../core/body.js';
import { InvalidRequestError } from '../core/errors.js';
import {
  findHeader,
  type HeaderList,
  type HeadersInit,
  mergeHeaders,
  normalizeHeaders,
  withoutHeaders,
} from '../core/headers.js';
import { type Origin, parseOrigin } from '../pool/origin.js';
import { VERSION } from '../version.js';
import { refuseOptionNames } from './option-names.js';
import { resolveUrl } from './url.js';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const DIGITS = /^\d+$/;
const KNOWN = new Map(
  ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE'].map((m) => [m, m]),
);

/** The method in upper case. @throws {InvalidRequestError} */
export function checkMethod(method: unknown): string {
  if (typeof method === 'string') {
    const known = KNOWN.get(method) ?? KNOWN.get(method.toUpperCase());
    if (known !== undefined) return known;
    if (TOKEN.test(method) && method.toUpperCase() !== 'CONNECT') return method.toUpperCase();
  }
  throw new InvalidRequestError(`invalid or unsupported method ${JSON.stringify(method)}`);
}

/**
 * Headers the transport sets itself or refuses (framing, hop-by-hop, `expect`). Caught
 * here so that such a request fails before it takes a connection from the pool.
 *
 * @throws {InvalidRequestError}
 */
export function checkFramingHeaders(list: HeaderList): HeaderList {
  let hosts = 0;
  let lengths = 0;
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!;
    switch (name) {
      case 'transfer-encoding':
      case 'keep-alive':
      case 'upgrade':
        throw new InvalidRequestError(`the ${name} header is managed by the client`);
      case 'expect':
        throw new InvalidRequestError('the expect header is not supported');
      case 'connection':
        for (const token of list[i + 1]!.split(',')) {
          if (!TOKEN.test(token.trim())) {
            throw new InvalidRequestError(
              `invalid connection header ${JSON.stringify(list[i + 1])}`,
            );
          }
        }
        break;
      case 'host':
        if (++hosts > 1) throw new InvalidRequestError('more than one host header');
        break;
      case 'content-length':
        if (++lengths > 1) throw new InvalidRequestError('more than one content-length header');
        if (!DIGITS.test(list[i + 1]!)) {
          throw new InvalidRequestError(`invalid content-length ${JSON.stringify(list[i + 1])}`);
        }
        break;
    }
  }
  return list;
}

/** The path and query to send. */
export function pathOf(url: URL): string {
  return url.search === '' ? url.pathname : url.pathname + url.search;
}

/**
 * Where a request goes, parsed once: every attempt and the response use these strings,
 * and a redirect parses `href` again only when one is followed. Immutable, so that one
 * record can serve every request to the same URL (see {@link TargetCache}).
 */
export interface RequestTarget {
  /** The absolute URL, without credentials. */
  readonly href: string;
  /** Path and query, as sent. */
  readonly path: string;
  readonly origin: Origin;
  /** `Basic …` made of credentials in the URL, which are never sent as part of it. */
  readonly authorization: string | undefined;
}

/** The target of an absolute URL already checked by {@link resolveUrl}. */
export function targetOf(url: URL): RequestTarget {
  let href = url.href;
  let authorization: string | undefined;
  if (url.username !== '' || url.password !== '') {
    // Like curl and got: credentials in the URL become Basic auth, never a wire URL part.
    const token = Buffer.from(
      `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`,
    ).toString('base64');
    authorization = `Basic ${token}`;
    const bare = new URL(href);
    bare.username = '';
    bare.password = '';
    href = bare.href;
  }
  return Object.freeze({ href, path: pathOf(url), origin: parseOrigin(url), authorization });
}

/** Query parameters a request adds to its URL: an object, a `URLSearchParams` or a string. */
export type SearchParamsInit =
  | Readonly<Record<string, string | number | boolean | undefined>>
  | URLSearchParams
  | string;

/**
 * `target` with `params` appended to its query (merged: the URL's own parameters stay,
 * as got does). An object's `undefined` values are left out.
 *
 * @throws {InvalidRequestError} a shape or value that is not a query parameter
 */
export function withSearchParams(target: RequestTarget, params: unknown): RequestTarget {
  const extra = searchParamsOf(params);
  if (extra.size === 0) return target;
  const url = new URL(target.href);
  for (const [name, value] of extra) url.searchParams.append(name, value);
  const next = targetOf(url);
  return target.authorization === undefined
    ? next
    : Object.freeze({ ...next, authorization: target.authorization });
}

function searchParamsOf(value: unknown): URLSearchParams {
  if (typeof value === 'string') return new URLSearchParams(value);
  if (value instanceof URLSearchParams) return value;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const out = new URLSearchParams();
    for (const [name, v] of Object.entries(value)) {
      if (v === undefined) continue;
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
        throw new InvalidRequestError(
          `searchParams.${name} must be a string, number or boolean, got ${typeof v}`,
        );
      }
      out.append(name, String(v));
    }
    return out;
  }
  throw new InvalidRequestError('searchParams must be an object, a URLSearchParams or a string');
}

const TARGET_CACHE_LIMIT = 1024;
/** URLs longer than this are parsed on every request rather than kept. */
const MAX_CACHED_URL_LENGTH = 2048;
/** Characters kept across every cached URL (key, href and path), about 2 MiB. */
const TARGET_CACHE_CHARS = 1024 * 1024;

/**
 * The targets of URL strings a client has seen, so that a URL requested again is not
 * parsed again (the WHATWG parser cost more than anything else in preparing a request).
 * Keyed by the string as given: one cache per base URL. Bounded by count and by size
 * (long URLs are not kept: parsing is cheap next to sending them, and a client fed
 * distinct long URLs must not hold megabytes of them); when full it starts over, which
 * costs one parse per URL until the working set is back in.
 */
export class TargetCache {
  readonly #baseUrl: URL | undefined;
  readonly #targets = new Map<string, RequestTarget>();
  #chars = 0;

  constructor(baseUrl: URL | undefined) {
    this.#baseUrl = baseUrl;
  }

  /** Entries kept. */
  get size(): number {
    return this.#targets.size;
  }

  /** Characters kept: keys, hrefs and paths. */
  get chars(): number {
    return this.#chars;
  }

  /** @throws {InvalidRequestError} */
  resolve(url: unknown): RequestTarget {
    if (typeof url !== 'string') return targetOf(resolveUrl(url, this.#baseUrl));
    let target = this.#targets.get(url);
    if (target === undefined) {
      target = targetOf(resolveUrl(url, this.#baseUrl));
      if (url.length <= MAX_CACHED_URL_LENGTH) {
        const chars = url.length + target.href.length + target.path.length;
        if (this.#targets.size >= TARGET_CACHE_LIMIT || this.#chars + chars > TARGET_CACHE_CHARS) {
          this.clear();
        }
        this.#targets.set(url, target);
        this.#chars += chars;
      }
    }
    return target;
  }

  /** Forgets every entry. */
  clear(): void {
    this.#targets.clear();
    this.#chars = 0;
  }
}

/** The `user-agent` sent unless the caller sets one (an empty value sends none). */
export const USER_AGENT = `http-sentinel/${VERSION}`;

/** The client's default headers, normalised once at construction. */
export function defaultHeaderList(
  init: HeadersInit | undefined,
  acceptEncoding: string | undefined,
): HeaderList {
  let list = checkFramingHeaders(normalizeHeaders(init, refuseOptionNames, 'client'));
  if (acceptEncoding !== undefined && findHeader(list, 'accept-encoding') === -1) {
    list.push('accept-encoding', acceptEncoding);
  }
  if (findHeader(list, 'user-agent') === -1) list.push('user-agent', USER_AGENT);
  else list = withoutEmptyUserAgent(list);
  return list;
}

/** A `user-agent` set to the empty string means "send none", as with curl's `-A ''`. */
function withoutEmptyUserAgent(list: HeaderList): HeaderList {
  const at = findHeader(list, 'user-agent');
  return at !== -1 && list[at + 1] === '' ? withoutHeaders(list, ['user-agent']) : list;
}

/** A request ready for its first attempt. */
export interface PreparedRequest {
  method: string;
  target: RequestTarget;
  headers: HeaderList;
  body: PreparedBody;
  /** Safe to send more than once: an idempotent method or an idempotency key. */
  idempotencyKey: boolean;
}

/**
 * Validates and assembles a request. Synchronous unless the body is a `FormData` or
 * `Blob`, which are read once into memory.
 */
export function prepareRequest(
  method: unknown,
  url: unknown,
  targets: TargetCache,
  defaults: HeaderList,
  headers: HeadersInit | undefined,
  body: BodyInit | undefined,
  json: unknown,
  idempotencyKey: string | true | undefined,
  searchParams?: unknown,
): PreparedRequest | Promise<PreparedRequest> {
  const m = checkMethod(method);
  let target = targets.resolve(url);
  if (searchParams !== undefined) target = withSearchParams(target, searchParams);
  let list =
    headers === undefined
      ? defaults
      : withoutEmptyUserAgent(
          mergeHeaders(
            defaults,
            checkFramingHeaders(normalizeHeaders(headers, refuseOptionNames, m)),
          ),
        );
  if (target.authorization !== undefined && findHeader(list, 'authorization') === -1) {
    list = mergeHeaders(list, ['authorization', target.authorization]);
  }
  return finish(m, target, list, body, json, idempotencyKey);
}

function finish(
  method: string,
  target: RequestTarget,
  headers: HeaderList,
  body: BodyInit | undefined,
  json: unknown,
  idempotencyKey: string | true | undefined,
): PreparedRequest | Promise<PreparedRequest> {
  let list = headers;
  let keyed = false;
  if (idempotencyKey !== undefined) {
    if (idempotencyKey !== true && (typeof idempotencyKey !== 'string' || idempotencyKey === '')) {
      throw new InvalidRequestError('idempotencyKey must be a non-empty string or true');
    }
    const key = idempotencyKey === true ? randomUUID() : idempotencyKey;
    list = mergeHeaders(list, normalizeHeaders([['idempotency-key', key]]));
    keyed = true;
  }
  const prepared = prepareBody(body, json);
  if (prepared instanceof Promise) {
    return prepared.then((b) => assemble(method, target, list, b, keyed));
  }
  return assemble(method, target, list, prepared, keyed);
}

function assemble(
  method: string,
  target: RequestTarget,
  headers: HeaderList,
  body: PreparedBody,
  idempotencyKey: boolean,
): PreparedRequest {
  let list = headers;
  if (body.contentType !== undefined && findHeader(list, 'content-type') === -1) {
    list = mergeHeaders(list, ['content-type', body.contentType]);
  }
  if ((method === 'GET' || method === 'HEAD') && body.data !== null) {
    throw new InvalidRequestError(`a ${method} request cannot have a body`);
  }
  if (body.length !== -1) {
    // The transport would refuse a mismatch only once connected.
    const at = findHeader(list, 'content-length');
    if (at !== -1 && Number(list[at + 1]) !== body.length) {
      throw new InvalidRequestError(
        `content-length ${list[at + 1]} does not match the body's ${body.length} bytes`,
      );
    }
  }
  return { method, target, headers: list, body, idempotencyKey };
}
