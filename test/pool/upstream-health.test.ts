import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { ConnectionError, PoolClosedError } from '../../src/core/errors.js';
import {
  type ActiveHealth,
  Backend,
  DEFAULT_HEALTH_CHECK,
  HealthChecker,
  type HealthCheckOptions,
  type HealthProbe,
  nextHealth,
  normalizeHealthCheck,
  Upstream,
} from '../../src/pool/upstream/index.js';

/** Lets settled probe promises deliver their results. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

type Answer = 'pass' | 'fail' | 'hang' | 'reject' | 'throw';

/** A probe whose answer per backend the test sets, recording every call. */
function fakeProbe() {
  const answers = new Map<string, Answer>();
  const calls: { origin: string; path: string; timeoutMs: number; signal: AbortSignal }[] = [];
  const probe: HealthProbe = (backend, path, timeoutMs, signal) => {
    const origin = backend.origin.origin;
    calls.push({ origin, path, timeoutMs, signal });
    switch (answers.get(origin) ?? 'pass') {
      case 'pass':
        return Promise.resolve(true);
      case 'fail':
        return Promise.resolve(false);
      case 'hang':
        return new Promise<boolean>(() => {});
      case 'reject':
        return Promise.reject(new Error('ECONNREFUSED'));
      case 'throw':
        throw new Error('probe bug');
    }
  };
  return { probe, answers, calls };
}

const A = 'http://a.test';
const B = 'http://b.test';

function setup(options: Partial<HealthCheckOptions> = {}, origins = [A, B]) {
  const clock = new ManualClock();
  const backends = origins.map((o) => new Backend(o, clock));
  const fake = fakeProbe();
  const checker = new HealthChecker(
    backends,
    normalizeHealthCheck({ intervalMs: 1_000, timeoutMs: 500, ...options }),
    fake.probe,
    clock,
  );
  return { clock, backends, checker, ...fake };
}

/** Runs `rounds` more rounds (the first one runs at start()). */
async function rounds(clock: ManualClock, n: number, intervalMs = 1_000): Promise<void> {
  for (let i = 0; i < n; i++) {
    clock.advance(intervalMs);
    await flush();
  }
}

describe('nextHealth', () => {
  const t = { healthyThreshold: 2, unhealthyThreshold: 3 };
  const table: [from: ActiveHealth, passed: boolean, to: ActiveHealth][] = [
    [{ healthy: true, streak: 0 }, true, { healthy: true, streak: 0 }],
    [{ healthy: true, streak: 0 }, false, { healthy: true, streak: 1 }],
    [{ healthy: true, streak: 2 }, false, { healthy: false, streak: 0 }],
    [{ healthy: true, streak: 2 }, true, { healthy: true, streak: 0 }],
    [{ healthy: false, streak: 0 }, true, { healthy: false, streak: 1 }],
    [{ healthy: false, streak: 1 }, true, { healthy: true, streak: 0 }],
    [{ healthy: false, streak: 1 }, false, { healthy: false, streak: 0 }],
  ];
  for (const [from, passed, to] of table) {
    test(`${JSON.stringify(from)} + ${passed ? 'pass' : 'fail'} -> ${JSON.stringify(to)}`, () => {
      assert.deepEqual(nextHealth(from, passed, t), to);
    });
  }

  test('thresholds of 1 flip at once', () => {
    const one = { healthyThreshold: 1, unhealthyThreshold: 1 };
    assert.deepEqual(nextHealth({ healthy: true, streak: 0 }, false, one), {
      healthy: false,
      streak: 0,
    });
  });
});

