/**
 * gRPC retry throttling (proposal A6): one token counter per server. Failures cost a
 * token, successes earn a fraction of one, and retries are allowed only while the counter
 * is above half — so retries stop soon after a server starts failing most calls, and come
 * back gradually as it recovers. Not time-based: it needs no clock.
 */

import { InvalidRequestError } from '../core/errors.js';
import { positive } from '../core/validate.js';

/** Tuning of {@link RetryThrottle}. */
export interface RetryThrottleConfig {
  /**
   * Tokens the counter starts with and never exceeds, in (0, 1000].
   * @default 10
   */
  maxTokens: number;
  /**
   * Tokens a success earns back, in (0, 1]. The share of failing attempts a host can
   * sustain before retries stop is `tokenRatio / (1 + tokenRatio)`: 0.25 tolerates 20 %,
   * in line with the default retry budget, so transient errors are still retried while a
   * host that fails more than one attempt in five stops getting retries. (gRPC's example
   * 0.1 stops retries at 9 %, which refuses most retries a flaky-but-healthy host needs.)
   * @default 0.25
   */
  tokenRatio: number;
}

/** The defaults of {@link RetryThrottleConfig}. */
export const DEFAULT_RETRY_THROTTLE_CONFIG: Readonly<RetryThrottleConfig> = Object.freeze({
  maxTokens: 10,
  tokenRatio: 0.25,
});

/** The gRPC retry-throttling token counter. */
export class RetryThrottle {
  /** The validated configuration, frozen. */
  readonly config: Readonly<RetryThrottleConfig>;
  // Thousandths of a token, in integers as gRPC does, so ten successes at 0.1 are exactly 1.
  #milli: number;
  readonly #maxMilli: number;
  readonly #ratioMilli: number;

  /** @throws InvalidRequestError naming the first invalid option */
  constructor(config: Partial<RetryThrottleConfig> = {}) {
    const d = DEFAULT_RETRY_THROTTLE_CONFIG;
    const maxTokens = positive('maxTokens', config.maxTokens ?? d.maxTokens);
    if (maxTokens > 1000) throw new InvalidRequestError('maxTokens must be at most 1000');
    const tokenRatio = positive('tokenRatio', config.tokenRatio ?? d.tokenRatio);
    if (tokenRatio > 1) throw new InvalidRequestError('tokenRatio must be at most 1');
    this.config = Object.freeze({ maxTokens, tokenRatio });
    this.#maxMilli = Math.round(maxTokens * 1000);
    this.#ratioMilli = Math.max(1, Math.round(tokenRatio * 1000));
    this.#milli = this.#maxMilli;
  }

  /** Tokens now, in [0, maxTokens]. */
  get tokens(): number {
    return this.#milli / 1000;
  }

  /** A call failed (retryable status, network error, timeout): one token less. */
  recordFailure(): void {
    this.#milli = Math.max(0, this.#milli - 1000);
  }

  /** A call succeeded: `tokenRatio` tokens more, up to `maxTokens`. */
  recordSuccess(): void {
    this.#milli = Math.min(this.#maxMilli, this.#milli + this.#ratioMilli);
  }

  /** Retries are allowed only while tokens > maxTokens / 2; a refused retry fails at once. */
  allowRetry(): boolean {
    return this.#milli * 2 > this.#maxMilli;
  }
}
