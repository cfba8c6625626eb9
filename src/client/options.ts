/**
 * Request and client options: the public shapes, their defaults, and the one place they
 * are checked. Per-request options are merged over the client's once per call.
 */

import { InvalidRequestError, isSentinelError } from '../core/errors.js';
import { timeout as checkTimeout, integer, nonNegative } from '../core/validate.js';
import type { BackendSpec, UpstreamOptions } from '../pool/index.js';
import { checkUpstream } from '../pool/upstream/registry.js';
import type { RetryConfig } from '../retry/index.js';
import type { ClientUpstreamOptions } from './client-options.js';
import type { Hooks } from './hooks.js';
import type { SearchParamsInit } from './prepare.js';
import { checkProgressCallback, type ProgressCallback } from './progress.js';

export type { AdaptiveOptions, ClientOptions, ClientUpstreamOptions } from './client-options.js';

/** Options of one request; each can also be set as a client default. */
export interface RequestOptions {
  /**
   * Bytes of response body buffered at most; past it `BodyTooLargeError` and the
   * connection is discarded. Applies to the decompressed body too. `Infinity` for none.
   * `stream()` bodies are not buffered: the client default does not apply to them, only a
   * value given with that request.
   * @default 10485760 (10 MiB)
   */
  maxBodySize?: number;
  /**
   * Deadline of the whole call in ms, retries and their delays included.
   * `Infinity` for none.
   * @default 30000
   */
  timeout?: number;
  /**
   * Deadline of one attempt in ms, from when its request is sent (connect, send, and read
   * the response; for `stream()`, until headers) — not while it waits for a connection,
   * which only `timeout` bounds. For `stream()` it also bounds each wait for the next
   * chunk of the body (default there: `timeout`).
   * @default min(timeout, max(1000, timeout / maxAttempts)): short enough that a hung
   *   attempt is cut and retried within `timeout` (10 s with the defaults)
   */
  attemptTimeout?: number;
  /**
   * TCP + TLS handshake deadline in ms for a new connection.
   * @default 10000
   */
  connectTimeout?: number;
  /** Aborts the call at once with `AbortError`. */
  signal?: AbortSignal;
  /** Retry settings for this request, or `false` for none. @default the client's */
  retry?: Partial<RetryConfig> | false;
  /**
   * Redirects followed; 0 returns the 3xx response. Cross-origin hops drop
   * `authorization`, `cookie`, `proxy-authorization` and the client's
   * `redirectStripHeaders`; https to http is refused.
   * @default 10
   */
  maxRedirects?: number;
  /**
   * Decode gzip, deflate and br (and zstd where Node has it) response bodies, and
   * send `accept-encoding` for them.
   * @default true
   */
  decompress?: boolean;
  /**
   * Throw `HttpStatusError` (carrying the response) for status >= 400.
   * @default false
   */
  throwHttpErrors?: boolean;
  /**
   * Sets `Idempotency-Key` (a string, or `true` for a random UUID) and makes the request
   * retryable whatever its method. The same key is sent on every attempt.
   */
  idempotencyKey?: string | true;
  /**
   * Hooks (ky's names): `beforeRequest`, `afterResponse`, `beforeRetry`, `beforeError`.
   * A request's hooks run after the client's.
   */
  hooks?: Hooks;
  /**
   * Query parameters appended to the URL's own (an object, whose `undefined` values are
   * left out; a `URLSearchParams`; or a string), as got and ky take them. Per request only.
   */
  searchParams?: SearchParamsInit;
  /**
   * Hedged requests ("The Tail at Scale"; Envoy's hedge policy), or `false` for none: an
   * idempotent request (or one with an `idempotencyKey`) with no response after `delayMs`
   * is sent again on another connection (another backend for an upstream), up to
   * `maxHedges` times (default 2); the first complete response below 500 wins and the others are
   * cancelled. A hedge is sent only when a connection is free at once, and draws on the
   * retry budget. Off by default, and for a call with a progress callback.
   */
  hedge?: HedgeOptions | false;
  /**
   * A body serialised with `JSON.stringify`, sent with `content-type: application/json`
   * (unless the headers set one). With `post`/`put`/`patch` it takes the place of `body`;
   * giving both is an `InvalidRequestError`.
   * @example
   * ```ts
   * await client.post(url, undefined, undefined, { json: { name: 'x' } });
   * ```
   */
  json?: unknown;
  /**
   * Called as the response body arrives (ky's option): `{ percent, transferredBytes,
   * totalBytes }` and the chunk. Bytes are counted as they come off the wire, before
   * decompression, so they match `content-length` (`totalBytes`, 0 when there is none).
   * A first call at headers (`percent` 0), one per chunk, a last one (`percent` 1) when the
   * body is complete; a followed redirect reports nothing, a retried attempt its own
   * response from 0. A call with a progress callback is not hedged. A callback that throws
   * fails the call with `InvalidRequestError`.
   * @example
   * ```ts
   * await client.get(url, undefined, {
   *   onDownloadProgress: ({ percent, transferredBytes }) => log(percent, transferredBytes),
   * });
   * ```
   */
  onDownloadProgress?: ProgressCallback;
  /**
   * Called as the request body goes out (ky's option), with the same arguments as
   * {@link onDownloadProgress}: `totalBytes` is the body's length (0 for a stream of
   * unknown length). Bytes count once the transport has taken them for the socket; a body
   * held in memory goes out in 64 KiB slices so that its progress shows. Each attempt or
   * redirect hop that sends the body reports it from 0. No body, no calls.
   */
  onUploadProgress?: ProgressCallback;
}

