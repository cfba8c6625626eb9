/**
 * The pipeline of one client: the state a call needs (defaults, header lists, the URL
 * cache, deadlines, calls in flight) and the stages it runs through, in order:
 * prepare, then per hop the retry stage (which drives the exchange stage) and the
 * redirect stage, then the response stage, with `afterResponse` and `beforeError` hooks
 * around the whole call. `HttpClient` is the facade over it.
 */
import type { BodyInit } from '../core/body.js';
import type { Clock } from '../core/clock.js';
import { DeadlineQueue } from '../core/deadlines.js';
import {
  AbortError,
  HttpStatusError,
  InvalidRequestError,
  isSentinelError,
  PoolClosedError,
  type SentinelError,
} from '../core/errors.js';
import type { HeadersInit } from '../core/headers.js';
import type { BodyStream } from '../pool/body-stream.js';
import type { ConnectionPool } from '../pool/index.js';
import type { RetryEngine } from '../retry/index.js';
import { Call } from './call.js';
import { callEnded, callFailed, callStarted, type RequestChannelInfo } from './channels.js';
import { type CookieJarLike, Cookies } from './cookies.js';
import { ACCEPT_ENCODING } from './decompress.js';
import { labelError, labelRefused } from './error-label.js';
import type { EventHub } from './events.js';
import { Exchanger } from './exchange-stage.js';
import {
  type AnyResponse,
  hookFailed,
  mergeHooks,
  type ResolvedHooks,
  runBeforeError,
} from './hooks.js';
import {
  defaultAttemptTimeout,
  type RequestOptions,
  type ResolvedOptions,
  resolveOptions,
} from './options.js';
import { defaultHeaderList, type PreparedRequest, prepareRequest, TargetCache } from './prepare.js';
import { followRedirect } from './redirect-stage.js';
import type { Resilience } from './resilience.js';
import { readErrorBody, respond, responseInit } from './respond.js';
import { HttpResponse, type StreamingResponse } from './response.js';
import { hookRequest, RetryStage } from './retry-stage.js';

/** What a pipeline is built from: the client's checked options and shared state. */
export interface PipelineParts {
  readonly pool: ConnectionPool;
  readonly resilience: Resilience;
  readonly engine: RetryEngine | undefined;
  readonly events: EventHub;
  readonly clock: Clock;
  readonly acquireWaitMs: number;
  readonly defaults: Readonly<ResolvedOptions>;
  readonly hooks: ResolvedHooks;
  readonly baseUrl: URL | undefined;
  readonly headers: HeadersInit | undefined;
  /** Headers a cross-origin redirect hop drops. */
  readonly crossOriginStrip: readonly string[];
  /** The cookie jar, checked. */
  readonly cookieJar: CookieJarLike | undefined;
  /** Lower-cased names of the query parameters whose values errors hide. */
  readonly redactQuery: ReadonlySet<string>;
}

export class Pipeline {
  /** The URL cache. */
  readonly targets: TargetCache;
  /** Set by close(): new calls fail with `PoolClosedError`. */
  closed = false;
  readonly #defaults: Readonly<ResolvedOptions>;
  readonly #headers: string[];
  readonly #plainHeaders: string[];
  readonly #crossOriginStrip: readonly string[];
  readonly #resilience: Resilience;
  readonly #engine: RetryEngine | undefined;
  readonly #hooks: ResolvedHooks;
  readonly #clock: Clock;
  /** The deadlines of the calls' attempts. */
  readonly #deadlines: DeadlineQueue;
  readonly #calls = new Set<Call>();
  readonly #retry: RetryStage;
  readonly #redact: ReadonlySet<string>;

  /** The client's `redactQueryParams`, for what reports a call before it is prepared. */
  get redact(): ReadonlySet<string> {
    return this.#redact;
  }

