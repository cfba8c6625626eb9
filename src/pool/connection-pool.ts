/**
 * The connection pool: per-host limits, a FIFO wait queue, idle eviction, maximum
 * lifetime, discard-on-error and per-host statistics. Connections are undici `Client`s
 * with one socket each; the pool, not undici, decides which one a caller gets, so
 * limits and statistics are exact. Multi-backend upstreams are registered here too: a
 * host that is an upstream's name is resolved to one of its backends.
 */
import { DeadlineQueue } from '../core/deadlines.js';
import { AbortError, PoolClosedError } from '../core/errors.js';
import { timeout as checkTimeout } from '../core/validate.js';
import { poolCloseChannel, poolConnectChannel, publishClose, publishConnect } from './channels.js';
import { ClientOptionsCache } from './client-options.js';
import { normalizePoolConfig, type PoolConfig, waitTime } from './config.js';
import type { Connection, ConnectionObserver } from './connection.js';
import { openConnection, Place, placeOf, setPlace } from './connection-seam.js';
import { type HostEntry, hostEntry, type PoolStats, poolStats } from './host-table.js';
import { type Origin, parseOrigin } from './origin.js';
import { type PoolPort, registerPort } from './pool-port.js';
import { proxyFor, type ResolvedProxy, resolveProxy } from './proxy.js';
import { ProxyConnector } from './proxy-connector.js';
import { Reaper } from './reaper.js';
import type { BackendSpec, Upstream, UpstreamOptions } from './upstream/index.js';
import { UpstreamRegistry } from './upstream/registry.js';
import { WaitQueue } from './wait-queue.js';

/** Options of one `acquire` call. */
export interface AcquireOptions {
  /** Give up waiting when this signal aborts (`AbortError`). */
  signal?: AbortSignal;
  /** How long to wait for a free connection. @default the pool's `connectionTimeoutMs` */
  timeoutMs?: number;
  /** Handshake deadline if a new connection is opened. @default the pool's `connectTimeoutMs` */
  connectTimeoutMs?: number;
  /** Open a new connection rather than reuse an idle one. */
  fresh?: boolean;
}

/**
 * Keeps connections per host and hands them out under limits.
 *
 * @example
 * ```ts
 * const pool = new ConnectionPool({ maxConnections: 20 });
 * const conn = await pool.acquire('api.example.com', 443);
 * try { const res = await conn.request('GET', '/data'); } finally { pool.release(conn); }
 * await pool.close();
 * ```
 * @example Spreading requests over backends
 * ```ts
 * const pool = new ConnectionPool();
 * pool.addUpstream('api', ['http://10.0.0.1:8080', 'http://10.0.0.2:8080'], {
 *   healthCheck: { path: '/healthz' },
 * });
 * const conn = await pool.acquire('api');
 * try {
 *   const res = await conn.request('GET', '/data');
 *   pool.recordUpstream(conn, res.status < 500);
 * } finally {
 *   pool.release(conn);
 * }
 * ```
 */
export class ConnectionPool {
  /** The normalised configuration in force. */
  readonly config: Readonly<PoolConfig>;
  /**
   * Keyed by the full origin, scheme included: `http://h:8443` and `https://h:8443`
   * share `host:port` but never a connection (else an https URL could be sent in
   * plain text on a socket opened for http).
   */
  readonly #hosts = new Map<string, HostEntry>();
  readonly #clientOptions: ClientOptionsCache;
  /** Checked-out connections, so `close()` can end them even if never released. */
  readonly #active = new Set<Connection>();
  #total = 0;
  readonly #queue: WaitQueue;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Closes connections idle too long or past their lifetime. */
  readonly #reaper: Reaper<Connection, HostEntry>;
  readonly #upstreams: UpstreamRegistry;
  /** Deadlines of `conn.request()` calls on this pool's connections. */
  readonly #deadlines: DeadlineQueue;
  /** The `proxy` option, resolved once; undefined for direct connections. */
  readonly #proxy: ResolvedProxy | undefined;

