/**
 * HttpClient: request building, the attempt pipeline, redirects and responses. Pooling
 * lives in `pool/`, retry decisions in `retry/`; this file only composes them:
 *
 * resolve target (origin, or upstream name -> backend picked by its balancer)
 *   -> breaker of that host allows? -> pool acquire -> exchange -> release
 *   -> record outcome (stats, health, breaker, upstream) -> retry decision -> delay -> again
 */
import { type BodyInit, NO_BODY } from '../core/body.js';
import { type Clock, systemClock } from '../core/clock.js';
import {
  AbortError,
  ConnectionError,
  HttpStatusError,
  InvalidRequestError,
  isSentinelError,
  PoolClosedError,
  ProtocolError,
  type SentinelError,
} from '../core/errors.js';
import { type HeadersInit, headersFromRaw, rawHeader } from '../core/headers.js';
import type { BodyStream } from '../pool/body-stream.js';
import type { Exchange, ExchangeResult } from '../pool/exchange.js';
import {
  type Backend,
  type Connection,
  ConnectionPool,
  type Origin,
  type PoolStats,
  parseOrigin,
  type Upstream,
} from '../pool/index.js';
import type { RetryEngine } from '../retry/index.js';
import { Call } from './call.js';
import { ACCEPT_ENCODING, codingOf, decompressBuffer, decompressStream } from './decompress.js';
import { type ClientEvent, EventHub } from './events.js';
import {
  type ClientOptions,
  checkUpstreams,
  DEFAULT_REQUEST_OPTIONS,
  type RequestOptions,
  type ResolvedOptions,
  resolveOptions,
} from './options.js';
import { defaultHeaderList, type PreparedRequest, pathOf, prepareRequest } from './prepare.js';
import { isRedirect, nextHop } from './redirect.js';
import {
  type HostGuard,
  type HostResilienceStats,
  Resilience,
  type RetryStats,
} from './resilience.js';
import { HttpResponse, type ResponseInit, StreamingResponse, type Timings } from './response.js';
import {
  addUpstreams,
  type BackendPick,
  endPick,
  pickBackend,
  rttOf,
  verdictOf,
} from './upstream-pick.js';

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

/** What one attempt produced: a response (body read, or streaming) or an error. */
interface AttemptResult extends BackendPick {
  result: ExchangeResult | undefined;
  conn: Connection | undefined;
  queuedMs: number;
  body: Buffer | BodyStream | undefined;
  /** A streamed body ended before the attempt read its result; the attempt ends the pick. */
  streamEnded: boolean;
  /** That body's verdict on the backend. */
  streamVerdict: boolean | undefined;
}

const NO_BODY_STATUS = (status: number, method: string): boolean =>
  method === 'HEAD' || status === 204 || status === 304;

