import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidRequestError } from '../../src/core/errors.js';
import {
  DEFAULT_RETRY_CONFIG,
  normalizeRetryConfig,
  type RetryConfig,
} from '../../src/retry/retry-config.js';
import { RetryEngine } from '../../src/retry/retry-engine.js';

describe('normalizeRetryConfig', () => {
  test('fills in the documented defaults', () => {
    const c = normalizeRetryConfig();
    assert.equal(c.maxAttempts, 3);
    assert.equal(c.initialDelayMs, 100);
    assert.equal(c.maxDelayMs, 10_000);
    assert.equal(c.backoffMultiplier, 2);
    assert.equal(c.jitter, 'full');
    assert.equal(c.maxRetryAfterMs, 60_000);
    assert.deepEqual([...c.methods], ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
    assert.deepEqual([...c.statusCodes], [408, 425, 429, 500, 502, 503, 504]);
    assert.deepEqual([...c.timeoutPhases], ['connect', 'headers', 'attempt']);
    assert.equal(c.shouldRetry, undefined);
  });

  test('fields set to undefined take their default', () => {
    const c = normalizeRetryConfig({ maxAttempts: undefined, jitter: undefined });
    assert.equal(c.maxAttempts, 3);
    assert.equal(c.jitter, 'full');
  });

  test('jitterFactor alone means proportional; an explicit jitter wins', () => {
    assert.equal(normalizeRetryConfig({ jitterFactor: 0.1 }).jitter, 'proportional');
    assert.equal(normalizeRetryConfig({ jitterFactor: 0.1, jitter: 'equal' }).jitter, 'equal');
  });

  test('never mutates its input and returns a frozen object', () => {
    const input: Partial<RetryConfig> = { maxAttempts: 5, methods: ['get', 'post'] };
    const snapshot = structuredClone(input);
    const c = normalizeRetryConfig(input);
    assert.deepEqual(input, snapshot);
    assert.ok(Object.isFrozen(c));
    assert.deepEqual([...c.methods], ['GET', 'POST']);
  });

  test('accepts any iterable, so a normalised config can be passed back in', () => {
    const first = normalizeRetryConfig({ statusCodes: new Set([503]) });
    const again = normalizeRetryConfig({ ...first, maxAttempts: 4 });
    assert.deepEqual([...again.statusCodes], [503]);
    assert.equal(again.maxAttempts, 4);
  });

  test('the defaults constant is frozen, arrays included', () => {
    assert.ok(Object.isFrozen(DEFAULT_RETRY_CONFIG));
    assert.ok(Object.isFrozen(DEFAULT_RETRY_CONFIG.methods));
    assert.ok(Object.isFrozen(DEFAULT_RETRY_CONFIG.statusCodes));
  });

  const invalid: [option: string, value: Record<string, unknown>][] = [
    ['maxAttempts', { maxAttempts: 0 }],
    ['maxAttempts', { maxAttempts: 2.5 }],
    ['maxAttempts', { maxAttempts: Number.POSITIVE_INFINITY }],
    ['maxAttempts', { maxAttempts: '3' }],
    ['initialDelayMs', { initialDelayMs: -1 }],
    ['initialDelayMs', { initialDelayMs: Number.NaN }],
    ['maxDelayMs', { maxDelayMs: Number.POSITIVE_INFINITY }],
    ['maxDelayMs', { maxDelayMs: 2 ** 31 }],
    ['initialDelayMs', { initialDelayMs: 500, maxDelayMs: 100 }],
    ['backoffMultiplier', { backoffMultiplier: 0.5 }],
    ['backoffMultiplier', { backoffMultiplier: Number.POSITIVE_INFINITY }],
    ['jitter', { jitter: 'random' }],
    ['jitterFactor', { jitterFactor: 1.5 }],
    ['jitterFactor', { jitterFactor: -0.1 }],
    ['methods', { methods: 'GET' }],
    ['methods', { methods: ['GET', 'BAD METHOD'] }],
    ['methods', { methods: [1] }],
    ['statusCodes', { statusCodes: [503, 700] }],
    ['statusCodes', { statusCodes: 503 }],
    ['timeoutPhases', { timeoutPhases: ['total'] }],
    ['maxRetryAfterMs', { maxRetryAfterMs: -5 }],
    ['shouldRetry', { shouldRetry: true }],
  ];
  for (const [option, value] of invalid) {
    test(`rejects ${JSON.stringify(value)} naming ${option}`, () => {
      assert.throws(
        () => normalizeRetryConfig(value as Partial<RetryConfig>),
        (err: unknown) =>
          err instanceof InvalidRequestError &&
          err.code === 'SENTINEL_INVALID_REQUEST' &&
          err.message.includes(option),
      );
    });
  }

  test('rejects a non-object config', () => {
    assert.throws(
      () => normalizeRetryConfig(null as unknown as Partial<RetryConfig>),
      InvalidRequestError,
    );
  });

  test('RetryEngine validates at construction', () => {
    assert.throws(() => new RetryEngine({ maxAttempts: -1 }), /maxAttempts/);
  });
});
