import assert from 'node:assert/strict';
import { test } from 'node:test';
import type {
  BreakerStateName,
  CallOutcome,
  CircuitBreaker,
  HostHealth,
  RetryBudget,
  RetryContext,
  RetryDecision,
  RetryEngine,
} from '../../src/retry/index.js';
import * as retry from '../../src/retry/index.js';

// Type-level pins of the contract the HTTP client codes against: `tsc` fails if they drift.
type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Expect<T extends true> = T;
export type Pins = [
  Expect<Equal<Parameters<RetryEngine['decide']>, [ctx: RetryContext, previousDelayMs?: number]>>,
  Expect<Equal<ReturnType<RetryEngine['decide']>, RetryDecision>>,
  Expect<Equal<Extract<RetryDecision, { retry: false }>['reason'], retry.RetryStopReason>>,
  Expect<Equal<ReturnType<CircuitBreaker['tryAcquire']>, boolean>>,
  Expect<Equal<CircuitBreaker['state'], BreakerStateName>>,
  Expect<Equal<BreakerStateName, 'closed' | 'open' | 'half-open'>>,
  Expect<Equal<CallOutcome, 'success' | 'failure' | 'ignored'>>,
  Expect<
    Equal<
      Parameters<CircuitBreaker['record']>,
      [outcome: CallOutcome, durationMs?: number, ticket?: number, sentAt?: number]
    >
  >,
  Expect<Equal<ReturnType<CircuitBreaker['acquire']>, number>>,
  Expect<Equal<ReturnType<RetryBudget['tryWithdraw']>, boolean>>,
  Expect<Equal<Parameters<HostHealth['recordOutcome']>, [success: boolean, latencyMs?: number]>>,
  Expect<Equal<HostHealth['score'], number>>,
  Expect<Equal<RetryContext['remainingMs'], number | undefined>>,
];

test('the entry point exports the public API and nothing internal', () => {
  assert.deepEqual(Object.keys(retry).sort(), [
    'AdaptiveThrottle',
    'CircuitBreaker',
    'DEFAULT_ADAPTIVE_THROTTLE_CONFIG',
    'DEFAULT_CIRCUIT_BREAKER_CONFIG',
    'DEFAULT_HOST_HEALTH_CONFIG',
    'DEFAULT_RETRY_BUDGET_CONFIG',
    'DEFAULT_RETRY_CONFIG',
    'HostHealth',
    'JITTER_MODES',
    'REFUSED',
    'RetryBudget',
    'RetryEngine',
    'VERDICTS',
    'baseDelay',
    'calculateDelay',
    'classify',
    'classifyOutcome',
    'decideRetry',
    'isPermanentErrno',
    'isRetryableError',
    'normalizeCircuitBreakerConfig',
    'normalizeRetryBudgetConfig',
    'normalizeRetryConfig',
    'outcomeKind',
    'parseHttpDate',
    'parseRetryAfter',
    'rejectProbability',
  ]);
});

test('the docs/resilience.md example of the retry entry point runs', async () => {
  const engine = new retry.RetryEngine({
    maxAttempts: 5,
    initialDelayMs: 100,
    maxDelayMs: 10_000,
    backoffMultiplier: 2,
    jitterFactor: 0.1,
  });
  assert.equal(engine.config.jitter, 'proportional');
  const delay = engine.calculateDelay(1);
  assert.ok(delay >= 180 && delay <= 220, String(delay));
  assert.equal(await engine.execute(async (attempt) => `attempt ${attempt}`), 'attempt 0');
  assert.equal(new retry.CircuitBreaker().state, 'closed');
  assert.equal(new retry.RetryBudget().tryWithdraw(), true);
});
