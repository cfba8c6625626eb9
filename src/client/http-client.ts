/**
 * HttpClient: the facade. It checks and prepares each request, then runs it through the
 * stages, each in its own file:
 *
 * - retry (`retry-stage.ts`): the attempts of a hop, with `beforeRequest`/`beforeRetry`
 *   hooks, the policy, `Retry-After`, the retry budget and the deadline;
 * - exchange (`exchange-stage.ts`): one attempt: backend pick, breaker admission, a
 *   connection, the request on the wire, the stale-socket resend, the classifier's verdict;
 * - redirects (`redirect-stage.ts`): the next hop, a streamed 3xx body drained;
 * - response (`respond.ts`): decoding and the caller's response;
 * - hooks (`hooks.ts`): `afterResponse` and `beforeError` around the whole call.
 */
import type { BodyInit } from '../core/body.js';
import { type Clock, systemClock } from '../core/clock.js';
import { DeadlineQueue } from '../core/deadlines.js';
import {
  AbortError,
  HttpStatusError,
  InvalidRequestError,
  isSentinelError,
  PoolClosedError,
} from '../core/errors.js';
import { type HeadersInit, mergeHeaders, normalizeHeaders } from '../core/headers.js';
import { redactInvalidUrl } from '../core/redact.js';
import type { BodyStream } from '../pool/body-stream.js';
import { ConnectionPool, type PoolStats } from '../pool/index.js';
import { RetryEngine } from '../retry/index.js';
import { Call } from './call.js';
import { ACCEPT_ENCODING } from './decompress.js';
import { type ClientEvent, EventHub } from './events.js';
import { Exchanger } from './exchange-stage.js';
import {
  type AnyResponse,
  hookFailed,
  mergeHooks,
  NO_HOOKS,
  type ResolvedHooks,
  runBeforeError,
} from './hooks.js';
import {
  type ClientOptions,
  checkUpstreams,
  DEFAULT_REQUEST_OPTIONS,
  defaultAttemptTimeout,
  type RequestOptions,
  type ResolvedOptions,
  resolveOptions,
} from './options.js';
import {
  defaultHeaderList,
  type PreparedRequest,
  prepareRequest,
  scrubbedUrlError,
  TARGET_CACHE,
  TargetCache,
} from './prepare.js';
import { crossOriginStripList, DEFAULT_REDIRECT_STRIP_HEADERS } from './redirect.js';
import { followRedirect } from './redirect-stage.js';
import { type HostResilienceStats, Resilience, type RetryStats } from './resilience.js';
import { respond, responseInit } from './respond.js';
import type { HttpResponse, StreamingResponse } from './response.js';
import { hookRequest, RetryStage } from './retry-stage.js';
import { addUpstreams } from './upstream-pick.js';

/** A request for {@link HttpClient.request} and {@link HttpClient.stream}. */
export interface RequestInit extends RequestOptions {
  method: string;
  url: string | URL;
  headers?: HeadersInit;
  body?: BodyInit;
  /** Serialised with `JSON.stringify`; sets `content-type: application/json`. */
  json?: unknown;
}

/** Everything `client.stats()` reports, as plain JSON. */
export interface ClientStats {
  pool: PoolStats;
  retry: RetryStats;
  /** Breaker and health per host (`host:port`). */
  hosts: Record<string, HostResilienceStats>;
}

/** What a child of {@link HttpClient.extend} shares with its parent. */
interface Family {
  readonly pool: ConnectionPool;
  readonly resilience: Resilience;
  readonly events: EventHub;
  readonly engine: RetryEngine | undefined;
  readonly retry: ClientOptions['retry'];
  readonly acquireWaitMs: number;
}

/** Set by extend() for the one constructor call it makes. */
let joining: Family | undefined;

/** Options a child cannot change: they are the state it shares with its parent. */
const SHARED_OPTIONS = [
  'pool',
  'circuitBreaker',
  'retryBudget',
  'adaptive',
  'upstreams',
  'clock',
] as const;

/**
 * A resilient HTTP client: keep-alive pool, retries with backoff and `Retry-After`,
 * per-host circuit breakers, a retry budget, redirects, decompression, hooks and typed
 * errors. One instance is meant to be shared by every concurrent call in a thread.
 *
 * @example
 * ```ts
 * await using client = new HttpClient({ baseUrl: 'http://127.0.0.1:8080' });
 * const res = await client.get('/data', { accept: 'application/json' });
 * console.log(res.status, res.json());
 * ```
 */
