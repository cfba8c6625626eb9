/**
 * What a client reports as it works: attempts, retries (and retries refused), breaker
 * transitions. Subscribe with `client.onEvent(fn)`, which returns the unsubscribe
 * function. With no subscriber the client does no work for events at all.
 */
import type { SentinelError } from '../core/errors.js';

/** One attempt ended: with a response (any status) or an error. */
export interface AttemptEvent {
  type: 'attempt';
  method: string;
  url: string;
  /** 1 for the first attempt. */
  attempt: number;
  status: number | undefined;
  error: SentinelError | undefined;
  /** From the start of the attempt to its outcome (headers, for streams), in ms. */
  durationMs: number;
}

/** The client will try again after `delayMs`. */
export interface RetryEvent {
  type: 'retry';
  method: string;
  url: string;
  /** The attempt that failed, 1-based. */
  attempt: number;
  delayMs: number;
  /** What the server asked for with `Retry-After` / `retry-after-ms`, if it did. */
  retryAfterMs: number | undefined;
  status: number | undefined;
  error: SentinelError | undefined;
}

/** The policy allowed a retry, but the retry budget or the host's retry throttle refused it. */
export interface RetryRefusedEvent {
  type: 'retry-refused';
  method: string;
  url: string;
  attempt: number;
  by: 'budget' | 'throttle';
}

/** A host's circuit breaker changed state. */
export interface BreakerEvent {
  type: 'breaker';
  /** `host:port`. */
  host: string;
  from: 'closed' | 'open' | 'half-open';
  to: 'closed' | 'open' | 'half-open';
}

/** Everything `client.onEvent` delivers. */
export type ClientEvent = AttemptEvent | RetryEvent | RetryRefusedEvent | BreakerEvent;

/**
 * A set of listeners. One that throws is reported as a process warning, never to the
 * request it was watching: observability must not change outcomes.
 */
export class EventHub {
  readonly #listeners = new Set<(event: ClientEvent) => void>();

  /** True when someone listens: callers skip building events otherwise. */
  get active(): boolean {
    return this.#listeners.size > 0;
  }

  subscribe(listener: (event: ClientEvent) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  emit(event: ClientEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err) {
        process.emitWarning(err instanceof Error ? err : String(err), 'SentinelListenerWarning');
      }
    }
  }
}
