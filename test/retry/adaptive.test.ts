import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import {
  AbortError,
  ConnectionError,
  HttpStatusError,
  InvalidRequestError,
  TimeoutError,
} from '../../src/core/errors.js';
import { HostHealth, type HostHealthConfig, healthOutcome } from '../../src/retry/adaptive.js';
import { AdaptiveThrottle, rejectProbability } from '../../src/retry/adaptive-throttle.js';
import { RetryThrottle } from '../../src/retry/retry-throttle.js';

describe('rejectProbability (Google SRE)', () => {
  const table: [requests: number, accepts: number, k: number, expected: number][] = [
    [0, 0, 2, 0],
    [10, 10, 2, 0],
    [10, 5, 2, 0],
    [10, 4, 2, 2 / 11],
    [10, 0, 2, 10 / 11],
    [100, 10, 2, 80 / 101],
    [100, 40, 1.5, 40 / 101],
    [100, 0, 1, 100 / 101],
  ];
  for (const [requests, accepts, k, expected] of table) {
    test(`requests ${requests}, accepts ${accepts}, K ${k} -> ${expected.toFixed(4)}`, () => {
      assert.ok(Math.abs(rejectProbability(requests, accepts, k) - expected) < 1e-12);
    });
  }
});

describe('AdaptiveThrottle', () => {
  test('counts over a two-minute window that expires', () => {
    const clock = new ManualClock();
    const throttle = new AdaptiveThrottle({ minRequests: 0 }, { clock });
    for (let i = 0; i < 10; i++) throttle.recordRequest();
    throttle.recordAccept();
    assert.deepEqual([throttle.requests, throttle.accepts], [10, 1]);
    assert.ok(Math.abs(throttle.rejectProbability - 8 / 11) < 1e-12);
    clock.advance(119_000);
    assert.equal(throttle.requests, 10);
    clock.advance(1000);
    assert.deepEqual([throttle.requests, throttle.accepts], [0, 0]);
    assert.equal(throttle.rejectProbability, 0);
  });

  test('shouldShed draws against the probability, and never sheds at 0', () => {
    let draw = 0;
    const clock = new ManualClock({ random: () => draw });
    const throttle = new AdaptiveThrottle({ minRequests: 0 }, { clock });
    assert.equal(throttle.shouldShed(), false, 'no data: never shed, even on a 0 draw');
    for (let i = 0; i < 9; i++) throttle.recordRequest(); // p = 9/10
    draw = 0.89;
    assert.equal(throttle.shouldShed(), true);
    draw = 0.9;
    assert.equal(throttle.shouldShed(), false);
  });

  test('rejects nothing below minRequests, however bad the ratio', () => {
    const clock = new ManualClock({ random: () => 0 });
    const throttle = new AdaptiveThrottle({}, { clock });
    for (let i = 0; i < 19; i++) throttle.recordRequest();
    assert.equal(
      throttle.rejectProbability,
      0,
      '19 failures of 19 is below the default volume of 20',
    );
    assert.equal(throttle.shouldShed(), false);
    throttle.recordRequest();
    assert.ok(Math.abs(throttle.rejectProbability - 20 / 21) < 1e-12);
    assert.equal(throttle.shouldShed(), true);
  });

  test('validates k and windowMs', () => {
    assert.throws(() => new AdaptiveThrottle({ minRequests: -1 }), /minRequests/);
    assert.throws(() => new AdaptiveThrottle({ k: 0.5 }), /\bk\b/);
    assert.throws(() => new AdaptiveThrottle({ windowMs: -1 }), /windowMs/);
  });
});

describe('RetryThrottle (gRPC)', () => {
  test('starts full; failures cost 1; retries stop at half', () => {
    const throttle = new RetryThrottle();
    assert.equal(throttle.tokens, 10);
    for (let i = 0; i < 4; i++) throttle.recordFailure();
    assert.equal(throttle.tokens, 6);
    assert.equal(throttle.allowRetry(), true);
    throttle.recordFailure();
    assert.equal(throttle.tokens, 5);
    assert.equal(throttle.allowRetry(), false, 'tokens must be above maxTokens / 2');
    throttle.recordSuccess();
    assert.equal(throttle.tokens, 5.25);
    assert.equal(throttle.allowRetry(), true);
  });

  test('is exact: ten successes at 0.1 earn one token', () => {
    const throttle = new RetryThrottle({ tokenRatio: 0.1 });
    for (let i = 0; i < 3; i++) throttle.recordFailure();
    for (let i = 0; i < 10; i++) throttle.recordSuccess();
    assert.equal(throttle.tokens, 8);
  });

  test('stays within [0, maxTokens]', () => {
    const throttle = new RetryThrottle({ maxTokens: 3, tokenRatio: 0.5 });
    for (let i = 0; i < 10; i++) throttle.recordSuccess();
    assert.equal(throttle.tokens, 3);
    for (let i = 0; i < 10; i++) throttle.recordFailure();
    assert.equal(throttle.tokens, 0);
  });

  test('validates its config', () => {
    assert.throws(() => new RetryThrottle({ maxTokens: 0 }), /maxTokens/);
    assert.throws(() => new RetryThrottle({ maxTokens: 1001 }), /maxTokens/);
    assert.throws(() => new RetryThrottle({ tokenRatio: 2 }), /tokenRatio/);
  });
});

