/**
 * The pool's wait queue: callers waiting for a connection, per host in arrival order and
 * numbered across hosts, so room freed under the total limit goes to the longest waiting.
 * A waiter leaves on its timeout (`TimeoutError`, phase `acquire`) or its signal
 * (`AbortError`), and leaves no timer or listener behind.
 */
import { type Clock, unrefTimer } from '../core/clock.js';
import { AbortError, TimeoutError } from '../core/errors.js';
import type { Connection } from './connection.js';
import type { HostEntry, Waiter } from './host-table.js';

/** @internal */
export class WaitQueue {
  readonly #clock: Clock;
  #seq = 0;
  /** Callers waiting, across hosts. */
  count = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Waits at the back of `entry`'s queue until handed a connection, or until it leaves. */
  enqueue(
    entry: HostEntry,
    waitMs: number,
    connectTimeoutMs: number,
    fresh: boolean,
    signal: AbortSignal | undefined,
  ): Promise<Connection> {
    return new Promise<Connection>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: undefined,
        signal,
        onAbort: undefined,
        connectTimeoutMs,
        fresh,
        seq: ++this.#seq,
      };
      const leave = (error: Error): void => {
        const i = entry.waiters.indexOf(waiter);
        if (i === -1) return;
        this.take(entry, i);
        reject(error);
      };
      // Infinity: the client bounds the wait by the call's own deadline instead.
      if (waitMs !== Number.POSITIVE_INFINITY) {
        waiter.timer = unrefTimer(
          this.#clock,
          () => leave(new TimeoutError('acquire', waitMs)),
          waitMs,
        );
      }
      if (signal !== undefined) {
        waiter.onAbort = () => leave(new AbortError(signal.reason));
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      entry.waiters.push(waiter);
      this.count++;
    });
  }

  /** Takes the waiter at `index` of `entry`'s queue out of the queue, its timer and listener cleared. */
  take(entry: HostEntry, index: number): Waiter {
    const [waiter] = entry.waiters.splice(index, 1);
    this.count--;
    this.#clear(waiter!);
    return waiter!;
  }

  /** Takes `entry`'s first waiter that may have a kept-alive connection (any, if `freshOk`). */
  next(entry: HostEntry, freshOk: boolean): Waiter | undefined {
    const waiters = entry.waiters;
    for (let i = 0; i < waiters.length; i++) {
      if (waiters[i]!.fresh && !freshOk) continue;
      return this.take(entry, i);
    }
    return undefined;
  }

  /** Whether another host has a caller waiting longer than `entry`'s first (if it has one). */
  olderElsewhere(hosts: ReadonlyMap<string, HostEntry>, entry: HostEntry): boolean {
    if (this.count === entry.waiters.length) return false;
    const mine = entry.waiters[0]!.seq;
    for (const other of hosts.values()) {
      const head = other.waiters[0];
      if (head !== undefined && head.seq < mine && other !== entry) return true;
    }
    return false;
  }

  /**
   * Hands connections to queued callers, the longest waiting first across hosts, until
   * `room` can make no more. O(hosts) per caller served, and only run while someone waits.
   *
   * @param room - a connection for the head of `entry`'s queue, or undefined for none
   */
  serve(
    hosts: ReadonlyMap<string, HostEntry>,
    maxConnections: number,
    room: (entry: HostEntry, fresh: boolean, connectTimeoutMs: number) => Connection | undefined,
  ): void {
    for (;;) {
      const best = this.#oldest(hosts, maxConnections);
      if (best === undefined) return;
      const head = best.waiters[0]!;
      const conn = room(best, head.fresh, head.connectTimeoutMs);
      if (conn === undefined) return;
      this.take(best, 0).resolve(conn);
    }
  }

  /** The host whose first caller has waited longest, among those that can take room. */
  #oldest(hosts: ReadonlyMap<string, HostEntry>, maxConnections: number): HostEntry | undefined {
    let best: HostEntry | undefined;
    let bestSeq = Number.POSITIVE_INFINITY;
    for (const entry of hosts.values()) {
      const head = entry.waiters[0];
      if (head === undefined || head.seq >= bestSeq) continue;
      // A host at its own limit with nothing idle cannot take room freed elsewhere.
      if (entry.idle.length === 0 && entry.active >= maxConnections) continue;
      best = entry;
      bestSeq = head.seq;
    }
    return best;
  }

  /** Ends every wait of `entry` with the error `reason` makes (the pool is closing). */
  rejectAll(entry: HostEntry, reason: () => Error): void {
    for (const waiter of entry.waiters.splice(0)) {
      this.count--;
      this.#clear(waiter);
      waiter.reject(reason());
    }
  }

  #clear(waiter: Waiter): void {
    if (waiter.timer !== undefined) this.#clock.clearTimeout(waiter.timer);
    if (waiter.onAbort !== undefined) waiter.signal!.removeEventListener('abort', waiter.onAbort);
  }
}