describe('HealthChecker', () => {
  test('the defaults', () => {
    assert.deepEqual(
      { ...DEFAULT_HEALTH_CHECK },
      {
        path: '/',
        intervalMs: 10_000,
        timeoutMs: 2_000,
        healthyThreshold: 2,
        unhealthyThreshold: 3,
      },
    );
  });

  test('checks every backend at start and then every intervalMs, with path and timeout', async () => {
    const { clock, checker, calls } = setup({ path: '/healthz' });
    checker.start();
    assert.equal(checker.running, true);
    assert.deepEqual(
      calls.map((c) => [c.origin, c.path, c.timeoutMs]),
      [
        [A, '/healthz', 500],
        [B, '/healthz', 500],
      ],
    );
    await flush();
    clock.advance(999);
    assert.equal(calls.length, 2);
    clock.advance(1);
    assert.equal(calls.length, 4);
    await rounds(clock, 3);
    assert.equal(calls.length, 10);
    checker.stop();
  });

  test(`unhealthy after unhealthyThreshold failures in a row, not before`, async () => {
    const { clock, backends, checker, answers } = setup();
    answers.set(A, 'fail');
    checker.start();
    await flush();
    await rounds(clock, 1);
    assert.equal(backends[0]!.healthy, true, 'two failures');
    await rounds(clock, 1);
    assert.equal(backends[0]!.healthy, false, 'three failures');
    assert.equal(backends[1]!.healthy, true);
    checker.stop();
  });

  test('a pass between failures resets the count', async () => {
    const { clock, backends, checker, answers } = setup();
    answers.set(A, 'fail');
    checker.start();
    await flush();
    await rounds(clock, 1);
    answers.set(A, 'pass');
    await rounds(clock, 1);
    answers.set(A, 'fail');
    await rounds(clock, 2);
    assert.equal(backends[0]!.healthy, true);
    await rounds(clock, 1);
    assert.equal(backends[0]!.healthy, false);
    checker.stop();
  });

  test('back only after healthyThreshold passes in a row', async () => {
    const { clock, backends, checker, answers } = setup({ unhealthyThreshold: 1 });
    answers.set(A, 'fail');
    checker.start();
    await flush();
    assert.equal(backends[0]!.healthy, false);
    answers.set(A, 'pass');
    await rounds(clock, 1);
    answers.set(A, 'fail');
    await rounds(clock, 1);
    answers.set(A, 'pass');
    await rounds(clock, 1);
    assert.equal(backends[0]!.healthy, false, 'pass, fail, pass');
    await rounds(clock, 1);
    assert.equal(backends[0]!.healthy, true, 'two passes in a row');
    checker.stop();
  });

  for (const answer of ['reject', 'throw'] as const) {
    test(`a probe that ${answer}s counts as a failed check`, async () => {
      const { backends, checker, answers } = setup({ unhealthyThreshold: 1 });
      answers.set(A, answer);
      checker.start();
      await flush();
      assert.equal(backends[0]!.healthy, false);
      assert.equal(backends[1]!.healthy, true);
      checker.stop();
    });
  }

  test('a check that does not answer within timeoutMs fails, and its signal is aborted', async () => {
    const { clock, backends, checker, answers, calls } = setup({ unhealthyThreshold: 1 });
    answers.set(A, 'hang');
    checker.start();
    await flush();
    assert.equal(backends[0]!.healthy, true);
    clock.advance(499);
    assert.equal(calls[0]!.signal.aborted, false);
    clock.advance(1);
    assert.equal(backends[0]!.healthy, false);
    assert.equal(calls[0]!.signal.aborted, true);
    assert.equal(calls[1]!.signal.aborted, false, 'a passed check is left alone');
    checker.stop();
  });

  test('a result arriving after the timeout is ignored', async () => {
    const clock = new ManualClock();
    const backend = new Backend(A, clock);
    const late: ((ok: boolean) => void)[] = [];
    const checker = new HealthChecker(
      [backend],
      normalizeHealthCheck({ intervalMs: 1_000, timeoutMs: 100, unhealthyThreshold: 1 }),
      () => new Promise<boolean>((resolve) => late.push(resolve)),
      clock,
    );
    checker.start();
    clock.advance(100);
    assert.equal(backend.healthy, false);
    late[0]!(true);
    await flush();
    assert.deepEqual(backend.health, { healthy: false, streak: 0 });
    checker.stop();
  });

  test('a check still out is not doubled by the next round', async () => {
    const { clock, checker, answers, calls } = setup({ intervalMs: 1_000, timeoutMs: 2_500 });
    answers.set(A, 'hang');
    checker.start();
    await flush();
    await rounds(clock, 2);
    assert.equal(calls.filter((c) => c.origin === A).length, 1);
    assert.equal(calls.filter((c) => c.origin === B).length, 3);
    await rounds(clock, 1); // the first check of A timed out at 2 500 ms
    assert.equal(calls.filter((c) => c.origin === A).length, 2);
    checker.stop();
  });

  test('stop() leaves no timer, aborts checks out, and ignores their results', async () => {
    const { clock, backends, checker, answers, calls } = setup({ unhealthyThreshold: 1 });
    answers.set(A, 'hang');
    checker.start();
    await flush();
    assert.ok(clock.pendingTimers > 0);
    checker.stop();
    assert.equal(checker.running, false);
    assert.equal(clock.pendingTimers, 0);
    assert.equal(calls[0]!.signal.aborted, true);
    clock.advance(60_000);
    await flush();
    assert.equal(calls.length, 2, 'no check after stop');
    assert.equal(backends[0]!.healthy, true, 'the aborted check did not count');
    checker.stop();
    assert.equal(clock.pendingTimers, 0);
  });

  test('start() twice runs one schedule; start() after stop() resumes', async () => {
    const { clock, checker, calls } = setup();
    checker.start();
    checker.start();
    assert.equal(calls.length, 2);
    await flush();
    checker.stop();
    checker.start();
    assert.equal(calls.length, 4);
    await rounds(clock, 1);
    assert.equal(calls.length, 6);
    checker.stop();
    assert.equal(clock.pendingTimers, 0);
  });

  test('a probe that calls stop() during a round stops the round', () => {
    const clock = new ManualClock();
    const backends = [new Backend(A, clock), new Backend(B, clock)];
    let calls = 0;
    const checker: HealthChecker = new HealthChecker(
      backends,
      normalizeHealthCheck({}),
      () => {
        calls++;
        checker.stop();
        return Promise.resolve(true);
      },
      clock,
    );
    checker.start();
    assert.equal(calls, 1);
    assert.equal(clock.pendingTimers, 0);
  });
});

