import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
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
  type AttemptEnd,
  classify,
  type OutcomeKind,
  outcomeKind,
  VERDICTS,
  type Verdict,
} from '../../src/core/outcome.js';

const http = (status: number) => new HttpStatusError({ status, statusText: '', url: 'u' });
const reset = (beforeResponse: boolean) =>
  new ConnectionError('reset', { errno: 'ECONNRESET', beforeResponse });

describe('outcomeKind: every way an attempt can end', () => {
  const table: [name: string, end: AttemptEnd, kind: OutcomeKind][] = [
    ['200', { status: 200 }, 'ok'],
    ['302', { status: 302 }, 'ok'],
    ['nothing known', {}, 'ok'],
    ['404', { status: 404 }, 'client-error'],
    ['408', { status: 408 }, 'client-error'],
    ['429', { status: 429 }, 'throttled'],
    ['500', { status: 500 }, 'server-error'],
    ['501', { status: 501 }, 'server-error'],
    ['502', { status: 502 }, 'unavailable'],
    ['503', { status: 503 }, 'unavailable'],
    ['504', { status: 504 }, 'unavailable'],
    ['HttpStatusError 503', { error: http(503) }, 'unavailable'],
    ['HttpStatusError 429', { error: http(429) }, 'throttled'],
    ['HttpStatusError 404', { error: http(404) }, 'client-error'],
    [
      'refused',
      { error: new ConnectionError('x', { errno: 'ECONNREFUSED', beforeResponse: true }) },
      'connect-failed',
    ],
    [
      'reset before the response, fresh socket',
      { error: reset(true), reused: false },
      'connect-failed',
    ],
    [
      'reset before the response, kept-alive socket',
      { error: reset(true), reused: true },
      'stale-socket',
    ],
    ['reset mid-body', { error: reset(false), reused: true }, 'connection-lost'],
    ['connect timeout', { error: new TimeoutError('connect', 1) }, 'connect-timeout'],
    ['headers timeout', { error: new TimeoutError('headers', 1) }, 'timeout'],
    ['body timeout', { error: new TimeoutError('body', 1) }, 'timeout'],
    ['attempt timeout', { error: new TimeoutError('attempt', 1) }, 'timeout'],
    ['total timeout on the wire', { error: new TimeoutError('total', 1) }, 'deadline'],
    ['acquire timeout', { error: new TimeoutError('acquire', 1) }, 'not-sent'],
    [
      'attempt timeout before it was sent',
      { error: new TimeoutError('attempt', 1), sent: false },
      'not-sent',
    ],
    [
      'total timeout in the queue',
      { error: new TimeoutError('total', 1), sent: false },
      'not-sent',
    ],
    ['protocol error', { error: new ProtocolError('bad') }, 'protocol'],
    ['caller abort', { error: new AbortError() }, 'caller-abort'],
    ['caller abort in the queue', { error: new AbortError(), sent: false }, 'caller-abort'],
    ['DOMException abort', { error: new DOMException('x', 'AbortError') }, 'caller-abort'],
    ['caller body failed', { error: new RequestBodyError('x') }, 'caller-body'],
    ['invalid request', { error: new InvalidRequestError('x') }, 'invalid'],
    ['body too large', { error: new BodyTooLargeError(1) }, 'body-too-large'],
    ['circuit open', { error: new CircuitOpenError('h', 1) }, 'circuit-open'],
    ['pool closed', { error: new PoolClosedError() }, 'closed'],
    ['foreign error', { error: new Error('x') }, 'foreign'],
    ['foreign non-error', { error: 'x' }, 'foreign'],
  ];
  for (const [name, end, kind] of table) {
    test(`${name} -> ${kind}`, () => {
      assert.equal(outcomeKind(end), kind);
      assert.equal(classify(end), VERDICTS[kind]);
    });
  }
});

describe('VERDICTS: what each consumer does', () => {
  const hostNeverHears: OutcomeKind[] = [
    'stale-socket',
    'deadline',
    'not-sent',
    'caller-abort',
    'caller-body',
    'invalid',
    'body-too-large',
    'circuit-open',
    'closed',
  ];
  for (const kind of hostNeverHears) {
    test(`${kind}: no verdict on the host anywhere`, () => {
      const v: Verdict = VERDICTS[kind];
      assert.notEqual(v.fault, 'host');
      assert.deepEqual([v.breaker, v.health, v.backend, v.stats], ['none', 'none', 'none', 'none']);
    });
  }

  test('only a host that is down extends the breaker run', () => {
    const down = (Object.keys(VERDICTS) as OutcomeKind[]).filter(
      (k) => VERDICTS[k].breaker === 'down',
    );
    assert.deepEqual(down.sort(), [
      'connect-failed',
      'connect-timeout',
      'connection-lost',
      'foreign',
      'timeout',
      'unavailable',
    ]);
  });

  test('a host that answers, even badly, is alive for the breaker', () => {
    for (const kind of ['ok', 'client-error', 'throttled', 'server-error'] as const) {
      assert.equal(VERDICTS[kind].breaker, 'alive', kind);
    }
  });

  test('429 is a refusal for host health but not a failed backend', () => {
    assert.equal(VERDICTS.throttled.health, 'refused');
    assert.equal(VERDICTS.throttled.backend, 'none');
  });

  test('retry policy: statuses by the configured list, timeouts by phase, connections by errno', () => {
    assert.equal(VERDICTS.unavailable.retry, 'status');
    assert.equal(VERDICTS['client-error'].retry, 'status');
    assert.equal(VERDICTS.timeout.retry, 'phase');
    assert.equal(VERDICTS['connect-timeout'].retry, 'phase');
    assert.equal(VERDICTS['not-sent'].retry, 'phase');
    assert.equal(VERDICTS['connect-failed'].retry, 'errno');
    for (const kind of [
      'deadline',
      'protocol',
      'caller-abort',
      'caller-body',
      'body-too-large',
    ] as const) {
      assert.equal(VERDICTS[kind].retry, 'never', kind);
    }
  });

  test('every kind has a frozen verdict that names itself', () => {
    for (const [kind, v] of Object.entries(VERDICTS)) {
      assert.equal(v.kind, kind);
      assert.ok(Object.isFrozen(v));
    }
  });
});
