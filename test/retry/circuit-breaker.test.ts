import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
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
  RequestBodyError,
  TimeoutError,
} from '../../src/core/errors.js';
import {
  type BreakerStateName,
  CircuitBreaker,
  type CircuitBreakerConfig,
  REFUSED,
} from '../../src/retry/circuit-breaker.js';
import {
  DEFAULT_CIRCUIT_BREAKER_CONFIG,
  normalizeCircuitBreakerConfig,
} from '../../src/retry/circuit-breaker-config.js';
import { type CallOutcome, classifyOutcome } from '../../src/retry/outcome.js';

/** A breaker on a manual clock whose jitter draw is 0, so open durations are exact. */
function setup(config: Partial<CircuitBreakerConfig> & { name?: string } = {}) {
  const clock = new ManualClock({ random: () => 0 });
  // The quiet-time rule has tests of its own; here the run alone decides.
  const breaker = new CircuitBreaker({ minOutageMs: 0, ...config }, { clock });
  const changes: [BreakerStateName, BreakerStateName][] = [];
  breaker.onStateChange((to, from) => changes.push([to, from]));
  return { clock, breaker, changes };
}

function call(breaker: CircuitBreaker, outcome: CallOutcome, durationMs?: number): boolean {
  if (!breaker.tryAcquire()) return false;
  breaker.record(outcome, durationMs);
  return true;
}

describe('classifyOutcome', () => {
  const http = (status: number) => new HttpStatusError({ status, statusText: '', url: 'u' });
  const table: [
    name: string,
    input: { status?: number; error?: unknown; sent?: boolean },
    expected: CallOutcome,
  ][] = [
    ['200', { status: 200 }, 'success'],
    ['304', { status: 304 }, 'success'],
    ['404: the host answered', { status: 404 }, 'success'],
    ['408', { status: 408 }, 'success'],
    ['429: the host is alive', { status: 429 }, 'success'],
    ['500: a broken endpoint, the host is up', { status: 500 }, 'success'],
    ['503', { status: 503 }, 'failure'],
    ['nothing known', {}, 'success'],
    [
      'connection refused',
      { error: new ConnectionError('x', { errno: 'ECONNREFUSED' }) },
      'failure',
    ],
    ['connect timeout', { error: new TimeoutError('connect', 1) }, 'failure'],
    ['headers timeout', { error: new TimeoutError('headers', 1) }, 'failure'],
    [
      "total timeout during an attempt: the caller's deadline",
      { error: new TimeoutError('total', 1) },
      'ignored',
    ],
    ['acquire timeout: our own pool', { error: new TimeoutError('acquire', 1) }, 'ignored'],
    ['protocol error: not a sign the host is down', { error: new ProtocolError('bad') }, 'ignored'],
    ['caller abort', { error: new AbortError() }, 'ignored'],
    ['DOMException abort', { error: new DOMException('x', 'AbortError') }, 'ignored'],
    ['invalid request', { error: new InvalidRequestError('x') }, 'ignored'],
    ['circuit open', { error: new CircuitOpenError('h', 1) }, 'ignored'],
    ['pool closed', { error: new PoolClosedError() }, 'ignored'],
    ['body too large', { error: new BodyTooLargeError(1) }, 'ignored'],
    ['HttpStatusError 502', { error: http(502) }, 'failure'],
    ['HttpStatusError 404', { error: http(404) }, 'success'],
    ['HttpStatusError 429', { error: http(429) }, 'success'],
    ['caller body failed', { error: new RequestBodyError('x') }, 'ignored'],
    ['503 never sent', { error: new TimeoutError('attempt', 1), sent: false }, 'ignored'],
    ['504', { status: 504 }, 'failure'],
    ['a foreign error', { error: new Error('x') }, 'failure'],
  ];
  for (const [name, input, expected] of table) {
    test(`${name} -> ${expected}`, () => {
      assert.equal(classifyOutcome(input), expected);
    });
  }
});