  constructor(parts: PipelineParts) {
    this.#defaults = parts.defaults;
    this.#hooks = parts.hooks;
    this.#resilience = parts.resilience;
    this.#engine = parts.engine;
    this.#clock = parts.clock;
    this.#crossOriginStrip = parts.crossOriginStrip;
    this.#redact = parts.redactQuery;
    this.targets = new TargetCache(parts.baseUrl);
    this.#deadlines = new DeadlineQueue(parts.clock);
    this.#headers = defaultHeaderList(parts.headers, ACCEPT_ENCODING);
    this.#plainHeaders = defaultHeaderList(parts.headers, undefined);
    const exchanger = new Exchanger(
      parts.pool,
      parts.resilience,
      parts.clock,
      parts.events,
      parts.acquireWaitMs,
      parts.redactQuery,
    );
    this.#retry = new RetryStage(
      parts.pool,
      exchanger,
      parts.resilience,
      parts.clock,
      parts.events,
      parts.cookieJar === undefined ? undefined : new Cookies(parts.cookieJar),
      parts.redactQuery,
    );
  }

  /**
   * One call: the request prepared, then the retry stage for each hop, the redirect stage
   * between hops, and the response stage, with the call's hooks around them.
   *
   * A call that succeeds at once and has no hooks awaits its exchange and the retry stage
   * that holds it; what is slow only when it happens (waiting for a connection, a resend,
   * a retry delay, a redirect, decoding, a hook) awaits only then.
   */
  async run(
    method: string,
    url: string | URL,
    headers: HeadersInit | undefined,
    body: BodyInit | undefined,
    json: unknown,
    options: RequestOptions | undefined,
    stream: boolean,
  ): Promise<HttpResponse | StreamingResponse> {
    let call: Call | undefined;
    /** Set when the call's start was published: its end or error will be too. */
    let watched: RequestChannelInfo | undefined;
    let handedOver = false;
    let hooks = this.#hooks;
    let request: PreparedRequest | undefined;
    /** Where the attempt whose error is thrown went: for an upstream, its backend. */
    let failedHost: string | undefined;
    try {
      if (this.closed) throw new PoolClosedError('the client is closed');
      let opts = resolveOptions(this.#defaults, options);
      // A streamed body is not held in memory, so the client-wide cap on buffered bodies
      // does not apply to it; a cap given for this very request does.
      if (stream && options?.maxBodySize === undefined && opts.maxBodySize !== Infinity) {
        opts = { ...opts, maxBodySize: Number.POSITIVE_INFINITY };
      }
      hooks = mergeHooks(this.#hooks, options?.hooks);
      const override = options?.retry;
      const engine =
        override === undefined ? this.#engine : this.#resilience.engineFor(override, this.#engine);
      const signal = options?.signal;
      if (signal !== undefined && !(signal instanceof AbortSignal)) {
        throw new InvalidRequestError('signal must be an AbortSignal');
      }
      const defaults = opts.decompress ? this.#headers : this.#plainHeaders;
      const prepared = prepareRequest(
        method,
        url,
        this.targets,
        defaults,
        headers,
        body,
        json,
        options?.idempotencyKey,
        options?.searchParams,
      );
      request = prepared instanceof Promise ? await prepared : prepared;
      // Before the call exists, so an aborted call touches neither pool nor host state.
      if (signal?.aborted) throw new AbortError(signal.reason);
      call = new Call(
        this.#clock,
        this.#deadlines,
        opts.timeout,
        opts.attemptTimeout ?? defaultAttemptTimeout(opts.timeout, engine?.config.maxAttempts ?? 1),
        signal,
        this.#clock.now(),
      );
      this.#calls.add(call);
      watched = callStarted(request.method, request.target.href, stream, this.#redact);
      let redirected = false;
      for (let hops = 0; ; hops++) {
        const att = await this.#retry.run(call, request, opts, stream, engine, hooks, hops === 0);
        if (att.error !== undefined) {
          failedHost = att.origin?.key;
          throw att.error;
        }
        const result = att.result!;
        let next = followRedirect(
          call,
          request,
          result,
          stream,
          opts,
          hops,
          this.#crossOriginStrip,
          this.#clock,
        );
        if (next !== undefined) {
          if (next instanceof Promise) next = await next;
          request = next;
          redirected = true;
          continue;
        }
        const init = responseInit(call, att, result, request, redirected, this.#redact);
        let response = respond(init, result, request.method, opts);
        if (response instanceof Promise) response = await response;
        if (hooks.afterResponse.length > 0) {
          const replaced = await afterResponse(hooks, response, request);
          if (replaced !== response) {
            // The call's own response is not used: its streamed body lets its connection go.
            if (!Buffer.isBuffer(result.body)) (result.body as BodyStream).cancel();
            if (watched !== undefined)
              callEnded(watched, replaced, this.#clock.now() - call.startedAt);
            return replaced;
          }
        }
        if (opts.throwHttpErrors && response.status >= 400) {
          if (response instanceof HttpResponse) {
            throw new HttpStatusError(response, { attempts: call.reportedAttempts });
          }
          const read = await readErrorBody(call, init, response, this.#defaults.maxBodySize);
          throw new HttpStatusError(read.response, {
            attempts: call.reportedAttempts,
            cause: read.cause,
          });
        }
        if (stream) {
          const source = result.body as BodyStream;
          // The call ends with its body: the caller's signal and close() still apply.
          handedOver = true;
          const handed = call;
          const finish = (): void => {
            handed.finish();
            this.#calls.delete(handed);
          };
          if (source.settled) finish();
          else call.onStreamEnd = finish;
        }
        if (watched !== undefined) callEnded(watched, response, this.#clock.now() - call.startedAt);
        return response;
      }
    } catch (err) {
      let error: SentinelError = isSentinelError(err)
        ? err
        : new InvalidRequestError(String(err), { cause: err });
      // Refused before the first attempt (bad input, closed client): 0 attempts.
      error.attempts ??= call?.reportedAttempts ?? 0;
      this.#label(error, method, url, request, failedHost);
      if (hooks.beforeError.length > 0) {
        error = await runBeforeError(hooks.beforeError, error);
        error.attempts ??= call?.reportedAttempts ?? 0;
        this.#label(error, method, url, request, failedHost);
      }
      if (watched !== undefined) callFailed(watched, error, this.#clock.now() - call!.startedAt);
      throw error;
    } finally {
      if (call !== undefined && !handedOver) {
        call.finish();
        this.#calls.delete(call);
      }
    }
  }

  /**
   * The one place a call's error is told which request failed: the hop it failed on (or
   * the caller's method and URL, when it failed before its request was prepared).
   */
  #label(
    error: SentinelError,
    method: unknown,
    url: unknown,
    request: PreparedRequest | undefined,
    host: string | undefined,
  ): void {
    if (error.method !== undefined) return;
    if (request === undefined) {
      labelRefused(error, method, url, this.targets, this.#redact);
    } else {
      const { target } = request;
      labelError(error, request.method, target.href, host ?? target.origin.key, this.#redact);
    }
  }

  /** Ends every call in flight (they fail with `PoolClosedError`); new calls are refused. */
  close(): void {
    this.closed = true;
    for (const call of this.#calls) call.abort(new PoolClosedError('the client was closed'));
    this.targets.clear();
  }
}

/** The `afterResponse` hooks: each may replace the response the next one sees. */
async function afterResponse(
  hooks: ResolvedHooks,
  response: AnyResponse,
  request: PreparedRequest,
): Promise<AnyResponse> {
  const seen = hookRequest(request);
  let current = response;
  for (const hook of hooks.afterResponse) {
    let next: unknown;
    try {
      next = await hook(current, seen);
    } catch (cause) {
      // A response that is not handed over must let its connection go.
      if ('cancel' in current && typeof current.cancel === 'function') current.cancel();
      throw hookFailed('afterResponse', cause);
    }
    if (next !== undefined) current = next as AnyResponse;
  }
  return current;
}
