/**
 * A Connection is one socket to one origin: an undici `Client` with pipelining 1, held
 * by the pool. It is never reused once it has errored, been closed by the server, or
 * had a transfer cut off (body too large, aborted): undici reports each of these as a
 * `disconnect`, and the connection marks itself dead.
 */
import type { Socket } from 'node:net';
import { type buildConnector, Client, type Dispatcher } from 'undici';
import type { Clock, TimerHandle } from '../core/clock.js';
import { unrefTimer } from '../core/clock.js';
import type { DeadlineQueue } from '../core/deadlines.js';
import {
  AbortError,
  InvalidRequestError,
  type SentinelError,
  TimeoutError,
} from '../core/errors.js';
import { type HeadersInit, normalizeHeaders } from '../core/headers.js';
import { classify } from '../core/outcome.js';
import { timeout as checkTimeout, nonNegative } from '../core/validate.js';
import { Place, registerConnectionSeam } from './connection-seam.js';
import { Exchange, type ExchangeOwner, type ExchangeRequest, type WireBody } from './exchange.js';
import type { HostStatsRecorder } from './host-stats.js';
import type { Origin } from './origin.js';
import type { ProxyConnector } from './proxy-connector.js';

/** What the pool needs to hear from its connections. */
export interface ConnectionObserver {
  connectionOpened(connection: Connection): void;
  connectionClosed(connection: Connection): void;
}

/** Per-request options of {@link Connection.request}. */
export interface ConnectionRequestOptions {
  /** Deadline for the whole exchange, in ms. @default 30000 */
  timeoutMs?: number;
  /** Response body bytes buffered at most. @default 10 MiB */
  maxBodySize?: number;
  signal?: AbortSignal;
}

/**
 * A fully read response of {@link Connection.request}: the read-only surface of the
 * client's `HttpResponse` that applies to one exchange (no URL, redirects or attempts).
 */
export interface ConnectionResponse {
  /** The status code. */
  readonly status: number;
  /** The reason phrase, as sent by the server. */
  readonly statusText: string;
  /** True for a 2xx status. */
  readonly ok: boolean;
  /** The response headers (a WHATWG `Headers`), parsed on first access. */
  readonly headers: Headers;
  /** The body as received (not decompressed), bounded by `maxBodySize`. */
  readonly body: Buffer;
  /** The body decoded as UTF-8. */
  text(): string;
  /**
   * The body parsed as JSON.
   * @throws {ProtocolError} when the body is not JSON
   */
  json<T = unknown>(): T;
}

let nextId = 0;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** What only a pool may pass to the constructor. */
const BY_POOL = Symbol('made by a pool');

/** One pooled connection. Get one with `pool.acquire()`, give it back with `pool.release()`. */
export class Connection {
  /** Unique within the process, for logs. */
  readonly id = ++nextId;
  readonly origin: Origin;
  /** Clock time the connection was created. */
  readonly createdAt: number;
  /** Clock time its socket was ready (TLS included); -1 until then. */
  connectedAt = -1;
  /** Clock time the connection was last released. */
  idleSince = 0;
  /** Requests sent on this connection. */
  requests = 0;
  /** The pool's bookkeeping: checked out, idle, or gone. */
  #place = Place.None;
  readonly connectTimeoutMs: number;
  readonly #stats: HostStatsRecorder;
  /** The exchanges' way back: the end of each, and an early abort. */
  readonly #owner: ExchangeOwner;
  readonly #client: Client;
  readonly #clock: Clock;
  readonly #observer: ConnectionObserver;
  /** The pool's deadlines of `request()` calls. */
  readonly #deadlines: DeadlineQueue;
  #alive = true;
  #connected = false;
  #exchange: Exchange | undefined;
  /** Our own handshake deadline, armed while a request waits for the socket. */
  #connectTimer: TimerHandle | undefined;
  /** The forward proxy this connection goes through, if any. */
  readonly #proxy: ProxyConnector | undefined;

  /**
   * The exchanges' side of a connection. One class for every connection, so the calls an
   * exchange makes stay monomorphic; inside this class body, so it reaches the private
   * members it reports to.
   */
  static readonly #Owner = class implements ExchangeOwner {
    readonly #conn: Connection;
    readonly connectTimeoutMs: number;

    constructor(conn: Connection) {
      this.#conn = conn;
      this.connectTimeoutMs = conn.connectTimeoutMs;
    }

    now(): number {
      return this.#conn.#clock.now();
    }

    exchangeEnded(
      exchange: Exchange,
      error: SentinelError | undefined,
      received: number,
      discard?: boolean,
    ): void {
      this.#conn.#exchangeEnded(exchange, error, received, discard);
    }

