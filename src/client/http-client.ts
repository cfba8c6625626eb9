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
import { DeadlineQueue } from '../core/deadlines.js';
import {
  AbortError,
  ConnectionError,
  HttpStatusError,
  InvalidRequestError,
  isSentinelError,
  PoolClosedError,
  ProtocolError,
  type SentinelError,
  TimeoutError,
} from '../core/errors.js';
import { type HeadersInit, headersFromRaw, rawHeader } from '../core/headers.js';
import { classify, type Verdict } from '../core/outcome.js';
import { redactInvalidUrl } from '../core/redact.js';
import type { BodyStream } from '../pool/body-stream.js';
import type { HostEntry } from '../pool/connection-pool.js';
import type { Exchange, ExchangeResult } from '../pool/exchange.js';
import {
  type Backend,
  type Connection,
  ConnectionPool,
  type Origin,
  type PoolStats,
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
  defaultAttemptTimeout,
  type RequestOptions,
  type ResolvedOptions,
  resolveOptions,
} from './options.js';
import {
  defaultHeaderList,
  type PreparedRequest,
  prepareRequest,
  type RequestTarget,
  scrubbedUrlError,
  TARGET_CACHE,
  TargetCache,
  targetOf,
} from './prepare.js';
import {
  crossOriginStripList,
  DEFAULT_REDIRECT_STRIP_HEADERS,
  isRedirect,
  nextHop,
  type RedirectHop,
} from './redirect.js';
import {
  type HostGuard,
  type HostResilienceStats,
  Resilience,
  type RetryStats,
} from './resilience.js';
import { HttpResponse, type ResponseInit, StreamingResponse } from './response.js';
import { addUpstreams, type BackendPick, endPick, pickBackend, rttOf } from './upstream-pick.js';

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

/** One attempt of a call: where it goes, what it holds, what came back. */
class Attempt implements BackendPick {
  error: SentinelError | undefined = undefined;
  guard: HostGuard | undefined;
  readonly upstream: Upstream | undefined;
  backend: Backend | undefined = undefined;
  picked = false;
  /** The breaker's ticket, handed back exactly once when the attempt is settled. */
  ticket = 0;
  /** Whether the request went out on a connection (only then is it the host's to judge). */
  sent = false;
  /** Client clock time it went out. */
  sentAt = 0;
  /** The classifier's verdict, once the attempt ended. */
  verdict: Verdict | undefined = undefined;
  /** The breaker hears of this outcome once the retry decision is made. */
  deferBreaker = false;
  /** Where the attempt goes: for an upstream, known once the backend is picked. */
  origin: Origin | undefined;
  /** The pool's entry of that origin. */
  entry: HostEntry | undefined = undefined;
  /** Client clock time the attempt started. */
  readonly startedAt: number;
  /** The first attempt of its hop: its request earns the retry budget's deposit. */
  readonly first: boolean;
  /** Client clock time it ended (a stream: at headers). */
  endedAt = 0;
  conn: Connection | undefined = undefined;
  /** The exchange sent (the last one, after a resend); undefined while none is. */
  exchange: Exchange | undefined = undefined;
  result: ExchangeResult | undefined = undefined;
  /** ms spent waiting for a connection (0 when one was free at once). */
  queuedMs = 0;
  /** Sent again on a fresh connection: the kept-alive one had been closed by the server. */
  fresh = false;
  /** A streamed body ended before the attempt read its result; the attempt ends the pick. */
  streamEnded = false;
  /** That body's verdict on the backend. */
  streamVerdict: Verdict['backend'] = 'none';

