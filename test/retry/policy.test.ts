import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import {
  AbortError,
  BodyTooLargeError,
  CircuitOpenError,
  ConnectionError,
  HttpStatusError,
  InvalidRequestError,
  PoolClosedError,
  ProtocolError,
  TimeoutError,
} from '../../src/core/errors.js';
import {
  decideRetry,
  isRetryableError,
  type RetryContext,
  type RetryDecision,
} from '../../src/retry/policy.js';
import { normalizeRetryConfig } from '../../src/retry/retry-config.js';
import { RetryEngine } from '../../src/retry/retry-engine.js';

const WALL = 1_700_000_000_000;
const DELAY = 100;
const defaults = normalizeRetryConfig();

function ctx(over: Partial<RetryContext> = {}): RetryContext {
  return { attempt: 0, method: 'GET', replayable: true, ...over };
}

function decide(c: RetryContext, config = defaults): RetryDecision {
  return decideRetry(config, c, () => DELAY, WALL);
}

describe('isRetryableError', () => {
  const table: [name: string, error: unknown, expected: boolean][] = [
    ['connection reset', new ConnectionError('reset', { errno: 'ECONNRESET' }), true],
    ['connection refused', new ConnectionError('refused', { errno: 'ECONNREFUSED' }), true],
    [
      'socket closed before response',
      new ConnectionError('closed', { beforeResponse: true }),
      true,
    ],
    [
      'DNS EAI_AGAIN',
      new ConnectionError('dns', { errno: 'EAI_AGAIN', syscall: 'getaddrinfo' }),
      true,
    ],
    [
      'DNS ENOTFOUND',
      new ConnectionError('dns', { errno: 'ENOTFOUND', syscall: 'getaddrinfo' }),
      false,
    ],
    [
      'untrusted certificate',
      new ConnectionError('tls', { errno: 'SELF_SIGNED_CERT_IN_CHAIN' }),
      false,
    ],
    ['connect timeout', new TimeoutError('connect', 10), true],
    ['headers timeout', new TimeoutError('headers', 10), true],
    ['attempt timeout', new TimeoutError('attempt', 10), true],
    ['body timeout', new TimeoutError('body', 10), false],
    ['acquire timeout (our own pool is full)', new TimeoutError('acquire', 10), false],
    ['total timeout', new TimeoutError('total', 10), false],
    ['abort', new AbortError('user'), false],
    ['invalid request', new InvalidRequestError('bad'), false],
    ['body too large', new BodyTooLargeError(10), false],
    ['circuit open', new CircuitOpenError('h', 10), false],
    ['pool closed', new PoolClosedError(), false],
    ['protocol error', new ProtocolError('garbled'), false],
    ['HTTP 503 thrown', new HttpStatusError({ status: 503, statusText: '', url: 'u' }), true],
    ['HTTP 404 thrown', new HttpStatusError({ status: 404, statusText: '', url: 'u' }), false],
    ['a foreign Error', new Error('boom'), true],
    ['a foreign system error', Object.assign(new Error('x'), { code: 'ECONNRESET' }), true],
    ['a foreign ENOTFOUND', Object.assign(new Error('x'), { code: 'ENOTFOUND' }), false],
    ['a DOMException AbortError', new DOMException('aborted', 'AbortError'), false],
    ['a thrown string', 'oops', true],
  ];
  for (const [name, error, expected] of table) {
    test(`${name} -> ${expected}`, () => {
      assert.equal(isRetryableError(error, defaults), expected);
    });
  }

  test('timeoutPhases is configurable', () => {
    const config = normalizeRetryConfig({ timeoutPhases: ['body', 'acquire'] });
    assert.equal(isRetryableError(new TimeoutError('body', 1), config), true);
    assert.equal(isRetryableError(new TimeoutError('acquire', 1), config), true);
    assert.equal(isRetryableError(new TimeoutError('connect', 1), config), false);
  });
});