export class HttpClient {
  /** The pool the client's requests go through. */
  readonly pool: ConnectionPool;
  readonly #options: ClientOptions;
  readonly #ownsPool: boolean;
  readonly #targets: TargetCache;
  readonly #defaults: Readonly<ResolvedOptions>;
  readonly #headers: string[];
  readonly #plainHeaders: string[];
  /** Headers a cross-origin redirect hop drops. */
  readonly #crossOriginStrip: readonly string[];
  readonly #resilience: Resilience;
  /** The client's own retry engine (a request's `retry` overrides it). */
  readonly #engine: RetryEngine | undefined;
  readonly #hooks: ResolvedHooks;
  readonly #events: EventHub;
  readonly #clock: Clock;
  /** The deadlines of the calls' attempts. */
  readonly #deadlines: DeadlineQueue;
  readonly #calls = new Set<Call>();
  /** Upstreams this client added to a pool it shares, removed again by close(). */
  readonly #lentUpstreams: readonly string[];
  readonly #acquireWaitMs: number;
  readonly #retry: RetryStage;
  #closed = false;

  /**
   * @throws {InvalidRequestError} when an option is invalid, or an upstream's name is
   *   already taken in a shared `pool`
   */
  constructor(options: ClientOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidRequestError('client options must be an object');
    }
    const family = joining;
    joining = undefined;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    const {
      baseUrl,
      headers,
      pool,
      retry,
      circuitBreaker,
      retryBudget,
      adaptive,
      clock,
      upstreams,
      redirectStripHeaders,
      hooks,
      ...rest
    } = options;
    this.#hooks = mergeHooks(NO_HOOKS, hooks);
    this.#defaults = resolveOptions(DEFAULT_REQUEST_OPTIONS, rest);
    let base: URL | undefined;
    if (baseUrl !== undefined) {
      try {
        base = new URL(baseUrl);
      } catch (cause) {
        throw new InvalidRequestError(
          `invalid baseUrl ${JSON.stringify(redactInvalidUrl(String(baseUrl)))}`,
          { cause: scrubbedUrlError(cause) },
        );
      }
    }
    this.#crossOriginStrip = crossOriginStripList(
      redirectStripHeaders ?? DEFAULT_REDIRECT_STRIP_HEADERS,
    );
    this.#targets = new TargetCache(base);
    this.#deadlines = new DeadlineQueue(this.#clock);
    this.#headers = defaultHeaderList(headers, ACCEPT_ENCODING);
    this.#plainHeaders = defaultHeaderList(headers, undefined);
    if (family !== undefined) {
      this.#events = family.events;
      this.#resilience = family.resilience;
      this.#engine = retry === family.retry ? family.engine : engineOf(retry, this.#clock);
      this.pool = family.pool;
      this.#ownsPool = false;
      this.#acquireWaitMs = family.acquireWaitMs;
      this.#lentUpstreams = [];
    } else {
      this.#events = new EventHub();
      this.#resilience = new Resilience(options, this.#clock, this.#events);
      this.#engine = this.#resilience.engine;
      const definitions = checkUpstreams(upstreams);
      if (pool instanceof ConnectionPool) {
        for (const { name } of definitions) {
          if (pool.upstream(name) !== undefined) {
            throw new InvalidRequestError(`the shared pool already has an upstream ${name}`);
          }
        }
        this.pool = pool;
        this.#ownsPool = false;
        this.#acquireWaitMs = pool.config.connectionTimeoutMs;
      } else {
        this.pool = new ConnectionPool({
          connectTimeoutMs: this.#defaults.connectTimeout,
          ...(clock === undefined ? {} : { clock }),
          ...(pool ?? {}),
        });
        this.#ownsPool = true;
        this.#acquireWaitMs = pool?.connectionTimeoutMs ?? Number.POSITIVE_INFINITY;
      }
      this.#lentUpstreams = this.#ownsPool ? [] : definitions.map((d) => d.name);
      addUpstreams(this.pool, definitions);
    }
    const exchanger = new Exchanger(
      this.pool,
      this.#resilience,
      this.#clock,
      this.#events,
      this.#acquireWaitMs,
    );
    this.#retry = new RetryStage(this.pool, exchanger, this.#resilience, this.#clock, this.#events);
  }

  /** GET `url`. */
  get(url: string | URL, headers?: HeadersInit, options?: RequestOptions): Promise<HttpResponse> {
    return this.#buffered('GET', url, headers, undefined, undefined, options);
  }

  /** HEAD `url`. */
  head(url: string | URL, headers?: HeadersInit, options?: RequestOptions): Promise<HttpResponse> {
    return this.#buffered('HEAD', url, headers, undefined, undefined, options);
  }

  /** DELETE `url`. */
  delete(
    url: string | URL,
    headers?: HeadersInit,
    options?: RequestOptions,
  ): Promise<HttpResponse> {
    return this.#buffered('DELETE', url, headers, undefined, undefined, options);
  }

  /** POST `body` to `url`. Not retried unless it has an `idempotencyKey`. */
  post(
    url: string | URL,
    headers?: HeadersInit,
    body?: BodyInit,
    options?: RequestOptions,
  ): Promise<HttpResponse> {
    return this.#buffered('POST', url, headers, body, undefined, options);
  }

  /** PUT `body` to `url`. */
  put(
    url: string | URL,
    headers?: HeadersInit,
    body?: BodyInit,
    options?: RequestOptions,
  ): Promise<HttpResponse> {
    return this.#buffered('PUT', url, headers, body, undefined, options);
  }

  /** PATCH `url` with `body`. Not retried unless it has an `idempotencyKey`. */
  patch(
    url: string | URL,
    headers?: HeadersInit,
    body?: BodyInit,
    options?: RequestOptions,
  ): Promise<HttpResponse> {
    return this.#buffered('PATCH', url, headers, body, undefined, options);
  }

  /**
   * Any request, with the body read into memory.
   * @example
   * ```ts
   * const res = await client.request({ method: 'POST', url, json: { name: 'x' } });
   * ```
   */
  request(init: RequestInit): Promise<HttpResponse> {
    if (typeof init !== 'object' || init === null) {
      return Promise.reject(new InvalidRequestError('request() takes an object'));
    }
    return this.#buffered(init.method, init.url, init.headers, init.body, init.json, init);
  }

  /**
   * Like {@link request}, but resolves at headers: the body is read as it arrives
   * (`res.body`, `res.events()` for SSE). The connection is held until the body is
   * consumed, cancelled or disposed. The deadlines cover the wait for headers; while
   * the body streams, `attemptTimeout` bounds each wait for the next chunk.
   */
  stream(init: RequestInit): Promise<StreamingResponse> {
    if (typeof init !== 'object' || init === null) {
      return Promise.reject(new InvalidRequestError('stream() takes an object'));
    }
    return this.#run(
      init.method,
      init.url,
      init.headers,
      init.body,
      init.json,
      init,
      true,
    ) as Promise<StreamingResponse>;
  }

  #buffered(
    method: string,
    url: string | URL,
    headers: HeadersInit | undefined,
    body: BodyInit | undefined,
    json: unknown,
    options: RequestOptions | undefined,
  ): Promise<HttpResponse> {
    // The verbs take `json` with the options; request() passes its own.
    const payload = json === undefined ? options?.json : json;
    return this.#run(method, url, headers, body, payload, options, false) as Promise<HttpResponse>;
  }

  /**
   * One call: the request prepared, then the retry stage for each hop, the redirect stage
   * between hops, and the response stage, with the call's hooks around them.
   *
   * A call that succeeds at once and has no hooks awaits its exchange and the retry stage
   * that holds it; what is slow only when it happens (waiting for a connection, a resend,
   * a retry delay, a redirect, decoding, a hook) awaits only then.
   */
  async #run(
    method: string,
    url: string | URL,
    headers: HeadersInit | undefined,
    body: BodyInit | undefined,
    json: unknown,
    options: RequestOptions | undefined,
    stream: boolean,
  ): Promise<HttpResponse | StreamingResponse> {
    let call: Call | undefined;
    let handedOver = false;
    let hooks = this.#hooks;
    try {
      if (this.#closed) throw new PoolClosedError('the client is closed');
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
      let request = prepareRequest(
        method,
        url,
        this.#targets,
        defaults,
        headers,
        body,
        json,
        options?.idempotencyKey,
      );
      if (request instanceof Promise) request = await request;
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
      let redirected = false;
      for (let hops = 0; ; hops++) {
        const att = await this.#retry.run(call, request, opts, stream, engine, hooks, hops === 0);
        if (att.error !== undefined) throw att.error;
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
        const init = responseInit(call, att, result, request.target.href, redirected);
        let response = respond(init, result, request.method, opts);
        if (response instanceof Promise) response = await response;
        if (hooks.afterResponse.length > 0) {
          const replaced = await afterResponse(hooks, response, request);
          if (replaced !== response) {
            // The call's own response is not used: its streamed body lets its connection go.
            if (!Buffer.isBuffer(result.body)) (result.body as BodyStream).cancel();
            return replaced;
          }
        }
        if (opts.throwHttpErrors && response.status >= 400) {
          if (!Buffer.isBuffer(result.body)) (result.body as BodyStream).cancel();
          throw new HttpStatusError(response, { attempts: call.reportedAttempts });
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
        return response;
      }
    } catch (err) {
      let error = isSentinelError(err) ? err : new InvalidRequestError(String(err), { cause: err });
      // Refused before the first attempt (bad input, closed client): 0 attempts.
      error.attempts ??= call?.reportedAttempts ?? 0;
      if (hooks.beforeError.length > 0) {
        error = await runBeforeError(hooks.beforeError, error);
        error.attempts ??= call?.reportedAttempts ?? 0;
      }
      throw error;
    } finally {
      if (call !== undefined && !handedOver) {
        call.finish();
        this.#calls.delete(call);
      }
    }
  }

  /**
   * A client with this one's defaults merged with `options`: headers merged by name,
   * hooks appended, every other option overridden. It shares this client's pool, its
   * per-host breakers and health, its retry budget and its events; closing it ends its
   * own calls and leaves this client working. (got's and ky's `extend`.)
   *
   * @throws {InvalidRequestError} for an invalid option, or one of the shared ones
   *   (`pool`, `circuitBreaker`, `retryBudget`, `adaptive`, `upstreams`, `clock`)
   * @example
   * ```ts
   * const api = client.extend({ baseUrl: 'https://api.example.com/v1/', headers: { authorization } });
   * ```
   */
  extend(options: ClientOptions = {}): HttpClient {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidRequestError('extend() takes an options object');
    }
    for (const name of SHARED_OPTIONS) {
      if (options[name] !== undefined) {
        throw new InvalidRequestError(
          `extend() shares the parent's ${name}; give it to the parent, or make a new HttpClient`,
        );
      }
    }
    const parent = this.#options;
    const merged: ClientOptions = {
      ...parent,
      ...options,
      headers: pairs(
        mergeHeaders(normalizeHeaders(parent.headers), normalizeHeaders(options.headers)),
      ),
      hooks: appendHooks(parent.hooks, options.hooks),
    };
    joining = {
      pool: this.pool,
      resilience: this.#resilience,
      events: this.#events,
      engine: this.#engine,
      retry: parent.retry,
      acquireWaitMs: this.#acquireWaitMs,
    };
    try {
      return new HttpClient(merged);
    } finally {
      joining = undefined;
    }
  }

  /**
   * Subscribes to what the client does: every attempt's outcome, retries and their
   * delays, retries refused by the budget or throttle, breaker transitions. Listeners run
   * synchronously; keep them cheap.
   * @returns the function that unsubscribes
   * @example
   * ```ts
   * const off = client.onEvent((e) => { if (e.type === 'retry') log(e.attempt, e.delayMs); });
   * ```
   */
  onEvent(listener: (event: ClientEvent) => void): () => void {
    return this.#events.subscribe(listener);
  }

  /** Figures of the pool, retries, breakers and host health, as plain JSON. */
  stats(): ClientStats {
    const { retry, hosts } = this.#resilience.stats();
    return { pool: this.pool.stats(), retry, hosts };
  }

  /**
   * Closes the client: new calls fail with `PoolClosedError`, calls waiting to retry
   * end now, and the pool (when the client made it) closes. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const call of this.#calls) call.abort(new PoolClosedError('the client was closed'));
    for (const name of this.#lentUpstreams) this.pool.removeUpstream(name);
    this.#targets.clear();
    if (this.#ownsPool) await this.pool.close();
  }

  /** @internal The URL cache, for tests. */
  get [TARGET_CACHE](): TargetCache {
    return this.#targets;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The engine of a `retry` option. */
function engineOf(retry: ClientOptions['retry'], clock: Clock): RetryEngine | undefined {
  if (retry === false) return undefined;
  if (retry instanceof RetryEngine) return retry;
  return new RetryEngine(retry ?? {}, { clock });
}

/** A flat header list as the pairs a `HeadersInit` may be. */
function pairs(list: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < list.length; i += 2) out.push([list[i]!, list[i + 1]!]);
  return out;
}

/** Hooks of a child: the parent's, then its own. */
function appendHooks(
  base: ClientOptions['hooks'],
  extra: ClientOptions['hooks'],
): ClientOptions['hooks'] {
  if (base === undefined) return extra;
  if (extra === undefined) return base;
  const out: Record<string, unknown[]> = {};
  for (const name of ['beforeRequest', 'afterResponse', 'beforeRetry', 'beforeError'] as const) {
    out[name] = [...(base[name] ?? []), ...(extra[name] ?? [])];
  }
  return out as ClientOptions['hooks'];
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
