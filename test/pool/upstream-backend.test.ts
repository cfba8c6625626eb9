import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { InvalidRequestError } from '../../src/core/errors.js';
import {
  Backend,
  type BackendSpec,
  parseBackendSpec,
  UNSAMPLED_PENALTY,
} from '../../src/pool/upstream/index.js';

const TAU = 10_000;

describe('parseBackendSpec', () => {
  const valid: [BackendSpec, origin: string, key: string, weight: number][] = [
    ['http://10.0.0.1:8080', 'http://10.0.0.1:8080', '10.0.0.1:8080', 1],
    ['http://10.0.0.1:8080/', 'http://10.0.0.1:8080', '10.0.0.1:8080', 1],
    ['https://API.example.com', 'https://api.example.com', 'api.example.com:443', 1],
    ['http://[::1]:9000', 'http://[::1]:9000', '[::1]:9000', 1],
    [new URL('http://a.test:81'), 'http://a.test:81', 'a.test:81', 1],
    [{ origin: 'http://a.test:81', weight: 3 }, 'http://a.test:81', 'a.test:81', 3],
    [{ origin: 'http://a.test:81', weight: 0.5 }, 'http://a.test:81', 'a.test:81', 0.5],
    [{ origin: 'http://a.test:81' }, 'http://a.test:81', 'a.test:81', 1],
  ];
  for (const [spec, origin, key, weight] of valid) {
    test(`accepts ${JSON.stringify(spec)}`, () => {
      const parsed = parseBackendSpec(spec);
      assert.equal(parsed.origin.origin, origin);
      assert.equal(parsed.origin.key, key);
      assert.equal(parsed.weight, weight);
    });
  }

  const invalid: [name: string, spec: unknown, message: RegExp][] = [
    ['no scheme', '10.0.0.1:8080', /^backends\[2\] must be an origin/],
    ['not a URL', 'not a url', /^backends\[2\] must be an origin/],
    ['ftp', 'ftp://a.test', /^backends\[2\] is not a valid origin/],
    ['a path', 'http://a.test/api', /^backends\[2\] must be an origin without .*path/],
    ['a query', 'http://a.test?x=1', /^backends\[2\] must be an origin without/],
    ['a fragment', 'http://a.test#x', /^backends\[2\] must be an origin without/],
    ['credentials', 'http://u:p@a.test', /^backends\[2\] must be an origin without credentials/],
    ['a number', 42, /^backends\[2\] must be an origin/],
    ['null', null, /^backends\[2\] must be an origin/],
    ['an object without origin', { weight: 2 }, /^backends\[2\]\.origin must be an origin/],
    ['weight 0', { origin: 'http://a.test', weight: 0 }, /^backends\[2\]\.weight must be/],
    ['weight -1', { origin: 'http://a.test', weight: -1 }, /^backends\[2\]\.weight must be/],
    ['weight NaN', { origin: 'http://a.test', weight: Number.NaN }, /\.weight must be/],
    ['weight Infinity', { origin: 'http://a.test', weight: Infinity }, /\.weight must be/],
    ['weight as text', { origin: 'http://a.test', weight: '2' }, /\.weight must be/],
  ];
  for (const [name, spec, message] of invalid) {
    test(`rejects ${name}`, () => {
      assert.throws(
        () => parseBackendSpec(spec as BackendSpec, 'backends[2]'),
        (err: unknown) =>
          err instanceof InvalidRequestError &&
          err.code === 'SENTINEL_INVALID_REQUEST' &&
          message.test(err.message),
      );
    });
  }
});

describe('Backend in-flight and failures', () => {
  test('onStart/onEnd/onCancel count in-flight, never below 0', () => {
    const b = new Backend('http://a.test', new ManualClock());
    b.onStart();
    b.onStart();
    assert.equal(b.inFlight, 2);
    b.onEnd(true, 5);
    b.onCancel();
    assert.equal(b.inFlight, 0);
    b.onEnd(true, 5);
    b.onCancel();
    assert.equal(b.inFlight, 0);
  });

  test('failures run until a success; a cancel does not touch the run', () => {
    const b = new Backend('http://a.test', new ManualClock());
    for (let i = 0; i < 3; i++) b.onEnd(false, 1);
    b.onCancel();
    assert.equal(b.consecutiveFailures, 3);
    b.onEnd(true, 1);
    assert.equal(b.consecutiveFailures, 0);
  });

  test('eject() sets the deadline and level, counts, and clears the run of failures', () => {
    const clock = new ManualClock();
    const b = new Backend('http://a.test', clock);
    for (let i = 0; i < 5; i++) b.onEnd(false, 1);
    assert.equal(b.isEjected(), false);
    b.eject(30_000, 1);
    assert.equal(b.isEjected(), true);
    assert.equal(b.consecutiveFailures, 0);
    assert.equal(b.timesEjected, 1);
    assert.equal(b.ejectionLevel, 1);
    clock.advance(29_999);
    assert.equal(b.isEjected(), true);
    clock.advance(1);
    assert.equal(b.isEjected(), false);
  });
});