  constructor(
    origin: Origin | undefined,
    guard: HostGuard | undefined,
    upstream: Upstream | undefined,
    startedAt: number,
    first: boolean,
  ) {
    this.origin = origin;
    this.guard = guard;
    this.upstream = upstream;
    this.startedAt = startedAt;
    this.first = first;
  }
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
  readonly #targets: TargetCache;
  readonly #defaults: Readonly<ResolvedOptions>;
  readonly #headers: string[];
  readonly #plainHeaders: string[];
  /** Headers a cross-origin redirect hop drops. */
  readonly #crossOriginStrip: readonly string[];
  readonly #resilience: Resilience;
  readonly #events = new EventHub();
  readonly #clock: Clock;
  /** Whether the pool runs on the client's clock, so that one reading serves both. */
  readonly #sameClock: boolean;
  /** The deadlines of the calls' attempts. */
  readonly #deadlines: DeadlineQueue;
  readonly #calls = new Set<Call>();
  /** Upstreams this client added to a pool it shares, removed again by close(). */
  readonly #lentUpstreams: readonly string[];
  /**
   * How long an attempt may wait for a connection beyond the call's own deadline: none
   * (Infinity) unless the pool's `connectionTimeoutMs` was set for it.
   */
  readonly #acquireWaitMs: number;
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
      proxy,
      retry,
      circuitBreaker,
      retryBudget,
      adaptive,
      clock,
      upstreams,
      redirectStripHeaders,
      ...rest
    } = options;
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
    this.#resilience = new Resilience(options, this.#clock, this.#events);
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
        connectTimeoutMs: this.#defaults.connectTimeout,
        ...(clock === undefined ? {} : { clock }),
        ...(proxy === undefined ? {} : { proxy }),
        ...(pool ?? {}),
      });
      this.#ownsPool = true;
      this.#acquireWaitMs = pool?.connectionTimeoutMs ?? Number.POSITIVE_INFINITY;
    }
    this.#sameClock = this.pool.config.clock === this.#clock;
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
    // The verbs take `json` with the options; request() passes its own.
    const payload = json === undefined ? options?.json : json;
    return this.#run(method, url, headers, body, payload, options, false) as Promise<HttpResponse>;
  }

  /**
   * One call: the request prepared, then attempts (retried as the policy, the budget and
   * the deadlines allow) and redirect hops until a response stands.
   *
   * A call that succeeds at once awaits nothing but its exchange: an attempt is begun
   * (#begin) and ended (#end) by synchronous methods, and what is slow only when it
   * happens (waiting for a connection, a resend, a retry delay, a redirect, decoding)
   * awaits only then.
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
    try {
      if (this.#closed) throw new PoolClosedError('the client is closed');
      let opts = resolveOptions(this.#defaults, options);
      // A streamed body is not held in memory, so the client-wide cap on buffered bodies
      // does not apply to it; a cap given for this very request does.
      if (stream && options?.maxBodySize === undefined && opts.maxBodySize !== Infinity) {
        opts = { ...opts, maxBodySize: Number.POSITIVE_INFINITY };
      }
      const engine = this.#resilience.engineFor(options?.retry);
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
        const target: RequestTarget = request.target;
        const upstream = this.pool.upstreamFor(target.origin);
        // A host is the same for every attempt of a hop; an upstream picks a backend each time.
        const origin = upstream === undefined ? target.origin : undefined;
        const guard = origin === undefined ? undefined : this.#resilience.host(origin.key);
        let att: Attempt;
        let previousDelay: number | undefined;
        let failed: Backend | undefined;
        for (let n = 0; ; n++) {
          // The call's first attempt starts when the call does: no second clock reading.
          const now = hops === 0 && n === 0 ? call.startedAt : this.#clock.now();
          att = new Attempt(origin, guard, upstream, now, n === 0);
          if (this.#begin(call, request, opts, stream, att, failed, n === 0)) {
            if (att.exchange !== undefined) {
              try {
                att.result = await att.exchange.promise;
              } catch (err) {
                await this.#send(call, request, opts, stream, att, err as SentinelError);
              }
            } else if (att.error === undefined) {
              await this.#send(call, request, opts, stream, att, undefined);
            }
            this.#end(call, request, stream, att);
          }
          // Only read by a retry, which follows a failure: the next pick passes it over.
          failed = att.backend;
          let delay: number | undefined;
          try {
            if (call.abortError !== undefined) throw call.abortError;
            delay = this.#retryDelay(call, request, engine, att, n, previousDelay);
          } catch (err) {
            // Nothing of this attempt may stay checked out: a streamed body holds its
            // connection until cancelled.
            discard(att);
            throw err;
          } finally {
            if (att.deferBreaker) {
              att.deferBreaker = false;
              this.#resilience.settleBreaker(
                att.guard!,
                att.verdict!,
                att.ticket,
                att.sentAt,
                att.endedAt - att.sentAt,
                delay !== undefined,
              );
            }
          }
          if (delay === undefined) break;
          discard(att);
          previousDelay = delay;
          await call.delay(delay);
        }
        if (att.error !== undefined) throw att.error;
        const result = att.result!;
        const source = stream ? (result.body as BodyStream) : undefined;
        if (opts.maxRedirects > 0 && isRedirect(result.status)) {
          const location = rawHeader(result.rawHeaders, 'location');
          let hop: RedirectHop | undefined;
          try {
            hop =
              location === undefined
                ? undefined
                : nextHop(
                    new URL(target.href),
                    request.method,
                    result.status,
                    location,
                    request.headers,
                    request.body.replayable,
                    request.body.data !== null,
                    this.#crossOriginStrip,
                  );
          } catch (err) {
            // A redirect refused (bad Location, https -> http): its streamed body is
            // never handed over, so it must let its connection go here.
            source?.cancel();
            throw err;
          }
          if (hop !== undefined) {
            if (hops >= opts.maxRedirects) {
              source?.cancel();
              throw new ProtocolError(`more than ${opts.maxRedirects} redirects`);
            }
            if (source !== undefined) {
              // The attempt's timer stopped at headers: the call's deadline bounds the drain.
              call.armTotal(this.#clock.now());
              await drain(source);
            }
            request = {
              method: hop.method,
              target: targetOf(hop.url),
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
          url: target.href,
          redirected,
          attempts: call.reportedAttempts,
          timings: {
            queued: att.queuedMs,
            // The exchange measures from dispatch; the caller reads `connect` as 0 on a
            // reused socket and `ttfb` from when the request went out, as the docs say.
            connect: result.reused ? 0 : result.connectMs,
            ttfb: rttOf(result),
            total: att.endedAt - call.startedAt,
          },
        };
        let response = this.#respond(init, result, request.method, opts);
        if (response instanceof Promise) response = await response;
        if (opts.throwHttpErrors && response.status >= 400) {
          if (response instanceof StreamingResponse) response.cancel();
          throw new HttpStatusError(response, { attempts: call.reportedAttempts });
        }
        if (source !== undefined) {
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

  /** The pool clock's reading matching `now` on the client's clock. */
  #poolNow(now: number): number {
    return this.#sameClock ? now : this.pool.config.clock.now();
  }

  /**
   * Begins an attempt: picks the backend (for an upstream), asks its breaker, arms the
   * attempt's deadline and, when a connection is free at once, sends the request. The
   * caller then awaits `att.exchange.promise`, or {@link #send} when there was no free
   * connection.
   *
   * For an upstream the pick passes over `failed`; it then ends in exactly one record or
   * cancel: in #end, or for a stream that reached headers, when its body ends.
   *
   * @returns false when the attempt was refused before it began (open breaker, no
   *   backend to pick): `att.error` says why, and there is nothing to end
   */
  #begin(
    call: Call,
    request: PreparedRequest,
    opts: Readonly<ResolvedOptions>,
    stream: boolean,
    att: Attempt,
    failed: Backend | undefined,
    first: boolean,
  ): boolean {
    if (att.upstream === undefined) {
      try {
        att.ticket = this.#resilience.admit(att.origin!.key, att.guard!, first, att.startedAt);
      } catch (err) {
        att.error = err as SentinelError;
        return false;
      }
    } else {
      pickBackend(this.#resilience, att.upstream, failed, first, att, att.startedAt);
      if (att.error !== undefined) {
        // No backend to pick is a failed attempt (retryable, like a refused
        // connection); refusals by every breaker are no attempt at all.
        if (att.error.code !== 'SENTINEL_CIRCUIT_OPEN') {
          call.attempts++;
          this.#attemptEnded(request, call, att, 0);
        }
        return false;
      }
      att.origin = att.backend!.origin;
    }
    call.attempts++;
    if (call.deadlineAt <= att.startedAt) {
      // The whole-call deadline had passed before the attempt could start.
      call.abort(new TimeoutError('total', opts.timeout));
      att.error = call.abortError;
      return true;
    }
    try {
      att.entry = this.pool.host(att.origin!);
      const conn = this.pool.tryTake(
        att.entry,
        opts.connectTimeout,
        false,
        this.#poolNow(att.startedAt),
      );
      if (conn !== undefined) this.#dispatch(call, request, opts, stream, att, conn, att.startedAt);
      // Waiting in our own queue is bounded by the call's deadline; the attempt's own
      // deadline starts when its request is sent.
      else call.armTotal(att.startedAt);
    } catch (err) {
      att.error = asSentinelError(err);
    }
    return true;
  }

  /**
   * Sends the attempt's request on `conn`. From here the attempt is the host's to judge:
   * its own deadline starts, and the hop's first request earns the retry budget's deposit.
   * `now` is on the client's clock.
   */
  #dispatch(
    call: Call,
    request: PreparedRequest,
    opts: Readonly<ResolvedOptions>,
    stream: boolean,
    att: Attempt,
    conn: Connection,
    now: number,
  ): void {
    att.conn = conn;
    if (!att.sent) {
      att.sent = true;
      att.sentAt = now;
      call.armAttempt(now);
      if (att.first) this.#resilience.sent(now);
    }
    // `let`, not `const`: onEnd can run inside conn.exchange() (a dispatch that
    // throws), before the assignment.
    let exchange: Exchange | undefined;
    exchange = conn.exchange(
      {
        method: request.method,
        path: request.target.path,
        headers: request.headers,
        body: request.body.data,
        bodyLength: Math.max(request.body.length, 0),
        maxBodySize: opts.maxBodySize,
        stream,
        idleTimeoutMs: idleTimeout(stream ? (opts.attemptTimeout ?? opts.timeout) : call.attemptMs),
        onEnd: stream ? (error) => this.#streamEnded(call, conn, att, exchange, error) : undefined,
      },
      this.#poolNow(now),
    );
    att.exchange = exchange;
    call.exchanging(exchange);
  }

  /**
   * The rest of an attempt that could not complete at once: waits for a connection when
   * none was free, and sends once more on a fresh connection when a kept-alive one turns
   * out to have been closed by the server. Leaves the result or the error in `att`.
   *
   * @param failure - why the exchange already sent failed, if it did
   */
  async #send(
    call: Call,
    request: PreparedRequest,
    opts: Readonly<ResolvedOptions>,
    stream: boolean,
    att: Attempt,
    failure: SentinelError | undefined,
  ): Promise<void> {
    try {
      for (;;) {
        if (failure !== undefined) {
          this.pool.release(att.conn!);
          att.conn = undefined;
          if (!resendable(call, request, att, failure)) throw failure;
          // A kept-alive socket that failed before any response byte, almost always one
          // the server had closed while idle: send again on a new one, once. Not counted
          // as a retry. The server may, rarely, have processed it before closing, which
          // is why only idempotent requests are resent (as HTTP allows, and browsers do).
          att.fresh = true;
          att.exchange = undefined;
          failure = undefined;
        }
        const waitStart = this.#clock.now();
        let conn = this.pool.tryTake(
          att.entry!,
          opts.connectTimeout,
          att.fresh,
          this.#poolNow(waitStart),
        );
        if (conn === undefined) {
          try {
            conn = await this.pool.acquireOrigin(
              att.origin!,
              this.#acquireWaitMs,
              opts.connectTimeout,
              att.fresh,
              call.acquiring(),
            );
          } catch (err) {
            throw call.abortError ?? call.attemptError ?? err;
          }
        }
        const now = this.#clock.now();
        att.queuedMs = now - waitStart;
        this.#dispatch(call, request, opts, stream, att, conn, now);
        try {
          att.result = await att.exchange!.promise;
          return;
        } catch (err) {
          failure = err as SentinelError;
        }
      }
    } catch (err) {
      att.error = asSentinelError(err);
    }
  }

  /**
   * Ends an attempt that began: releases its connection (a streamed body keeps it until
   * it ends, see #streamEnded), ends the backend's pick, reports the attempt, then
   * records its outcome with the host's breaker and health, so that a breaker transition
   * it causes is reported after it. The end time is the exchange's own reading when it
   * has one.
   */
  #end(call: Call, request: PreparedRequest, stream: boolean, att: Attempt): void {
    const streaming = stream && att.error === undefined;
    if (streaming) call.stopAttemptTimer();
    else call.endAttempt();
    const exchange = att.exchange;
    const result = att.result;
    // On the pool's clock: when the response ended (a stream: its headers came) or failed.
    let poolNow: number;
    if (exchange === undefined) poolNow = this.pool.config.clock.now();
    else if (result !== undefined && stream) poolNow = exchange.startedAt + result.ttfbMs;
    else if (exchange.endedAt >= 0) poolNow = exchange.endedAt;
    else poolNow = this.pool.config.clock.now();
    const verdict = classify({
      status: result?.status,
      error: att.error,
      sent: exchange !== undefined,
      reused: exchange?.reused,
    });
    att.verdict = verdict;
    if (!streaming) {
      // A pick that sent nothing (acquire timed out or was aborted) is cancelled by its
      // verdict; one that failed took as long as it took to fail.
      if (att.picked) {
        endPick(
          att,
          verdict.backend,
          exchange === undefined
            ? 0
            : result === undefined
              ? poolNow - exchange.startedAt
              : rttOf(result),
        );
      }
      if (att.conn !== undefined) this.pool.releaseAt(att.conn, poolNow);
    } else if (att.picked && att.streamEnded) {
      endPick(att, att.streamVerdict, rttOf(result!));
    }
    const now = this.#sameClock ? poolNow : this.#clock.now();
    att.endedAt = now;
    const duration = now - att.startedAt;
    this.#attemptEnded(request, call, att, duration);
    // A 502/503/504 counts for the breaker once per call: if a retry follows, its answer
    // is the verdict (see the retry loop).
    att.deferBreaker = verdict.kind === 'unavailable';
    this.#resilience.settle(
      att.guard!,
      verdict,
      att.ticket,
      att.sentAt,
      now - (att.sent ? att.sentAt : att.startedAt),
      now,
      att.deferBreaker,
    );
  }

  /**
   * The delay before the next attempt, or undefined when this attempt's outcome stands
   * (no retry policy, a success it does not retry, a refusal by policy, budget or
   * throttle). Reports the retry, or its refusal.
   */
  #retryDelay(
    call: Call,
    request: PreparedRequest,
    engine: RetryEngine | undefined,
    att: Attempt,
    attempt: number,
    previousDelay: number | undefined,
  ): number | undefined {
    if (engine === undefined) return undefined;
    const error = att.error;
    if (error !== undefined && error.code === 'SENTINEL_CIRCUIT_OPEN') return undefined;
    const status = att.result?.status;
    const mightRetry =
      error !== undefined ||
      engine.config.statusCodes.has(status!) ||
      engine.config.shouldRetry !== undefined;
    if (!mightRetry) return undefined;
    const decision = engine.decide(
      {
        attempt,
        method: request.method,
        idempotencyKey: request.idempotencyKey,
        replayable: request.body.replayable,
        error,
        status,
        headers: att.result === undefined ? undefined : headersFromRaw(att.result.rawHeaders),
        remainingMs: call.remaining(),
      },
      previousDelay,
    );
    if (!decision.retry) return undefined;
    const refused = this.#resilience.refuseRetry();
    if (refused === undefined) {
      if (this.#events.active) {
        this.#events.emit({
          type: 'retry',
          method: request.method,
          url: request.target.href,
          attempt: attempt + 1,
          delayMs: decision.delayMs,
          retryAfterMs: decision.retryAfterMs,
          status,
          error,
        });
      }
      return decision.delayMs;
    }
    if (this.#events.active) {
      this.#events.emit({
        type: 'retry-refused',
        method: request.method,
        url: request.target.href,
        attempt: attempt + 1,
        by: refused,
      });
    }
    return undefined;
  }

  #attemptEnded(request: PreparedRequest, call: Call, att: Attempt, ms: number): void {
    if (!this.#events.active) return;
    this.#events.emit({
      type: 'attempt',
      method: request.method,
      url: request.target.href,
      attempt: call.attempts,
      status: att.result?.status,
      error: att.error,
      durationMs: ms,
    });
  }

  #streamEnded(
    call: Call,
    conn: Connection,
    att: Attempt,
    exchange: Exchange | undefined,
    error: SentinelError | undefined,
  ): void {
    this.pool.release(conn);
    // Before headers the attempt itself ends the pick (a resend on a fresh connection
    // may still follow). A body that ended before the attempt read its result (all of
    // it came at once) is left to the attempt too: only the result has the round trip.
    if (att.picked && exchange?.responseStarted === true) {
      // The body's own failure when the backend caused it (cut off, stalled); otherwise,
      // the caller cancelling it included, the status it answered with.
      let judged = classify({ status: exchange.status, error, reused: exchange.reused });
      if (judged.fault !== 'host') judged = classify({ status: exchange.status });
      const verdict = judged.backend;
      if (att.result !== undefined) {
        endPick(att, verdict, rttOf(att.result));
      } else {
        att.streamEnded = true;
        att.streamVerdict = verdict;
      }
    }
    call.onStreamEnd?.();
  }

  /** The response; a promise only when a buffered body must be decoded first. */
  #respond(
    init: ResponseInit,
    result: ExchangeResult,
    method: string,
    opts: Readonly<ResolvedOptions>,
  ): HttpResponse | StreamingResponse | Promise<HttpResponse> {
    const coding =
      opts.decompress && !NO_BODY_STATUS(init.status, method)
        ? codingOf(rawHeader(init.rawHeaders, 'content-encoding'))
        : undefined;
    const body = result.body;
    if (!Buffer.isBuffer(body)) {
      const decoded =
        coding === undefined ? body : decompressStream(body, coding, opts.maxBodySize);
      return new StreamingResponse(init, decoded, { cancel: () => body.cancel() });
    }
    if (coding === undefined) return new HttpResponse(init, body);
    return decompressBuffer(body, coding, opts.maxBodySize).then(
      (decoded) => new HttpResponse(init, decoded),
    );
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

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/**
 * Whether a failed exchange may be sent again on a fresh connection: it failed on a
 * kept-alive socket before any response (typically a socket the server closed while it
 * sat idle), and the request is idempotent or carries an idempotency key, so sending it
 * again is safe even in the rare case that the server did see it. Once per attempt.
 */
function resendable(
  call: Call,
  request: PreparedRequest,
  att: Attempt,
  failure: SentinelError,
): boolean {
  return (
    !att.fresh &&
    att.exchange!.reused &&
    failure instanceof ConnectionError &&
    failure.beforeResponse &&
    request.body.replayable &&
    call.abortError === undefined &&
    call.attemptError === undefined &&
    (request.idempotencyKey || IDEMPOTENT.has(request.method))
  );
}

/** An idle deadline for undici's parser: ours fire first, this is a backstop. */
function idleTimeout(ms: number): number {
  return Number.isFinite(ms) ? ms : 300_000;
}

function asSentinelError(err: unknown): SentinelError {
  return isSentinelError(err) ? err : new ConnectionError(String(err), { cause: err });
}

/** Cancels the streamed body of an attempt whose response is not used. */
function discard(att: Attempt): void {
  const body = att.result?.body;
  if (body !== undefined && !Buffer.isBuffer(body)) body.cancel();
}

async function drain(stream: BodyStream): Promise<void> {
  for await (const _ of stream) {
    // Read to the end so the connection can be reused.
  }
}