    /** An abort came before undici began the request. */
    abandon(): void {
      void this.#conn.destroy();
    }
  };

  static {
    registerConnectionSeam({
      open: (args) => new Connection(BY_POOL, ...args),
      placeOf: (conn) => conn.#place,
      setPlace: (conn, place) => {
        conn.#place = place;
      },
      start: (conn, request, now) => conn.#start(request, now),
    });
  }

  /** Connections are opened by a pool: `pool.acquire()`. */
  private constructor(
    key: typeof BY_POOL,
    origin: Origin,
    clientOptions: Client.Options,
    connectTimeoutMs: number,
    clock: Clock,
    stats: HostStatsRecorder,
    observer: ConnectionObserver,
    deadlines: DeadlineQueue,
    proxy?: ProxyConnector,
  ) {
    if (key !== BY_POOL) throw new TypeError('a Connection is opened by a pool: pool.acquire()');
    this.origin = origin;
    this.#proxy = proxy;
    this.connectTimeoutMs = connectTimeoutMs;
    this.#clock = clock;
    this.#deadlines = deadlines;
    this.#stats = stats;
    this.#observer = observer;
    this.createdAt = clock.now();
    this.#owner = new Connection.#Owner(this);
    const connector = proxy?.connect ?? clientOptions.connect;
    // Through a proxy too, undici's client is one to the target: its Host header and
    // TLS are the target's, and the connector alone knows the way there.
    this.#client = new Client(
      origin.origin,
      typeof connector === 'function'
        ? { ...clientOptions, connect: this.#watching(connector) }
        : clientOptions,
    );
    this.#client.on('connect', this.#onConnect);
    this.#client.on('disconnect', this.#onDisconnect);
    this.#client.on('connectionError', this.#onConnectionError);
  }

  /** False once the socket has failed or closed: such a connection is discarded. */
  get alive(): boolean {
    return this.#alive;
  }

  /** True while an exchange is under way. */
  get busy(): boolean {
    return this.#exchange !== undefined && !this.#exchange.settled;
  }

  /** True when the connection is alive and idle: safe to hand to the next caller. */
  get reusable(): boolean {
    return this.#alive && !this.busy;
  }

  /** A reading of the pool's clock. */
  now(): number {
    return this.#clock.now();
  }

  /**
   * `connector` with the socket it makes watched: undici reads an RST in the middle of a
   * close-delimited body as the body's end (its workaround for platforms that reset
   * after a whole body), so the exchange hears of the socket's end and errors here, from
   * listeners added before undici's own.
   */
  #watching(connector: buildConnector.connector): buildConnector.connector {
    return (options, callback) =>
      connector(options, (...args: buildConnector.CallbackArgs) => {
        // On failure undici passes the error alone: the socket is then undefined, not null.
        const socket: Socket | null | undefined = args[1];
        if (args[0] === null && socket != null) {
          socket.on('end', this.#onSocketEnd);
          socket.on('error', this.#onSocketError);
        }
        callback(...args);
      });
  }

  #onSocketEnd = (): void => {
    this.#exchange?.peerClosed(undefined);
  };

  #onSocketError = (err: Error): void => {
    this.#exchange?.peerClosed(err);
  };

  #onConnect = (): void => {
    this.#clearConnectTimer();
    this.#connected = true;
    this.connectedAt = this.#clock.now();
    this.#stats.created++;
    this.#observer.connectionOpened(this);
  };

  #onDisconnect = (): void => {
    if (this.#connected) {
      this.#connected = false;
      this.#stats.closed++;
    }
    this.#markDead();
  };

  #onConnectionError = (): void => {
    this.#markDead();
  };

  /**
   * undici enforces `connect.timeout` on its coarse timer wheel (ticks of ~0.5 s), so a
   * 50 ms deadline fired after about a second. This timer, on the injected clock, makes
   * the deadline exact (and testable); undici's stays as a backstop.
   */
  #onConnectTimeout = (): void => {
    this.#connectTimer = undefined;
    this.#exchange?.abort(new TimeoutError('connect', this.connectTimeoutMs));
  };

  #clearConnectTimer(): void {
    if (this.#connectTimer !== undefined) {
      this.#clock.clearTimeout(this.#connectTimer);
      this.#connectTimer = undefined;
    }
  }

  #markDead(): void {
    this.#clearConnectTimer();
    this.#proxy?.cancel();
    if (!this.#alive) return;
    this.#alive = false;
    this.#observer.connectionClosed(this);
  }

  /** See `startExchange` in `connection-seam.ts`. */
  #start(request: ExchangeRequest, now: number): Exchange {
    const exchange = new Exchange(this.#owner, request, this.requests > 0, now);
    this.requests++;
    this.#exchange = exchange;
    this.#stats.requestStarted(request.bodyLength);
    // Only while there is no socket yet: a request on a kept-alive socket pays nothing.
    if (!this.#connected && Number.isFinite(this.connectTimeoutMs)) {
      this.#clearConnectTimer();
      this.#connectTimer = unrefTimer(this.#clock, this.#onConnectTimeout, this.connectTimeoutMs);
    }
    const proxy = this.#proxy;
    const opts: Dispatcher.DispatchOptions = {
      method: request.method as Dispatcher.HttpMethod,
      path:
        proxy?.absolutePrefix === undefined ? request.path : proxy.absolutePrefix + request.path,
      headers:
        proxy === undefined || proxy.requestHeaders.length === 0
          ? request.headers
          : [...(request.headers ?? []), ...proxy.requestHeaders],
      body: request.body as Dispatcher.DispatchOptions['body'],
      headersTimeout: request.idleTimeoutMs,
      bodyTimeout: request.idleTimeoutMs,
      reset: false,
    };
    try {
      this.#client.dispatch(opts, exchange as unknown as Dispatcher.DispatchHandler);
    } catch (err) {
      exchange.onError(err as Error);
    }
    return exchange;
  }

  /** An exchange ended: its statistics recorded, the socket given up after a failure. */
  #exchangeEnded(
    exchange: Exchange,
    error: SentinelError | undefined,
    received: number,
    discard = false,
  ): void {
    this.#clearConnectTimer();
    this.#deadlines.remove(exchange);
    const endedAt = exchange.endedAt;
    const counted = classify({ status: exchange.status, error, reused: exchange.reused }).stats;
    this.#stats.requestEnded(
      counted === 'none' ? undefined : counted === 'succeeded',
      endedAt - exchange.startedAt,
      received,
      endedAt,
    );
    // After a failed exchange the socket's state is unknown: never reuse it.
    if (error !== undefined || discard) this.#markDead();
    exchange.request.onEnd?.(error);
  }

  /**
   * Sends one request on this connection and reads the whole response.
   *
   * @throws {InvalidRequestError} bad method, path or header, before any I/O
   * @throws {TimeoutError} phase `attempt` when `timeoutMs` runs out
   * @example
   * ```ts
   * const conn = await pool.acquire('http://127.0.0.1:8080');
   * try { const res = await conn.request('GET', '/data'); console.log(res.status); }
   * finally { pool.release(conn); }
   * ```
   */
  request(
    method: string,
    path: string,
    headers?: HeadersInit,
    body?: string | Uint8Array | null,
    options: ConnectionRequestOptions = {},
  ): Promise<ConnectionResponse> {
    let exchange: Exchange;
    let timeoutMs: number;
    const signal = options?.signal;
    try {
      if (typeof method !== 'string' || !TOKEN.test(method)) {
        throw new InvalidRequestError(`invalid method ${JSON.stringify(method)}`);
      }
      if (typeof path !== 'string' || !path.startsWith('/') || /[\s\0]/.test(path)) {
        throw new InvalidRequestError(`invalid path ${JSON.stringify(path)}`);
      }
      if (
        body !== undefined &&
        body !== null &&
        typeof body !== 'string' &&
        !(body instanceof Uint8Array)
      ) {
        throw new InvalidRequestError('conn.request body must be a string or Uint8Array');
      }
      timeoutMs = checkTimeout('timeoutMs', options.timeoutMs ?? 30_000);
      const maxBodySize = nonNegative('maxBodySize', options.maxBodySize ?? 10 * 1024 * 1024);
      const list = headers === undefined ? null : normalizeHeaders(headers);
      if (signal?.aborted) throw new AbortError(signal.reason);
      if (!this.#alive) throw new InvalidRequestError('this connection is closed; acquire another');
      if (this.busy) throw new InvalidRequestError('this connection is already carrying a request');
      const wire: WireBody = body ?? null;
      const finite = Number.isFinite(timeoutMs);
      const request: ExchangeRequest = {
        method: method.toUpperCase(),
        path,
        headers: list,
        body: wire,
        bodyLength: typeof body === 'string' ? Buffer.byteLength(body) : (body?.byteLength ?? 0),
        maxBodySize,
        stream: false,
        idleTimeoutMs: finite ? timeoutMs : 300_000,
        timeoutMs,
      };
      const now = this.#clock.now();
      exchange = this.#start(request, now);
      // The deadline lives in the pool's queue, not in a timer of its own; the exchange
      // leaves it when it ends (#exchangeEnded).
      if (finite && !exchange.settled) {
        this.#deadlines.add(exchange, now + timeoutMs, timeoutMs, now);
      }
      if (signal !== undefined && !exchange.settled) {
        const onAbort = (): void => exchange.abort(new AbortError(signal.reason));
        signal.addEventListener('abort', onAbort, { once: true });
        request.onEnd = () => signal.removeEventListener('abort', onAbort);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    // A buffered exchange resolves with its result, which is the response itself.
    return exchange.promise as Promise<ConnectionResponse>;
  }

  /** Closes the socket now; an exchange under way fails. */
  destroy(): Promise<void> {
    // Counted now, not at undici's later disconnect event, so stats never show a socket
    // that is neither idle, active nor closed.
    if (this.#connected) {
      this.#connected = false;
      this.#stats.closed++;
    }
    this.#markDead();
    if (this.#client.destroyed) return Promise.resolve();
    return this.#client.destroy().catch(() => {});
  }

  /** Closes the socket once the exchange under way (if any) has finished. */
  close(): Promise<void> {
    this.#markDead();
    if (this.#client.closed || this.#client.destroyed) return Promise.resolve();
    return this.#client.close().catch(() => {});
  }
}
