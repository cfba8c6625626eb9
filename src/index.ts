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
import { ManualClock as TestingManualClock } from './core/clock.js';

export * from './client/index.js';
export type { BodyInit } from './core/body.js';
export { type Clock, systemClock } from './core/clock.js';
export * from './core/errors.js';
export type { HeadersInit } from './core/headers.js';
export {
  DEFAULT_REDACT_QUERY_PARAMS,
  redactInvalidUrl,
  redactQueryParams,
  redactUrl,
} from './core/redact.js';
export {
  type BackendSpec,
  ConnectionPool,
  type HostStats,
  type PoolCloseMessage,
  type PoolConfig,
  type PoolConnectMessage,
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

// A value and a type rather than a re-export, so that the deprecation shows where it is
// used; same class as the one `http-sentinel/testing` exports.
/** @deprecated Import `ManualClock` from `http-sentinel/testing`. */
export const ManualClock = TestingManualClock;
/** @deprecated Import `ManualClock` from `http-sentinel/testing`. */
export type ManualClock = TestingManualClock;