describe('decideRetry', () => {
  const reset = new ConnectionError('reset', { errno: 'ECONNRESET' });
  const retryIn = (ms: number): RetryDecision => ({ retry: true, delayMs: ms });
  const stop = (reason: Extract<RetryDecision, { retry: false }>['reason']): RetryDecision => ({
    retry: false,
    reason,
  });
  const table: [name: string, c: RetryContext, expected: RetryDecision][] = [
    ['GET 503', ctx({ status: 503 }), retryIn(DELAY)],
    ['every default status', ctx({ status: 425 }), retryIn(DELAY)],
    ['GET 500 on the last attempt', ctx({ status: 500, attempt: 2 }), stop('max-attempts')],
    ['GET 404', ctx({ status: 404 }), stop('not-retryable')],
    ['GET 501', ctx({ status: 501 }), stop('not-retryable')],
    ['GET 200', ctx({ status: 200 }), stop('not-retryable')],
    ['nothing known', ctx(), stop('not-retryable')],
    ['POST 503', ctx({ method: 'POST', status: 503 }), stop('not-idempotent')],
    ['PATCH reset', ctx({ method: 'PATCH', error: reset }), stop('not-idempotent')],
    [
      'POST with idempotency key',
      ctx({ method: 'POST', status: 503, idempotencyKey: true }),
      retryIn(DELAY),
    ],
    ['lower-case method', ctx({ method: 'put', status: 502 }), retryIn(DELAY)],
    ['HEAD, OPTIONS, DELETE, TRACE', ctx({ method: 'TRACE', status: 504 }), retryIn(DELAY)],
    ['one-shot body', ctx({ status: 503, replayable: false }), stop('not-replayable')],
    [
      'one-shot body with a key',
      ctx({ method: 'POST', idempotencyKey: true, replayable: false, error: reset }),
      stop('not-replayable'),
    ],
    ['connection reset', ctx({ error: reset }), retryIn(DELAY)],
    [
      'ENOTFOUND',
      ctx({ error: new ConnectionError('dns', { errno: 'ENOTFOUND' }) }),
      stop('not-retryable'),
    ],
    ['abort', ctx({ error: new AbortError() }), stop('not-retryable')],
    ['total timeout', ctx({ error: new TimeoutError('total', 5) }), stop('not-retryable')],
    [
      'error wins over status',
      ctx({ status: 503, error: new InvalidRequestError('x') }),
      stop('not-retryable'),
    ],
    [
      'Retry-After above the backoff',
      ctx({ status: 429, headers: new Headers({ 'retry-after': '2' }) }),
      { retry: true, delayMs: 2000, retryAfterMs: 2000 },
    ],
    [
      'Retry-After below the backoff is a floor',
      ctx({ status: 503, headers: new Headers({ 'retry-after-ms': '20' }) }),
      { retry: true, delayMs: DELAY, retryAfterMs: 20 },
    ],
    [
      'Retry-After as an HTTP-date',
      ctx({
        status: 503,
        headers: new Headers({ 'retry-after': new Date(WALL + 5000).toUTCString() }),
      }),
      { retry: true, delayMs: 5000, retryAfterMs: 5000 },
    ],
    [
      'Retry-After exactly at the maximum',
      ctx({ status: 429, headers: new Headers({ 'retry-after': '60' }) }),
      { retry: true, delayMs: 60_000, retryAfterMs: 60_000 },
    ],
    [
      'Retry-After beyond the maximum',
      ctx({ status: 429, headers: new Headers({ 'retry-after': '61' }) }),
      stop('retry-after-too-long'),
    ],
    [
      'garbage Retry-After is ignored',
      ctx({ status: 429, headers: new Headers({ 'retry-after': 'later' }) }),
      retryIn(DELAY),
    ],
    ['delay fits the deadline', ctx({ status: 503, remainingMs: 101 }), retryIn(DELAY)],
    ['delay reaches the deadline', ctx({ status: 503, remainingMs: DELAY }), stop('deadline')],
    [
      'Retry-After passes the deadline',
      ctx({ status: 503, remainingMs: 1000, headers: new Headers({ 'retry-after': '1' }) }),
      stop('deadline'),
    ],
    ['no deadline', ctx({ status: 503, remainingMs: Number.POSITIVE_INFINITY }), retryIn(DELAY)],
    [
      'HttpStatusError carries status and Retry-After',
      ctx({
        error: new HttpStatusError({
          status: 503,
          statusText: '',
          url: 'u',
          headers: new Headers({ 'retry-after': '3' }),
        }),
      }),
      { retry: true, delayMs: 3000, retryAfterMs: 3000 },
    ],
  ];
  for (const [name, c, expected] of table) {
    test(name, () => {
      assert.deepEqual(decide(c), expected);
    });
  }

  test('maxAttempts 1 never retries', () => {
    const config = normalizeRetryConfig({ maxAttempts: 1 });
    assert.deepEqual(decide(ctx({ status: 503 }), config), stop('max-attempts'));
  });

  test('custom methods and statuses replace the defaults', () => {
    const config = normalizeRetryConfig({ methods: ['post'], statusCodes: [409] });
    assert.deepEqual(decide(ctx({ method: 'POST', status: 409 }), config), retryIn(DELAY));
    assert.deepEqual(decide(ctx({ method: 'GET', status: 409 }), config), stop('not-idempotent'));
    assert.deepEqual(decide(ctx({ method: 'POST', status: 503 }), config), stop('not-retryable'));
  });

  test('maxRetryAfterMs is configurable', () => {
    const config = normalizeRetryConfig({ maxRetryAfterMs: 1000 });
    const headers = new Headers({ 'retry-after': '2' });
    assert.deepEqual(decide(ctx({ status: 503, headers }), config), stop('retry-after-too-long'));
  });

  test('the delay is computed only when a retry is on the cards', () => {
    let calls = 0;
    const computed = () => {
      calls++;
      return 5;
    };
    decideRetry(defaults, ctx({ status: 404 }), computed, WALL);
    decideRetry(defaults, ctx({ status: 503, attempt: 2 }), computed, WALL);
    assert.equal(calls, 0);
    decideRetry(defaults, ctx({ status: 503 }), computed, WALL);
    assert.equal(calls, 1);
  });
});

