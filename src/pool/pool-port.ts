/**
 * The pool's narrow way in for the HTTP client, kept off the pool's public surface.
 */
import type { Connection } from './connection.js';
import type { ConnectionPool } from './connection-pool.js';
import type { HostEntry } from './host-table.js';
import type { Origin } from './origin.js';
import type { Upstream } from './upstream/index.js';

/**
 * @internal
 * The narrow way in for the HTTP client (and the pool's own upstream registry): the
 * client's hot path takes a connection without a promise when one is free, and hands
 * back its own clock readings. Not exported by the package: it is no part of the pool's
 * public API, which stays `acquire`/`release`.
 */
export interface PoolPort {
  /** The upstream a request to `origin` goes through, or undefined for a real host. */
  upstreamFor(origin: Origin): Upstream | undefined;
  /** The entry of `origin`, created on first use. */
  host(origin: Origin): HostEntry;
  /** A connection without waiting, or undefined when the caller must queue. */
  tryTake(
    entry: HostEntry,
    connectTimeoutMs: number,
    fresh: boolean,
    now: number,
  ): Connection | undefined;
  /** Waits for a connection to `origin` (acquire() after parsing). */
  acquireOrigin(
    origin: Origin,
    waitMs: number,
    connectTimeoutMs: number,
    fresh: boolean,
    signal: AbortSignal | undefined,
  ): Promise<Connection>;
  /** `release` with the caller's reading of the pool's clock. */
  releaseAt(connection: Connection, now: number): void;
}

const PORTS = new WeakMap<ConnectionPool, PoolPort>();

/** @internal The port of `pool`. */
export function portOf(pool: ConnectionPool): PoolPort {
  return PORTS.get(pool)!;
}

/** @internal Called once by each pool's constructor. */
export function registerPort(pool: ConnectionPool, port: PoolPort): void {
  PORTS.set(pool, port);
}
