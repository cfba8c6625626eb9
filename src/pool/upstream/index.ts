/**
 * Multi-backend upstreams: backends, load balancers, outlier ejection and active health
 * checks, as units the pool wires together.
 */

export {
  type ActiveHealth,
  Backend,
  type BackendSpec,
  DEFAULT_EWMA_DECAY_MS,
  parseBackendSpec,
  UNSAMPLED_PENALTY,
} from './backend.js';
export {
  type Balancer,
  createBalancer,
  STRATEGIES,
  type Strategy,
} from './balancers/balancer.js';
export { LeastConnectionsBalancer } from './balancers/least-connections.js';
export { MAX_EFFORT, P2cEwmaBalancer } from './balancers/p2c-ewma.js';
export { RoundRobinBalancer } from './balancers/round-robin.js';
export {
  DEFAULT_HEALTH_CHECK,
  HealthChecker,
  type HealthCheckOptions,
  type HealthProbe,
  nextHealth,
  normalizeHealthCheck,
} from './health-checker.js';
export {
  DEFAULT_UPSTREAM_OPTIONS,
  type NormalizedUpstreamOptions,
  normalizeUpstreamName,
  normalizeUpstreamOptions,
  type UpstreamOptions,
} from './options.js';
export {
  DEFAULT_OUTLIER_DETECTION,
  decayedLevel,
  ejectionTimeMs,
  inPanic,
  mayEject,
  normalizeOutlierDetection,
  type OutlierDetectionOptions,
  OutlierDetector,
} from './outlier.js';
export {
  type BackendStats,
  Upstream,
  type UpstreamDeps,
  type UpstreamStats,
} from './upstream.js';
