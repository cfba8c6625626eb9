/**
 * The pool's upstreams: names to {@link Upstream}s, the routing rule for a request whose
 * host is an upstream name, and the picks that `pool.acquire(name)` hands out until
 * they are recorded or released. Kept apart from the pool so that a pool without
 * upstreams pays one size check per request, and the pool file stays about connections.
 */

import { InvalidRequestError, PoolClosedError } from '../../core/errors.js';
import type { PoolConfig } from '../config.js';
import type { Connection } from '../connection.js';
import { type Origin, parseOrigin } from '../origin.js';
import type { PoolPort } from '../pool-port.js';
import type { Backend, BackendSpec } from './backend.js';
import type { HealthProbe } from './health-checker.js';
import {
  normalizeUpstreamName,
  normalizeUpstreamOptions,
  type UpstreamOptions,
} from './options.js';
import { Upstream, type UpstreamStats } from './upstream.js';

/** An upstream and what routing needs to know about it, computed once. */
interface Slot {
  readonly upstream: Upstream;
  /** A backend speaking plain http, which an `https:` URL must not be sent to. */
  readonly plainBackend: Backend | undefined;
}

/** What the registry needs of its pool: connections to a backend, and their return. */
export interface BackendConnections extends Pick<PoolPort, 'acquireOrigin'> {
  readonly config: Readonly<PoolConfig>;
  release(connection: Connection): void;
}

/** Response bytes a health check reads at most; a larger answer fails the check. */
const PROBE_MAX_BODY = 1024 * 1024;

/** One pick handed out by `pool.acquire(name)`, open until recorded or released. */
interface Lease {
  readonly upstream: Upstream;
  readonly backend: Backend;
  /** Clock time the connection was handed over: the default start of the round trip. */
  readonly handedAt: number;
}

/**
 * Checks an upstream definition exactly as `pool.addUpstream` would, without creating
 * it: no health check starts, so a list of definitions can be checked as a whole before
 * any of them sends a probe.
 *
 * @returns the name, lower-cased
 * @throws {InvalidRequestError} bad name, backend list, origin, weight or option
 */
export function checkUpstream(
  name: string,
  backends: readonly BackendSpec[],
  options: Partial<UpstreamOptions> = {},
): string {
  // Every option, health checks included, is checked here; the upstream below is built
  // with health checks off so that it validates name and backends (repeats included)
  // and starts nothing.
  const normalized = normalizeUpstreamOptions(options);
  return new Upstream(name, backends, {
    strategy: normalized.strategy,
    outlierDetection: normalized.outlierDetection ?? false,
  }).name;
}

/** The upstreams of one pool. */
export class UpstreamRegistry {
  readonly #byName = new Map<string, Slot>();
  readonly #leases = new WeakMap<Connection, Lease>();
  readonly #pool: BackendConnections;
  #openLeases = 0;
  #closed = false;

  constructor(pool: BackendConnections) {
    this.#pool = pool;
  }

  /** Upstreams registered: the hot path checks this for 0 and goes no further. */
  get size(): number {
    return this.#byName.size;
  }

  /** Picks from `pool.acquire(name)` neither recorded nor released yet. */
  get openLeases(): number {
    return this.#openLeases;
  }

