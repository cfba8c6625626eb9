/**
 * What the pool and the client do with a connection that its users cannot: open one,
 * keep track of where it is, start an exchange on it. `Connection` keeps these private
 * and registers them here from its static block; the functions below are no part of the
 * package's entry points.
 */
import type { Client } from 'undici';
import type { Clock } from '../core/clock.js';
import type { DeadlineQueue } from '../core/deadlines.js';
import type { Connection, ConnectionObserver } from './connection.js';
import type { Exchange, ExchangeRequest } from './exchange.js';
import type { HostStatsRecorder } from './host-stats.js';
import type { Origin } from './origin.js';
import type { ProxyConnector } from './proxy-connector.js';

/** @internal Where a connection is, as its pool keeps it. */
export enum Place {
  /** Not (yet) handed out by a pool. */
  None = 0,
  Active = 1,
  Idle = 2,
  Gone = 3,
}

/** The arguments a pool opens a connection with. */
export type OpenArgs = [
  origin: Origin,
  clientOptions: Client.Options,
  connectTimeoutMs: number,
  clock: Clock,
  stats: HostStatsRecorder,
  observer: ConnectionObserver,
  deadlines: DeadlineQueue,
  proxy?: ProxyConnector,
];

/** @internal What `Connection` registers. */
export interface ConnectionSeam {
  open(args: OpenArgs): Connection;
  placeOf(conn: Connection): Place;
  setPlace(conn: Connection, place: Place): void;
  start(conn: Connection, request: ExchangeRequest, now: number): Exchange;
}

let seam: ConnectionSeam;

/** @internal Called once, by `Connection`'s static block. */
export function registerConnectionSeam(registered: ConnectionSeam): void {
  seam = registered;
}

/** @internal Opens a connection for a pool. */
export function openConnection(...args: OpenArgs): Connection {
  return seam.open(args);
}

/** @internal Where `conn` is, as its pool keeps it. */
export function placeOf(conn: Connection): Place {
  return seam.placeOf(conn);
}

/** @internal Moves `conn` in its pool's bookkeeping. */
export function setPlace(conn: Connection, place: Place): void {
  seam.setPlace(conn, place);
}

/**
 * @internal Starts one exchange on `conn`. The caller validated the request; the result
 * settles when the response is fully read (or, with `stream`, at headers).
 *
 * @param now - the caller's reading of the pool's clock, which the exchange starts at
 */
export function startExchange(conn: Connection, request: ExchangeRequest, now: number): Exchange {
  return seam.start(conn, request, now);
}