describe('CircuitBreaker: opening', () => {
  test('starts closed and admits calls', () => {
    const { breaker } = setup();
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.tryAcquire(), true);
    breaker.record('success');
    assert.equal(breaker.retryAfterMs(), 0);
  });

  test('opens on a run of consecutive failures', () => {
    const { breaker, changes } = setup({ consecutiveFailures: 3 });
    call(breaker, 'failure');
    call(breaker, 'failure');
    assert.equal(breaker.state, 'closed');
    call(breaker, 'failure');
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.tryAcquire(), false);
    assert.equal(breaker.retryAfterMs(), 5000);
    assert.deepEqual(changes, [['open', 'closed']]);
  });

  test('a success breaks the run; ignored outcomes do not count', () => {
    const { breaker } = setup({ consecutiveFailures: 3 });
    call(breaker, 'failure');
    call(breaker, 'failure');
    call(breaker, 'success');
    call(breaker, 'failure');
    call(breaker, 'ignored');
    call(breaker, 'failure');
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.stats().requests, 5);
  });

  test('the failure-rate rule is off by default: 50 % failures keep it closed', () => {
    const { breaker } = setup();
    for (let i = 0; i < 200; i++) call(breaker, i % 2 === 0 ? 'failure' : 'success');
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.stats().failureRate, 0.5);
  });

  test('opens on the failure rate once the window holds minimumRequests (opt-in)', () => {
    const { breaker } = setup({
      consecutiveFailures: Number.POSITIVE_INFINITY,
      failureRateThreshold: 0.5,
    });
    for (let i = 0; i < 9; i++) {
      call(breaker, 'success');
      call(breaker, 'failure');
    }
    call(breaker, 'success');
    assert.equal(breaker.state, 'closed', '9 failures of 19: under the minimum volume');
    call(breaker, 'failure');
    assert.equal(breaker.state, 'open', '10 failures of 20 = 0.5');
    assert.equal(breaker.stats().failureRate, 0.5);
  });

  test('stays closed below the threshold rate', () => {
    const { breaker } = setup({
      consecutiveFailures: Number.POSITIVE_INFINITY,
      failureRateThreshold: 0.5,
    });
    for (let i = 0; i < 30; i++) call(breaker, i % 3 === 0 ? 'failure' : 'success');
    assert.equal(breaker.state, 'closed');
  });

  test('outcomes slide out of the window', () => {
    const { clock, breaker } = setup({
      consecutiveFailures: Number.POSITIVE_INFINITY,
      failureRateThreshold: 0.5,
    });
    for (let i = 0; i < 19; i++) call(breaker, 'failure');
    assert.equal(breaker.stats().requests, 19);
    clock.advance(30_000);
    assert.equal(breaker.stats().requests, 0);
    call(breaker, 'failure');
    assert.equal(breaker.state, 'closed', 'the 19 old failures have expired');
  });

  test('slow calls count as failures', () => {
    const { breaker } = setup({ consecutiveFailures: 2, slowCallThresholdMs: 1000 });
    call(breaker, 'success', 999);
    call(breaker, 'success', 1000);
    assert.equal(breaker.state, 'closed');
    call(breaker, 'success', 5000);
    assert.equal(breaker.state, 'open');
  });
});

