import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { InvalidRequestError } from '../../src/core/errors.js';
import { HostHealth, type HostHealthConfig } from '../../src/retry/adaptive.js';
import { AdaptiveThrottle, rejectProbability } from '../../src/retry/adaptive-throttle.js';

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

describe('HostHealth', () => {
  function setup(config: Partial<HostHealthConfig> = {}, random = () => 0.5) {
    const clock = new ManualClock({ random });
    return { clock, health: new HostHealth(config, { clock }) };
  }

  test('a host with no data is healthy', () => {
    const { health } = setup();
    assert.equal(health.score, 1);
    assert.equal(health.rejectProbability, 0);
    assert.equal(health.shouldShed(), false);
  });

  test('score is the share of served attempts in the window', () => {
    const { clock, health } = setup();
    for (let i = 0; i < 4; i++) {
      health.recordOutcome(i !== 0);
    }
    assert.equal(health.score, 0.75);
    clock.advance(120_000);
    assert.equal(health.score, 1, 'the window has expired');
  });

  test('latency above the target lowers the score', () => {
    const { clock, health } = setup({ latencyTargetMs: 100 });
    health.recordOutcome(true, 400);
    assert.equal(health.score, 0.25);
    // A fast sample much later dominates the decayed average.
    clock.advance(100_000);
    health.recordOutcome(true, 50);
    assert.equal(health.score, 1);
    assert.ok((health.toJSON().latencyMs ?? 0) < 60);
  });

  test('latency does not count without a target', () => {
    const { health } = setup();
    health.recordOutcome(true, 10_000);
    assert.equal(health.score, 1);
  });

  test('shedding follows the SRE probability over judged and shed requests', () => {
    let draw = 0.5;
    const { health } = setup({}, () => draw);
    for (let i = 0; i < 10; i++) health.recordOutcome(true);
    for (let i = 0; i < 90; i++) health.recordOutcome(false);
    assert.ok(Math.abs(health.rejectProbability - 80 / 101) < 1e-12);
    assert.equal(health.shouldShed(), true);
    draw = 0.8;
    assert.equal(health.shouldShed(), false);
    // A shed request is still a request: the probability rises with it.
    health.recordShed();
    assert.ok(Math.abs(health.rejectProbability - 81 / 102) < 1e-12);
  });

  test('below minRequests nothing is shed, however bad', () => {
    const { health } = setup({}, () => 0);
    for (let i = 0; i < 19; i++) health.recordOutcome(false);
    assert.equal(health.rejectProbability, 0);
    assert.equal(health.shouldShed(), false);
  });

  test('toJSON is a plain snapshot', () => {
    const { health } = setup({ minRequests: 0 });
    health.recordOutcome(false, 20);
    assert.deepEqual(JSON.parse(JSON.stringify(health)), {
      score: 0,
      rejectProbability: 0.5,
      requests: 1,
      accepts: 0,
      failures: 1,
      latencyMs: 20,
    });
  });

  test('validates its config at construction', () => {
    assert.throws(() => new HostHealth({ latencyTargetMs: 0 }), /latencyTargetMs/);
    assert.throws(() => new HostHealth({ latencyDecayMs: -1 }), /latencyDecayMs/);
    assert.throws(
      () => new HostHealth({ tokenRatio: 0.1 } as Partial<HostHealthConfig>),
      /unknown adaptive option "tokenRatio"/,
    );
    assert.throws(() => new HostHealth({ k: 0 }), InvalidRequestError);
  });
});