/** See {@link RequestOptions.hedge}. */
export interface HedgeOptions {
  /** Ms without a response before a hedge is sent; each further hedge waits as long again. */
  delayMs: number;
  /**
   * Hedges per attempt at most. Two: a hedge is itself slow as often as the first request
   * was, and a second one takes the chance of a slow answer from p × p to p × p × p.
   * @default 2
   */
  maxHedges?: number;
}

/** The request options in force for one call, all present. */
export interface ResolvedOptions {
  maxBodySize: number;
  timeout: number;
  /** Undefined: derived per call by {@link defaultAttemptTimeout}. */
  attemptTimeout: number | undefined;
  connectTimeout: number;
  maxRedirects: number;
  decompress: boolean;
  throwHttpErrors: boolean;
  /** Undefined: no hedging (always, when a progress callback is set). */
  hedge: Readonly<Required<HedgeOptions>> | undefined;
  onDownloadProgress: ProgressCallback | undefined;
  onUploadProgress: ProgressCallback | undefined;
}

/** The defaults that the documentation's table mirrors. */
export const DEFAULT_REQUEST_OPTIONS: Readonly<ResolvedOptions> = Object.freeze({
  maxBodySize: 10 * 1024 * 1024,
  timeout: 30_000,
  attemptTimeout: undefined,
  connectTimeout: 10_000,
  maxRedirects: 10,
  decompress: true,
  throwHttpErrors: false,
  hedge: undefined,
  onDownloadProgress: undefined,
  onUploadProgress: undefined,
});

/**
 * `over` laid on `base`, checked. Returns `base` itself when `over` sets nothing, so a
 * call without options allocates nothing here.
 *
 * @throws {InvalidRequestError} naming the option
 */
