/**
 * The names of every option, kept as a compile-time registry, and the guard that refuses
 * them as header names. `client.get(url, { timeout: 200 })` (ky and got take options in
 * that slot) would otherwise send a `timeout` header and apply no timeout at all.
 */
import { InvalidRequestError } from '../core/errors.js';
import type { HeaderEntryGuard } from '../core/headers.js';
import type { RequestInit } from './http-client.js';
import type { ClientOptions } from './options.js';

type Key = keyof RequestInit | keyof ClientOptions;

/** Where an option is taken: by a request only, by the client only, or by both. */
type Scope<K extends Key> = K extends keyof ClientOptions
  ? K extends keyof RequestInit
    ? 'both'
    : 'client'
  : 'request';

/**
 * Every key of `RequestInit` (a request's options, its method, url, headers and body) and
 * of `ClientOptions`, with where it is taken. The mapped type makes leaving out a new
 * option, or giving it the wrong scope, a type error.
 */
const OWN_OPTIONS: { readonly [K in Key]: Scope<K> } = {
  method: 'request',
  url: 'request',
  headers: 'both',
  body: 'request',
  json: 'request',
  maxBodySize: 'both',
  timeout: 'both',
  attemptTimeout: 'both',
  connectTimeout: 'both',
  signal: 'request',
  retry: 'both',
  maxRedirects: 'both',
  decompress: 'both',
  throwHttpErrors: 'both',
  idempotencyKey: 'request',
  hooks: 'both',
  searchParams: 'request',
  hedge: 'both',
  onDownloadProgress: 'both',
  onUploadProgress: 'both',
  cookieJar: 'client',
  baseUrl: 'client',
  redirectStripHeaders: 'client',
  redactQueryParams: 'client',
  pool: 'client',
  proxy: 'client',
  circuitBreaker: 'client',
  retryBudget: 'client',
  adaptive: 'client',
  clock: 'client',
  upstreams: 'client',
  telemetry: 'client',
};

/** Options of other clients (ky, got, axios), with the name they have here. */
const FOREIGN_OPTIONS = {
  prefixUrl: 'baseUrl',
  params: 'searchParams',
  data: 'body',
  followRedirect: 'maxRedirects',
} as const;

/**
 * Names a plain headers object must not have: the client's options and a few other
 * clients' ones. None is an HTTP header; a header so named can still be sent in a
 * `Headers` or as `[name, value]` pairs.
 */
export type OptionName = keyof typeof OWN_OPTIONS | keyof typeof FOREIGN_OPTIONS;

/** `name` -> the option meant; a null prototype, so `constructor` is not an option. */
const MEANT: Readonly<Record<string, string>> = Object.assign(
  Object.create(null) as Record<string, string>,
  Object.fromEntries(Object.keys(OWN_OPTIONS).map((k) => [k, k])),
  FOREIGN_OPTIONS,
);

const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);
const WITHOUT_BODY = new Set(['GET', 'HEAD', 'DELETE']);

/**
 * The {@link HeaderEntryGuard} of request headers (`context` is the method) and of the
 * client's default headers (`context` is `'client'`).
 *
 * @throws {InvalidRequestError} for an option name, or, for a method with a body, an
 *   object as a value (a body put where the headers go); the message says where it goes
 */
export const refuseOptionNames: HeaderEntryGuard = (name, value, context) => {
  const meant = MEANT[name];
  if (meant !== undefined) {
    const alias = meant === name ? '' : ` (here it is ${meant})`;
    throw new InvalidRequestError(
      `\`${name}\` looks like an option, not a header${alias}: ${whereItGoes(meant, context)}. ` +
        'A header of that name can be sent in a Headers or as [name, value] pairs.',
    );
  }
  if (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    WITH_BODY.has(context)
  ) {
    const verb = context.toLowerCase();
    throw new InvalidRequestError(
      `header ${name} must be a string or an array of strings, got an object: the second ` +
        `argument is the headers; a body goes in the third, client.${verb}(url, headers, body), ` +
        `and JSON in the options, client.${verb}(url, headers, undefined, { json })`,
    );
  }
};

/** Where option `meant` goes, for a call of `method` (or of the client's constructor). */
function whereItGoes(meant: string, method: string): string {
  const scope = (OWN_OPTIONS as Readonly<Record<string, string>>)[meant];
  if (scope === 'client') {
    return `it is a client option: new HttpClient({ ${meant} })`;
  }
  const verb = method.toLowerCase();
  switch (meant) {
    case 'headers':
      return method === 'client'
        ? 'the headers option takes the headers themselves'
        : 'the second argument takes the headers themselves';
    case 'method':
    case 'url':
      return 'they go to client.request({ method, url, headers })';
    case 'body':
      return WITH_BODY.has(method)
        ? `a body goes in the third argument: client.${verb}(url, headers, body)`
        : 'a body goes to client.post/put/patch(url, headers, body) or client.request({ method, url, body })';
  }
  if (method === 'client') {
    return scope === 'request'
      ? `it is an option of one request: client.get(url, headers, { ${meant} })`
      : `client options go beside headers: new HttpClient({ headers, ${meant} })`;
  }
  if (WITH_BODY.has(method)) {
    const body = meant === 'json' ? 'undefined' : 'body';
    return `options go in the fourth argument: client.${verb}(url, headers, ${body}, { ${meant} }) (with request(), beside headers)`;
  }
  if (WITHOUT_BODY.has(method)) {
    return `options go in the third argument: client.${verb}(url, headers, { ${meant} }) (with request(), beside headers)`;
  }
  return `options go beside headers: client.request({ method, url, headers, ${meant} })`;
}