describe('healthOutcome', () => {
  const table: [
    name: string,
    input: { status?: number; error?: unknown },
    expected: boolean | undefined,
  ][] = [
    ['200', { status: 200 }, true],
    ['404', { status: 404 }, true],
    ['429 is a refusal', { status: 429 }, false],
    [
      'thrown 429',
      { error: new HttpStatusError({ status: 429, statusText: '', url: 'u' }) },
      false,
    ],
    ['503', { status: 503 }, false],
    ['connection error', { error: new ConnectionError('x') }, false],
    ['attempt timeout', { error: new TimeoutError('attempt', 1) }, false],
    ['caller abort', { error: new AbortError() }, undefined],
    ['invalid request', { error: new InvalidRequestError('x') }, undefined],
  ];
  for (const [name, input, expected] of table) {
    test(`${name} -> ${String(expected)}`, () => {
      assert.equal(healthOutcome(input), expected);
    });
  }
});

describe('HostHealth', () => {
  function setup(config: Partial<HostHealthConfig> = {}, random = () => 0.5) {
    const clock = new ManualClock({ random });
    return { clock, health: new HostHealth(config, { clock }) };
  }

  test('a host with no data is healthy', () => {
    const { health } = setup();
    assert.equal(health.score, 1);
    assert.equal(health.rejectProbability, 0);
    assert.equal(health.tokens, 10);
    assert.equal(health.allowRetry(), true);
    assert.equal(health.shouldShed(), false);
  });

  test('score is the share of served attempts in the window', () => {
    const { clock, health } = setup();
    for (let i = 0; i < 4; i++) {
      health.recordAttempt();
      health.recordOutcome(i !== 0);
    }
    assert.equal(health.score, 0.75);
    clock.advance(120_000);
    assert.equal(health.score, 1, 'the window has expired');
  });

  test('latency above the target lowers the score', () => {
    const { clock, health } = setup({ latencyTargetMs: 100 });
    health.recordAttempt();
    health.recordOutcome(true, 400);
    assert.equal(health.score, 0.25);
    // A fast sample much later dominates the decayed average.
    clock.advance(100_000);
    health.recordAttempt();
    health.recordOutcome(true, 50);
    assert.equal(health.score, 1);
    assert.ok((health.toJSON().latencyMs ?? 0) < 60);
  });

  test('latency does not count without a target', () => {
    const { health } = setup();
    health.recordAttempt();
    health.recordOutcome(true, 10_000);
    assert.equal(health.score, 1);
  });

  test('failures drain the tokens until retries stop (gRPC)', () => {
    const { health } = setup({}, () => 0.99);
    for (let i = 0; i < 4; i++) {
      health.recordAttempt();
      health.recordOutcome(false);
    }
    assert.equal(health.tokens, 6);
    health.recordAttempt();
    health.recordOutcome(false);
    assert.equal(health.allowRetry(), false);
  });

  test('retries are shed with the SRE probability even while tokens remain', () => {
    let draw = 0.5;
    const { health } = setup({ maxTokens: 1000 }, () => draw);
    for (let i = 0; i < 100; i++) health.recordAttempt();
    for (let i = 0; i < 10; i++) health.recordOutcome(true);
    for (let i = 0; i < 90; i++) health.recordOutcome(false);
    assert.ok(health.tokens > 500);
    assert.ok(Math.abs(health.rejectProbability - 80 / 101) < 1e-12);
    assert.equal(health.allowRetry(), false);
    assert.equal(health.shouldShed(), true);
    draw = 0.8;
    assert.equal(health.allowRetry(), true);
  });

  test('toJSON is a plain snapshot', () => {
    const { health } = setup({ minRequests: 0 });
    health.recordAttempt();
    health.recordOutcome(false, 20);
    assert.deepEqual(JSON.parse(JSON.stringify(health)), {
      score: 0,
      rejectProbability: 0.5,
      tokens: 9,
      requests: 1,
      accepts: 0,
      failures: 1,
      latencyMs: 20,
    });
  });

  test('validates its config at construction', () => {
    assert.throws(() => new HostHealth({ latencyTargetMs: 0 }), /latencyTargetMs/);
    assert.throws(() => new HostHealth({ latencyDecayMs: -1 }), /latencyDecayMs/);
    assert.throws(() => new HostHealth({ tokenRatio: 0 }), /tokenRatio/);
    assert.throws(() => new HostHealth({ k: 0 }), InvalidRequestError);
  });
});
