import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../../src/core/clock.js';
import {
  Backend,
  type Balancer,
  createBalancer,
  LeastConnectionsBalancer,
  MAX_EFFORT,
  P2cEwmaBalancer,
  RoundRobinBalancer,
  STRATEGIES,
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

/** Backends named a, b, c… with the given weights. */
function make(weights: readonly number[], clock = new ManualClock()): Backend[] {
  return weights.map(
    (weight, i) =>
      new Backend({ origin: `http://${String.fromCharCode(97 + i)}.test`, weight }, clock),
  );
}

function letter(b: Backend | undefined): string {
  return b === undefined ? '-' : b.origin.hostname[0]!;
}

const all = (_b: Backend): boolean => true;

function sequence(balancer: Balancer, backends: Backend[], n: number, usable = all): string {
  let out = '';
  for (let i = 0; i < n; i++) out += letter(balancer.pick(backends, usable));
  return out;
}

function counts(balancer: Balancer, backends: Backend[], n: number): number[] {
  const result = backends.map(() => 0);
  for (let i = 0; i < n; i++) result[backends.indexOf(balancer.pick(backends, all)!)]!++;
  return result;
}

describe('round-robin (smooth weighted)', () => {
  const table: [weights: number[], picks: number, expected: string][] = [
    [[1, 1, 1], 6, 'abcabc'],
    [[5, 1, 1], 7, 'aabacaa'],
    [[2, 1], 6, 'abaaba'],
    [[1, 2], 6, 'babbab'],
    [[1], 3, 'aaa'],
  ];
  for (const [weights, picks, expected] of table) {
    test(`weights ${weights.join(':')} -> ${expected}`, () => {
      assert.equal(sequence(new RoundRobinBalancer(), make(weights), picks), expected);
    });
  }

  const proportions: number[][] = [
    [1, 1, 1],
    [5, 1, 1],
    [3, 2],
    [10, 1],
    [4, 3, 2, 1],
    [7, 7, 1],
  ];
  for (const weights of proportions) {
    test(`weights ${weights.join(':')}: exact proportions over each of 3 cycles`, () => {
      const backends = make(weights);
      const rr = new RoundRobinBalancer();
      const cycle = weights.reduce((a, b) => a + b, 0);
      for (let round = 0; round < 3; round++) {
        assert.deepEqual(counts(rr, backends, cycle), weights);
      }
    });
  }

  test('an unusable backend is skipped and the rest keep their proportions', () => {
    const backends = make([1, 1, 1]);
    const rr = new RoundRobinBalancer();
    const notB = (b: Backend) => b !== backends[1];
    assert.equal(sequence(rr, backends, 6, notB), 'acacac');
  });

  test('nothing usable or nothing at all -> undefined', () => {
    const rr = new RoundRobinBalancer();
    assert.equal(
      rr.pick(make([1, 2]), () => false),
      undefined,
    );
    assert.equal(rr.pick([], all), undefined);
  });

  test('property: exact proportions for any integer weights', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 6 }), (w) => {
        const rr = new RoundRobinBalancer();
        const backends = make(w);
        const cycle = w.reduce((a, b) => a + b, 0);
        assert.deepEqual(counts(rr, backends, cycle), w);
        assert.deepEqual(counts(rr, backends, cycle), w);
      }),
    );
  });
});

