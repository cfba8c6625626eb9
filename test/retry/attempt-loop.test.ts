import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { AbortError, ConnectionError, InvalidRequestError } from '../../src/core/errors.js';
import {
  type AttemptDriver,
  Pause,
  type RetryDecider,
  type RetryGranted,
  retryAfter,
  runAttempts,
  settle,
} from '../../src/retry/attempt-loop.js';
import type { RetryContext, RetryDecision } from '../../src/retry/policy.js';
import { RetryEngine } from '../../src/retry/retry-engine.js';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
after(() => {
  process.off('unhandledRejection', onUnhandled);
  assert.deepEqual(unhandled, [], 'no promise rejection may go unhandled');
});

/** Lets every pending promise reaction run. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** One attempt's outcome in these tests: an error, or a status. */
interface Outcome {
  n: number;
  error?: unknown;
  status?: number;
  headers?: Headers;
}

/**
 * A driver whose attempts follow a script and which writes down every call the loop makes,
 * so the order of what happens between attempts can be asserted.
 */
class ScriptDriver implements AttemptDriver<ScriptDriver, Outcome> {
  readonly log: string[] = [];
  ended: unknown;
  budget = Number.POSITIVE_INFINITY;
  remainingMs = Number.POSITIVE_INFINITY;
  hookDelayMs = 0;
  readonly #script: Array<Omit<Outcome, 'n'>>;
  readonly #clock: ManualClock;
  readonly #pause: Pause;

  constructor(clock: ManualClock, script: Array<Omit<Outcome, 'n'>>) {
    this.#clock = clock;
    this.#script = script;
    this.#pause = new Pause(clock);
  }

  /** Ends the run from outside, as a call's abort would. */
  end(error: unknown): void {
    this.ended = error;
    this.#pause.interrupt(error);
  }

  async attempt(_: ScriptDriver, n: number, previous: Outcome | undefined): Promise<Outcome> {
    this.log.push(`attempt ${n} at ${this.#clock.now()}${previous ? ` after ${previous.n}` : ''}`);
    const step = this.#script[n];
    if (step === undefined) throw new Error(`no attempt ${n} in the script`);
    return { n, ...step };
  }

  interrupted(): unknown {
    return this.ended;
  }

  question(_: ScriptDriver, att: Outcome, n: number): RetryContext | undefined {
    this.log.push(`question ${n}`);
    if (att.error === undefined && att.status !== undefined && att.status < 400) return undefined;
    return {
      attempt: n,
      method: 'GET',
      replayable: true,
      error: att.error,
      status: att.status,
      headers: att.headers,
      remainingMs: this.remainingMs,
    };
  }

  withdraw(): string | undefined {
    if (this.budget <= 0) return 'budget';
    this.budget--;
    return undefined;
  }

  retrying(_: ScriptDriver, att: Outcome, n: number, decision: RetryGranted): void {
    assert.equal(att.n, n);
    this.log.push(
      `retrying ${n} in ${decision.delayMs}${decision.retryAfterMs === undefined ? '' : ` (asked ${decision.retryAfterMs})`}`,
    );
  }

  refused(_: ScriptDriver, att: Outcome, n: number, by: string): void {
    assert.equal(att.n, n);
    this.log.push(`refused ${n} by ${by}`);
  }

  decided(_: ScriptDriver, att: Outcome, retrying: boolean): void {
    this.log.push(`decided ${att.n} ${retrying ? 'retry' : 'stands'}`);
  }

  abandon(_: ScriptDriver, att: Outcome): void {
    this.log.push(`abandon ${att.n}`);
  }

