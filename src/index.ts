/**
 * http-sentinel: a resilient HTTP client for Node.js on undici.
 *
 * @example
 * ```ts
 * import { HttpClient } from 'http-sentinel';
 * const client = new HttpClient();
 * const res = await client.get('http://127.0.0.1:8080/data', { Accept: 'application/json' });
 * console.log(res.status, res.json());
 * await client.close();
 * ```
 */
export * from './client/index.js';
export type { BodyInit } from './core/body.js';
export { type Clock, ManualClock, systemClock } from './core/clock.js';
export * from './core/errors.js';
export type { HeadersInit } from './core/headers.js';
export { redactInvalidUrl, redactUrl } from './core/redact.js';
export {
  type BackendSpec,
  ConnectionPool,
  type HostStats,
  type PoolConfig,
  type PoolStats,
  type ProxyOption,
  type ProxyTable,
  proxyTableFromEnv,
  type Strategy,
  Upstream,
  type UpstreamOptions,
  type UpstreamStats,
} from './pool/index.js';
export {
  CircuitBreaker,
  type CircuitBreakerConfig,
  HostHealth,
  type HostHealthConfig,
  RetryBudget,
  type RetryBudgetConfig,
  type RetryConfig,
  RetryEngine,
} from './retry/index.js';
