/**
 * The undici `Client` options of a pool's connections, one set per handshake deadline, so
 * that connections share a connector and resume TLS sessions across connections.
 */
import { buildConnector, type Client } from 'undici';
import type { PoolConfig } from './config.js';

/** @internal */
export class ClientOptionsCache {
  readonly #config: Readonly<PoolConfig>;
  readonly #byTimeout = new Map<number, Client.Options>();

  constructor(config: Readonly<PoolConfig>) {
    this.#config = config;
  }

  get(connectTimeoutMs: number): Client.Options {
    let options = this.#byTimeout.get(connectTimeoutMs);
    if (options === undefined) {
      // One connector per handshake deadline, shared by every connection, so TLS
      // sessions are resumed across connections.
      const connect = buildConnector({
        timeout: connectTimeoutMs,
        ...(this.#config.tls ?? {}),
      } as buildConnector.BuildOptions);
      const idle = this.#config.idleTimeoutMs;
      const keepAlive = Number.isFinite(idle) ? idle : 600_000;
      options = {
        pipelining: 1,
        connect,
        keepAliveTimeout: keepAlive,
        keepAliveMaxTimeout: keepAlive,
        allowH2: false,
      };
      if (this.#byTimeout.size >= 16) this.#byTimeout.clear();
      this.#byTimeout.set(connectTimeoutMs, options);
    }
    return options;
  }
}
