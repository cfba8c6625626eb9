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

  /** Whether another host has a caller waiting longer than `entry`'s first. */
  olderElsewhere(hosts: ReadonlyMap<string, HostEntry>, entry: HostEntry): boolean {
    const mine = entry.waiters[0]!.seq;
    for (const other of hosts.values()) {
      const head = other.waiters[0];
      if (head !== undefined && head.seq < mine && other !== entry) return true;
    }
    return false;
  }

  /** The host, among those `canServe` accepts, whose first caller has waited longest. */
  oldest(
    hosts: ReadonlyMap<string, HostEntry>,
    canServe: (entry: HostEntry) => boolean,
  ): HostEntry | undefined {
    let best: HostEntry | undefined;
    let bestSeq = Number.POSITIVE_INFINITY;
    for (const entry of hosts.values()) {
      const head = entry.waiters[0];
      if (head === undefined || head.seq >= bestSeq || !canServe(entry)) continue;
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