describe('shouldRetry', () => {
  test('true overrides the classification (POST 409)', () => {
    const config = normalizeRetryConfig({
      shouldRetry: (c) => (c.status === 409 ? true : undefined),
    });
    assert.deepEqual(decide(ctx({ method: 'POST', status: 409 }), config), {
      retry: true,
      delayMs: DELAY,
    });
  });

  test('false stops with reason "user"', () => {
    const config = normalizeRetryConfig({ shouldRetry: () => false });
    assert.deepEqual(decide(ctx({ status: 503 }), config), { retry: false, reason: 'user' });
  });

  test('undefined falls back to the default policy', () => {
    const config = normalizeRetryConfig({ shouldRetry: () => undefined });
    assert.deepEqual(decide(ctx({ status: 503 }), config), { retry: true, delayMs: DELAY });
    assert.deepEqual(decide(ctx({ status: 400 }), config), {
      retry: false,
      reason: 'not-retryable',
    });
  });

  test('cannot lift the hard limits: attempts, one-shot bodies, Retry-After cap, deadline', () => {
    const config = normalizeRetryConfig({ shouldRetry: () => true });
    assert.equal(
      (decide(ctx({ attempt: 2 }), config) as { reason: string }).reason,
      'max-attempts',
    );
    assert.equal(
      (decide(ctx({ replayable: false }), config) as { reason: string }).reason,
      'not-replayable',
    );
    const headers = new Headers({ 'retry-after': '3600' });
    assert.equal(
      (decide(ctx({ headers }), config) as { reason: string }).reason,
      'retry-after-too-long',
    );
    assert.equal(
      (decide(ctx({ remainingMs: 1 }), config) as { reason: string }).reason,
      'deadline',
    );
  });

  test('sees the context it is deciding on', () => {
    const seen: RetryContext[] = [];
    const config = normalizeRetryConfig({
      shouldRetry: (c) => {
        seen.push({ ...c });
        return undefined;
      },
    });
    decide(ctx({ attempt: 1, status: 502, method: 'DELETE' }), config);
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0], { attempt: 1, status: 502, method: 'DELETE', replayable: true });
  });
});

describe('RetryEngine.decide', () => {
  test('jitters with the injected clock and reads HTTP-dates against its wall time', () => {
    const clock = new ManualClock({ wallNow: WALL, random: () => 0.5 });
    const engine = new RetryEngine({ jitter: 'full' }, { clock });
    assert.deepEqual(engine.decide(ctx({ status: 503, attempt: 1 })), {
      retry: true,
      delayMs: 100,
    });
    const headers = new Headers({ 'retry-after': new Date(WALL + 4000).toUTCString() });
    assert.deepEqual(engine.decide(ctx({ status: 503, headers })), {
      retry: true,
      delayMs: 4000,
      retryAfterMs: 4000,
    });
  });

  test('passes the previous delay to decorrelated jitter', () => {
    const clock = new ManualClock({ random: () => 0.5 });
    const engine = new RetryEngine({ jitter: 'decorrelated' }, { clock });
    assert.deepEqual(engine.decide(ctx({ status: 503, attempt: 1 }), 1000), {
      retry: true,
      delayMs: 1550,
    });
  });
});
