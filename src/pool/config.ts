/**
 * Pool configuration: the public options, their defaults, and the one place they are
 * checked and normalised.
 */
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { InvalidRequestError } from '../core/errors.js';
import { integer, MAX_TIMER_MS, nonNegative, timeout } from '../core/validate.js';
import { type ProxyOption, resolveProxy } from './proxy.js';

/** Options of a {@link ConnectionPool}. All optional; defaults in {@link DEFAULT_POOL_CONFIG}. */
export interface PoolConfig {
  /**
   * Connections open at once to one host (origin), in use or idle.
   * @default 20
   */
  maxConnections: number;
  /**
   * Idle connections kept per host for reuse; more are closed on release.
   * @default 10
   */
  maxIdleConnections: number;
  /**
   * Connections open at once across all hosts.
   * @default Infinity
   */
  maxTotalConnections: number;
  /**
   * How long `pool.acquire()` waits in the FIFO queue for a connection, then
   * `TimeoutError` with phase `acquire`. An `HttpClient` bounds the wait by each call's
   * own `timeout` instead, and applies this limit too only when it is set explicitly.
   * @default 30000
   */
  connectionTimeoutMs: number;
  /**
   * An idle connection is closed after this long. The server's `Keep-Alive: timeout=N`
   * shortens it for that connection, so a socket is retired before the server drops it.
   * @default 30000
   */
  idleTimeoutMs: number;
  /**
   * A connection older than this is closed when next released, so DNS changes and
   * server-side rebalancing are picked up.
   * @default 300000
   */
  maxConnectionLifetimeMs: number;
  /**
   * TCP + TLS handshake deadline for new connections, unless a request gives its own.
   * @default 10000
   */
  connectTimeoutMs: number;
  /**
   * TLS options for `https:` origins (e.g. `ca` for a private CA). Certificates are
   * verified unless `rejectUnauthorized: false` is given here.
   */
  tls: TlsOptions | undefined;
  /**
   * A forward proxy for new connections: a URL (`http://user:pass@proxy:3128`; `https:`
   * for TLS to the proxy), `'env'` for `http_proxy`/`https_proxy`/`all_proxy`/`no_proxy`
   * (lower case wins over upper case, read once, when the pool is made), or
   * `{ httpProxy, httpsProxy, noProxy }`. `http:` targets go through it in absolute form,
   * `https:` targets through a `CONNECT` tunnel with TLS to the target (verified with
   * `tls`). Credentials in the URL go to the proxy only, as `Proxy-Authorization`.
   * Limits, statistics and connections stay per target host.
   * @default undefined (direct connections)
   * @example
   * ```ts
   * new ConnectionPool({ proxy: 'http://user:secret@proxy.internal:3128' });
   * new ConnectionPool({ proxy: { httpsProxy: 'http://proxy:3128', noProxy: '.internal,10.0.0.0/8' } });
   * ```
   */
  proxy: ProxyOption | undefined;
  /** Source of time; tests pass a fake one. @default systemClock */
  clock: Clock;
}

/** The defaults that the documentation's table mirrors. */
export const DEFAULT_POOL_CONFIG: Readonly<PoolConfig> = Object.freeze({
  maxConnections: 20,
  maxIdleConnections: 10,
  maxTotalConnections: Number.POSITIVE_INFINITY,
  connectionTimeoutMs: 30_000,
  idleTimeoutMs: 30_000,
  maxConnectionLifetimeMs: 300_000,
  connectTimeoutMs: 10_000,
  tls: undefined,
  proxy: undefined,
  clock: systemClock,
});

/** Checks `user` and fills in defaults. Throws `InvalidRequestError` naming the option. */
export function normalizePoolConfig(user: Partial<PoolConfig> = {}): Readonly<PoolConfig> {
  if (typeof user !== 'object' || user === null) {
    throw new InvalidRequestError('pool options must be an object');
  }
  const config: PoolConfig = { ...DEFAULT_POOL_CONFIG };
  for (const [key, value] of Object.entries(user)) {
    if (value === undefined) continue;
    if (!(key in DEFAULT_POOL_CONFIG)) {
      throw new InvalidRequestError(`unknown pool option ${key}`);
    }
    (config as unknown as Record<string, unknown>)[key] = value;
  }
  integer('maxConnections', config.maxConnections, 1);
  integer('maxIdleConnections', config.maxIdleConnections, 0);
  integer('maxTotalConnections', config.maxTotalConnections, 1, true);
  waitTime('connectionTimeoutMs', config.connectionTimeoutMs);
  timeout('idleTimeoutMs', config.idleTimeoutMs);
  timeout('maxConnectionLifetimeMs', config.maxConnectionLifetimeMs);
  timeout('connectTimeoutMs', config.connectTimeoutMs);
  // Checked here so a bad URL fails at construction; the pool resolves it for use.
  if (config.proxy !== undefined) resolveProxy(config.proxy);
  if (config.maxIdleConnections > config.maxConnections) {
    config.maxIdleConnections = config.maxConnections;
  }
  return Object.freeze(config);
}

/**
 * A wait in ms that a timer can hold: 0 (fail at once when full) up to
 * {@link MAX_TIMER_MS}. Past that, Node clamps the delay to 1 ms with a warning, which
 * would turn a very long wait into an immediate timeout.
 */
export function waitTime(name: string, value: unknown): number {
  nonNegative(name, value);
  if ((value as number) > MAX_TIMER_MS) {
    throw new InvalidRequestError(`${name} must be at most ${MAX_TIMER_MS} ms`);
  }
  return value as number;
}
