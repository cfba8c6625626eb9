/**
 * The pool's `diagnostics_channel` channels: a connection established, a connection
 * closed. Messages are built only when a channel has subscribers.
 */
import dc from 'node:diagnostics_channel';
import type { Connection } from './connection.js';

/** Message of `http-sentinel:pool:connect`: a connection's socket is up (TLS included). */
export interface PoolConnectMessage {
  /** The pool the connection belongs to (a `ConnectionPool`). */
  readonly pool: object;
  readonly connection: Connection;
  /** `http://host:port`, as the connection reaches it (default ports omitted). */
  readonly origin: string;
  /** Host name or address, without brackets for IPv6. */
  readonly host: string;
  readonly port: number;
  /** From the connection's creation to its socket being ready, in ms (pool clock). */
  readonly connectMs: number;
}

/** Message of `http-sentinel:pool:close`: a connection is closed, for any reason. */
export interface PoolCloseMessage {
  readonly pool: object;
  readonly connection: Connection;
  readonly origin: string;
  readonly host: string;
  readonly port: number;
  /** Whether its socket was ever up (a failed connect closes one that never was). */
  readonly connected: boolean;
  /** From its socket being ready to now, in ms (pool clock); 0 if it never was. */
  readonly connectedMs: number;
  /** Requests sent on it. */
  readonly requests: number;
}

/** @internal */
export const poolConnectChannel = dc.channel('http-sentinel:pool:connect');
/** @internal */
export const poolCloseChannel = dc.channel('http-sentinel:pool:close');

/** @internal The host of an origin as telemetry names it: IPv6 without its brackets. */
export function bareHost(hostname: string): string {
  return hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
}

/** @internal Publishes on `http-sentinel:pool:connect` (the caller checked for subscribers). */
export function publishConnect(pool: object, connection: Connection): void {
  const origin = connection.origin;
  const message: PoolConnectMessage = {
    pool,
    connection,
    origin: origin.origin,
    host: bareHost(origin.hostname),
    port: origin.port,
    connectMs: connection.connectedAt - connection.createdAt,
  };
  poolConnectChannel.publish(message);
}

/** @internal Publishes on `http-sentinel:pool:close` (the caller checked for subscribers). */
export function publishClose(pool: object, connection: Connection, now: number): void {
  const origin = connection.origin;
  const connected = connection.connectedAt >= 0;
  const message: PoolCloseMessage = {
    pool,
    connection,
    origin: origin.origin,
    host: bareHost(origin.hostname),
    port: origin.port,
    connected,
    connectedMs: connected ? now - connection.connectedAt : 0,
    requests: connection.requests,
  };
  poolCloseChannel.publish(message);
}
