/**
 * What an attempt's result means for a circuit breaker, read from the one outcome
 * classifier (`core/outcome.ts`), so the breaker agrees with host health, budgets,
 * upstream backends, the retry policy and the pool's statistics.
 */
import { type AttemptEnd, classify } from '../core/outcome.js';

export {
  type AttemptEnd,
  classify,
  type Fault,
  type OutcomeKind,
  outcomeKind,
  statusKind,
  VERDICTS,
  type Verdict,
} from '../core/outcome.js';

/** What one call means for the breaker. */
export type CallOutcome = 'success' | 'failure' | 'ignored';

/**
 * How an attempt's result counts for a breaker: a host-down failure (connection failure,
 * attempt timeout, 502/503/504) is a `failure`; any other answer from the host (4xx,
 * 429, other 5xx) says it is alive, a `success`; anything the host never saw or did not
 * cause (the caller's abort or body, an invalid request, an open circuit, our own queue,
 * a body over our size limit) is `ignored`.
 *
 * @example
 * ```ts
 * breaker.record(classifyOutcome({ status: res.status }), elapsedMs);
 * ```
 */
export function classifyOutcome(result: AttemptEnd): CallOutcome {
  return BREAKER[classify(result).breaker];
}

const BREAKER = { down: 'failure', alive: 'success', none: 'ignored' } as const;