/**
 * A resilient HTTP client: keep-alive pool, retries with backoff and `Retry-After`,
 * per-host circuit breakers, a retry budget, redirects, decompression and typed errors.
 * One instance is meant to be shared by every concurrent call in a thread.
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
  readonly #ownsPool: boolean;
  readonly #baseUrl: URL | undefined;
  readonly #defaults: Readonly<ResolvedOptions>;
  readonly #headers: string[];
  readonly #plainHeaders: string[];
  readonly #resilience: Resilience;
  readonly #events = new EventHub();
  readonly #clock: Clock;
  readonly #calls = new Set<Call>();
  /** Upstreams this client added to a pool it shares, removed again by close(). */
  readonly #lentUpstreams: readonly string[];
  #closed = false;

  /**
   * @throws {InvalidRequestError} when an option is invalid, or an upstream's name is
   *   already taken in a shared `pool`
   */
  constructor(options: ClientOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidRequestError('client options must be an object');
    }
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
      ...rest
    } = options;
    this.#defaults = resolveOptions(
      DEFAULT_REQUEST_OPTIONS,
      rest.attemptTimeout === undefined && rest.timeout !== undefined
        ? { ...rest, attemptTimeout: rest.timeout }
        : rest,
    );
    if (baseUrl !== undefined) {
      try {
        this.#baseUrl = new URL(baseUrl);
      } catch (cause) {
        throw new InvalidRequestError(`invalid baseUrl ${JSON.stringify(String(baseUrl))}`, {
          cause,
        });
      }
    }
    this.#headers = defaultHeaderList(headers, ACCEPT_ENCODING);
    this.#plainHeaders = defaultHeaderList(headers, undefined);
    this.#resilience = new Resilience(options, this.#clock, this.#events);
    const definitions = checkUpstreams(upstreams);
    if (pool instanceof ConnectionPool) {
      for (const { name } of definitions) {
        if (pool.upstream(name) !== undefined) {
          throw new InvalidRequestError(`the shared pool already has an upstream ${name}`);
        }
      }
      this.pool = pool;
      this.#ownsPool = false;
    } else {
      this.pool = new ConnectionPool({
        connectTimeoutMs: this.#defaults.connectTimeout,
        ...(clock === undefined ? {} : { clock }),
        ...(pool ?? {}),
      });
      this.#ownsPool = true;
    }
    this.#lentUpstreams = this.#ownsPool ? [] : definitions.map((d) => d.name);
    addUpstreams(this.pool, definitions);
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
    return this.#run(method, url, headers, body, json, options, false) as Promise<HttpResponse>;
  }

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
    try {
      if (this.#closed) throw new PoolClosedError('the client is closed');
      const opts = resolveOptions(this.#defaults, options);
      const engine = this.#resilience.engineFor(options?.retry);
      const signal = options?.signal;
      if (signal !== undefined && !(signal instanceof AbortSignal)) {
        throw new InvalidRequestError('signal must be an AbortSignal');
      }
      const defaults = opts.decompress ? this.#headers : this.#plainHeaders;
      let request = prepareRequest(
        method,
        url,
        this.#baseUrl,
        defaults,
        headers,
        body,
        json,
        options?.idempotencyKey,
      );
      if (request instanceof Promise) request = await request;
      // Before the call exists, so an aborted call touches neither pool nor host state.
      if (signal?.aborted) throw new AbortError(signal.reason);
      call = new Call(this.#clock, opts.timeout, signal);
      this.#calls.add(call);
      let redirected = false;
      for (let hops = 0; ; hops++) {
        const outcome = await this.#withRetries(call, request, opts, engine, stream);
        const { result } = outcome;
        if (opts.maxRedirects > 0 && isRedirect(result.status)) {
          const location = rawHeader(result.rawHeaders, 'location');
          const hop = nextHop(
            request.url,
            request.method,
            result.status,
            location,
            request.headers,
            request.body.replayable,
            request.body.data !== null,
          );
          if (hop !== undefined) {
            if (hops >= opts.maxRedirects) {
              if (outcome.stream !== undefined) outcome.stream.cancel();
              throw new ProtocolError(`more than ${opts.maxRedirects} redirects`);
            }
            if (outcome.stream !== undefined) await drain(outcome.stream);
            request = {
              method: hop.method,
              url: hop.url,
              headers: hop.headers,
              body: hop.keepBody ? request.body : NO_BODY,
              idempotencyKey: request.idempotencyKey,
            };
            redirected = true;
            call.redirects++;
            continue;
          }
        }
        const init: ResponseInit = {
          status: result.status,
          statusText: result.statusText,
          rawHeaders: result.rawHeaders,
          url: request.url.href,
          redirected,
          attempts: call.reportedAttempts,
          timings: { ...outcome.timings, total: this.#clock.now() - call.startedAt },
        };
        const response = await this.#respond(init, outcome, request.method, opts);
        if (opts.throwHttpErrors && response.status >= 400) {
          if (response instanceof StreamingResponse) response.cancel();
          throw new HttpStatusError(response, { attempts: call.reportedAttempts });
        }
        if (outcome.stream !== undefined) {
          // The call ends with its body: the caller's signal and close() still apply.
          handedOver = true;
          const handed = call;
          const finish = (): void => {
            handed.finish();
            this.#calls.delete(handed);
          };
          if (outcome.stream.settled) finish();
          else call.onStreamEnd = finish;
        }
        return response;
      }
    } catch (err) {
      const error = isSentinelError(err)
        ? err
        : new InvalidRequestError(String(err), { cause: err });
      // Refused before the first attempt (bad input, closed client): 0 attempts.
      error.attempts ??= call?.reportedAttempts ?? 0;
      throw error;
    } finally {
      if (call !== undefined && !handedOver) {
        call.finish();
        this.#calls.delete(call);
      }
    }
  }

  /** Attempts until one succeeds or the policy, budget or deadline says stop. */
  async #withRetries(
    call: Call,
    request: PreparedRequest,
    opts: Readonly<ResolvedOptions>,
    engine: RetryEngine | undefined,
    stream: boolean,
  ): Promise<{
    result: ExchangeResult;
    stream: BodyStream | undefined;
    body: Buffer | undefined;
    timings: Omit<Timings, 'total'>;
  }> {
    const target = parseOrigin(request.url);
    const upstream = this.pool.upstreamFor(target);
    let origin: Origin | undefined;
    let guard: HostGuard | undefined;
    if (upstream === undefined) {
      origin = target;
      guard = this.#resilience.host(origin.key);
    }
    let previousDelay: number | undefined;
    let failed: Backend | undefined;
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.#attempt(
        call,
        request,
        opts,
        stream,
        origin,
        guard,
        upstream,
        failed,
        attempt === 0,
      );
      // Only read by a retry, which follows a failure: the next pick passes it over.
      failed = outcome.backend;
      if (call.abortError !== undefined) {
        discard(outcome);
        throw call.abortError;
      }
      const status = outcome.result?.status;
      const error = outcome.error;
      if (
        engine !== undefined &&
        !(error !== undefined && error.code === 'SENTINEL_CIRCUIT_OPEN')
      ) {
        const mightRetry =
          error !== undefined ||
          engine.config.statusCodes.has(status!) ||
          engine.config.shouldRetry !== undefined;
        if (mightRetry) {
          const decision = engine.decide(
            {
              attempt,
              method: request.method,
              idempotencyKey: request.idempotencyKey,
              replayable: request.body.replayable,
              error,
              status,
              headers:
                outcome.result === undefined
                  ? undefined
                  : headersFromRaw(outcome.result.rawHeaders),
              remainingMs: call.remaining(),
            },
            previousDelay,
          );
          if (decision.retry) {
            const refused = this.#resilience.refuseRetry(outcome.guard);
            if (refused === undefined) {
              if (this.#events.active) {
                this.#events.emit({
                  type: 'retry',
                  method: request.method,
                  url: request.url.href,
                  attempt: attempt + 1,
                  delayMs: decision.delayMs,
                  retryAfterMs: decision.retryAfterMs,
                  status,
                  error,
                });
              }
              discard(outcome);
              previousDelay = decision.delayMs;
              await call.delay(decision.delayMs);
              continue;
            }
            if (this.#events.active) {
              this.#events.emit({
                type: 'retry-refused',
                method: request.method,
                url: request.url.href,
                attempt: attempt + 1,
                by: refused,
              });
            }
          }
        }
      }
      if (error !== undefined) throw error;
      return {
        result: outcome.result!,
        stream:
          outcome.body !== undefined && !Buffer.isBuffer(outcome.body) ? outcome.body : undefined,
        body: Buffer.isBuffer(outcome.body) ? outcome.body : undefined,
        timings: timingsOf(outcome.queuedMs, outcome.result!),
      };
    }
  }

  /**
   * One attempt: target, breaker, acquire, exchange, release, record. Errors are
   * returned, not thrown, so the retry loop sees them all in one place.
   *
   * For an upstream (`origin` and `guard` undefined) the target is the backend its
   * balancer picks, passing over `failed`; that pick ends in exactly one record or
   * cancel: here, or for a stream that reached headers, when its body ends.
   */
  async #attempt(
    call: Call,
    request: PreparedRequest,
    opts: Readonly<ResolvedOptions>,
    stream: boolean,
    origin: Origin | undefined,
    guard: HostGuard | undefined,
    upstream: Upstream | undefined,
    failed: Backend | undefined,
    first: boolean,
  ): Promise<AttemptResult> {
    const res: AttemptResult = {
      result: undefined,
      error: undefined,
      conn: undefined,
      queuedMs: 0,
      body: undefined,
      guard,
      upstream,
      backend: undefined,
      picked: false,
      streamEnded: false,
      streamVerdict: undefined,
    };
    if (upstream === undefined) {
      try {
        this.#resilience.admit(origin!.key, guard!, first);
      } catch (err) {
        res.error = err as SentinelError;
        return res;
      }
    } else {
      pickBackend(this.#resilience, upstream, failed, first, res);
      if (res.error !== undefined) {
        // No backend to pick is a failed attempt (retryable, like a refused
        // connection); refusals by every breaker are no attempt at all.
        if (res.error.code !== 'SENTINEL_CIRCUIT_OPEN') {
          call.attempts++;
          this.#attemptEnded(request, call, res, 0);
        }
        return res;
      }
      origin = res.backend!.origin;
      guard = res.guard;
    }
    call.startAttempt(opts.attemptTimeout);
    const started = this.#clock.now();
    const entry = this.pool.host(origin!);
    let fresh = false;
    // When the request went out, on the pool's clock (the backend's RTT); -1 before.
    let sentAt = -1;
    try {
      for (;;) {
        // The transparent resend below gets one more go on a fresh connection.
        let conn: Connection | undefined;
        sentAt = -1;
        const acquireStart = this.#clock.now();
        conn = this.pool.tryTake(entry, opts.connectTimeout, fresh);
        if (conn === undefined) {
          try {
            conn = await this.pool.acquireOrigin(
              origin!,
              this.pool.config.connectionTimeoutMs,
              opts.connectTimeout,
              fresh,
              call.acquiring(),
            );
          } catch (err) {
            throw call.abortError ?? call.attemptError ?? err;
          }
        }
        res.queuedMs = this.#clock.now() - acquireStart;
        res.conn = conn;
        // `let`, not `const`: onEnd can run inside conn.exchange() (a dispatch that
        // throws), before the assignment.
        let exchange: Exchange | undefined;
        exchange = conn.exchange({
          method: request.method,
          path: pathOf(request.url),
          headers: request.headers,
          body: request.body.data,
          bodyLength: Math.max(request.body.length, 0),
          maxBodySize: opts.maxBodySize,
          stream,
          idleTimeoutMs: Number.isFinite(opts.attemptTimeout) ? opts.attemptTimeout : 300_000,
          onEnd: stream
            ? (error) => this.#streamEnded(call, conn!, res, exchange, error)
            : undefined,
        });
        sentAt = exchange.startedAt;
        call.exchanging(exchange);
        try {
          res.result = await exchange.promise;
          res.body = res.result.body;
          break;
        } catch (err) {
          const e = err as SentinelError;
          this.pool.release(conn);
          res.conn = undefined;
          if (
            !fresh &&
            exchange.reused &&
            e instanceof ConnectionError &&
            e.beforeResponse &&
            request.body.replayable &&
            call.abortError === undefined &&
            call.attemptError === undefined &&
            (request.idempotencyKey || IDEMPOTENT.has(request.method))
          ) {
            // A kept-alive socket the server had already closed: send again on a new
            // one, once. Not a retry: nothing reached the server.
            fresh = true;
            continue;
          }
          throw e;
        }
      }
    } catch (err) {
      res.error = isSentinelError(err) ? err : new ConnectionError(String(err), { cause: err });
    } finally {
      if (stream && res.error === undefined) call.stopAttemptTimer();
      else call.endAttempt();
    }
    // A streamed body is still arriving: its connection is released when it ends
    // (#streamEnded). The outcome is judged at headers, where the status is known.
    if (!stream || res.error !== undefined) {
      // A pick that sent nothing (acquire timed out or was aborted) is cancelled; one
      // that failed took as long as it took to fail.
      if (res.picked) {
        endPick(
          res,
          sentAt < 0 ? undefined : verdictOf(res.result?.status ?? 0, res.error),
          res.result === undefined ? this.pool.config.clock.now() - sentAt : rttOf(res.result),
        );
      }
      if (res.conn !== undefined) this.pool.release(res.conn);
    } else if (res.picked && res.streamEnded) {
      endPick(res, res.streamVerdict, rttOf(res.result!));
    }
    const duration = this.#clock.now() - started;
    this.#resilience.settle(guard!, { status: res.result?.status, error: res.error }, duration);
    this.#attemptEnded(request, call, res, duration);
    return res;
  }

  #attemptEnded(request: PreparedRequest, call: Call, res: AttemptResult, ms: number): void {
    if (!this.#events.active) return;
    this.#events.emit({
      type: 'attempt',
      method: request.method,
      url: request.url.href,
      attempt: call.attempts,
      status: res.result?.status,
      error: res.error,
      durationMs: ms,
    });
  }

  #streamEnded(
    call: Call,
    conn: Connection,
    res: AttemptResult,
    exchange: Exchange | undefined,
    error: SentinelError | undefined,
  ): void {
    this.pool.release(conn);
    // Before headers the attempt itself ends the pick (a resend on a fresh connection
    // may still follow). A body that ended before the attempt read its result (all of
    // it came at once) is left to the attempt too: only the result has the round trip.
    if (res.picked && exchange?.responseStarted === true) {
      const verdict = verdictOf(exchange.status, error);
      if (res.result !== undefined) {
        endPick(res, verdict, rttOf(res.result));
      } else {
        res.streamEnded = true;
        res.streamVerdict = verdict;
      }
    }
    call.onStreamEnd?.();
  }

  async #respond(
    init: ResponseInit,
    outcome: { result: ExchangeResult; stream: BodyStream | undefined; body: Buffer | undefined },
    method: string,
    opts: Readonly<ResolvedOptions>,
  ): Promise<HttpResponse | StreamingResponse> {
    const coding =
      opts.decompress && !NO_BODY_STATUS(init.status, method)
        ? codingOf(rawHeader(init.rawHeaders, 'content-encoding'))
        : undefined;
    if (outcome.stream !== undefined) {
      const source = outcome.stream;
      const body =
        coding === undefined ? source : decompressStream(source, coding, opts.maxBodySize);
      return new StreamingResponse(init, body, { cancel: () => source.cancel() });
    }
    let body = outcome.body ?? Buffer.alloc(0);
    if (coding !== undefined) body = await decompressBuffer(body, coding, opts.maxBodySize);
    return new HttpResponse(init, body);
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
    if (this.#ownsPool) await this.pool.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * The exchange measures both figures from dispatch; callers read `connect` as 0 on a
 * reused socket and `ttfb` from when the request went out, as the docs say.
 */
function timingsOf(queued: number, result: ExchangeResult): Omit<Timings, 'total'> {
  const connect = result.reused ? 0 : result.connectMs;
  return { queued, connect, ttfb: rttOf(result) };
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

function discard(outcome: AttemptResult): void {
  const body = outcome.body;
  if (body !== undefined && !Buffer.isBuffer(body)) body.cancel();
}

async function drain(stream: BodyStream): Promise<void> {
  for await (const _ of stream) {
    // Read to the end so the connection can be reused.
  }
}
