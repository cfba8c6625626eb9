/**
 * HttpClient: the facade. It checks the client's options, builds the pipeline
 * (`pipeline.ts`) that each call runs through, and offers the verbs, `extend()`, events,
 * statistics and `close()`. The stages, in order, are listed in the README's Architecture
 * section.
 */
import type { BodyInit } from '../core/body.js';
import { systemClock } from '../core/clock.js';
import { InvalidRequestError } from '../core/errors.js';
import { type HeadersInit, mergeHeaders, normalizeHeaders } from '../core/headers.js';
import { ConnectionPool, type PoolStats } from '../pool/index.js';
import type { RetryEngine } from '../retry/index.js';
import { createOtel } from '../telemetry/otel.js';
import { traceCall, tracingWatched } from './channels.js';
import { checkCookieJar } from './cookies.js';
import { checkRedactQueryParams } from './error-label.js';
import { type ClientEvent, EventHub } from './events.js';
import { appendHooks, engineOf, join, pairs, SHARED_OPTIONS, takeFamily } from './extend.js';
import { mergeHooks, NO_HOOKS } from './hooks.js';
import { type OptionName, refuseOptionNames } from './option-names.js';
import {
  type ClientOptions,
  checkUpstreams,
  DEFAULT_REQUEST_OPTIONS,
  type RequestOptions,
  resolveOptions,
} from './options.js';
import { Pipeline } from './pipeline.js';
import { defaultHeaderList, type TargetCache } from './prepare.js';
import { crossOriginStripList, DEFAULT_REDIRECT_STRIP_HEADERS } from './redirect.js';
import { type HostResilienceStats, Resilience, type RetryStats } from './resilience.js';
import type { HttpResponse, StreamingResponse } from './response.js';
import { addUpstreams } from './upstream-pick.js';
import { parseBaseUrl } from './url.js';

/** A request for {@link HttpClient.request} and {@link HttpClient.stream}. */
export interface RequestInit extends RequestOptions {
  method: string;
  url: string | URL;
  headers?: HeadersInit<OptionName>;
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
/** Set by the class's static block: the client's URL cache, which only tests look into. */
let targetsOf: (client: HttpClient) => TargetCache;

export class HttpClient {
  /** The pool the client's requests go through. */
  readonly pool: ConnectionPool;
  readonly #options: ClientOptions;
  readonly #ownsPool: boolean;
  readonly #resilience: Resilience;
  /** The client's own retry engine (a request's `retry` overrides it). */
  readonly #engine: RetryEngine | undefined;
  readonly #events: EventHub;
  /** Upstreams this client added to a pool it shares, removed again by close(). */
  readonly #lentUpstreams: readonly string[];
  readonly #acquireWaitMs: number;
  readonly #pipeline: Pipeline;
  /** Made by extend(): it shares its parent's state, which the parent's close() ends. */
  readonly #child: boolean;
  #closed = false;

  static {
    targetsOf = (client) => client.#pipeline.targets;
  }

