/**
 * The pool's table of hosts: one entry per origin with its connections, waiters and
 * statistics, created on first use and forgotten once quiet past a bound; and the
 * `pool.stats()` snapshot built from it.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import type { Connection } from './connection.js';
import { type HostStats, HostStatsRecorder } from './host-stats.js';
import { type Origin, otherSchemeOf } from './origin.js';
import type { UpstreamStats } from './upstream/index.js';

/** The figures of `pool.stats()`. */
export interface PoolStats {
  totals: {
    /** Connections open (active + idle) across hosts. */
    connections: number;
    active: number;
    idle: number;
    pending: number;
    requests: number;
    inFlight: number;
  };
  hosts: Record<string, HostStats>;
  /** Every upstream by name (`{}` when there are none). */
  upstreams: Record<string, UpstreamStats>;
}

/** @internal A caller waiting for a connection. */
export interface Waiter {
  resolve(connection: Connection): void;
  reject(error: Error): void;
  timer: TimerHandle | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  connectTimeoutMs: number;
  fresh: boolean;
  /** Arrival order across all hosts, so room freed under the total limit goes to the oldest. */
  seq: number;
}

/** @internal The pool's state for one origin. */
export interface HostEntry {
  readonly origin: Origin;
  /**
   * The key of this host in `stats().hosts`: `host:port`, or the full origin when the
   * same `host:port` is already known under the other scheme.
   */
  readonly key: string;
  readonly stats: HostStatsRecorder;
  /** Idle connections, most recently used last (reuse is LIFO so the rest can expire). */
  readonly idle: Connection[];
  active: number;
  readonly waiters: Waiter[];
  lastUsed: number;
}

/** Hosts kept before a quiet one is forgotten for a new one. */
const MAX_QUIET_HOSTS = 1024;

/** @internal The entry of `origin` in `hosts` (keyed by full origin), created on first use. */
export function hostEntry(hosts: Map<string, HostEntry>, origin: Origin, clock: Clock): HostEntry {
  let entry = hosts.get(origin.origin);
  if (entry === undefined) {
    if (hosts.size >= MAX_QUIET_HOSTS) forgetQuietHost(hosts);
    const taken = hosts.get(otherSchemeOf(origin))?.key === origin.key;
    entry = {
      origin,
      key: taken ? `${origin.tls ? 'https' : 'http'}://${origin.key}` : origin.key,
      stats: new HostStatsRecorder(clock),
      idle: [],
      active: 0,
      waiters: [],
      lastUsed: clock.now(),
    };
    hosts.set(origin.origin, entry);
  }
  return entry;
}

/** Forgets the host that has been quiet longest, if any is. */
function forgetQuietHost(hosts: Map<string, HostEntry>): void {
  let victim: HostEntry | undefined;
  for (const entry of hosts.values()) {
    const quiet =
      entry.active === 0 &&
      entry.idle.length === 0 &&
      entry.waiters.length === 0 &&
      entry.stats.inFlight === 0;
    if (quiet && (victim === undefined || entry.lastUsed < victim.lastUsed)) victim = entry;
  }
  if (victim !== undefined) hosts.delete(victim.origin.origin);
}

/**
 * @internal `pool.stats()`: every host and the totals, an upstream's ejection shown on
 * its backends.
 */
export function poolStats(
  table: ReadonlyMap<string, HostEntry>,
  total: number,
  upstreams: Record<string, UpstreamStats>,
): PoolStats {
  const hosts: Record<string, HostStats> = {};
  let active = 0;
  let idle = 0;
  let pending = 0;
  let requests = 0;
  let inFlight = 0;
  for (const entry of table.values()) {
    const s = entry.stats.snapshot(entry.active, entry.idle.length, entry.waiters.length);
    hosts[entry.key] = s;
    active += entry.active;
    idle += entry.idle.length;
    pending += entry.waiters.length;
    requests += s.requests.total;
    inFlight += s.requests.inFlight;
  }
  for (const name in upstreams) {
    for (const backend of upstreams[name]!.backends) {
      if (backend.ejectedUntil === null) continue;
      const entry = table.get(backend.origin);
      if (entry === undefined) continue;
      // One origin may serve in several upstreams: it is out until the last lets it back.
      const health = hosts[entry.key]!.health;
      health.ejectedUntil = Math.max(health.ejectedUntil ?? 0, backend.ejectedUntil);
    }
  }
  return {
    totals: { connections: total, active, idle, pending, requests, inFlight },
    hosts,
    upstreams,
  };
}