  /** @throws {InvalidRequestError} when an option is out of range, or the proxy URL is bad */
  constructor(config: Partial<PoolConfig> = {}) {
    this.config = normalizePoolConfig(config);
    this.#proxy = this.config.proxy === undefined ? undefined : resolveProxy(this.config.proxy);
    this.#clientOptions = new ClientOptionsCache(this.config);
    this.#queue = new WaitQueue(this.config.clock);
    this.#reaper = new Reaper(
      this.config.clock,
      this.config,
      this.#hosts,
      (entry, conn) => this.#discard(entry, conn),
      () => this.#serveWaiters(),
    );
    const port: PoolPort = {
      upstreamFor: (origin) => this.#upstreams.forOrigin(origin),
      host: (origin) => hostEntry(this.#hosts, origin, this.config.clock),
      tryTake: (entry, connectTimeoutMs, fresh, now) =>
        this.#tryTake(entry, connectTimeoutMs, fresh, now),
      acquireOrigin: (origin, waitMs, connectTimeoutMs, fresh, signal) =>
        this.#acquireOrigin(origin, waitMs, connectTimeoutMs, fresh, signal),
      releaseAt: (connection, now) => this.#releaseAt(connection, now),
    };
    registerPort(this, port);
    this.#upstreams = new UpstreamRegistry({
      config: this.config,
      acquireOrigin: port.acquireOrigin,
      release: (connection) => this.release(connection),
    });
    this.#deadlines = new DeadlineQueue(this.config.clock);
  }

  /** Told by a connection that its socket closed or failed. */
  readonly #observer: ConnectionObserver = {
    connectionOpened: (connection) => {
      if (poolConnectChannel.hasSubscribers) publishConnect(this, connection);
    },
    connectionClosed: (connection) => this.#connectionClosed(connection),
  };

  /** True once `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Gets a connection to `host:port` (port 443 means TLS), an origin such as
   * `https://host:port`, or a URL. Waits in a FIFO queue when the host is at its limit.
   *
   * A host that is the name of an upstream ({@link addUpstream}), alone (`acquire('api')`)
   * or in an origin (`acquire('http://api')`), gets a connection to the backend its
   * balancer picks. That pick stays open until {@link recordUpstream} gives its outcome
   * or {@link release} ends it without one.
   *
   * @throws {InvalidRequestError} bad host, port or option, before any I/O; for an
   *   upstream, a port or an `https:` origin with plain-http backends
   * @throws {TimeoutError} phase `acquire` when no connection frees up in time
   * @throws {PoolClosedError} once the pool is closed
   * @throws {AbortError} when `options.signal` aborts
   * @throws {ConnectionError} every backend of the upstream is failing its health checks
   */
  acquire(host: string, port: number, options?: AcquireOptions): Promise<Connection>;
  acquire(origin: string | URL, options?: AcquireOptions): Promise<Connection>;
  acquire(
    hostOrOrigin: string | URL,
    portOrOptions?: number | AcquireOptions,
    maybeOptions?: AcquireOptions,
  ): Promise<Connection> {
    try {
      const port = typeof portOrOptions === 'number' ? portOrOptions : undefined;
      const options = (typeof portOrOptions === 'object' ? portOrOptions : maybeOptions) ?? {};
      const upstream = this.#upstreams.named(hostOrOrigin, port);
      const origin = upstream === undefined ? parseOrigin(hostOrOrigin, port) : undefined;
      const waitMs = waitTime('timeoutMs', options.timeoutMs ?? this.config.connectionTimeoutMs);
      const connectMs = checkTimeout(
        'connectTimeoutMs',
        options.connectTimeoutMs ?? this.config.connectTimeoutMs,
      );
      const fresh = options.fresh === true;
      if (upstream !== undefined) {
        return this.#upstreams.acquire(upstream, waitMs, connectMs, fresh, options.signal);
      }
      return this.#acquireOrigin(origin!, waitMs, connectMs, fresh, options.signal);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Registers a named set of backends. From now on a request whose URL host is `name`
   * (`http://name/path`), and `acquire(name)`, go to the backend its balancer picks, with
   * passive outlier ejection on and active health checks if `options.healthCheck` is
   * given (they start at once and send `GET path` through this pool). The name shadows
   * any real host of that name for this pool's callers.
   *
   * @param backends - origins such as `'http://10.0.0.1:8080'`, or `{ origin, weight }`
   * @returns the upstream, for its figures and backends
   * @throws {InvalidRequestError} bad name, backend or option, or `name` is already taken
   * @throws {PoolClosedError} once the pool is closed
   * @example
   * ```ts
   * pool.addUpstream('api', ['http://10.0.0.1:8080', { origin: 'http://10.0.0.2:8080', weight: 2 }], {
   *   strategy: 'least-connections',
   *   healthCheck: { path: '/healthz', intervalMs: 5000 },
   * });
   * ```
   */
  addUpstream(
    name: string,
    backends: readonly BackendSpec[],
    options?: Partial<UpstreamOptions>,
  ): Upstream {
    return this.#upstreams.add(name, backends, options);
  }

  /**
   * Stops an upstream's health checks and forgets it: its name is an ordinary host
   * again. Picks still out may be recorded or released as usual.
   * @returns false when there was no upstream of that name
   */
  removeUpstream(name: string): boolean {
    return this.#upstreams.remove(name);
  }

  /** The upstream registered as `name` (any case), if any. */
  upstream(name: string): Upstream | undefined {
    return this.#upstreams.get(name);
  }

  /**
   * Gives the outcome of the request sent on a connection from `acquire(upstreamName)`,
   * which is what passive outlier ejection and the latency-aware balancers learn from.
   * Call it before {@link release}; a pick released without an outcome is cancelled
   * (no ejection, no latency sample), which is right for an aborted request and loses
   * the lesson otherwise.
   *
   * @param success - false for a 5xx or a failed exchange (connection, protocol, timeout)
   * @param rttMs - the round trip; by default the time since the connection was handed over
   * @returns false when the connection carries no open pick (not from an upstream,
   *   already recorded, or released)
   * @throws {TypeError} `success` is not a boolean
   */
  recordUpstream(connection: Connection, success: boolean, rttMs?: number): boolean {
    if (typeof success !== 'boolean') throw new TypeError('success must be a boolean');
    return this.#upstreams.record(connection, success, rttMs);
  }

  /**
   * A connection without waiting, or undefined when the caller must queue.
   * The client's hot path: no promise, no closure.
   *
   * @param now - the caller's reading of the pool's clock
   */
  #tryTake(
    entry: HostEntry,
    connectTimeoutMs: number,
    fresh: boolean,
    now: number,
  ): Connection | undefined {
    if (this.#closed) throw new PoolClosedError();
    entry.lastUsed = now;
    if (!fresh) {
      const conn = this.#takeIdle(entry, now);
      if (conn !== undefined) return conn;
    }
    if (entry.waiters.length > 0) return undefined;
    return this.#open(entry, connectTimeoutMs);
  }

  /** The most recently used idle connection still fit for use, checked out; else undefined. */
  #takeIdle(entry: HostEntry, now: number): Connection | undefined {
    const idle = entry.idle;
    while (idle.length > 0) {
      const conn = idle.pop()!;
      if (conn.reusable && !this.#reaper.expired(conn, now)) {
        setPlace(conn, Place.Active);
        this.#active.add(conn);
        entry.active++;
        return conn;
      }
      this.#discard(entry, conn);
    }
    return undefined;
  }

  /** acquire() after parsing. */
  #acquireOrigin(
    origin: Origin,
    waitMs: number,
    connectTimeoutMs: number,
    fresh: boolean,
    signal: AbortSignal | undefined,
  ): Promise<Connection> {
    if (this.#closed) return Promise.reject(new PoolClosedError());
    if (signal?.aborted) return Promise.reject(new AbortError(signal.reason));
    const entry = hostEntry(this.#hosts, origin, this.config.clock);
    const conn = this.#tryTake(entry, connectTimeoutMs, fresh, this.config.clock.now());
    if (conn !== undefined) return Promise.resolve(conn);
    return this.#queue.enqueue(entry, waitMs, connectTimeoutMs, fresh, signal);
  }

  /** Opens a connection if the limits allow, else undefined. */
  #open(entry: HostEntry, connectTimeoutMs: number): Connection | undefined {
    if (entry.active + entry.idle.length >= this.config.maxConnections) {
      // Room can be made by closing one of this host's own idle connections (a caller
      // asking for a fresh one), but not by exceeding the limit.
      if (entry.idle.length === 0) return undefined;
      this.#discard(entry, entry.idle.shift()!);
    }
    if (this.#total >= this.config.maxTotalConnections && !this.#reaper.evictLongestIdle()) {
      return undefined;
    }
    const proxy = this.#proxy === undefined ? undefined : proxyFor(this.#proxy, entry.origin);
    const conn = openConnection(
      entry.origin,
      this.#clientOptions.get(connectTimeoutMs),
      connectTimeoutMs,
      this.config.clock,
      entry.stats,
      this.#observer,
      this.#deadlines,
      proxy === undefined
        ? undefined
        : new ProxyConnector(proxy, entry.origin, this.config.tls, connectTimeoutMs),
    );
    setPlace(conn, Place.Active);
    this.#active.add(conn);
    entry.active++;
    this.#total++;
    return conn;
  }

  /**
   * Gives a connection back. A connection that failed, was closed by the server, is
   * still carrying a request, or is past its lifetime is closed instead of kept.
   * Releasing the same connection twice is harmless.
   */
  release(connection: Connection): void {
    this.#releaseAt(connection, this.config.clock.now());
  }

  /**
   * {@link release} with the caller's reading of the pool's clock (the client
   * has one from the end of the exchange).
   */
  #releaseAt(connection: Connection, now: number): void {
    if (placeOf(connection) !== Place.Active) return;
    if (this.#upstreams.openLeases > 0) this.#upstreams.release(connection);
    const entry = this.#hosts.get(connection.origin.origin);
    if (entry === undefined) {
      setPlace(connection, Place.Gone);
      this.#active.delete(connection);
      this.#total--;
      void connection.destroy();
      return;
    }
    entry.active--;
    entry.lastUsed = now;
    if (this.#closed || !connection.reusable || this.#reaper.expired(connection, now)) {
      this.#discard(entry, connection);
      this.#serveWaiters();
      return;
    }
    // When the total limit holds callers back, the room is owed to whoever waits longest
    // across hosts (FIFO), else a busy host could starve the others.
    const full = this.#total >= this.config.maxTotalConnections;
    if (entry.waiters.length > 0 && !(full && this.#queue.olderElsewhere(this.#hosts, entry))) {
      const waiter = this.#queue.next(entry, false);
      if (waiter !== undefined) {
        entry.active++;
        waiter.resolve(connection);
        return;
      }
    }
    if (entry.idle.length >= this.config.maxIdleConnections) {
      this.#discard(entry, connection);
      this.#serveWaiters();
      return;
    }
    setPlace(connection, Place.Idle);
    this.#active.delete(connection);
    connection.idleSince = now;
    entry.idle.push(connection);
    this.#reaper.arm();
    // Callers of any host may be waiting for room: one wanting a fresh connection to
    // this host, or (under maxTotalConnections) one of another host, for whom this
    // idle connection can be closed. Checking only this host's queue left those
    // waiting for the next sweep.
    if (this.#queue.count > 0) this.#serveWaiters();
  }

  /** After room was freed anywhere: queued callers get what it makes room for. */
  #serveWaiters(): void {
    if (this.#queue.count === 0 || this.#closed) return;
    this.#queue.serve(this.#hosts, this.config.maxConnections, this.#roomFor);
  }

  /** An idle connection of the host itself is the cheapest room, unless one asked for a fresh one. */
  readonly #roomFor = (entry: HostEntry, fresh: boolean, connectTimeoutMs: number) =>
    (fresh ? undefined : this.#takeIdle(entry, this.config.clock.now())) ??
    this.#open(entry, connectTimeoutMs);

  #discard(entry: HostEntry, conn: Connection): void {
    const where = placeOf(conn);
    if (where === Place.Gone) return;
    if (where === Place.Idle) {
      const i = entry.idle.indexOf(conn);
      if (i !== -1) entry.idle.splice(i, 1);
    }
    setPlace(conn, Place.Gone);
    this.#active.delete(conn);
    this.#total--;
    void conn.destroy();
  }

  /** A connection's socket closed or failed. */
  #connectionClosed(connection: Connection): void {
    if (poolCloseChannel.hasSubscribers) {
      publishClose(this, connection, this.config.clock.now());
    }
    if (placeOf(connection) !== Place.Idle) return;
    const entry = this.#hosts.get(connection.origin.origin);
    if (entry === undefined) return;
    this.#discard(entry, connection);
    this.#serveWaiters();
  }

  /** Statistics of every host and the totals, as plain JSON. */
  stats(): PoolStats {
    const upstreams = this.#upstreams.size === 0 ? {} : this.#upstreams.stats();
    return poolStats(this.#hosts, this.#total, upstreams);
  }

  /**
   * Closes the pool: queued callers fail with `PoolClosedError`, idle connections close
   * now, connections in use close once their current request ends, upstreams stop their
   * health checks and refuse further picks. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    this.#upstreams.close();
    this.#reaper.stop();
    const closing: Promise<void>[] = [];
    for (const entry of this.#hosts.values()) {
      this.#queue.rejectAll(entry, () => new PoolClosedError());
      for (const conn of entry.idle.splice(0)) {
        setPlace(conn, Place.Gone);
        this.#total--;
        closing.push(conn.destroy());
      }
    }
    // Connections in use finish their current exchange, then close; release() will
    // find the pool closed and let them go.
    for (const conn of this.#active) closing.push(conn.close());
    this.#closing = Promise.all(closing).then(() => {});
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