  beforeRetry(_: ScriptDriver, att: Outcome, n: number): Promise<void> | undefined {
    assert.equal(att.n, n);
    this.log.push(`beforeRetry ${n}`);
    if (this.hookDelayMs === 0) return undefined;
    return new Promise<void>((resolve) => this.#clock.setTimeout(resolve, this.hookDelayMs));
  }

  pause(_: ScriptDriver, ms: number): Promise<void> {
    this.log.push(`pause ${ms}`);
    return this.#pause.wait(ms);
  }
}

const reset = () => new ConnectionError('socket reset', { errno: 'ECONNRESET' });

function setup(config: ConstructorParameters<typeof RetryEngine>[0] = {}) {
  const clock = new ManualClock({ random: () => 0.5 });
  const engine = new RetryEngine(
    { jitter: 'none', initialDelayMs: 100, backoffMultiplier: 2, ...config },
    { clock },
  );
  return { clock, engine };
}

/** Runs the loop to its end, moving the clock `stepMs` at a time while it waits. */
async function drive<T>(clock: ManualClock, run: Promise<T>, stepMs = 50): Promise<T> {
  let done = false;
  const settled = run.finally(() => {
    done = true;
  });
  settled.catch(() => {});
  for (let i = 0; i < 1_000 && !done; i++) {
    await tick();
    if (!done) clock.advance(stepMs);
  }
  return settled;
}

describe('attempt loop: order of what happens between attempts', () => {
  test('a first attempt that stands: no policy question past the driver, no timer', async () => {
    const { clock, engine } = setup();
    const driver = new ScriptDriver(clock, [{ status: 200 }]);
    const att = await runAttempts(driver, driver, engine);
    assert.equal(att.n, 0);
    assert.deepEqual(driver.log, ['attempt 0 at 0', 'question 0', 'decided 0 stands']);
    assert.equal(clock.pendingTimers, 0);
  });

  test('failures are retried after the backoff on the injected clock, in a fixed order', async () => {
    const { clock, engine } = setup();
    const driver = new ScriptDriver(clock, [{ error: reset() }, { status: 503 }, { status: 200 }]);
    const att = await drive(clock, runAttempts(driver, driver, engine));
    assert.equal(att.n, 2);
    assert.deepEqual(driver.log, [
      'attempt 0 at 0',
      'question 0',
      'retrying 0 in 100',
      'decided 0 retry',
      'abandon 0',
      'beforeRetry 0',
      'pause 100',
      'attempt 1 at 100 after 0',
      'question 1',
      'retrying 1 in 200',
      'decided 1 retry',
      'abandon 1',
      'beforeRetry 1',
      'pause 200',
      'attempt 2 at 300 after 1',
      'question 2',
      'decided 2 stands',
    ]);
    assert.equal(clock.pendingTimers, 0);
  });

  test('the last failure stands once the policy stops at maxAttempts', async () => {
    const { clock, engine } = setup({ maxAttempts: 2 });
    const driver = new ScriptDriver(clock, [{ status: 503 }, { status: 502 }, { status: 200 }]);
    const att = await drive(clock, runAttempts(driver, driver, engine));
    assert.equal(att.n, 1);
    assert.equal(att.status, 502);
    assert.equal(driver.log.at(-1), 'decided 1 stands');
  });

  test('a beforeRetry that waits is awaited before the delay starts', async () => {
    const { clock, engine } = setup();
    const driver = new ScriptDriver(clock, [{ status: 503 }, { status: 200 }]);
    driver.hookDelayMs = 1_000;
    const att = await drive(clock, runAttempts(driver, driver, engine));
    assert.equal(att.n, 1);
    // 1 000 ms in the hook, then the 100 ms delay: the clock moves in steps of 50.
    assert.ok(driver.log.includes('attempt 1 at 1100 after 0'), driver.log.join('\n'));
  });

  test('retryAfter continues a loop whose first attempt the driver settled itself', async () => {
    const { clock, engine } = setup();
    const driver = new ScriptDriver(clock, [{ status: 503 }, { status: 503 }, { status: 200 }]);
    const first = await driver.attempt(driver, 0, undefined);
    const delay = settle(driver, driver, first, 0, engine, undefined);
    assert.equal(delay, 100);
    const att = await drive(clock, retryAfter(driver, driver, first, 0, delay!, engine));
    assert.equal(att.n, 2);
    assert.ok(driver.log.includes('attempt 2 at 300 after 1'), driver.log.join('\n'));
  });

  test('without a policy the first attempt stands, failure or not', async () => {
    const { clock } = setup();
    const driver = new ScriptDriver(clock, [{ error: reset() }]);
    const att = await runAttempts(driver, driver, undefined);
    assert.equal(att.n, 0);
    assert.deepEqual(driver.log, ['attempt 0 at 0', 'decided 0 stands']);
  });
});

describe('attempt loop: the delay', () => {
  test('Retry-After is a floor on the delay, reported with the retry', async () => {
    const { clock, engine } = setup();
    const driver = new ScriptDriver(clock, [
      { status: 503, headers: new Headers({ 'retry-after': '2' }) },
      { status: 200 },
    ]);
    const att = await drive(clock, runAttempts(driver, driver, engine), 100);
    assert.equal(att.n, 1);
    assert.ok(driver.log.includes('retrying 0 in 2000 (asked 2000)'), driver.log.join('\n'));
    assert.ok(driver.log.includes('attempt 1 at 2000 after 0'), driver.log.join('\n'));
  });

  test('a Retry-After beyond maxRetryAfterMs makes the outcome stand', async () => {
    const { clock, engine } = setup({ maxRetryAfterMs: 1_000 });
    const driver = new ScriptDriver(clock, [
      { status: 503, headers: new Headers({ 'retry-after': '2' }) },
    ]);
    const att = await runAttempts(driver, driver, engine);
    assert.equal(att.n, 0);
    assert.deepEqual(driver.log, ['attempt 0 at 0', 'question 0', 'decided 0 stands']);
  });

  test('a delay that would use up the remaining deadline is not taken', async () => {
    const { clock, engine } = setup();
    const driver = new ScriptDriver(clock, [{ error: reset() }]);
    driver.remainingMs = 100;
    const att = await runAttempts(driver, driver, engine);
    assert.equal(att.n, 0);
    assert.equal(driver.log.at(-1), 'decided 0 stands');
    assert.equal(clock.pendingTimers, 0);
  });

  test('the previous delay reaches the policy, for decorrelated jitter', async () => {
    const { clock } = setup();
    const seen: Array<number | undefined> = [];
    const decider: RetryDecider = {
      decide(ctx: RetryContext, previousDelayMs?: number): RetryDecision {
        seen.push(previousDelayMs);
        return ctx.attempt < 2 ? { retry: true, delayMs: 10 * (ctx.attempt + 1) } : stop;
      },
    };
    const stop: RetryDecision = { retry: false, reason: 'max-attempts' };
    const driver = new ScriptDriver(clock, [{ status: 503 }, { status: 503 }, { status: 503 }]);
    const att = await drive(clock, runAttempts(driver, driver, decider), 10);
    assert.equal(att.n, 2);
    assert.deepEqual(seen, [undefined, 10, 20]);
  });
});

describe('attempt loop: budget and refusals', () => {
  test('a retry the budget refuses is reported and the failure stands', async () => {
    const { clock, engine } = setup();
    const driver = new ScriptDriver(clock, [{ status: 503 }, { status: 503 }, { status: 200 }]);
    driver.budget = 1;
    const att = await drive(clock, runAttempts(driver, driver, engine));
    assert.equal(att.n, 1);
    assert.deepEqual(driver.log.slice(-3), [
      'question 1',
      'refused 1 by budget',
      'decided 1 stands',
    ]);
    assert.equal(driver.log.filter((line) => line.startsWith('retrying')).length, 1);
  });

  test('the budget is not asked when the policy says no', async () => {
    const { clock, engine } = setup({ maxAttempts: 1 });
    const driver = new ScriptDriver(clock, [{ status: 503 }]);
    driver.budget = 0;
    await runAttempts(driver, driver, engine);
    assert.ok(!driver.log.some((line) => line.startsWith('refused')), driver.log.join('\n'));
  });
});

describe('attempt loop: ended from outside', () => {
  test('an interruption seen at the decision is thrown, the attempt abandoned', async () => {
    const { clock, engine } = setup();
    const driver = new ScriptDriver(clock, [{ error: reset() }]);
    const abort = new AbortError('stop');
    driver.ended = abort;
    await assert.rejects(runAttempts(driver, driver, engine), (err) => err === abort);
    assert.deepEqual(driver.log, ['attempt 0 at 0', 'abandon 0', 'decided 0 stands']);
  });

  test('an interruption during the delay rejects at once, its timer cleared', async () => {
    const { clock, engine } = setup({ initialDelayMs: 10_000 });
    const driver = new ScriptDriver(clock, [{ status: 503 }, { status: 200 }]);
    const run = runAttempts(driver, driver, engine);
    await tick();
    assert.equal(driver.log.at(-1), 'pause 10000');
    assert.equal(clock.pendingTimers, 1);
    const abort = new AbortError('stop');
    driver.end(abort);
    await assert.rejects(run, (err) => err === abort);
    assert.equal(clock.pendingTimers, 0);
    assert.ok(!driver.log.some((line) => line.startsWith('attempt 1')));
  });

  test('a policy that throws fails the run with the attempt abandoned', async () => {
    const { clock, engine } = setup({
      shouldRetry: () => {
        throw new Error('bug');
      },
    });
    const driver = new ScriptDriver(clock, [{ status: 503 }]);
    await assert.rejects(runAttempts(driver, driver, engine), InvalidRequestError);
    assert.deepEqual(driver.log, ['attempt 0 at 0', 'question 0', 'abandon 0', 'decided 0 stands']);
  });

  test('an attempt that rejects ends the loop with its error', async () => {
    const { clock, engine } = setup();
    const driver = new ScriptDriver(clock, [{ status: 503 }]);
    await assert.rejects(drive(clock, runAttempts(driver, driver, engine)), /no attempt 1/);
  });
});

describe('Pause', () => {
  test('resolves when its time has passed on the clock, not before', async () => {
    const clock = new ManualClock();
    const pause = new Pause(clock);
    let done = false;
    const wait = pause.wait(100).then(() => {
      done = true;
    });
    clock.advance(99);
    await tick();
    assert.equal(done, false);
    clock.advance(1);
    await wait;
    assert.equal(done, true);
    // Nothing pending: an interrupt now is a no-op.
    pause.interrupt(new AbortError('late'));
    assert.equal(clock.pendingTimers, 0);
  });

  test('is reusable after an interrupt', async () => {
    const clock = new ManualClock();
    const pause = new Pause(clock);
    const first = pause.wait(100);
    const abort = new AbortError('stop');
    pause.interrupt(abort);
    await assert.rejects(first, (err) => err === abort);
    const second = pause.wait(50);
    clock.advance(50);
    await second;
    assert.equal(clock.pendingTimers, 0);
  });
});
