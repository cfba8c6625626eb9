/**
 * What an attempt's result means for a host: the one classification shared by the circuit
 * breaker and host health, by error `code` and status (never by message).
 */
import { isSentinelError } from '../core/errors.js';

/** What one call means for the breaker. */
export type CallOutcome = 'success' | 'failure' | 'ignored';

/**
 * How an attempt's result counts for a breaker (and for host health): network errors,
 * timeouts, protocol errors and 5xx are failures; other statuses, 4xx included, are
 * successes (the host answered); 429 and anything the host never saw or did not cause —
 * the caller's abort, an invalid request, an open circuit, a closed pool, our own pool's
 * `acquire` timeout, a body over our size limit — is ignored.
 *
 * @example
 * ```ts
 * breaker.record(classifyOutcome({ status: res.status }), elapsedMs);
 * ```
 */
export function classifyOutcome(result: { status?: number; error?: unknown }): CallOutcome {
  const { error } = result;
  if (error !== undefined) {
    if (!isSentinelError(error)) {
      return (error as { name?: unknown } | null)?.name === 'AbortError' ? 'ignored' : 'failure';
    }
    switch (error.code) {
      case 'SENTINEL_HTTP_STATUS':
        return classifyOutcome({ status: (error as unknown as { status: number }).status });
      case 'SENTINEL_TIMEOUT':
        return (error as { phase?: string }).phase === 'acquire' ? 'ignored' : 'failure';
      case 'SENTINEL_CONNECTION':
      case 'SENTINEL_PROTOCOL':
        return 'failure';
      case 'SENTINEL_ABORTED':
      case 'SENTINEL_INVALID_REQUEST':
      case 'SENTINEL_CIRCUIT_OPEN':
      case 'SENTINEL_POOL_CLOSED':
      case 'SENTINEL_BODY_TOO_LARGE':
        return 'ignored';
      default: {
        const unreachable: never = error.code;
        return unreachable;
      }
    }
  }
  const { status } = result;
  if (status === undefined) return 'success';
  if (status === 429) return 'ignored';
  return status >= 500 ? 'failure' : 'success';
}
