import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { after, describe, test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import {
  AbortError,
  ConnectionError,
  HttpStatusError,
  InvalidRequestError,
  TimeoutError,
} from '../../src/core/errors.js';
import { RetryBudget } from '../../src/retry/retry-budget.js';
import { RetryEngine, type RetryEvent } from '../../src/retry/retry-engine.js';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
after(() => {
  process.off('unhandledRejection', onUnhandled);
  assert.deepEqual(unhandled, [], 'no promise rejection may go unhandled');
});

/** Lets every pending promise reaction run (real time: none to speak of). */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

async function advance(clock: ManualClock, ms: number): Promise<void> {
  await tick();
  clock.advance(ms);
  await tick();
}

const reset = () => new ConnectionError('socket reset', { errno: 'ECONNRESET' });
const never = () => new Promise<never>(() => {});

function setup(config: ConstructorParameters<typeof RetryEngine>[0] = {}) {
  const clock = new ManualClock({ random: () => 0.5 });
  const engine = new RetryEngine({ jitter: 'none', ...config }, { clock });
  return { clock, engine };
}

describe('RetryEngine.execute: attempts and delays', () => {
  test('returns the first success at once', async () => {
    const { clock, engine } = setup();
    const seen: number[] = [];
    const value = await engine.execute(async (attempt) => {
      seen.push(attempt);
      return 'ok';
    });
    assert.equal(value, 'ok');
    assert.deepEqual(seen, [0]);
    assert.equal(clock.pendingTimers, 0);
  });

  test('accepts work that returns a plain value or throws synchronously', async () => {
    const { clock, engine } = setup({ initialDelayMs: 0 });
    let n = 0;
    const value = await engine.execute(() => {
      if (n++ === 0) throw reset();
      return 42;
    });
    assert.equal(value, 42);
    assert.equal(n, 2);
    assert.equal(clock.pendingTimers, 0);
  });

  test('waits the backoff between attempts, on the injected clock', async () => {
    const { clock, engine } = setup();
    const startedAt: number[] = [];
    const result = engine.execute(async (attempt) => {
      startedAt.push(clock.now());
      if (attempt < 2) throw reset();
      return attempt;
    });
    await tick();
    assert.equal(startedAt.length, 1);
    await advance(clock, 99);
    assert.equal(startedAt.length, 1, 'no retry before the 100 ms delay is over');
    await advance(clock, 1);
    assert.equal(startedAt.length, 2);
    await advance(clock, 200);
    assert.equal(await result, 2);
    assert.deepEqual(startedAt, [0, 100, 300]);
    assert.equal(clock.pendingTimers, 0);
  });

  test('after the last attempt throws that attempt’s error with attempts set', async () => {
    const { clock, engine } = setup({ initialDelayMs: 0 });
    const errors: ConnectionError[] = [];
    const result = engine.execute(async () => {
      const error = reset();
      errors.push(error);
      throw error;
    });
    await assert.rejects(result, (err: unknown) => {
      assert.equal(err, errors[2]);
      assert.equal((err as ConnectionError).attempts, 3);
      return true;
    });
    assert.equal(errors.length, 3);
    assert.equal(clock.pendingTimers, 0);
  });

  test('a non-retryable error ends the call after one attempt', async () => {
    const { engine } = setup();
    let calls = 0;
    await assert.rejects(
      engine.execute(async () => {
        calls++;
        throw new InvalidRequestError('bad header');
      }),
      (err: unknown) => err instanceof InvalidRequestError && err.attempts === 1,
    );
    assert.equal(calls, 1);
  });

  test('errors that are not http-sentinel’s are retried and thrown unchanged', async () => {
    const { engine } = setup({ initialDelayMs: 0, maxAttempts: 2 });
    const boom = new Error('boom');
    let calls = 0;
    await assert.rejects(
      engine.execute(async () => {
        calls++;
        throw boom;
      }),
      (err: unknown) => err === boom && !('attempts' in boom),
    );
    assert.equal(calls, 2);
  });

  test('a non-idempotent method is not retried', async () => {
    const { engine } = setup();
    let calls = 0;
    await assert.rejects(
      engine.execute(
        async () => {
          calls++;
          throw reset();
        },
        { method: 'POST' },
      ),
      ConnectionError,
    );
    assert.equal(calls, 1);
  });

  test('honours Retry-After carried by an HttpStatusError', async () => {
    const { clock, engine } = setup();
    const startedAt: number[] = [];
    const result = engine.execute(async (attempt) => {
      startedAt.push(clock.now());
      if (attempt === 0) {
        const headers = new Headers({ 'retry-after': '2' });
        throw new HttpStatusError({ status: 429, statusText: '', url: 'http://h/', headers });
      }
      return 'ok';
    });
    await advance(clock, 1999);
    assert.equal(startedAt.length, 1);
    await advance(clock, 1);
    assert.equal(await result, 'ok');
    assert.deepEqual(startedAt, [0, 2000]);
  });

  test('reports each retry to onRetry, decorrelated delays growing from the previous one', async () => {
    const { clock, engine } = setup({ jitter: 'decorrelated', maxAttempts: 4 });
    const events: RetryEvent[] = [];
    const result = engine.execute(
      async (attempt) => {
        if (attempt < 3) throw reset();
        return 'ok';
      },
      { onRetry: (event) => events.push(event) },
    );
    for (let i = 0; i < 3; i++) await advance(clock, 10_000);
    assert.equal(await result, 'ok');
    // r = 0.5: 100 + 0.5 × (3 × prev − 100), from prev = 100.
    assert.deepEqual(
      events.map((e) => [e.attempt, e.delayMs]),
      [
        [0, 200],
        [1, 350],
        [2, 575],
      ],
    );
    assert.ok(events.every((e) => e.error instanceof ConnectionError));
  });

  test('one engine serves many concurrent calls', async () => {
    const { clock, engine } = setup();
    const calls = Array.from({ length: 50 }, (_, i) =>
      engine.execute(async (attempt) => {
        if (attempt === 0) throw reset();
        return i;
      }),
    );
    await advance(clock, 100);
    assert.deepEqual(
      await Promise.all(calls),
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.equal(clock.pendingTimers, 0);
  });
});

describe('RetryEngine.execute: abort', () => {
  test('abort during a delay rejects at once and clears the timer', async () => {
    const { clock, engine } = setup();
    const controller = new AbortController();
    let calls = 0;
    const result = engine.execute(
      async () => {
        calls++;
        throw reset();
      },
      { signal: controller.signal },
    );
    await tick();
    assert.equal(clock.pendingTimers, 1, 'the backoff timer is armed');
    controller.abort('user gave up');
    await assert.rejects(result, (err: unknown) => {
      assert.ok(err instanceof AbortError);
      assert.equal(err.code, 'SENTINEL_ABORTED');
      assert.equal(err.reason, 'user gave up');
      assert.equal(err.attempts, 1);
      return true;
    });
    assert.equal(clock.pendingTimers, 0);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    clock.advance(60_000);
    await tick();
    assert.equal(calls, 1, 'no attempt after the abort');
  });

  test('abort during an attempt rejects at once and aborts the attempt’s signal', async () => {
    const { clock, engine } = setup();
    const controller = new AbortController();
    let attemptSignal: AbortSignal | undefined;
    const result = engine.execute(
      (_attempt, signal) => {
        attemptSignal = signal;
        // Work that rejects late, after the call has already ended: must not go unhandled.
        return new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => setImmediate(() => reject(new Error('late'))));
        });
      },
      { signal: controller.signal, timeoutMs: 1000 },
    );
    await tick();
    controller.abort();
    await assert.rejects(result, AbortError);
    assert.equal(attemptSignal?.aborted, true);
    assert.ok(attemptSignal?.reason instanceof AbortError);
    await tick();
    await tick();
    assert.equal(clock.pendingTimers, 0);
  });

  test('an already aborted signal never runs the work', async () => {
    const { engine } = setup();
    let calls = 0;
    await assert.rejects(
      engine.execute(
        async () => {
          calls++;
        },
        { signal: AbortSignal.abort('early') },
      ),
      (err: unknown) => err instanceof AbortError && err.reason === 'early' && err.attempts === 0,
    );
    assert.equal(calls, 0);
  });

  test('the attempt’s signal is left alone after a success, aborted after a failure', async () => {
    const { clock, engine } = setup({ initialDelayMs: 0 });
    const signals: AbortSignal[] = [];
    await engine.execute(async (attempt, signal) => {
      signals.push(signal);
      if (attempt === 0) throw reset();
      return 'ok';
    });
    assert.equal(signals[0]?.aborted, true);
    assert.equal(signals[1]?.aborted, false);
    assert.equal(clock.pendingTimers, 0);
  });
});

