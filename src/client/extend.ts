/**
 * What `client.extend()` needs besides the client itself: the state a child shares with
 * its parent, and merging the parent's options with the child's.
 */
import type { Clock } from '../core/clock.js';
import type { ConnectionPool } from '../pool/index.js';
import { RetryEngine } from '../retry/index.js';
import type { EventHub } from './events.js';
import type { ClientOptions } from './options.js';
import type { Resilience } from './resilience.js';

/** What a child of {@link HttpClient.extend} shares with its parent. */
export interface Family {
  readonly pool: ConnectionPool;
  readonly resilience: Resilience;
  readonly events: EventHub;
  readonly engine: RetryEngine | undefined;
  readonly retry: ClientOptions['retry'];
  readonly acquireWaitMs: number;
}

/** Set by extend() for the one constructor call it makes. */
let joining: Family | undefined;

/** Hands `family` to the next client constructed (synchronously, by extend()). */
export function join(family: Family | undefined): void {
  joining = family;
}

/** The family handed to this constructor call, if any; taken once. */
export function takeFamily(): Family | undefined {
  const family = joining;
  joining = undefined;
  return family;
}

/** Options a child cannot change: they are the state it shares with its parent. */
export const SHARED_OPTIONS = [
  'pool',
  'circuitBreaker',
  'retryBudget',
  'adaptive',
  'upstreams',
  'clock',
  'telemetry',
] as const;

/** The engine of a `retry` option. */
export function engineOf(retry: ClientOptions['retry'], clock: Clock): RetryEngine | undefined {
  if (retry === false) return undefined;
  if (retry instanceof RetryEngine) return retry;
  return new RetryEngine(retry ?? {}, { clock });
}

/** A flat header list as the pairs a `HeadersInit` may be. */
export function pairs(list: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < list.length; i += 2) out.push([list[i]!, list[i + 1]!]);
  return out;
}

/** Hooks of a child: the parent's, then its own. */
export function appendHooks(
  base: ClientOptions['hooks'],
  extra: ClientOptions['hooks'],
): ClientOptions['hooks'] {
  if (base === undefined) return extra;
  if (extra === undefined) return base;
  const out: Record<string, unknown[]> = {};
  for (const name of ['beforeRequest', 'afterResponse', 'beforeRetry', 'beforeError'] as const) {
    out[name] = [...(base[name] ?? []), ...(extra[name] ?? [])];
  }
  return out as ClientOptions['hooks'];
}
