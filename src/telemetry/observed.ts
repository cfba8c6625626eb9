/**
 * The instruments read from state rather than counted as things happen: connections
 * open per host and state, circuit breakers per host and state, both observed when the
 * meter collects, so they cost the request path nothing; and connection lifetimes, taken
 * from the pool's `http-sentinel:pool:close` channel. One set per meter, shared by every
 * client that uses it: each pool and each set of breakers is counted once however many
 * clients share it, and two clients reaching one host add up rather than overwrite each
 * other.
 */
import type {
  Attributes,
  BatchObservableCallback,
  Histogram,
  Meter,
  ObservableGauge,
  ObservableUpDownCounter,
} from '@opentelemetry/api';
import { bareHost, type PoolCloseMessage, poolCloseChannel } from '../pool/channels.js';
import type { ConnectionPool } from '../pool/index.js';
import {
  BREAKER_STATE,
  CONNECTION_BUCKETS,
  CONNECTION_STATE,
  hostAttributes,
  SERVER_ADDRESS,
  SERVER_PORT,
  URL_SCHEME,
} from './attributes.js';

/** @internal The breakers of one client family: `[host:port, state]` for each host. */
export type BreakerStates = () => Iterable<readonly [string, string]>;

const BREAKER_STATES = ['closed', 'open', 'half-open'] as const;

/** Sums of one collection, by attribute set. */
class Sums {
  readonly #values = new Map<string, { attributes: Attributes; value: number }>();

  add(id: string, attributes: () => Attributes, value: number): void {
    const seen = this.#values.get(id);
    if (seen === undefined) this.#values.set(id, { attributes: attributes(), value });
    else seen.value += value;
  }

  entries(): Iterable<{ attributes: Attributes; value: number }> {
    return this.#values.values();
  }
}

class MeterWatch {
  readonly #meter: Meter;
  readonly #open: ObservableUpDownCounter;
  readonly #breakers: ObservableGauge;
  readonly #lifetime: Histogram;
  /** Pools watched, with how many clients watch each. */
  readonly #pools = new Map<ConnectionPool, number>();
  /** Breaker sets watched (by the object that owns them), with their reader and users. */
  readonly #breakerSets = new Map<object, { read: BreakerStates; users: number }>();

  constructor(meter: Meter) {
    this.#meter = meter;
    this.#open = meter.createObservableUpDownCounter('http.client.open_connections', {
      description: 'Number of outbound HTTP connections that are currently active or idle.',
      unit: '{connection}',
    });
    this.#breakers = meter.createObservableGauge('http_sentinel.breaker.state', {
      description:
        'Circuit breakers per host in each state: 1 for the state a breaker is in, 0 for the others.',
      unit: '{breaker}',
    });
    this.#lifetime = meter.createHistogram('http.client.connection.duration', {
      description: 'The duration of the successfully established outbound HTTP connections.',
      unit: 's',
      advice: { explicitBucketBoundaries: CONNECTION_BUCKETS },
    });
    meter.addBatchObservableCallback(this.#observe, [this.#open, this.#breakers]);
    poolCloseChannel.subscribe(this.#onClose);
  }

  get idle(): boolean {
    return this.#pools.size === 0 && this.#breakerSets.size === 0;
  }

  add(pool: ConnectionPool, owner: object, read: BreakerStates): void {
    this.#pools.set(pool, (this.#pools.get(pool) ?? 0) + 1);
    const set = this.#breakerSets.get(owner);
    if (set === undefined) this.#breakerSets.set(owner, { read, users: 1 });
    else set.users++;
  }

  remove(pool: ConnectionPool, owner: object): void {
    const users = (this.#pools.get(pool) ?? 1) - 1;
    if (users <= 0) this.#pools.delete(pool);
    else this.#pools.set(pool, users);
    const set = this.#breakerSets.get(owner);
    if (set !== undefined && --set.users <= 0) this.#breakerSets.delete(owner);
  }

  stop(): void {
    this.#meter.removeBatchObservableCallback(this.#observe, [this.#open, this.#breakers]);
    poolCloseChannel.unsubscribe(this.#onClose);
  }

  #observe: BatchObservableCallback = (result) => {
    const open = new Sums();
    for (const pool of this.#pools.keys()) {
      const { hosts } = pool.stats();
      for (const key in hosts) {
        const { active, idle } = hosts[key]!.connections;
        open.add(
          `${key} active`,
          () => ({ ...hostAttributes(key), [CONNECTION_STATE]: 'active' }),
          active,
        );
        open.add(
          `${key} idle`,
          () => ({ ...hostAttributes(key), [CONNECTION_STATE]: 'idle' }),
          idle,
        );
      }
    }
    for (const { attributes, value } of open.entries())
      result.observe(this.#open, value, attributes);
    const breakers = new Sums();
    for (const { read } of this.#breakerSets.values()) {
      for (const [key, state] of read()) {
        for (const name of BREAKER_STATES) {
          breakers.add(
            `${key} ${name}`,
            () => ({ ...hostAttributes(key), [BREAKER_STATE]: name }),
            name === state ? 1 : 0,
          );
        }
      }
    }
    for (const { attributes, value } of breakers.entries()) {
      result.observe(this.#breakers, value, attributes);
    }
  };

  #onClose = (message: unknown): void => {
    const closed = message as PoolCloseMessage;
    if (!closed.connected || !this.#pools.has(closed.pool as ConnectionPool)) return;
    const origin = closed.connection.origin;
    this.#lifetime.record(closed.connectedMs / 1000, {
      [SERVER_ADDRESS]: bareHost(origin.hostname),
      [SERVER_PORT]: origin.port,
      [URL_SCHEME]: origin.tls ? 'https' : 'http',
    });
  };
}

const watches = new WeakMap<Meter, MeterWatch>();

/**
 * @internal Watches a client family's pool and breakers on `meter` until the returned function is
 * called (by the client's `close()`).
 */
export function watch(
  meter: Meter,
  pool: ConnectionPool,
  owner: object,
  read: BreakerStates,
): () => void {
  let w = watches.get(meter);
  if (w === undefined) {
    w = new MeterWatch(meter);
    watches.set(meter, w);
  }
  const current = w;
  current.add(pool, owner, read);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    current.remove(pool, owner);
    if (current.idle) {
      current.stop();
      if (watches.get(meter) === current) watches.delete(meter);
    }
  };
}
