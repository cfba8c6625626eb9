import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { InvalidRequestError } from '../../src/core/errors.js';
import {
  type BackendSpec,
  DEFAULT_HEALTH_CHECK,
  DEFAULT_OUTLIER_DETECTION,
  DEFAULT_UPSTREAM_OPTIONS,
  normalizeUpstreamName,
  normalizeUpstreamOptions,
  Upstream,
  type UpstreamOptions,
} from '../../src/pool/upstream/index.js';

function rejects(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidRequestError, `not an InvalidRequestError: ${String(err)}`);
    assert.equal(err.code, 'SENTINEL_INVALID_REQUEST');
    assert.match(err.message, message);
    return true;
  });
}

const probe = () => Promise.resolve(true);

describe('normalizeUpstreamOptions', () => {
  test('defaults: p2c-ewma, no health checks, Envoy outlier detection', () => {
    assert.equal(DEFAULT_UPSTREAM_OPTIONS.strategy, 'p2c-ewma');
    const normalized = normalizeUpstreamOptions();
    assert.equal(normalized.strategy, 'p2c-ewma');
    assert.equal(normalized.healthCheck, undefined);
    assert.deepEqual(normalized.outlierDetection, DEFAULT_OUTLIER_DETECTION);
    assert.ok(Object.isFrozen(normalized));
  });

  test('healthCheck {} turns checks on with the defaults; false keeps them off', () => {
    assert.deepEqual(
      normalizeUpstreamOptions({ healthCheck: {} }).healthCheck,
      DEFAULT_HEALTH_CHECK,
    );
    assert.equal(normalizeUpstreamOptions({ healthCheck: false }).healthCheck, undefined);
  });

  test('outlierDetection false turns ejection off; partial options fill in defaults', () => {
    assert.equal(normalizeUpstreamOptions({ outlierDetection: false }).outlierDetection, undefined);
    assert.deepEqual(
      normalizeUpstreamOptions({ outlierDetection: { consecutiveFailures: 3 } }).outlierDetection,
      { ...DEFAULT_OUTLIER_DETECTION, consecutiveFailures: 3 },
    );
  });

  test('does not mutate its input', () => {
    const input = { strategy: 'round-robin', healthCheck: { path: '/h' } } as const;
    const copy = structuredClone(input);
    normalizeUpstreamOptions(input);
    assert.deepEqual(input, copy);
  });

  const invalid: [name: string, options: unknown, message: RegExp][] = [
    ['not an object', 'fast', /^upstream options must be an object/],
    ['null', null, /^upstream options must be an object/],
    ['an unknown option', { strategyy: 'round-robin' }, /^unknown upstream option strategyy/],
    [
      'an unknown strategy',
      { strategy: 'random' },
      /^strategy must be one of 'round-robin', 'least-connections', 'p2c-ewma', got "random"/,
    ],
    ['healthCheck not an object', { healthCheck: true }, /^healthCheck must be an object/],
    [
      'an unknown healthCheck option',
      { healthCheck: { url: '/' } },
      /^unknown option healthCheck\.url/,
    ],
    [
      'a relative health path',
      { healthCheck: { path: 'health' } },
      /^healthCheck\.path must be a path/,
    ],
    ['an absolute health URL', { healthCheck: { path: 'http://x/h' } }, /^healthCheck\.path/],
    ['a health path with a space', { healthCheck: { path: '/a b' } }, /^healthCheck\.path/],
    [
      'intervalMs 0',
      { healthCheck: { intervalMs: 0 } },
      /^healthCheck\.intervalMs must be a finite number > 0/,
    ],
    ['intervalMs Infinity', { healthCheck: { intervalMs: Infinity } }, /^healthCheck\.intervalMs/],
    [
      'intervalMs too long for a timer',
      { healthCheck: { intervalMs: 2 ** 31 } },
      /^healthCheck\.intervalMs must be at most/,
    ],
    ['timeoutMs negative', { healthCheck: { timeoutMs: -1 } }, /^healthCheck\.timeoutMs/],
    ['timeoutMs NaN', { healthCheck: { timeoutMs: Number.NaN } }, /^healthCheck\.timeoutMs/],
    [
      'healthyThreshold 0',
      { healthCheck: { healthyThreshold: 0 } },
      /^healthCheck\.healthyThreshold must be an integer >= 1/,
    ],
    [
      'healthyThreshold 1.5',
      { healthCheck: { healthyThreshold: 1.5 } },
      /^healthCheck\.healthyThreshold/,
    ],
    [
      'unhealthyThreshold text',
      { healthCheck: { unhealthyThreshold: '3' } },
      /^healthCheck\.unhealthyThreshold/,
    ],
    [
      'outlierDetection not an object',
      { outlierDetection: true },
      /^outlierDetection must be an object/,
    ],
    [
      'an unknown outlier option',
      { outlierDetection: { consecutive5xx: 5 } },
      /^unknown option outlierDetection\.consecutive5xx/,
    ],
    [
      'consecutiveFailures 0',
      { outlierDetection: { consecutiveFailures: 0 } },
      /^outlierDetection\.consecutiveFailures must be an integer >= 1/,
    ],
    [
      'baseEjectionTimeMs 0',
      { outlierDetection: { baseEjectionTimeMs: 0 } },
      /^outlierDetection\.baseEjectionTimeMs/,
    ],
    [
      'maxEjectionTimeMs below base',
      { outlierDetection: { maxEjectionTimeMs: 1_000 } },
      /^outlierDetection\.maxEjectionTimeMs \(1000\) must be >= baseEjectionTimeMs/,
    ],
    [
      'maxEjectionPercent 101',
      { outlierDetection: { maxEjectionPercent: 101 } },
      /^outlierDetection\.maxEjectionPercent must be a number in \[0, 100\]/,
    ],
    ['intervalMs -5', { outlierDetection: { intervalMs: -5 } }, /^outlierDetection\.intervalMs/],
    [
      'panicThresholdPercent -1',
      { outlierDetection: { panicThresholdPercent: -1 } },
      /^outlierDetection\.panicThresholdPercent/,
    ],
  ];
  for (const [name, options, message] of invalid) {
    test(`rejects ${name}`, () => {
      rejects(() => normalizeUpstreamOptions(options as Partial<UpstreamOptions>), message);
    });
  }
});