describe('Upstream with health checks', () => {
  /** `initial` answers are in place before the first round, which runs at construction. */
  function upstreamSetup(
    initial: Record<string, Answer>,
    options: Partial<HealthCheckOptions> = {},
  ) {
    const clock = new ManualClock();
    const fake = fakeProbe();
    for (const [origin, answer] of Object.entries(initial)) fake.answers.set(origin, answer);
    const upstream = new Upstream(
      'api',
      [A, B],
      {
        strategy: 'round-robin',
        healthCheck: { intervalMs: 1_000, timeoutMs: 500, unhealthyThreshold: 1, ...options },
      },
      { clock, probe: fake.probe },
    );
    return { clock, upstream, ...fake };
  }

  test('an unhealthy backend is not picked until it passes healthyThreshold checks', async () => {
    const { clock, upstream, answers } = upstreamSetup({ [A]: 'fail' });
    await flush();
    const origins = () => {
      const seen = new Set<string>();
      for (let i = 0; i < 10; i++) {
        const b = upstream.pick();
        seen.add(b.origin.origin);
        upstream.cancel(b);
      }
      return [...seen].sort();
    };
    assert.deepEqual(origins(), [B]);
    assert.equal(upstream.stats().backends[0]!.healthy, false);
    answers.set(A, 'pass');
    await rounds(clock, 1);
    assert.deepEqual(origins(), [B]);
    await rounds(clock, 1);
    assert.deepEqual(origins(), [A, B]);
    upstream.close();
  });

  test('an unhealthy backend stays out even in panic', async () => {
    const clock = new ManualClock();
    const fake = fakeProbe();
    fake.answers.set(A, 'fail');
    const upstream = new Upstream(
      'api',
      [A, B, 'http://c.test'],
      {
        strategy: 'round-robin',
        healthCheck: { unhealthyThreshold: 1 },
        outlierDetection: { maxEjectionPercent: 100 },
      },
      { clock, probe: fake.probe },
    );
    await flush();
    const b = upstream.backends[1]!;
    for (let i = 0; i < 5; i++) upstream.record(b, false, 1);
    assert.equal(upstream.inPanic(), true);
    const seen = new Set<Backend>();
    for (let i = 0; i < 20; i++) {
      const picked = upstream.pick();
      seen.add(picked);
      upstream.cancel(picked);
    }
    assert.deepEqual(
      [...seen].map((x) => x.origin.origin).sort(),
      [B, 'http://c.test'],
      'the ejected one is back, the unhealthy one is not',
    );
    upstream.close();
  });

  test('all unhealthy: pick() throws ConnectionError naming the upstream', async () => {
    const { upstream } = upstreamSetup({ [A]: 'fail', [B]: 'reject' });
    await flush();
    assert.throws(
      () => upstream.pick(),
      (err: unknown) =>
        err instanceof ConnectionError &&
        err.code === 'SENTINEL_CONNECTION' &&
        /upstream api/.test(err.message) &&
        /health checks/.test(err.message),
    );
    upstream.close();
  });

  test('close() stops the checks: no timer left, picks refused', async () => {
    const { clock, upstream, calls } = upstreamSetup({ [A]: 'hang' });
    await flush();
    assert.ok(clock.pendingTimers > 0);
    upstream.close();
    upstream.close();
    assert.equal(clock.pendingTimers, 0);
    assert.equal(upstream.closed, true);
    assert.throws(
      () => upstream.pick(),
      (err: unknown) => err instanceof PoolClosedError && err.code === 'SENTINEL_POOL_CLOSED',
    );
    clock.advance(10_000);
    assert.equal(calls.length, 2);
  });

  test('healthCheck without a probe is a wiring error', () => {
    assert.throws(() => new Upstream('api', [A], { healthCheck: {} }), TypeError);
  });

  test('healthCheck: false or absent starts no timer', () => {
    const clock = new ManualClock();
    new Upstream('api', [A], { healthCheck: false }, { clock });
    new Upstream('api', [A], {}, { clock });
    assert.equal(clock.pendingTimers, 0);
  });
});
