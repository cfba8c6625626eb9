import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { InvalidRequestError } from '../../src/core/errors.js';
import {
  DEFAULT_RETRY_BUDGET_CONFIG,
  RetryBudget,
  type RetryBudgetConfig,
} from '../../src/retry/retry-budget.js';

function setup(config: Partial<RetryBudgetConfig> = {}) {
  const clock = new ManualClock();
  return { clock, budget: new RetryBudget(config, { clock }) };
}

function drain(budget: RetryBudget): number {
  let n = 0;
  while (budget.tryWithdraw()) n++;
  return n;
}

describe('RetryBudget', () => {
  test('defaults: 20% of requests plus a reserve of 10 retries/s over 10 s', () => {
    assert.deepEqual(DEFAULT_RETRY_BUDGET_CONFIG, {
      percentCanRetry: 0.2,
      minRetriesPerSecond: 10,
      ttlMs: 10_000,
    });
    const { budget } = setup();
    assert.equal(budget.balance(), 100);
    for (let i = 0; i < 50; i++) budget.deposit();
    assert.equal(budget.balance(), 110);
    assert.equal(drain(budget), 110);
    assert.equal(budget.tryWithdraw(), false);
  });

  test('without a reserve, one retry per five requests', () => {
    const { budget } = setup({ minRetriesPerSecond: 0 });
    assert.equal(budget.tryWithdraw(), false);
    for (let i = 0; i < 4; i++) budget.deposit();
    assert.equal(budget.tryWithdraw(), false, '4 × 0.2 is not a whole retry');
    budget.deposit();
    assert.equal(budget.tryWithdraw(), true);
    assert.equal(budget.tryWithdraw(), false);
    for (let i = 0; i < 10; i++) budget.deposit();
    assert.equal(drain(budget), 2);
  });

  test('a refused withdrawal takes nothing', () => {
    const { budget } = setup({ minRetriesPerSecond: 0 });
    for (let i = 0; i < 3; i++) budget.deposit();
    assert.equal(budget.tryWithdraw(), false);
    assert.ok(Math.abs(budget.balance() - 0.6) < 1e-9);
    assert.equal(budget.stats().retries, 0);
  });

  test('refills as withdrawals age out over ttl', () => {
    const { clock, budget } = setup({ minRetriesPerSecond: 1, ttlMs: 10_000 });
    assert.equal(drain(budget), 10);
    clock.advance(9000);
    assert.equal(budget.tryWithdraw(), false, 'still within the ttl');
    clock.advance(1000);
    assert.equal(budget.balance(), 10);
    assert.equal(drain(budget), 10);
  });

  test('deposits expire after ttl too', () => {
    const { clock, budget } = setup({ minRetriesPerSecond: 0, ttlMs: 1000 });
    for (let i = 0; i < 10; i++) budget.deposit();
    assert.equal(budget.balance(), 2);
    clock.advance(500);
    assert.equal(budget.balance(), 2);
    clock.advance(500);
    assert.equal(budget.balance(), 0);
    assert.equal(budget.tryWithdraw(), false);
  });

  test('a failing fleet gets retries in proportion to traffic, not more', () => {
    const { clock, budget } = setup();
    let retries = 0;
    // 100 requests/s for 60 s, every one failing and wanting a retry.
    for (let second = 0; second < 60; second++) {
      for (let i = 0; i < 100; i++) {
        budget.deposit();
        if (budget.tryWithdraw()) retries++;
      }
      clock.advance(1000);
    }
    // Steady state: 20% of requests + 10/s reserve = 30/s; the first window adds its reserve.
    assert.ok(retries <= 60 * 30 + 100, String(retries));
    assert.ok(retries >= 60 * 30 - 100, String(retries));
  });

  test('stats() and toJSON() are plain JSON', () => {
    const { budget } = setup({ minRetriesPerSecond: 0 });
    for (let i = 0; i < 10; i++) budget.deposit();
    budget.tryWithdraw();
    const expected = { balance: 1, requests: 10, retries: 1, reserve: 0 };
    assert.deepEqual(budget.stats(), expected);
    assert.deepEqual(JSON.parse(JSON.stringify(budget)), expected);
  });

  const invalid: [option: string, value: Record<string, unknown>][] = [
    ['percentCanRetry', { percentCanRetry: -0.1 }],
    ['percentCanRetry', { percentCanRetry: 1001 }],
    ['minRetriesPerSecond', { minRetriesPerSecond: -1 }],
    ['minRetriesPerSecond', { minRetriesPerSecond: Number.NaN }],
    ['ttlMs', { ttlMs: 0 }],
  ];
  for (const [option, value] of invalid) {
    test(`rejects ${JSON.stringify(value)} naming ${option}`, () => {
      assert.throws(
        () => new RetryBudget(value as Partial<RetryBudgetConfig>),
        (err: unknown) => err instanceof InvalidRequestError && err.message.includes(option),
      );
    });
  }
});