describe('least-connections (weighted)', () => {
  function loaded(spec: [weight: number, inFlight: number][]): Backend[] {
    const backends = make(spec.map(([w]) => w));
    spec.forEach(([, inFlight], i) => {
      for (let k = 0; k < inFlight; k++) backends[i]!.onStart();
    });
    return backends;
  }
  const table: [name: string, spec: [number, number][], expected: string][] = [
    [
      'fewest in flight',
      [
        [1, 3],
        [1, 1],
        [1, 2],
      ],
      'b',
    ],
    [
      'idle beats busy',
      [
        [1, 1],
        [1, 0],
      ],
      'b',
    ],
    [
      'idle: the heavier backend',
      [
        [1, 0],
        [2, 0],
      ],
      'b',
    ],
    [
      'per unit of weight',
      [
        [1, 1],
        [3, 2],
      ],
      'b',
    ],
    [
      'busy heavy vs idle light',
      [
        [1, 0],
        [4, 4],
      ],
      'a',
    ],
    ['a single backend', [[1, 9]], 'a'],
  ];
  for (const [name, spec, expected] of table) {
    test(`${name} -> ${expected}`, () => {
      const lc = new LeastConnectionsBalancer(seeded(1));
      assert.equal(letter(lc.pick(loaded(spec), all)), expected);
    });
  }

  test('skips unusable backends even when they are least loaded', () => {
    const backends = loaded([
      [1, 0],
      [1, 5],
      [1, 2],
    ]);
    const lc = new LeastConnectionsBalancer(seeded(1));
    assert.equal(letter(lc.pick(backends, (b) => b !== backends[0])), 'c');
    assert.equal(
      lc.pick(backends, () => false),
      undefined,
    );
  });

  test('ties are broken at random, evenly', () => {
    const backends = loaded([
      [1, 2],
      [1, 0],
      [1, 0],
      [1, 0],
    ]);
    const lc = new LeastConnectionsBalancer(seeded(7));
    const hits = [0, 0, 0, 0];
    for (let i = 0; i < 3000; i++) hits[backends.indexOf(lc.pick(backends, all)!)]!++;
    assert.equal(hits[0], 0);
    for (const n of hits.slice(1)) assert.ok(n > 900 && n < 1100, `uneven ties: ${hits}`);
  });

  test('spreads sequential in-flight requests in proportion to weight', () => {
    const backends = make([1, 3]);
    const lc = new LeastConnectionsBalancer(seeded(3));
    for (let i = 0; i < 8; i++) lc.pick(backends, all)!.onStart();
    assert.deepEqual(
      backends.map((b) => b.inFlight),
      [2, 6],
    );
  });
});

describe('p2c-ewma', () => {
  test('of two backends, always the lower load', () => {
    const clock = new ManualClock();
    const [a, b] = make([1, 1], clock) as [Backend, Backend];
    a.onEnd(true, 50);
    b.onEnd(true, 10);
    const p2c = new P2cEwmaBalancer(seeded(5));
    for (let i = 0; i < 100; i++) assert.equal(p2c.pick([a, b], all), b);
    for (let i = 0; i < 6; i++) b.onStart(); // 10 × 7 > 50 × 1
    assert.equal(p2c.pick([a, b], all), a);
  });

  test('weight divides the load', () => {
    const clock = new ManualClock();
    const [a, b] = make([1, 4], clock) as [Backend, Backend];
    a.onEnd(true, 10);
    b.onEnd(true, 30);
    assert.equal(new P2cEwmaBalancer(seeded(1)).pick([a, b], all), b);
  });

  test('an unusable member of the pair yields to the other', () => {
    const backends = make([1, 1]);
    backends[0]!.onEnd(true, 1);
    backends[1]!.onEnd(true, 100);
    const p2c = new P2cEwmaBalancer(seeded(1));
    assert.equal(
      p2c.pick(backends, (b) => b === backends[1]),
      backends[1],
    );
  });

  test(`after ${MAX_EFFORT} pairs with nothing usable, a scan finds the one usable backend`, () => {
    const backends = make(Array.from({ length: 10 }, () => 1));
    let draws = 0;
    // Always draws the pair (a, b), which is unusable.
    const p2c = new P2cEwmaBalancer(() => {
      draws++;
      return 0;
    });
    assert.equal(
      p2c.pick(backends, (b) => b === backends[7]),
      backends[7],
    );
    assert.equal(draws, 2 * MAX_EFFORT);
  });

  test('a single backend, none, or nothing usable', () => {
    const p2c = new P2cEwmaBalancer(seeded(1));
    const [only] = make([1]) as [Backend];
    assert.equal(p2c.pick([only], all), only);
    assert.equal(
      p2c.pick([only], () => false),
      undefined,
    );
    assert.equal(p2c.pick([], all), undefined);
    assert.equal(
      p2c.pick(make([1, 1, 1]), () => false),
      undefined,
    );
  });

  test('a draw of exactly 1 from a bad random source stays in range', () => {
    const backends = make([1, 1, 1]);
    assert.ok(backends.includes(new P2cEwmaBalancer(() => 1).pick(backends, all)!));
  });

  test('property: the pair is always two distinct backends', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 20 }),
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
          minLength: 2,
          maxLength: 2,
        }),
        (n, draws) => {
          const backends = make(Array.from({ length: n }, () => 1));
          let k = 0;
          const seen: Backend[] = [];
          new P2cEwmaBalancer(() => draws[k++ % 2]!).pick(backends, (b) => {
            seen.push(b);
            return true;
          });
          assert.equal(seen.length, 2);
          assert.notEqual(seen[0], seen[1]);
        },
      ),
    );
  });

  /**
   * Requests arrive one per ms and complete after their backend's RTT on a manual clock,
   * so in-flight counts and EWMA decay behave as under real load, deterministically.
   */
  function simulate(rtts: number[], seed: number, picks: number): number[] {
    const clock = new ManualClock();
    const backends = make(
      rtts.map(() => 1),
      clock,
    );
    const p2c = new P2cEwmaBalancer(seeded(seed));
    const hits = rtts.map(() => 0);
    for (let k = 0; k < picks; k++) {
      const b = p2c.pick(backends, all)!;
      const i = backends.indexOf(b);
      hits[i]!++;
      b.onStart();
      clock.setTimeout(() => b.onEnd(true, rtts[i]!), rtts[i]!);
      clock.advance(1);
    }
    return hits;
  }

  for (const seed of [1, 2, 3]) {
    test(`prefers the fastest of three by a wide margin over 10 000 picks (seed ${seed})`, () => {
      const [fast, medium, slow] = simulate([5, 20, 100], seed, 10_000) as [number, number, number];
      // A fair share would be 3 333 each; P2C wins every pair the fast one is drawn into.
      assert.ok(fast > 6_000, `fast ${fast}`);
      assert.ok(medium > slow * 5, `medium ${medium}, slow ${slow}`);
      assert.ok(slow < 400, `slow ${slow}`);
    });
  }

  test('of two, the slow backend only takes the overflow', () => {
    const [fast, slow] = simulate([10, 100], 11, 10_000) as [number, number];
    // Load is cost × (pending + 1): with ~10 requests out, 10 ms × 11 tops 100 ms × 1,
    // so the slow backend still takes an occasional request instead of a queue forming.
    assert.ok(fast > 9_500, `fast ${fast}, slow ${slow}`);
    assert.ok(slow > 0, 'load, not latency alone, decides');
  });

  test('a slow backend not sampled for a while decays and is tried again', () => {
    const clock = new ManualClock();
    const [fast, slow] = make([1, 1], clock) as [Backend, Backend];
    slow.onEnd(true, 1_000);
    const p2c = new P2cEwmaBalancer(seeded(9));
    let firstSlowPick: number | undefined;
    // The fast backend keeps being sampled at 10 ms; the slow one's 1 s peak decays as
    // e^(-t/10 s) and drops below 10 ms after 10 s × ln(100) ≈ 46 s.
    for (let t = 0; t < 60_000 && firstSlowPick === undefined; t += 100) {
      const b = p2c.pick([fast, slow], all)!;
      if (b === slow) firstSlowPick = clock.now();
      b.onStart();
      b.onEnd(true, b === fast ? 10 : 1_000);
      clock.advance(100);
    }
    assert.ok(firstSlowPick !== undefined, 'the slow backend was never retried');
    assert.ok(firstSlowPick > 45_000 && firstSlowPick < 47_000, `retried at ${firstSlowPick}`);
  });
});