  /**
   * Creates and registers an upstream; its health checks (if on) start at once.
   * @throws {InvalidRequestError} bad definition, or the name is taken
   * @throws {PoolClosedError} after {@link close}
   */
  add(
    name: string,
    backends: readonly BackendSpec[],
    options: Partial<UpstreamOptions> | undefined,
  ): Upstream {
    if (this.#closed) throw new PoolClosedError();
    const key = normalizeUpstreamName(name);
    if (this.#byName.has(key)) {
      throw new InvalidRequestError(`upstream ${key} already exists; remove it first`);
    }
    const upstream = new Upstream(key, backends, options, {
      clock: this.#pool.config.clock,
      probe: this.#probe,
    });
    this.#byName.set(key, {
      upstream,
      plainBackend: upstream.backends.find((b) => !b.origin.tls),
    });
    return upstream;
  }

  /** Closes and forgets an upstream. Picks still out may be recorded. */
  remove(name: string): boolean {
    const key = typeof name === 'string' ? name.toLowerCase() : '';
    const slot = this.#byName.get(key);
    if (slot === undefined) return false;
    this.#byName.delete(key);
    slot.upstream.close();
    return true;
  }

  /** The upstream of `name` (any case), if registered. */
  get(name: string): Upstream | undefined {
    return typeof name === 'string' ? this.#byName.get(name.toLowerCase())?.upstream : undefined;
  }

  /**
   * The upstream that `pool.acquire(hostOrOrigin, port)` names, if any: a bare name
   * (`acquire('api')`), or an origin whose host is one (`acquire('http://api')`).
   * @throws {InvalidRequestError} as {@link route}, or a bad host or port
   */
  named(hostOrOrigin: string | URL, port: number | undefined): Upstream | undefined {
    if (this.#byName.size === 0) return undefined;
    // A bare name is no origin at all; look it up before the URL parser refuses it.
    if (typeof hostOrOrigin === 'string' && port === undefined) {
      const named = this.get(hostOrOrigin);
      if (named !== undefined) return named;
    }
    return this.route(parseOrigin(hostOrOrigin, port));
  }

  /**
   * {@link route} for the client's hot path: one size check when no upstream is
   * registered, one lookup by host name otherwise.
   */
  forOrigin(origin: Origin): Upstream | undefined {
    return this.#byName.size === 0 ? undefined : this.route(origin);
  }

  /**
   * The upstream a request to `origin` goes through, or undefined for a real host. The
   * backends say where and how to connect, so a port is refused rather than ignored,
   * and so is an `https:` origin that some backend would receive in plain text.
   *
   * @throws {InvalidRequestError} a port other than the scheme's default, or https to a
   *   plain-http backend
   */
  route(origin: Origin): Upstream | undefined {
    const slot = this.#byName.get(origin.hostname);
    if (slot === undefined) return undefined;
    const { upstream, plainBackend } = slot;
    if (origin.port !== (origin.tls ? 443 : 80)) {
      throw new InvalidRequestError(
        `upstream ${upstream.name} takes no port: its backends' origins say where to connect`,
      );
    }
    if (origin.tls && plainBackend !== undefined) {
      throw new InvalidRequestError(
        `https://${upstream.name} would reach backend ${plainBackend.origin.origin} in plain text; use http://${upstream.name} or https backends`,
      );
    }
    return upstream;
  }

  /**
   * `pool.acquire(name)`: a connection to the backend `upstream` picks, with the pick
   * remembered until {@link record} or {@link release}. A pick whose wait fails never
   * reached the backend and is cancelled.
   */
  acquire(
    upstream: Upstream,
    waitMs: number,
    connectTimeoutMs: number,
    fresh: boolean,
    signal: AbortSignal | undefined,
  ): Promise<Connection> {
    const backend = upstream.pick();
    let pending: Promise<Connection>;
    try {
      pending = this.#pool.acquireOrigin(backend.origin, waitMs, connectTimeoutMs, fresh, signal);
    } catch (err) {
      upstream.cancel(backend);
      throw err;
    }
    return pending.then(
      (connection) => {
        const handedAt = this.#pool.config.clock.now();
        this.#leases.set(connection, { upstream, backend, handedAt });
        this.#openLeases++;
        return connection;
      },
      (err: unknown) => {
        upstream.cancel(backend);
        throw err;
      },
    );
  }

  /**
   * Records the outcome of the pick behind `connection`.
   * @returns false when there is no open pick (not from an upstream, already recorded or released)
   */
  record(connection: Connection, success: boolean, rttMs: number | undefined): boolean {
    const lease = this.#take(connection);
    if (lease === undefined) return false;
    const rtt = rttMs ?? this.#pool.config.clock.now() - lease.handedAt;
    lease.upstream.record(lease.backend, success, rtt);
    return true;
  }

  /** The connection is back: a pick not recorded by now had no outcome to learn from. */
  release(connection: Connection): void {
    const lease = this.#take(connection);
    if (lease !== undefined) lease.upstream.cancel(lease.backend);
  }

  #take(connection: Connection): Lease | undefined {
    const lease = this.#leases.get(connection);
    if (lease !== undefined) {
      this.#leases.delete(connection);
      this.#openLeases--;
    }
    return lease;
  }

  /**
   * Sends one health check through the pool, so checks share its connections, limits
   * and TLS settings and show in its host figures. Built once, shared by every upstream.
   */
  readonly #probe: HealthProbe = async (backend, path, timeoutMs, signal) => {
    const pool = this.#pool;
    let conn: Connection | undefined;
    try {
      conn = await pool.acquireOrigin(
        backend.origin,
        timeoutMs,
        Math.min(timeoutMs, pool.config.connectTimeoutMs),
        false,
        signal,
      );
      const res = await conn.request('GET', path, undefined, null, {
        timeoutMs,
        signal,
        maxBodySize: PROBE_MAX_BODY,
      });
      return res.status < 500;
    } catch {
      return false;
    } finally {
      if (conn !== undefined) pool.release(conn);
    }
  };

  /** Figures of every upstream, by name. */
  stats(): Record<string, UpstreamStats> {
    const out: Record<string, UpstreamStats> = {};
    for (const [name, { upstream }] of this.#byName) out[name] = upstream.stats();
    return out;
  }

  /** Closes every upstream (no health-check timer is left) and refuses new ones. */
  close(): void {
    this.#closed = true;
    for (const { upstream } of this.#byName.values()) upstream.close();
  }
}
