/**
 * Time and randomness as a dependency. Everything in http-sentinel that waits, measures
 * or draws a random number goes through a {@link Clock}, so tests of backoff, breaker
 * windows, idle eviction or EWMA decay can run on a fake clock in milliseconds.
 */

/** A cancellable timer handle. */
export interface TimerHandle {
  /** Do not keep the process alive for this timer. */
  unref?(): unknown;
}

/** The source of time, timers and randomness. */
export interface Clock {
  /** Milliseconds on a monotonic clock (only differences matter). */
  now(): number;
  /** Milliseconds since the epoch, for HTTP dates such as `Retry-After`. */
  wallNow(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /** A float in [0, 1). */
  random(): number;
}

/**
 * The real clock. Its methods look up the globals at call time so that Node's
 * `mock.timers` (which replaces `globalThis.setTimeout` and `Date`) can control it.
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
  random: () => Math.random(),
};

/** Schedules `fn` after `ms` without keeping the process alive. */
export function unrefTimer(clock: Clock, fn: () => void, ms: number): TimerHandle {
  const handle = clock.setTimeout(fn, ms);
  handle.unref?.();
  return handle;
}

/**
 * A clock for tests: time moves only when told to. Timers fire in due order
 * from {@link ManualClock.advance}.
 */
export class ManualClock implements Clock {
  #now: number;
  #wallOffset: number;
  #seq = 0;
  #timers = new Map<number, { at: number; fn: () => void }>();
  #random: () => number;

  constructor(options: { now?: number; wallNow?: number; random?: () => number } = {}) {
    this.#now = options.now ?? 0;
    this.#wallOffset = (options.wallNow ?? 1_700_000_000_000) - this.#now;
    this.#random = options.random ?? (() => 0.5);
  }

  now(): number {
    return this.#now;
  }

  wallNow(): number {
    return this.#now + this.#wallOffset;
  }

  random(): number {
    return this.#random();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return { id, unref() {} } as TimerHandle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete((handle as { id: number }).id);
  }

  /** Timers waiting to fire. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let nextId = -1;
      let nextAt = Number.POSITIVE_INFINITY;
      for (const [id, t] of this.#timers) {
        if (t.at <= target && t.at < nextAt) {
          nextAt = t.at;
          nextId = id;
        }
      }
      if (nextId === -1) break;
      const timer = this.#timers.get(nextId)!;
      this.#timers.delete(nextId);
      this.#now = Math.max(this.#now, timer.at);
      timer.fn();
    }
    this.#now = target;
  }
}
