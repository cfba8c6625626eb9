/**
 * What a client reports as it works: attempts, retries (and retries refused), breaker
 * transitions. Subscribe with `client.onEvent(fn)`, which returns the unsubscribe
 * function. With no subscriber the client does no work for events at all. The same hub
 * hands retries and breaker transitions to their `diagnostics_channel` channels and to
 * OpenTelemetry, and holds the client family's OpenTelemetry for the stages.
 */
import type { SentinelError } from '../core/errors.js';
import type { Otel } from '../telemetry/otel.js';
import { breakerChannel, retryChannel } from './channels.js';

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
  /** @internal The client family's OpenTelemetry, when it has any. */
  otel: Otel | undefined = undefined;

  /** True when someone listens: callers skip building events otherwise. */
  get active(): boolean {
    return this.#listeners.size > 0;
  }

  /** True when retry events are wanted: a listener, their channel, or OpenTelemetry. */
  get retries(): boolean {
    return this.#listeners.size > 0 || this.otel !== undefined || retryChannel.hasSubscribers;
  }

  /** True when breaker events are wanted: a listener or their channel. */
  get breakers(): boolean {
    return this.#listeners.size > 0 || breakerChannel.hasSubscribers;
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
    switch (event.type) {
      case 'retry':
      case 'retry-refused':
        if (retryChannel.hasSubscribers) retryChannel.publish(event);
        this.otel?.retry(event.method, event.url, event.type === 'retry' ? undefined : event.by);
        break;
      case 'breaker':
        if (breakerChannel.hasSubscribers) breakerChannel.publish(event);
        break;
    }
  }
}