describe('normalizeUpstreamName', () => {
  const valid: [string, string][] = [
    ['api', 'api'],
    ['API-Backends', 'api-backends'],
    ['svc_1.internal', 'svc_1.internal'],
    ['1abc', '1abc'],
  ];
  for (const [name, expected] of valid) {
    test(`accepts ${JSON.stringify(name)}`, () =>
      assert.equal(normalizeUpstreamName(name), expected));
  }
  const invalid: unknown[] = [
    '',
    'a b',
    'svc.1',
    '10.0.0.1',
    '0x10',
    'http://api',
    'api:8080',
    'a/b',
    'a..b',
    '.a',
    'x'.repeat(254),
    42,
    undefined,
  ];
  for (const name of invalid) {
    test(`rejects ${JSON.stringify(name) ?? String(name)}`, () => {
      rejects(() => normalizeUpstreamName(name), /^upstream name must be a host name/);
    });
  }
});

describe('new Upstream validation', () => {
  const make =
    (backends: unknown, options: unknown = {}) =>
    () =>
      new Upstream('api', backends as BackendSpec[], options as Partial<UpstreamOptions>, {
        clock: new ManualClock(),
        probe,
      });

  test('an empty backend list', () => {
    rejects(make([]), /^backends must be a non-empty array/);
  });

  test('backends not an array', () => {
    rejects(make('http://a.test'), /^backends must be a non-empty array/);
  });

  test('a bad origin names its index', () => {
    rejects(make(['http://a.test', 'a.test:80']), /^backends\[1\] must be an origin/);
    rejects(make(['http://a.test', 'http://b.test/x']), /^backends\[1\] must be an origin without/);
    rejects(make([{ origin: 7 }]), /^backends\[0\]\.origin must be an origin/);
  });

  test('a bad weight names its index', () => {
    rejects(
      make(['http://a.test', { origin: 'http://b.test', weight: 0 }]),
      /^backends\[1\]\.weight must be a finite number > 0, got 0/,
    );
    rejects(make([{ origin: 'http://b.test', weight: Infinity }]), /^backends\[0\]\.weight/);
  });

  test('the same origin twice', () => {
    rejects(
      make(['http://a.test:80', 'http://A.test']),
      /^backends\[1\] repeats http:\/\/a\.test; give it a weight/,
    );
  });

  test('a bad option or name', () => {
    rejects(make(['http://a.test'], { strategy: 'fastest' }), /^strategy must be one of/);
    rejects(
      make(['http://a.test'], { healthCheck: { intervalMs: 0 } }),
      /^healthCheck\.intervalMs/,
    );
    rejects(() => new Upstream('a b', ['http://a.test']), /^upstream name/);
  });

  test('a valid upstream keeps the order, weights and normalised name', () => {
    const upstream = new Upstream(
      'API',
      ['http://a.test', { origin: 'https://b.test', weight: 3 }],
      {
        strategy: 'least-connections',
      },
    );
    assert.equal(upstream.name, 'api');
    assert.equal(upstream.strategy, 'least-connections');
    assert.deepEqual(
      upstream.backends.map((b) => [b.origin.origin, b.weight]),
      [
        ['http://a.test', 1],
        ['https://b.test', 3],
      ],
    );
    assert.ok(Object.isFrozen(upstream.backends));
    upstream.close();
  });
});