export function resolveOptions(
  base: Readonly<ResolvedOptions>,
  over: Readonly<RequestOptions> | undefined,
): Readonly<ResolvedOptions> {
  if (over === undefined) return base;
  if (typeof over !== 'object' || over === null) {
    throw new InvalidRequestError('options must be an object');
  }
  const {
    maxBodySize,
    timeout,
    attemptTimeout,
    connectTimeout,
    maxRedirects,
    decompress,
    throwHttpErrors,
    hedge,
    onDownloadProgress,
    onUploadProgress,
  } = over;
  if (
    maxBodySize === undefined &&
    timeout === undefined &&
    attemptTimeout === undefined &&
    connectTimeout === undefined &&
    maxRedirects === undefined &&
    decompress === undefined &&
    throwHttpErrors === undefined &&
    hedge === undefined &&
    onDownloadProgress === undefined &&
    onUploadProgress === undefined
  ) {
    return base;
  }
  const out: ResolvedOptions = { ...base };
  if (maxBodySize !== undefined) {
    out.maxBodySize =
      maxBodySize === Number.POSITIVE_INFINITY
        ? maxBodySize
        : nonNegative('maxBodySize', maxBodySize);
  }
  if (timeout !== undefined) out.timeout = checkTimeout('timeout', timeout);
  if (attemptTimeout !== undefined) {
    out.attemptTimeout = checkTimeout('attemptTimeout', attemptTimeout);
    // Like Polly's cross-option check: an attempt deadline past the call's can never
    // apply, so giving both that way is a mistake worth saying at once.
    if (timeout !== undefined && out.attemptTimeout > out.timeout) {
      throw new InvalidRequestError(
        `attemptTimeout (${out.attemptTimeout} ms) must not exceed timeout (${out.timeout} ms)`,
      );
    }
  }
  if (connectTimeout !== undefined)
    out.connectTimeout = checkTimeout('connectTimeout', connectTimeout);
  if (maxRedirects !== undefined) out.maxRedirects = integer('maxRedirects', maxRedirects, 0);
  if (decompress !== undefined) out.decompress = bool('decompress', decompress);
  if (throwHttpErrors !== undefined) out.throwHttpErrors = bool('throwHttpErrors', throwHttpErrors);
  if (hedge !== undefined) out.hedge = hedge === false ? undefined : checkHedge(hedge);
  if (onDownloadProgress !== undefined) {
    out.onDownloadProgress = checkProgressCallback('onDownloadProgress', onDownloadProgress);
  }
  if (onUploadProgress !== undefined) {
    out.onUploadProgress = checkProgressCallback('onUploadProgress', onUploadProgress);
  }
  // Progress describes one transfer: hedges would race a second one beside it.
  if (out.onDownloadProgress !== undefined || out.onUploadProgress !== undefined) {
    out.hedge = undefined;
  }
  return out;
}

/**
 * The attempt deadline when none is given: `timeout` shared out over the attempts the
 * retry policy allows, so that a hung attempt is cut and retried within the call's
 * deadline, but never under 1 s (a slow answer is not a hung one), nor over `timeout`.
 * 30 s and 3 attempts give 10 s.
 */
export function defaultAttemptTimeout(timeoutMs: number, maxAttempts: number): number {
  return Math.min(timeoutMs, Math.max(1000, timeoutMs / maxAttempts));
}

function checkHedge(hedge: unknown): Readonly<Required<HedgeOptions>> {
  if (typeof hedge !== 'object' || hedge === null) {
    throw new InvalidRequestError('hedge must be { delayMs, maxHedges? } or false');
  }
  const { delayMs, maxHedges = 2, ...rest } = hedge as Partial<HedgeOptions>;
  for (const key of Object.keys(rest)) {
    throw new InvalidRequestError(`unknown hedge option ${JSON.stringify(key)}`);
  }
  return Object.freeze({
    delayMs: checkTimeout('hedge.delayMs', delayMs),
    maxHedges: integer('hedge.maxHedges', maxHedges, 1),
  });
}

function bool(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new InvalidRequestError(`${name} must be a boolean`);
  return value;
}

/** One checked entry of `ClientOptions.upstreams`, ready for `pool.addUpstream`. */
export interface CheckedUpstream {
  /** Lower-cased. */
  name: string;
  backends: readonly BackendSpec[];
  options: Partial<UpstreamOptions>;
}

/**
 * Checks every entry of `ClientOptions.upstreams` before any is created, so a bad one
 * fails the constructor before a health check of a good one has been sent.
 *
 * @throws {InvalidRequestError} naming the upstream and what is wrong with it
 */
export function checkUpstreams(upstreams: unknown): CheckedUpstream[] {
  if (upstreams === undefined) return [];
  if (typeof upstreams !== 'object' || upstreams === null || Array.isArray(upstreams)) {
    throw new InvalidRequestError('upstreams must be an object: { name: { backends, ... } }');
  }
  const checked: CheckedUpstream[] = [];
  const names = new Set<string>();
  for (const [name, spec] of Object.entries(upstreams as Record<string, unknown>)) {
    if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
      throw new InvalidRequestError(`upstreams.${name} must be an object with backends`);
    }
    const { backends, ...options } = spec as ClientUpstreamOptions;
    let key: string;
    try {
      key = checkUpstream(name, backends, options);
    } catch (err) {
      if (!isSentinelError(err)) throw err;
      throw new InvalidRequestError(`upstreams.${name}: ${err.message}`, { cause: err });
    }
    if (names.has(key)) {
      throw new InvalidRequestError(`upstreams has ${key} twice (names ignore case)`);
    }
    names.add(key);
    checked.push({ name: key, backends, options });
  }
  return checked;
}
