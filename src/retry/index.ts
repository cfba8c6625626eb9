/**
 * `http-sentinel/retry`: retries with backoff and jitter, `Retry-After`, circuit breakers,
 * retry budgets and adaptive retry. Usable on its own, around any async work.
 */

export {
  DEFAULT_HOST_HEALTH_CONFIG,
  HostHealth,
  type HostHealthConfig,
  type HostHealthStats,
} from './adaptive.js';
export {
  AdaptiveThrottle,
  type AdaptiveThrottleConfig,
  DEFAULT_ADAPTIVE_THROTTLE_CONFIG,
  rejectProbability,
} from './adaptive-throttle.js';
export {
  type BackoffConfig,
  baseDelay,
  calculateDelay,
  JITTER_MODES,
  type JitterMode,
} from './backoff.js';
export {
  type BreakerState,
  type BreakerStateName,
  CircuitBreaker,
  type CircuitBreakerStats,
  REFUSED,
} from './circuit-breaker.js';
export {
  type CircuitBreakerConfig,
  DEFAULT_CIRCUIT_BREAKER_CONFIG,
  type NormalizedCircuitBreakerConfig,
  normalizeCircuitBreakerConfig,
} from './circuit-breaker-config.js';
export {
  type AttemptEnd,
  type CallOutcome,
  classify,
  classifyOutcome,
  type Fault,
  type OutcomeKind,
  outcomeKind,
  VERDICTS,
  type Verdict,
} from './outcome.js';
export {
  decideRetry,
  isPermanentErrno,
  isRetryableError,
  type RetryContext,
  type RetryDecision,
  type RetryPolicyConfig,
  type RetryStopReason,
} from './policy.js';
export { type HeaderSource, parseHttpDate, parseRetryAfter } from './retry-after.js';
export {
  DEFAULT_RETRY_BUDGET_CONFIG,
  normalizeRetryBudgetConfig,
  RetryBudget,
  type RetryBudgetConfig,
  type RetryBudgetStats,
} from './retry-budget.js';
export {
  DEFAULT_RETRY_CONFIG,
  type NormalizedRetryConfig,
  normalizeRetryConfig,
  type RetryConfig,
} from './retry-config.js';
export {
  type RetryBudgetLike,
  RetryEngine,
  type RetryEvent,
  type RetryExecuteOptions,
} from './retry-engine.js';