describe('CircuitBreaker: recovery', () => {
  function opened(config: Partial<CircuitBreakerConfig> = {}) {
    const ctx = setup({ consecutiveFailures: 1, ...config });
    call(ctx.breaker, 'failure');
    assert.equal(ctx.breaker.state, 'open');
    return ctx;
  }

  test('open -> half-open when the time is up, then one probe -> closed', () => {
    const { clock, breaker, changes } = opened();
    clock.advance(4999);
    assert.equal(breaker.tryAcquire(), false);
    assert.equal(breaker.retryAfterMs(), 1);
    clock.advance(1);
    assert.equal(breaker.tryAcquire(), true, 'the probe');
    assert.equal(breaker.state, 'half-open');
    assert.equal(breaker.tryAcquire(), false, 'only one probe at a time');
    breaker.record('success');
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(changes, [
      ['open', 'closed'],
      ['half-open', 'open'],
      ['closed', 'half-open'],
    ]);
  });

  test('a failed probe reopens for twice as long, growing to the cap', () => {
    const { clock, breaker } = opened({ openDurationMs: 5000, maxOpenDurationMs: 30_000 });
    const durations: number[] = [];
    for (let i = 0; i < 5; i++) {
      clock.advance(breaker.retryAfterMs());
      assert.equal(breaker.tryAcquire(), true);
      breaker.record('failure');
      assert.equal(breaker.state, 'open');
      durations.push(breaker.retryAfterMs());
    }
    assert.deepEqual(durations, [10_000, 20_000, 30_000, 30_000, 30_000]);
    const snapshot = breaker.snapshot();
    assert.equal(snapshot.state === 'open' && snapshot.openCount, 6);
    assert.equal(breaker.stats().openCount, 6);
  });

  test('the open duration resets once the breaker closes', () => {
    const { clock, breaker } = opened();
    clock.advance(5000);
    call(breaker, 'failure');
    assert.equal(breaker.retryAfterMs(), 10_000);
    clock.advance(10_000);
    call(breaker, 'success');
    assert.equal(breaker.state, 'closed');
    call(breaker, 'failure');
    assert.equal(breaker.retryAfterMs(), 5000);
  });

  test('a closed breaker starts with a clean window', () => {
    const { clock, breaker } = setup({
      consecutiveFailures: Number.POSITIVE_INFINITY,
      failureRateThreshold: 0.5,
      minimumRequests: 2,
    });
    call(breaker, 'failure');
    call(breaker, 'failure');
    assert.equal(breaker.state, 'open');
    clock.advance(5000);
    call(breaker, 'success');
    assert.equal(breaker.state, 'closed');
    call(breaker, 'failure');
    assert.equal(breaker.state, 'closed', 'the failures that opened it are forgotten');
    assert.deepEqual([breaker.stats().requests, breaker.stats().failures], [1, 1]);
  });

  test('several probes: all must succeed, each success frees its slot', () => {
    const { clock, breaker } = opened({ halfOpenProbes: 3 });
    clock.advance(5000);
    assert.equal(breaker.tryAcquire(), true);
    assert.equal(breaker.tryAcquire(), true);
    assert.equal(breaker.tryAcquire(), true);
    assert.equal(breaker.tryAcquire(), false);
    breaker.record('success');
    assert.equal(breaker.state, 'half-open');
    assert.equal(breaker.tryAcquire(), true, 'the freed slot');
    breaker.record('success');
    breaker.record('success');
    assert.equal(breaker.state, 'closed');
  });

  test('an ignored probe frees its slot without deciding anything', () => {
    const { clock, breaker } = opened();
    clock.advance(5000);
    assert.equal(breaker.tryAcquire(), true);
    breaker.record('ignored');
    assert.equal(breaker.state, 'half-open');
    assert.equal(breaker.tryAcquire(), true);
  });

  test('outcomes recorded while open are dropped', () => {
    const { breaker } = opened();
    breaker.record('success');
    breaker.record('failure');
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.retryAfterMs(), 5000);
  });

  test('open durations are jittered downwards by at most openJitter', () => {
    const clock = new ManualClock({ random: () => 0.999 });
    const breaker = new CircuitBreaker({ consecutiveFailures: 1 }, { clock });
    call(breaker, 'failure');
    const wait = breaker.retryAfterMs();
    assert.ok(wait > 4500 && wait < 5000, String(wait));
  });

  test('needs no timers', () => {
    const { clock, breaker } = opened();
    assert.equal(clock.pendingTimers, 0);
    assert.equal(breaker.state, 'open');
  });
});

