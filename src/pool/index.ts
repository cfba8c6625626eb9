export * from '../core/errors.js';
export type { PoolCloseMessage, PoolConnectMessage } from './channels.js';
export { DEFAULT_POOL_CONFIG, normalizePoolConfig, type PoolConfig } from './config.js';
export {
  Connection,
  type ConnectionRequestOptions,
  type ConnectionResponse,
} from './connection.js';
export { type AcquireOptions, ConnectionPool } from './connection-pool.js';
export type { HostHealthState, HostStats } from './host-stats.js';
export type { PoolStats } from './host-table.js';
export { type Origin, parseOrigin } from './origin.js';
export { type ProxyOption, type ProxyTable, proxyTableFromEnv } from './proxy.js';
export {
  Backend,
  type BackendSpec,
  type BackendStats,
  DEFAULT_HEALTH_CHECK,
  DEFAULT_OUTLIER_DETECTION,
  DEFAULT_UPSTREAM_OPTIONS,
  type HealthCheckOptions,
  type OutlierDetectionOptions,
  STRATEGIES,
  type Strategy,
  Upstream,
  type UpstreamOptions,
  type UpstreamStats,
} from './upstream/index.js';
