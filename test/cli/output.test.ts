/**
 * What `sentinel` prints: status lines, the `-i` head, `-v` event lines, error lines,
 * and the exit code of each error.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UsageError } from '../../src/cli/args.js';
import { formatError, formatEvent, formatHead, ms, statusLine } from '../../src/cli/output.js';
import { EXIT, exitCodeOf } from '../../src/cli/run.js';
import {
  AbortError,
  BodyTooLargeError,
  CircuitOpenError,
  ConnectionError,
  InvalidRequestError,
  ProtocolError,
  TimeoutError,
} from '../../src/index.js';

describe('head', () => {
  test('status lines: the reason phrase sent, else the standard one, else none', () => {
    assert.equal(statusLine(200, 'OK'), 'HTTP/1.1 200 OK');
    assert.equal(statusLine(404, ''), 'HTTP/1.1 404 Not Found');
    assert.equal(statusLine(599, ''), 'HTTP/1.1 599');
  });

  test('formatHead: CRLF lines, lower-case sorted names, one line per set-cookie', () => {
    const headers = new Headers([
      ['X-B', '2'],
      ['Set-Cookie', 'a=1'],
      ['Set-Cookie', 'b=2'],
      ['A', '1'],
    ]);
    assert.equal(
      formatHead(200, 'OK', headers),
      'HTTP/1.1 200 OK\r\na: 1\r\nset-cookie: a=1\r\nset-cookie: b=2\r\nx-b: 2\r\n\r\n',
    );
  });

  test('ms', () => {
    assert.equal(ms(0.04), '0.0 ms');
    assert.equal(ms(9.94), '9.9 ms');
    assert.equal(ms(123.6), '124 ms');
  });
});

describe('-v event lines', () => {
  const base = { method: 'GET', url: 'http://h/x' };
  const cases: [string, Parameters<typeof formatEvent>[0], string][] = [
    [
      'an attempt with a status',
      { type: 'attempt', ...base, attempt: 1, status: 503, error: undefined, durationMs: 12.3 },
      '* attempt 1: GET http://h/x -> 503 in 12 ms',
    ],
    [
      'an attempt with an error',
      {
        type: 'attempt',
        ...base,
        attempt: 2,
        status: undefined,
        error: new ConnectionError('connect ECONNREFUSED 127.0.0.1:1'),
        durationMs: 1.25,
      },
      '* attempt 2: GET http://h/x -> SENTINEL_CONNECTION (connect ECONNREFUSED 127.0.0.1:1) in 1.3 ms',
    ],
    [
      'a retry after a status, with Retry-After',
      {
        type: 'retry',
        ...base,
        attempt: 1,
        delayMs: 1000,
        retryAfterMs: 1000,
        status: 429,
        error: undefined,
      },
      '* retry after attempt 1 (status 429) in 1000 ms, server asked for 1000 ms',
    ],
    [
      'a retry after an error',
      {
        type: 'retry',
        ...base,
        attempt: 2,
        delayMs: 37.2,
        retryAfterMs: undefined,
        status: undefined,
        error: new TimeoutError('attempt', 100),
      },
      '* retry after attempt 2 (SENTINEL_TIMEOUT) in 37 ms',
    ],
    [
      'a retry refused by the budget',
      { type: 'retry-refused', ...base, attempt: 3, by: 'budget' },
      '* no retry after attempt 3: refused by the retry budget',
    ],
    [
      'a retry refused by the throttle',
      { type: 'retry-refused', ...base, attempt: 4, by: 'throttle' },
      "* no retry after attempt 4: refused by the host's retry throttle",
    ],
    [
      'a breaker transition',
      { type: 'breaker', host: '127.0.0.1:8080', from: 'closed', to: 'open' },
      '* circuit breaker for 127.0.0.1:8080: closed -> open',
    ],
  ];
  for (const [name, event, line] of cases) {
    test(name, () => assert.equal(formatEvent(event), line));
  }
});

describe('errors', () => {
  test('formatError: http-sentinel: <code>: <message>, with attempts past the first', () => {
    assert.equal(
      formatError(new TimeoutError('total', 200, { attempts: 1 })),
      'http-sentinel: SENTINEL_TIMEOUT: total timeout after 200 ms',
    );
    assert.equal(
      formatError(new ConnectionError('connect ECONNREFUSED 127.0.0.1:1', { attempts: 3 })),
      'http-sentinel: SENTINEL_CONNECTION: connect ECONNREFUSED 127.0.0.1:1 (after 3 attempts)',
    );
    assert.equal(
      formatError(new TimeoutError('total', 199.99999999999997)),
      'http-sentinel: SENTINEL_TIMEOUT: total timeout after 200 ms',
    );
    assert.equal(formatError(new UsageError('bad')), 'http-sentinel: usage: bad');
    assert.equal(
      formatError(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })),
      'http-sentinel: EPIPE: write EPIPE',
    );
    assert.equal(formatError(new TypeError('x')), 'http-sentinel: TypeError: x');
    assert.equal(formatError('a string'), 'http-sentinel: Error: a string');
  });

  test('exit codes', () => {
    const cases: [unknown, number][] = [
      [new UsageError('x'), 2],
      [new InvalidRequestError('x'), 2],
      [new TimeoutError('connect', 10), 28],
      [new ConnectionError('x'), 7],
      [new ProtocolError('x'), 1],
      [new BodyTooLargeError(1), 1],
      [new CircuitOpenError('h:1', 5), 1],
      [new AbortError(), 1],
      [new Error('x'), 1],
    ];
    for (const [err, code] of cases) assert.equal(exitCodeOf(err), code, String(err));
    assert.deepEqual(EXIT, {
      OK: 0,
      FAILURE: 1,
      USAGE: 2,
      CONNECTION: 7,
      HTTP_ERROR: 22,
      TIMEOUT: 28,
    });
  });
});