describe('every strategy (properties)', () => {
  const world = fc.record({
    backends: fc.array(
      fc.record({
        weight: fc.double({ min: 0.01, max: 100, noNaN: true }),
        inFlight: fc.integer({ min: 0, max: 20 }),
        rtt: fc.option(fc.double({ min: 0.1, max: 5_000, noNaN: true })),
        usable: fc.boolean(),
      }),
      { minLength: 0, maxLength: 12 },
    ),
    seed: fc.integer(),
    picks: fc.integer({ min: 1, max: 30 }),
  });

  for (const strategy of STRATEGIES) {
    test(`${strategy}: a pick is a usable backend whenever one exists, else undefined`, () => {
      fc.assert(
        fc.property(world, ({ backends: specs, seed, picks }) => {
          const clock = new ManualClock();
          const backends = make(
            specs.map((s) => s.weight),
            clock,
          );
          specs.forEach((s, i) => {
            const b = backends[i]!;
            if (s.rtt !== null) b.onEnd(true, s.rtt);
            for (let k = 0; k < s.inFlight; k++) b.onStart();
          });
          const usable = new Set(backends.filter((_, i) => specs[i]!.usable));
          const balancer = createBalancer(strategy, seeded(seed));
          for (let k = 0; k < picks; k++) {
            const picked = balancer.pick(backends, (b) => usable.has(b));
            if (usable.size === 0) assert.equal(picked, undefined);
            else assert.ok(picked !== undefined && usable.has(picked));
            picked?.onStart();
            clock.advance(1);
          }
        }),
      );
    });
  }
});