describe('CircuitBreaker: events, stats and execute', () => {
  test('onStateChange returns a disposer', () => {
    const { breaker } = setup({ consecutiveFailures: 1 });
    const seen: string[] = [];
    const dispose = breaker.onStateChange((to) => seen.push(to));
    dispose();
    call(breaker, 'failure');
    assert.deepEqual(seen, []);
  });

  test('a throwing listener does not break the breaker; its error is reported asynchronously', (t) => {
    const reported: (() => void)[] = [];
    t.mock.method(globalThis, 'queueMicrotask', (fn: () => void) => reported.push(fn));
    const { breaker, changes } = setup({ consecutiveFailures: 1 });
    breaker.onStateChange(() => {
      throw new Error('listener bug');
    });
    call(breaker, 'failure');
    assert.equal(breaker.state, 'open');
    assert.deepEqual(changes, [['open', 'closed']]);
    assert.equal(reported.length, 1);
    assert.throws(() => reported[0]?.(), /listener bug/);
  });

  test('stats() is plain JSON with the open time as epoch ms', () => {
    const { clock, breaker } = setup({ consecutiveFailures: 2 });
    call(breaker, 'success');
    call(breaker, 'failure');
    assert.deepEqual(breaker.stats(), {
      state: 'closed',
      failureRate: 0.5,
      requests: 2,
      failures: 1,
      consecutiveFailures: 1,
      openCount: 0,
      retryAfterMs: 0,
    });
    call(breaker, 'failure');
    const open = breaker.stats();
    assert.equal(open.state, 'open');
    assert.equal(open.openUntil, clock.wallNow() + 5000);
    assert.deepEqual(JSON.parse(JSON.stringify(breaker)), open);
    clock.advance(5000);
    breaker.tryAcquire();
    assert.equal(breaker.stats().halfOpenInFlight, 1);
  });

  test('execute refuses with CircuitOpenError naming the host, without calling fn', async () => {
    const { breaker } = setup({ name: 'api.example.com:443', consecutiveFailures: 1 });
    await assert.rejects(
      breaker.execute(async () => {
        throw new ConnectionError('refused', { errno: 'ECONNREFUSED' });
      }),
      ConnectionError,
    );
    let called = false;
    await assert.rejects(
      breaker.execute(async () => {
        called = true;
      }),
      (err: unknown) =>
        err instanceof CircuitOpenError &&
        err.host === 'api.example.com:443' &&
        err.retryAfterMs === 5000,
    );
    assert.equal(called, false);
  });

  test('execute records results: a caller abort is ignored, a slow success fails', async () => {
    const { clock, breaker } = setup({ consecutiveFailures: 1, slowCallThresholdMs: 100 });
    await assert.rejects(
      breaker.execute(() => Promise.reject(new AbortError())),
      AbortError,
    );
    assert.equal(breaker.state, 'closed');
    assert.equal(await breaker.execute(() => 'fast'), 'fast');
    assert.equal(breaker.state, 'closed');
    await breaker.execute(() => {
      clock.advance(150);
      return 'slow';
    });
    assert.equal(breaker.state, 'open');
  });
});

