/**
 * The `anthropic-ratelimit-*` headers of the mock. Usage is counted in fixed
 * one-minute windows and only reported, never enforced: 429s come from
 * injected faults, so tests decide exactly when they happen.
 */

/** Per-minute limits reported by the mock. */
export interface RateLimits {
  requests: number;
  tokens: number;
  inputTokens: number;
  outputTokens: number;
}

/** Limits of a modest real tier, so the headers look like production ones. */
export const DEFAULT_RATE_LIMITS: Readonly<RateLimits> = {
  requests: 4000,
  tokens: 2_000_000,
  inputTokens: 1_600_000,
  outputTokens: 400_000,
};

const WINDOW_MS = 60_000;

/** Counts usage per window and renders the headers. */
export class RateLimiter {
  readonly #limits: RateLimits;
  readonly #now: () => number;
  #windowStart = Number.NEGATIVE_INFINITY;
  #used: RateLimits = { requests: 0, tokens: 0, inputTokens: 0, outputTokens: 0 };

  constructor(limits: Partial<RateLimits> = {}, now: () => number = Date.now) {
    this.#limits = { ...DEFAULT_RATE_LIMITS, ...limits };
    this.#now = now;
  }

  /** Counts one request and returns the headers to send with its response. */
  headers(): Record<string, string> {
    this.#roll();
    this.#used.requests += 1;
    const reset = new Date(this.#windowStart + WINDOW_MS).toISOString();
    const out: Record<string, string> = {};
    const names: [string, keyof RateLimits][] = [
      ['requests', 'requests'],
      ['tokens', 'tokens'],
      ['input-tokens', 'inputTokens'],
      ['output-tokens', 'outputTokens'],
    ];
    for (const [name, key] of names) {
      const limit = this.#limits[key];
      out[`anthropic-ratelimit-${name}-limit`] = String(limit);
      out[`anthropic-ratelimit-${name}-remaining`] = String(Math.max(0, limit - this.#used[key]));
      out[`anthropic-ratelimit-${name}-reset`] = reset;
    }
    return out;
  }

  /** Adds the tokens of a completed request to the current window. */
  record(inputTokens: number, outputTokens: number): void {
    this.#roll();
    this.#used.inputTokens += inputTokens;
    this.#used.outputTokens += outputTokens;
    this.#used.tokens += inputTokens + outputTokens;
  }

  #roll(): void {
    const now = this.#now();
    if (now - this.#windowStart < WINDOW_MS) return;
    this.#windowStart = now - (now % WINDOW_MS);
    this.#used = { requests: 0, tokens: 0, inputTokens: 0, outputTokens: 0 };
  }
}
