/**
 * The error types as a caller's code sees them: `code` narrows, `isSentinelError` gives
 * the union, `instanceof HttpStatusError` gives the client's `HttpResponse`. Checked by
 * the type check that `npm test` runs first: a broken narrowing fails it. The runtime
 * half checks that the types tell the truth.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HttpResponse } from '../../src/client/response.js';
import {
  AbortError,
  type AnySentinelError,
  BodyTooLargeError,
  CircuitOpenError,
  ConnectionError,
  HttpStatusError,
  InvalidRequestError,
  isSentinelError,
  PoolClosedError,
  ProtocolError,
  RequestBodyError,
  SentinelError,
  type SentinelErrorCode,
  type SentinelErrorOf,
  TimeoutError,
  type TimeoutPhase,
} from '../../src/core/errors.js';

/** True when `A` and `B` are the same type (not merely assignable either way). */
type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only when its argument type is `true`. */
const expectType = <T extends true>(_proof?: T): void => {};

/** What a caller writes: narrowing by `code` alone, exhaustively. */
function describeError(err: AnySentinelError): string {
  switch (err.code) {
    case 'SENTINEL_TIMEOUT':
      expectType<Equal<typeof err, TimeoutError>>();
      return `timeout ${err.phase} ${err.timeoutMs}`;
    case 'SENTINEL_CONNECTION':
      return `connection ${err.errno}`;
    case 'SENTINEL_PROTOCOL':
      return 'protocol';
    case 'SENTINEL_BODY_TOO_LARGE':
      return `too large ${err.limit}`;
    case 'SENTINEL_CIRCUIT_OPEN':
      expectType<Equal<typeof err.host, string>>();
      return `open ${err.host} ${err.retryAfterMs}`;
    case 'SENTINEL_POOL_CLOSED':
      return 'closed';
    case 'SENTINEL_INVALID_REQUEST':
      return 'invalid';
    case 'SENTINEL_ABORTED':
      return `aborted ${String(err.reason)}`;
    case 'SENTINEL_REQUEST_BODY':
      return 'body';
    case 'SENTINEL_HTTP_STATUS':
      expectType<Equal<typeof err.response, HttpResponse>>();
      return `status ${err.status} ${err.response.statusText}`;
    default: {
      const unreachable: never = err;
      return unreachable;
    }
  }
}

describe('error types', () => {
  it('each class has a literal code and name; the union covers every code', () => {
    expectType<Equal<TimeoutError['code'], 'SENTINEL_TIMEOUT'>>();
    expectType<Equal<TimeoutError['name'], 'TimeoutError'>>();
    expectType<Equal<HttpStatusError['code'], 'SENTINEL_HTTP_STATUS'>>();
    expectType<Equal<AnySentinelError['code'], SentinelErrorCode>>();
    expectType<Equal<SentinelErrorOf<'SENTINEL_ABORTED'>, AbortError>>();
    expectType<Equal<SentinelErrorOf<'SENTINEL_CIRCUIT_OPEN'>, CircuitOpenError>>();
    expectType<Equal<SentinelError['method'], string | undefined>>();
    expectType<Equal<SentinelError['url'], string | undefined>>();
    expectType<Equal<SentinelError['host'], string | undefined>>();
    const errors: AnySentinelError[] = [
      new TimeoutError('total', 300),
      new ConnectionError('refused', { errno: 'ECONNREFUSED' }),
      new ProtocolError('garbled'),
      new BodyTooLargeError(10),
      new CircuitOpenError('h:80', 5),
      new PoolClosedError(),
      new InvalidRequestError('bad'),
      new AbortError('user'),
      new RequestBodyError(),
      // Typed as the client throws it; its response is made by hand here.
      new HttpStatusError({
        status: 503,
        statusText: 'Service Unavailable',
        url: 'http://h/',
      }) as unknown as HttpStatusError,
    ];
    assert.deepEqual(
      errors.map((e) => e.code).sort(),
      [...new Set(errors.map((e) => e.code))].sort(),
      'one class per code',
    );
    assert.equal(errors.length, 10);
    for (const err of errors) {
      assert.ok(isSentinelError(err) && err instanceof SentinelError);
      assert.equal(err.name, err.constructor.name);
    }
    assert.deepEqual(errors.map(describeError), [
      'timeout total 300',
      'connection ECONNREFUSED',
      'protocol',
      'too large 10',
      'open h:80 5',
      'closed',
      'invalid',
      'aborted user',
      'body',
      'status 503 Service Unavailable',
    ]);
  });

  it('isSentinelError narrows unknown to the union, then code to the class', () => {
    const caught: unknown = new TimeoutError('attempt', 50);
    // @ts-expect-error: an unknown has no code until it is checked
    const unknownCode: unknown = caught.code;
    assert.equal(unknownCode, 'SENTINEL_TIMEOUT');
    if (!isSentinelError(caught)) assert.fail('not recognised');
    expectType<Equal<typeof caught, AnySentinelError>>();
    // @ts-expect-error: the union has no phase until the code says which class it is
    const unknownPhase: unknown = caught.phase;
    assert.equal(unknownPhase, 'attempt');
    if (caught.code !== 'SENTINEL_TIMEOUT') assert.fail(caught.code);
    expectType<Equal<typeof caught.phase, TimeoutPhase>>();
    assert.equal(caught.phase, 'attempt');
  });

  it("instanceof HttpStatusError gives the client's HttpResponse, not any", () => {
    const caught: unknown = new HttpStatusError({ status: 404, statusText: '', url: 'u' });
    assert.ok(caught instanceof HttpStatusError);
    expectType<Equal<typeof caught.response, HttpResponse>>();
    // The type-checked use docs/errors.md shows (not run: this response was made by hand).
    const parse = (): unknown => caught.response.json<{ error: string }>().error;
    assert.equal(typeof parse, 'function');
    // Made by hand, it keeps the type it was given.
    const manual = new HttpStatusError({
      status: 429,
      statusText: '',
      url: 'u',
      headers: new Headers(),
    });
    expectType<
      Equal<
        typeof manual.response,
        { status: number; statusText: string; url: string; headers: Headers }
      >
    >();
    assert.equal(manual.response.status, 429);
  });
});
