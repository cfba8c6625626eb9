/**
 * Deadlines of requests under way, with one clock timer per distinct timeout instead of
 * one per request.
 *
 * Arming and clearing a `setTimeout` for every attempt (a `Timeout` object, a closure,
 * an insertion into Node's timer lists, `unref`) was about 1 µs of each request under
 * load, for a timer that almost never fires. Here a deadline is a link in a list: the
 * entry is the object that owns the deadline (a call, an exchange), so adding and
 * removing one allocates nothing and costs a few field writes.
 *
 * Deadlines are kept in one list per timeout length (the `group` of {@link add}),
 * sorted by expiry. Requests under the same timeout expire in the order they started,
 * so an insertion lands at the tail, or a step or two before it (a retry under a
 * whole-call deadline that started earlier). Each list has one timer, armed for its
 * head; removing the head does not re-arm it: when the timer fires early it re-arms for
 * the new head, so a timer fires about once per timeout length, not once per request.
 * A list that empties clears its timer, so nothing is left pending once idle.
 *
 * Timers go through the injected {@link Clock}, so a `ManualClock` drives them in tests.
 */
import type { Clock, TimerHandle } from './clock.js';

// The queue's links live on the entries under symbols that no entry point of the package
// exports: only this module reads or writes them, and an entry's own surface stays its own.
/** Key of an entry's deadline, as clock time, while queued. */
export const DUE_AT: unique symbol = Symbol('dueAt');
/** Key of the entry before it in its list. */
export const DUE_PREV: unique symbol = Symbol('duePrev');
/** Key of the entry after it in its list. */
export const DUE_NEXT: unique symbol = Symbol('dueNext');
/** Key of the list an entry is in; undefined when not queued. */
export const DUE_LIST: unique symbol = Symbol('dueList');

/** An object with a deadline: its links in a {@link DeadlineQueue} live on it. */
export abstract class DeadlineEntry {
  [DUE_AT] = 0;
  [DUE_PREV]: DeadlineEntry | undefined = undefined;
  [DUE_NEXT]: DeadlineEntry | undefined = undefined;
  [DUE_LIST]: DeadlineList | undefined = undefined;

  /** The deadline has passed. The entry is already out of its queue. */
  abstract onDeadline(): void;
}

/** The deadlines of one group, soonest first, and the timer of the soonest. */
export class DeadlineList {
  head: DeadlineEntry | undefined = undefined;
  tail: DeadlineEntry | undefined = undefined;
  timer: TimerHandle | undefined = undefined;
  /** Clock time the timer is due; Infinity when none is armed. */
  timerAt = Number.POSITIVE_INFINITY;
  readonly group: number;
  readonly onTimer: () => void;

  constructor(group: number, onTimer: (list: DeadlineList) => void) {
    this.group = group;
    this.onTimer = () => onTimer(this);
  }
}

export class DeadlineQueue {
  readonly #clock: Clock;
  readonly #lists = new Map<number, DeadlineList>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /**
   * Queues `entry` to expire at clock time `at`, instead of any deadline it had.
   *
   * @param group - the timeout length the deadline comes from: deadlines of one group
   *   are nearly sorted by when they are added, which keeps insertion O(1)
   * @param now - the caller's current reading of the clock
   */
  add(entry: DeadlineEntry, at: number, group: number, now: number): void {
    if (entry[DUE_LIST] !== undefined) this.remove(entry);
    let list = this.#lists.get(group);
    if (list === undefined) {
      list = new DeadlineList(group, this.#expire);
      this.#lists.set(group, list);
    }
    entry[DUE_AT] = at;
    entry[DUE_LIST] = list;
    // From the tail back to the last deadline not later than this one.
    let before = list.tail;
    while (before !== undefined && before[DUE_AT] > at) before = before[DUE_PREV];
    const after = before === undefined ? list.head : before[DUE_NEXT];
    entry[DUE_PREV] = before;
    entry[DUE_NEXT] = after;
    if (before === undefined) list.head = entry;
    else before[DUE_NEXT] = entry;
    if (after === undefined) list.tail = entry;
    else after[DUE_PREV] = entry;
    if (at < list.timerAt) this.#arm(list, at, now);
  }

  /** Takes `entry` out of its queue; nothing happens if it is not queued. */
  remove(entry: DeadlineEntry): void {
    const list = entry[DUE_LIST];
    if (list === undefined) return;
    this.#unlink(list, entry);
    if (list.head === undefined) {
      // Idle: no timer left behind (nor a list per timeout length ever used).
      this.#disarm(list);
      this.#lists.delete(list.group);
    }
  }

  /** Deadlines queued, for tests. */
  get size(): number {
    let n = 0;
    for (const list of this.#lists.values()) {
      for (let e = list.head; e !== undefined; e = e[DUE_NEXT]) n++;
    }
    return n;
  }

  #unlink(list: DeadlineList, entry: DeadlineEntry): void {
    const prev = entry[DUE_PREV];
    const next = entry[DUE_NEXT];
    if (prev === undefined) list.head = next;
    else prev[DUE_NEXT] = next;
    if (next === undefined) list.tail = prev;
    else next[DUE_PREV] = prev;
    entry[DUE_PREV] = undefined;
    entry[DUE_NEXT] = undefined;
    entry[DUE_LIST] = undefined;
  }

  #arm(list: DeadlineList, at: number, now: number): void {
    this.#disarm(list);
    list.timerAt = at;
    list.timer = this.#clock.setTimeout(list.onTimer, Math.max(0, at - now));
    list.timer.unref?.();
  }

  #disarm(list: DeadlineList): void {
    if (list.timer !== undefined) {
      this.#clock.clearTimeout(list.timer);
      list.timer = undefined;
    }
    list.timerAt = Number.POSITIVE_INFINITY;
  }

  readonly #expire = (list: DeadlineList): void => {
    // Everything due by the time the timer was armed for has expired, whatever the clock
    // reads: like a timer of its own would have. (A reading can fall short of it: Node's
    // timers run on the event loop's cached time, and now + (at - now) need not be `at`
    // in floating point.)
    const armedFor = list.timerAt;
    list.timer = undefined;
    list.timerAt = Number.POSITIVE_INFINITY;
    const now = this.#clock.now();
    const due = Math.max(now, armedFor);
    for (;;) {
      const head = list.head;
      if (head === undefined || head[DUE_AT] > due) break;
      this.#unlink(list, head);
      // May add or remove other deadlines, of this list too: the loop re-reads the head.
      head.onDeadline();
    }
    const head = list.head;
    if (head === undefined) {
      if (list.timer === undefined && this.#lists.get(list.group) === list) {
        this.#lists.delete(list.group);
      }
    } else if (list.timer === undefined || head[DUE_AT] < list.timerAt) {
      this.#arm(list, head[DUE_AT], now);
    }
  };
}