describe('Backend peak EWMA', () => {
  test('the first sample sets the cost', () => {
    const b = new Backend('http://a.test', new ManualClock());
    assert.equal(b.ewma(), 0);
    b.onEnd(true, 40);
    assert.equal(b.ewma(), 40);
  });

  test('a peak replaces the cost at once', () => {
    const clock = new ManualClock();
    const b = new Backend('http://a.test', clock);
    b.onEnd(true, 10);
    clock.advance(1);
    b.onEnd(true, 500);
    assert.equal(b.ewma(), 500);
  });

  test('a lower sample blends with weight e^(-Δt/τ)', () => {
    const clock = new ManualClock();
    const b = new Backend('http://a.test', clock);
    b.onEnd(true, 100);
    clock.advance(5_000);
    b.onEnd(true, 20);
    const w = Math.exp(-5_000 / TAU);
    assert.ok(Math.abs(b.ewma() - (100 * w + 20 * (1 - w))) < 1e-9);
  });

  test('samples close together barely move the cost down: recovery is cautious', () => {
    const clock = new ManualClock();
    const b = new Backend('http://a.test', clock);
    b.onEnd(true, 1000);
    for (let i = 0; i < 10; i++) {
      clock.advance(10);
      b.onEnd(true, 10);
    }
    assert.ok(b.ewma() > 980, `ewma ${b.ewma()}`);
  });

  test('without samples the cost decays with the clock', () => {
    const clock = new ManualClock();
    const b = new Backend('http://a.test', clock);
    b.onEnd(true, 100);
    clock.advance(TAU);
    assert.ok(Math.abs(b.ewma() - 100 / Math.E) < 1e-9);
    clock.advance(2 * TAU);
    assert.ok(Math.abs(b.ewma() - 100 * Math.exp(-3)) < 1e-9);
  });

  test('the decay constant is injectable', () => {
    const clock = new ManualClock();
    const b = new Backend('http://a.test', clock, 1_000);
    b.onEnd(true, 100);
    clock.advance(1_000);
    assert.ok(Math.abs(b.ewma() - 100 / Math.E) < 1e-9);
  });

  test('a fast failure does not lower the cost; a slow one raises it', () => {
    const clock = new ManualClock();
    const b = new Backend('http://a.test', clock);
    b.onEnd(true, 100);
    clock.advance(1);
    b.onEnd(false, 1);
    assert.ok(b.ewma() > 99.9);
    b.onEnd(false, 700);
    assert.equal(b.ewma(), 700);
  });

  test('a negative or non-finite RTT counts as 0', () => {
    const clock = new ManualClock();
    const b = new Backend('http://a.test', clock);
    b.onEnd(true, Number.NaN);
    b.onEnd(true, -5);
    assert.equal(b.ewma(), 0);
  });
});

describe('Backend load', () => {
  test('is ewma × (inFlight + 1) / weight', () => {
    const clock = new ManualClock();
    const b = new Backend({ origin: 'http://a.test', weight: 2 }, clock);
    b.onStart();
    b.onEnd(true, 30);
    b.onStart();
    b.onStart();
    assert.equal(b.load(), (30 * 3) / 2);
  });

  test('an idle, unsampled backend has load 0: it gets a first request', () => {
    const b = new Backend('http://a.test', new ManualClock());
    assert.equal(b.load(), 0);
  });

  test('an unsampled backend with requests out gets the penalty plus its pending count', () => {
    const b = new Backend('http://a.test', new ManualClock());
    b.onStart();
    b.onStart();
    assert.equal(b.load(), UNSAMPLED_PENALTY + 2);
    const measured = new Backend('http://b.test', new ManualClock());
    measured.onEnd(true, 60_000);
    for (let i = 0; i < 1000; i++) measured.onStart();
    assert.ok(measured.load() < b.load(), 'even a slow, busy measured backend is preferred');
  });
});

test('a decay constant that is not > 0 is refused', () => {
  for (const decayMs of [0, -1, Number.NaN]) {
    assert.throws(
      () => new Backend('http://a.test', new ManualClock(), decayMs),
      /^InvalidRequestError: decayMs/,
    );
  }
});