describe('RetryEngine.execute: deadlines', () => {
  test('the whole-call deadline ends a hanging attempt with TimeoutError phase total', async () => {
    const { clock, engine } = setup();
    const first = reset();
    let attemptSignal: AbortSignal | undefined;
    const result = engine.execute(
      (attempt, signal) => {
        attemptSignal = signal;
        return attempt === 0 ? Promise.reject(first) : never();
      },
      { timeoutMs: 250 },
    );
    // The expectation is attached before time moves, so the rejection is never unhandled.
    const rejected = assert.rejects(result, (err: unknown) => {
      assert.ok(err instanceof TimeoutError);
      assert.equal(err.phase, 'total');
      assert.equal(err.timeoutMs, 250);
      assert.equal(err.attempts, 2);
      assert.equal(err.cause, first);
      return true;
    });
    await advance(clock, 100);
    await advance(clock, 149);
    assert.equal(attemptSignal?.aborted, false);
    await advance(clock, 1);
    await rejected;
    assert.equal(attemptSignal?.aborted, true);
    assert.equal(clock.pendingTimers, 0);
  });

  test('a retry whose delay would pass the deadline is not made: the last error is thrown', async () => {
    const { clock, engine } = setup({ maxAttempts: 5 });
    const startedAt: number[] = [];
    const result = engine.execute(
      async () => {
        startedAt.push(clock.now());
        throw reset();
      },
      { timeoutMs: 150 },
    );
    const rejected = assert.rejects(
      result,
      (err: unknown) => err instanceof ConnectionError && err.attempts === 2,
    );
    await advance(clock, 100);
    await rejected;
    // 100 ms fits in 150; the next 200 ms would not fit in the 50 ms left.
    assert.deepEqual(startedAt, [0, 100]);
    assert.equal(clock.now(), 100);
    assert.equal(clock.pendingTimers, 0);
  });

  test('an attempt timeout is retried and aborts that attempt’s signal', async () => {
    const { clock, engine } = setup({ maxAttempts: 2 });
    const signals: AbortSignal[] = [];
    const result = engine.execute(
      (attempt, signal) => {
        signals.push(signal);
        return attempt === 0 ? never() : 'second';
      },
      { attemptTimeoutMs: 50, timeoutMs: 1000 },
    );
    await advance(clock, 50);
    const reason: unknown = signals[0]?.reason;
    assert.ok(reason instanceof TimeoutError);
    assert.equal(reason.phase, 'attempt');
    await advance(clock, 100);
    assert.equal(await result, 'second');
    assert.equal(clock.pendingTimers, 0);
  });

  test('the last attempt timeout is thrown with attempts set', async () => {
    const { clock, engine } = setup({ maxAttempts: 2, initialDelayMs: 0 });
    const result = engine.execute(() => never(), { attemptTimeoutMs: 10 });
    const rejected = assert.rejects(
      result,
      (err: unknown) =>
        err instanceof TimeoutError && err.phase === 'attempt' && err.attempts === 2,
    );
    await advance(clock, 10);
    await advance(clock, 10);
    await rejected;
    assert.equal(clock.pendingTimers, 0);
  });

  test('invalid timeouts are refused before the first attempt', async () => {
    const { engine } = setup();
    let calls = 0;
    const work = async () => {
      calls++;
    };
    await assert.rejects(engine.execute(work, { timeoutMs: -1 }), /timeoutMs/);
    await assert.rejects(engine.execute(work, { attemptTimeoutMs: 0 }), /attemptTimeoutMs/);
    await assert.rejects(
      engine.execute(work, { timeoutMs: 100, attemptTimeoutMs: 200 }),
      (err: unknown) => err instanceof InvalidRequestError && /attemptTimeoutMs/.test(err.message),
    );
    assert.equal(calls, 0);
  });
});

describe('RetryEngine.execute: budget', () => {
  test('deposits once per call and withdraws once per retry', async () => {
    const { engine } = setup({ initialDelayMs: 0 });
    const ledger: string[] = [];
    const budget = {
      deposit: () => ledger.push('deposit'),
      tryWithdraw: () => {
        ledger.push('withdraw');
        return true;
      },
    };
    await assert.rejects(engine.execute(async () => Promise.reject(reset()), { budget }));
    assert.deepEqual(ledger, ['deposit', 'withdraw', 'withdraw']);
  });

  test('a spent budget turns the retry into the last error, at once', async () => {
    const clock = new ManualClock();
    const engine = new RetryEngine({}, { clock });
    const budget = new RetryBudget({ percentCanRetry: 0, minRetriesPerSecond: 0 }, { clock });
    let calls = 0;
    await assert.rejects(
      engine.execute(
        async () => {
          calls++;
          throw reset();
        },
        { budget },
      ),
      (err: unknown) => err instanceof ConnectionError && err.attempts === 1,
    );
    assert.equal(calls, 1);
    assert.equal(clock.pendingTimers, 0);
  });
});