  /**
   * @throws {InvalidRequestError} when an option is invalid, or an upstream's name is
   *   already taken in a shared `pool`
   */
  constructor(options: ClientOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidRequestError('client options must be an object');
    }
    const family = takeFamily();
    this.#child = family !== undefined;
    this.#options = options;
    const now = options.clock ?? systemClock;
    const {
      baseUrl,
      headers,
      pool,
      proxy,
      retry,
      circuitBreaker,
      retryBudget,
      adaptive,
      clock,
      upstreams,
      redirectStripHeaders,
      redactQueryParams,
      hooks,
      telemetry,
      cookieJar,
      ...rest
    } = options;
    const defaults = resolveOptions(DEFAULT_REQUEST_OPTIONS, rest);
    const jar = checkCookieJar(cookieJar);
    const base = parseBaseUrl(baseUrl);
    const crossOriginStrip = crossOriginStripList(
      redirectStripHeaders ?? DEFAULT_REDIRECT_STRIP_HEADERS,
    );
    const checkedHooks = mergeHooks(NO_HOOKS, hooks);
    const redactQuery = checkRedactQueryParams(redactQueryParams);
    // The pipeline builds its header lists once the pool exists; checked here too, so a bad
    // header leaves no pool, upstream or telemetry watcher behind.
    defaultHeaderList(headers, undefined);
    if (family !== undefined) {
      this.#events = family.events;
      this.#resilience = family.resilience;
      this.#engine = retry === family.retry ? family.engine : engineOf(retry, now);
      this.pool = family.pool;
      this.#ownsPool = false;
      this.#acquireWaitMs = family.acquireWaitMs;
      this.#lentUpstreams = [];
    } else {
      this.#events = new EventHub();
      // Checked first: a bad option fails before anything is made.
      this.#events.otel = createOtel(telemetry);
      this.#resilience = new Resilience(options, now, this.#events);
      this.#engine = this.#resilience.engine;
      const definitions = checkUpstreams(upstreams);
      if (pool instanceof ConnectionPool) {
        if (proxy !== undefined) {
          throw new InvalidRequestError('a shared pool takes its proxy in its own config');
        }
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
          connectTimeoutMs: defaults.connectTimeout,
          ...(clock === undefined ? {} : { clock }),
          ...(proxy === undefined ? {} : { proxy }),
          ...(pool ?? {}),
        });
        this.#ownsPool = true;
        this.#acquireWaitMs = pool?.connectionTimeoutMs ?? Number.POSITIVE_INFINITY;
      }
      this.#lentUpstreams = this.#ownsPool ? [] : definitions.map((d) => d.name);
      addUpstreams(this.pool, definitions);
      this.#events.otel?.watch(this.pool, this.#resilience, () => breakerStates(this.#resilience));
    }
    this.#pipeline = new Pipeline({
      pool: this.pool,
      resilience: this.#resilience,
      engine: this.#engine,
      events: this.#events,
      clock: now,
      acquireWaitMs: this.#acquireWaitMs,
      defaults,
      hooks: checkedHooks,
      baseUrl: base,
      headers,
      crossOriginStrip,
      cookieJar: jar,
      redactQuery,
    });
  }

  /**
   * GET `url`. `headers` holds headers only: options go in `options`, and a plain
   * object whose key is an option name (`timeout`, `retry`, `json`, …) is refused.
   * @throws {InvalidRequestError} (as a rejection, before any I/O) for a bad URL, a
   *   header value that is not a string, or an option name among the headers
   * @example
   * ```ts
   * await client.get('/users', { accept: 'application/json' }, { timeout: 5_000 });
   * ```
   */
  get(
    url: string | URL,
    headers?: HeadersInit<OptionName>,
    options?: RequestOptions,
  ): Promise<HttpResponse> {
    return this.#buffered('GET', url, headers, undefined, undefined, options);
  }

  /** HEAD `url`. */
  head(
    url: string | URL,
    headers?: HeadersInit<OptionName>,
    options?: RequestOptions,
  ): Promise<HttpResponse> {
    return this.#buffered('HEAD', url, headers, undefined, undefined, options);
  }

  /** DELETE `url`. */
  delete(
    url: string | URL,
    headers?: HeadersInit<OptionName>,
    options?: RequestOptions,
  ): Promise<HttpResponse> {
    return this.#buffered('DELETE', url, headers, undefined, undefined, options);
  }

  /**
   * POST `body` to `url`. Not retried unless it has an `idempotencyKey`. An object is
   * sent as JSON only through the `json` option: a plain object as `body` is refused.
   * @example
   * ```ts
   * await client.post('/users', undefined, undefined, { json: { name: 'x' } });
   * ```
   */
  post(
    url: string | URL,
    headers?: HeadersInit<OptionName>,
    body?: BodyInit,
    options?: RequestOptions,
  ): Promise<HttpResponse> {
    return this.#buffered('POST', url, headers, body, undefined, options);
  }

  /** PUT `body` to `url`. */
  put(
    url: string | URL,
    headers?: HeadersInit<OptionName>,
    body?: BodyInit,
    options?: RequestOptions,
  ): Promise<HttpResponse> {
    return this.#buffered('PUT', url, headers, body, undefined, options);
  }

  /** PATCH `url` with `body`. Not retried unless it has an `idempotencyKey`. */
  patch(
    url: string | URL,
    headers?: HeadersInit<OptionName>,
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
    if (tracingWatched()) {
      return traceCall(init.method, init.url, true, this.#pipeline.redact, () =>
        this.#stream(init),
      );
    }
    return this.#stream(init);
  }

  #stream(init: RequestInit): Promise<StreamingResponse> {
    return this.#pipeline.run(
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
    if (tracingWatched()) {
      return traceCall(method, url, false, this.#pipeline.redact, () =>
        this.#pipeline.run(method, url, headers, body, payload, options, false),
      ) as Promise<HttpResponse>;
    }
    return this.#pipeline.run(
      method,
      url,
      headers,
      body,
      payload,
      options,
      false,
    ) as Promise<HttpResponse>;
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
        mergeHeaders(
          normalizeHeaders(parent.headers),
          normalizeHeaders(options.headers, refuseOptionNames, 'client'),
        ),
      ),
      hooks: appendHooks(parent.hooks, options.hooks),
    };
    join({
      pool: this.pool,
      resilience: this.#resilience,
      events: this.#events,
      engine: this.#engine,
      retry: parent.retry,
      acquireWaitMs: this.#acquireWaitMs,
    });
    try {
      return new HttpClient(merged);
    } finally {
      join(undefined);
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
    this.#pipeline.close();
    for (const name of this.#lentUpstreams) this.pool.removeUpstream(name);
    if (this.#ownsPool) await this.pool.close();
    // After the pool: the lifetimes of the connections it just closed are still recorded.
    if (!this.#child) this.#events.otel?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Each host's breaker state, for `http_sentinel.breaker.state`. */
function* breakerStates(resilience: Resilience): Iterable<readonly [string, string]> {
  const { hosts } = resilience.stats();
  for (const key in hosts) {
    const breaker = hosts[key]!.breaker;
    if (breaker !== undefined) yield [key, breaker.state];
  }
}

/** @internal The URL cache of `client`, for tests. */
export function targetCacheOf(client: HttpClient): TargetCache {
  return targetsOf(client);
}