describe('CircuitBreaker: invariants (property-based)', () => {
  type Op =
    | { op: 'acquire' }
    | { op: 'record'; outcome: CallOutcome }
    | { op: 'advance'; ms: number };
  const ops = fc.array(
    fc.oneof(
      fc.constant<Op>({ op: 'acquire' }),
      fc
        .constantFrom<CallOutcome>('success', 'failure', 'ignored')
        .map((outcome): Op => ({ op: 'record', outcome })),
      fc.integer({ min: 0, max: 20_000 }).map((ms): Op => ({ op: 'advance', ms })),
    ),
    { maxLength: 300 },
  );
  const configs = fc.record({
    halfOpenProbes: fc.integer({ min: 1, max: 4 }),
    consecutiveFailures: fc.integer({ min: 1, max: 6 }),
    minimumRequests: fc.integer({ min: 1, max: 10 }),
    failureRateThreshold: fc.double({ min: 0.05, max: 1, noNaN: true }),
    openDurationMs: fc.integer({ min: 1, max: 5000 }),
  });

  test('never more than halfOpenProbes in flight; an open breaker never admits early', () => {
    fc.assert(
      fc.property(
        configs,
        ops,
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (config, sequence, r) => {
          const clock = new ManualClock({ random: () => r });
          const breaker = new CircuitBreaker(config, { clock });
          let outstanding = 0;
          for (const step of sequence) {
            const before = breaker.snapshot();
            switch (step.op) {
              case 'acquire': {
                const admitted = breaker.tryAcquire();
                if (before.state === 'open' && clock.now() < before.until) {
                  assert.equal(admitted, false, 'admitted while open');
                }
                if (admitted) outstanding++;
                break;
              }
              case 'record':
                // Only calls that were admitted are recorded, as the contract demands.
                if (outstanding > 0) {
                  outstanding--;
                  breaker.record(step.outcome);
                }
                break;
              case 'advance':
                clock.advance(step.ms);
                break;
            }
            const after = breaker.snapshot();
            if (after.state === 'half-open') {
              assert.ok(after.inFlight >= 0 && after.inFlight <= config.halfOpenProbes);
              assert.ok(after.successes < config.halfOpenProbes);
            }
            if (after.state === 'open') {
              // snapshot() already moved a due breaker to half-open, so an open one is not due.
              assert.ok(after.until > clock.now());
              assert.ok(
                breaker.retryAfterMs() <= config.openDurationMs * 2 ** (after.openCount - 1),
              );
            }
            const stats = breaker.stats();
            assert.ok(stats.failureRate >= 0 && stats.failureRate <= 1);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  test('once open, it admits nothing until retryAfterMs has passed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: 0, max: 59_999 }),
        (openMs, wait) => {
          const clock = new ManualClock({ random: () => 0 });
          const breaker = new CircuitBreaker(
            { consecutiveFailures: 1, openDurationMs: openMs },
            { clock },
          );
          call(breaker, 'failure');
          clock.advance(Math.min(wait, openMs - 1));
          return breaker.tryAcquire() === false && breaker.state === 'open';
        },
      ),
    );
  });
});

describe('normalizeCircuitBreakerConfig', () => {
  test('fills in the documented defaults', () => {
    const c = normalizeCircuitBreakerConfig();
    assert.deepEqual(
      { ...c, slowCallThresholdMs: undefined },
      { ...DEFAULT_CIRCUIT_BREAKER_CONFIG },
    );
    assert.equal(c.slowCallThresholdMs, Number.POSITIVE_INFINITY);
    assert.equal(c.failureRateThreshold, undefined);
    assert.equal(c.minimumRequests, 20);
    assert.equal(c.windowMs, 30_000);
    assert.equal(c.consecutiveFailures, 10);
    assert.equal(c.openDurationMs, 5000);
    assert.equal(c.maxOpenDurationMs, 60_000);
    assert.equal(c.halfOpenProbes, 1);
  });

  test('never mutates its input', () => {
    const input = { openDurationMs: 100 };
    normalizeCircuitBreakerConfig(input);
    assert.deepEqual(input, { openDurationMs: 100 });
  });

  const invalid: [option: string, value: Record<string, unknown>][] = [
    ['failureRateThreshold', { failureRateThreshold: 0 }],
    ['failureRateThreshold', { failureRateThreshold: 1.1 }],
    ['minimumRequests', { minimumRequests: 0 }],
    ['windowMs', { windowMs: 0 }],
    ['windowMs', { windowMs: Number.POSITIVE_INFINITY }],
    ['consecutiveFailures', { consecutiveFailures: 0 }],
    ['slowCallThresholdMs', { slowCallThresholdMs: -1 }],
    ['openDurationMs', { openDurationMs: 0 }],
    ['maxOpenDurationMs', { openDurationMs: 10_000, maxOpenDurationMs: 5000 }],
    ['openJitter', { openJitter: 1 }],
    ['halfOpenProbes', { halfOpenProbes: 1.5 }],
  ];
  for (const [option, value] of invalid) {
    test(`rejects ${JSON.stringify(value)} naming ${option}`, () => {
      assert.throws(
        () => new CircuitBreaker(value as Partial<CircuitBreakerConfig>),
        (err: unknown) => err instanceof InvalidRequestError && err.message.includes(option),
      );
    });
  }

  test('rejects an empty name', () => {
    assert.throws(() => new CircuitBreaker({ name: '' }), /name/);
  });
});

describe('CircuitBreaker: stale failures and probe tickets', () => {
  test('failures of calls sent before the latest success do not extend the run', () => {
    const { clock, breaker } = setup({ consecutiveFailures: 3 });
    // Sixteen calls go out at t=0; one succeeds at t=10, the other fifteen fail after it.
    const tickets = Array.from({ length: 16 }, () => breaker.acquire());
    clock.advance(10);
    breaker.record('success', 10, tickets[0], 0);
    for (const ticket of tickets.slice(1)) breaker.record('failure', 20, ticket, 0);
    assert.equal(breaker.state, 'closed', 'a batch of old failures is not a run');
    assert.equal(breaker.stats().consecutiveFailures, 0);
    // Calls sent after the success are fresh evidence.
    for (let i = 0; i < 3; i++) {
      const ticket = breaker.acquire();
      breaker.record('failure', 1, ticket, clock.now());
    }
    assert.equal(breaker.state, 'open');
  });

  test('a late outcome of a call admitted while closed never frees a probe slot', () => {
    const { clock, breaker } = setup({ consecutiveFailures: 1, halfOpenProbes: 1 });
    const early = breaker.acquire();
    assert.equal(early, 0);
    breaker.record('failure', 1, breaker.acquire(), clock.now());
    assert.equal(breaker.state, 'open');
    clock.advance(5000);
    const probe = breaker.acquire();
    assert.ok(probe > 0, 'a probe ticket');
    assert.equal(breaker.acquire(), REFUSED, 'the only slot is taken');
    // The early call ends without a verdict (its caller aborted): the slot is not its own.
    breaker.record('ignored', undefined, early);
    assert.equal(breaker.acquire(), REFUSED, 'still one probe at a time');
    assert.equal(breaker.stats().halfOpenInFlight, 1);
    // An early failure says nothing new either; the probe decides.
    breaker.record('failure', 1, early, 0);
    assert.equal(breaker.state, 'half-open');
    breaker.record('success', 1, probe, clock.now());
    assert.equal(breaker.state, 'closed');
  });

  test('a probe ticket of an earlier half-open period is not a probe of this one', () => {
    const { clock, breaker } = setup({ consecutiveFailures: 1, halfOpenProbes: 1 });
    breaker.record('failure', 1, breaker.acquire());
    clock.advance(5000);
    const first = breaker.acquire();
    breaker.record('failure', 1, first);
    assert.equal(breaker.state, 'open', 'the probe failed: open again, for longer');
    clock.advance(10_000);
    const second = breaker.acquire();
    assert.ok(second > first);
    breaker.record('ignored', undefined, first);
    assert.equal(breaker.acquire(), REFUSED);
    breaker.record('ignored', undefined, second);
    assert.notEqual(breaker.acquire(), REFUSED, 'its own slot, freed by its own ticket');
  });

  test('an outage opens it, and one open period later a probe closes it', () => {
    const { clock, breaker } = setup();
    for (let i = 0; i < 10; i++) breaker.record('failure', 1, breaker.acquire(), clock.now());
    assert.equal(breaker.state, 'open');
    clock.advance(3000);
    assert.equal(breaker.acquire(), REFUSED, 'the host recovered at 3 s; still open');
    clock.advance(2000);
    const probe = breaker.acquire();
    breaker.record('success', 1, probe, clock.now());
    assert.equal(breaker.state, 'closed');
  });
});

describe('CircuitBreaker: a run opens it only after a quiet time', () => {
  test('a run of failures right after a success does not open it; the same run later does', () => {
    const clock = new ManualClock({ random: () => 0 });
    const breaker = new CircuitBreaker({ consecutiveFailures: 3 }, { clock });
    breaker.record('success', 1, breaker.acquire(), clock.now());
    clock.advance(10);
    for (let i = 0; i < 5; i++) breaker.record('failure', 1, breaker.acquire(), clock.now());
    assert.equal(breaker.state, 'closed', 'bad luck 10 ms after a success: the host answers');
    assert.equal(breaker.stats().consecutiveFailures, 5);
    clock.advance(990);
    breaker.record('failure', 1, breaker.acquire(), clock.now());
    assert.equal(breaker.state, 'open', 'a run and a second without a success: down');
  });

  test('a host that never answered well opens on the run alone', () => {
    const clock = new ManualClock({ random: () => 0 });
    const breaker = new CircuitBreaker({ consecutiveFailures: 3 }, { clock });
    for (let i = 0; i < 3; i++) breaker.record('failure', 1, breaker.acquire(), clock.now());
    assert.equal(breaker.state, 'open');
  });

  test('a success in between starts the quiet time again', () => {
    const clock = new ManualClock({ random: () => 0 });
    const breaker = new CircuitBreaker({ consecutiveFailures: 2, minOutageMs: 100 }, { clock });
    breaker.record('success', 1, breaker.acquire(), clock.now());
    clock.advance(90);
    breaker.record('failure', 1, breaker.acquire(), clock.now());
    breaker.record('success', 1, breaker.acquire(), clock.now());
    clock.advance(90);
    breaker.record('failure', 1, breaker.acquire(), clock.now());
    breaker.record('failure', 1, breaker.acquire(), clock.now());
    assert.equal(breaker.state, 'closed');
    clock.advance(10);
    breaker.record('failure', 1, breaker.acquire(), clock.now());
    assert.equal(breaker.state, 'open');
  });

  test('minOutageMs is validated', () => {
    assert.throws(() => new CircuitBreaker({ minOutageMs: -1 }), /minOutageMs/);
    assert.throws(() => new CircuitBreaker({ minOutageMs: Number.NaN }), /minOutageMs/);
  });
});
