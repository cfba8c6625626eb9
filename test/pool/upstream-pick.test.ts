import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../../src/core/clock.js';
import { ConnectionError, PoolClosedError } from '../../src/core/errors.js';
import {
  Backend,
  type BackendSpec,
  STRATEGIES,
  type Strategy,
  Upstream,
  type UpstreamOptions,
} from '../../src/pool/upstream/index.js';

/** mulberry32: a seeded PRNG, so "random" picks are the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WALL = 1_700_000_000_000;

function setup(backends: readonly BackendSpec[], options: Partial<UpstreamOptions> = {}, seed = 1) {
  const clock = new ManualClock({ wallNow: WALL, random: seeded(seed) });
  return { clock, upstream: new Upstream('api', backends, options, { clock }) };
}

describe('Upstream pick / record / cancel', () => {
  test('the default strategy is p2c-ewma', () => {
    const { upstream } = setup(['http://a.test']);
    assert.equal(upstream.strategy, 'p2c-ewma');
    assert.equal(upstream.stats().strategy, 'p2c-ewma');
  });

  test('pick counts in flight; record and cancel end it', () => {
    const { upstream } = setup(['http://a.test']);
    const a = upstream.pick();
    const b = upstream.pick();
    assert.equal(a, b);
    assert.equal(a.inFlight, 2);
    upstream.record(a, true, 12);
    upstream.cancel(b);
    assert.equal(a.inFlight, 0);
    assert.equal(upstream.stats().backends[0]!.ewmaMs, 12);
  });

  test('a cancel neither ejects nor moves the latency estimate', () => {
    const { upstream } = setup(['http://a.test', 'http://b.test']);
    const a = upstream.backends[0]!;
    upstream.record(a, true, 50);
    for (let i = 0; i < 10; i++) {
      a.onStart();
      upstream.cancel(a);
    }
    assert.equal(a.isEjected(), false);
    assert.equal(a.ewma(), 50);
  });

  test('record and cancel refuse a backend of another upstream', () => {
    const { upstream } = setup(['http://a.test']);
    const stranger = new Backend('http://a.test');
    assert.throws(() => upstream.record(stranger, true, 1), TypeError);
    assert.throws(() => upstream.cancel(stranger), TypeError);
  });

  test('round-robin through the upstream honours weights', () => {
    const { upstream } = setup(
      [
        { origin: 'http://a.test', weight: 3 },
        { origin: 'http://b.test', weight: 1 },
      ],
      { strategy: 'round-robin' },
    );
    const hits = new Map<string, number>();
    for (let i = 0; i < 400; i++) {
      const b = upstream.pick();
      hits.set(b.origin.hostname, (hits.get(b.origin.hostname) ?? 0) + 1);
      upstream.record(b, true, 1);
    }
    assert.deepEqual(Object.fromEntries(hits), { 'a.test': 300, 'b.test': 100 });
  });

  test('least-connections through the upstream spreads concurrent requests', () => {
    const { upstream } = setup(['http://a.test', 'http://b.test', 'http://c.test'], {
      strategy: 'least-connections',
    });
    for (let i = 0; i < 9; i++) upstream.pick();
    assert.deepEqual(
      upstream.stats().backends.map((b) => b.inFlight),
      [3, 3, 3],
    );
  });

  test('p2c-ewma through the upstream avoids a slow backend', () => {
    const { clock, upstream } = setup(['http://fast.test', 'http://slow.test'], {}, 4);
    const rtt = (b: Backend) => (b.origin.hostname === 'fast.test' ? 5 : 200);
    let slow = 0;
    for (let i = 0; i < 1_000; i++) {
      const b = upstream.pick();
      if (rtt(b) === 200) slow++;
      upstream.record(b, true, rtt(b));
      clock.advance(10);
    }
    assert.ok(slow < 20, `slow picked ${slow} times`);
  });

  test('close() refuses picks with PoolClosedError; late records are still accepted', () => {
    const { upstream } = setup(['http://a.test']);
    const b = upstream.pick();
    upstream.close();
    assert.equal(upstream.closed, true);
    assert.throws(
      () => upstream.pick(),
      (err: unknown) =>
        err instanceof PoolClosedError &&
        err.code === 'SENTINEL_POOL_CLOSED' &&
        /upstream api is closed/.test(err.message),
    );
    upstream.record(b, true, 3);
    assert.equal(upstream.stats().backends[0]!.inFlight, 0);
  });
});

describe('Upstream stats', () => {
  test('a fresh upstream', () => {
    const { upstream } = setup(['http://a.test:8080', { origin: 'https://b.test', weight: 2 }]);
    assert.deepEqual(upstream.stats(), {
      name: 'api',
      strategy: 'p2c-ewma',
      panic: false,
      backends: [
        {
          origin: 'http://a.test:8080',
          weight: 1,
          inFlight: 0,
          ewmaMs: 0,
          ejected: false,
          ejectedUntil: null,
          timesEjected: 0,
          healthy: true,
        },
        {
          origin: 'https://b.test',
          weight: 2,
          inFlight: 0,
          ewmaMs: 0,
          ejected: false,
          ejectedUntil: null,
          timesEjected: 0,
          healthy: true,
        },
      ],
    });
  });

  test('after traffic, an ejection and time: plain JSON with epoch ejectedUntil', () => {
    const { clock, upstream } = setup(['http://a.test', 'http://b.test']);
    const [a, b] = upstream.backends as [Backend, Backend];
    upstream.record(a, true, 40);
    clock.advance(1_000);
    for (let i = 0; i < 5; i++) upstream.record(b, false, 2);
    b.onStart();
    const stats = upstream.stats();
    assert.deepEqual(JSON.parse(JSON.stringify(stats)), stats);
    const [sa, sb] = stats.backends as [(typeof stats.backends)[0], (typeof stats.backends)[0]];
    assert.ok(Math.abs(sa.ewmaMs - 40 * Math.exp(-0.1)) < 1e-9);
    assert.equal(sb.ejected, true);
    assert.equal(sb.ejectedUntil, WALL + 1_000 + 30_000);
    assert.equal(sb.timesEjected, 1);
    assert.equal(sb.inFlight, 1);
    assert.equal(sb.ewmaMs, 2);
  });
});

describe('Upstream properties', () => {
  type Op =
    | { op: 'pick' }
    | { op: 'end'; which: number; success: boolean; rtt: number }
    | { op: 'cancel'; which: number }
    | { op: 'advance'; ms: number }
    | { op: 'health'; backend: number; healthy: boolean };

  const op: fc.Arbitrary<Op> = fc.oneof(
    { arbitrary: fc.constant({ op: 'pick' as const }), weight: 4 },
    {
      arbitrary: fc.record({
        op: fc.constant('end' as const),
        which: fc.nat(),
        success: fc.boolean(),
        rtt: fc.double({ min: 0, max: 2_000, noNaN: true }),
      }),
      weight: 4,
    },
    { arbitrary: fc.record({ op: fc.constant('cancel' as const), which: fc.nat() }), weight: 1 },
    {
      arbitrary: fc.record({
        op: fc.constant('advance' as const),
        ms: fc.integer({ min: 0, max: 60_000 }),
      }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        op: fc.constant('health' as const),
        backend: fc.nat(),
        healthy: fc.boolean(),
      }),
      weight: 1,
    },
  );

  test('a pick is never unhealthy, never ejected outside panic; ejections stay within the cap; in-flight adds up', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<Strategy>(...STRATEGIES),
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer(),
        fc.array(op, { maxLength: 200 }),
        (strategy, weights, consecutiveFailures, maxEjectionPercent, seed, ops) => {
          const { clock, upstream } = setup(
            weights.map((weight, i) => ({ origin: `http://b${i}.test`, weight })),
            { strategy, outlierDetection: { consecutiveFailures, maxEjectionPercent } },
            seed,
          );
          const backends = upstream.backends;
          const cap = Math.max(1, Math.floor((maxEjectionPercent * backends.length) / 100));
          const out: Backend[] = [];
          for (const o of ops) {
            switch (o.op) {
              case 'pick': {
                const anyHealthy = backends.some((b) => b.healthy);
                if (!anyHealthy) {
                  assert.throws(() => upstream.pick(), ConnectionError);
                  break;
                }
                const panic = upstream.inPanic();
                const b = upstream.pick();
                assert.ok(b.healthy, 'picked an unhealthy backend');
                if (!panic) assert.ok(!b.isEjected(), 'picked an ejected backend outside panic');
                out.push(b);
                break;
              }
              case 'end':
              case 'cancel': {
                if (out.length === 0) break;
                const [b] = out.splice(o.which % out.length, 1) as [Backend];
                if (o.op === 'end') upstream.record(b, o.success, o.rtt);
                else upstream.cancel(b);
                break;
              }
              case 'advance':
                clock.advance(o.ms);
                break;
              case 'health':
                backends[o.backend % backends.length]!.health = {
                  healthy: o.healthy,
                  streak: 0,
                };
                break;
            }
            const ejected = backends.filter((b) => b.isEjected()).length;
            assert.ok(ejected <= cap, `${ejected} ejected, cap ${cap}`);
            for (const b of backends) {
              assert.equal(b.inFlight, out.filter((x) => x === b).length);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
