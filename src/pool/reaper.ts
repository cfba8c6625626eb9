/**
 * The pool's reaper: closes idle connections once they have sat unused for
 * `idleTimeoutMs`, and any connection past `maxConnectionLifetimeMs` (a long-lived socket
 * pins one backend behind a load balancer and never sees DNS changes). One timer for the
 * whole pool, armed only while some connection is idle, and unref'ed: an idle pool keeps
 * no process alive. Internal: not exported from the package.
 */
import { type Clock, type TimerHandle, unrefTimer } from '../core/clock.js';

/** What the reaper reads of a connection. */
export interface Reapable {
  /** Clock time it was opened. */
  readonly createdAt: number;
  /** Clock time it last went idle. */
  readonly idleSince: number;
}

/** What the reaper reads of a host: its idle connections, longest idle first. */
export interface ReapableHost<C extends Reapable> {
  readonly idle: readonly C[];
}

/** The reaper's limits, in ms (`PoolConfig`'s names). */
export interface ReaperLimits {
  readonly idleTimeoutMs: number;
  readonly maxConnectionLifetimeMs: number;
}

export class Reaper<C extends Reapable, H extends ReapableHost<C>> {
  readonly #clock: Clock;
  readonly #idleTimeoutMs: number;
  readonly #lifetimeMs: number;
  /** Sweeps come at half the idle timeout (within 1 ms..1 s), so none idles much longer. */
  readonly #sweepMs: number;
  readonly #hosts: ReadonlyMap<string, H>;
  readonly #discard: (host: H, conn: C) => void;
  readonly #swept: () => void;
  #timer: TimerHandle | undefined = undefined;
  #stopped = false;

  /**
   * @param hosts - the pool's host table, read at each sweep
   * @param discard - closes `conn` and takes it out of `host.idle`
   * @param swept - after a sweep: the room it freed may serve callers waiting
   */
  constructor(
    clock: Clock,
    limits: ReaperLimits,
    hosts: ReadonlyMap<string, H>,
    discard: (host: H, conn: C) => void,
    swept: () => void,
  ) {
    this.#clock = clock;
    this.#idleTimeoutMs = limits.idleTimeoutMs;
    this.#lifetimeMs = limits.maxConnectionLifetimeMs;
    this.#sweepMs = Math.max(1, Math.min(1000, limits.idleTimeoutMs / 2));
    this.#hosts = hosts;
    this.#discard = discard;
    this.#swept = swept;
  }

  /** Whether `conn` is past its lifetime at clock time `now`: it is not to be used again. */
  expired(conn: C, now: number): boolean {
    return now - conn.createdAt >= this.#lifetimeMs;
  }

  /** Whether a sweep is due (for tests). */
  get armed(): boolean {
    return this.#timer !== undefined;
  }

  /** A connection went idle: makes sure a sweep will come. */
  arm(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    this.#timer = unrefTimer(this.#clock, this.#sweep, this.#sweepMs);
  }

  /**
   * Closes the longest-idle connection of any host, to make room under the pool's total
   * limit. Returns false when no host has an idle connection.
   */
  evictLongestIdle(): boolean {
    let victim: H | undefined;
    let oldest = Number.POSITIVE_INFINITY;
    for (const host of this.#hosts.values()) {
      const conn = host.idle[0];
      if (conn !== undefined && conn.idleSince < oldest) {
        oldest = conn.idleSince;
        victim = host;
      }
    }
    if (victim === undefined) return false;
    this.#discard(victim, victim.idle[0]!);
    return true;
  }

  /** The pool is closing: no sweep from now on. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  readonly #sweep = (): void => {
    this.#timer = undefined;
    const now = this.#clock.now();
    let remaining = 0;
    for (const host of this.#hosts.values()) {
      const idle = host.idle;
      // Oldest first: the stack's bottom has been idle longest.
      while (idle.length > 0) {
        const conn = idle[0]!;
        if (now - conn.idleSince < this.#idleTimeoutMs && !this.expired(conn, now)) break;
        this.#discard(host, conn);
        // A discard that left it in place would sweep it forever.
        if (idle[0] === conn) break;
      }
      remaining += idle.length;
    }
    if (remaining > 0) this.arm();
    this.#swept();
  };
}
