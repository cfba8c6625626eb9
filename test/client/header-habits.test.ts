/**
 * Habits from other clients that would fail silently here: options (ky, got, axios) or a
 * body put in the headers slot, numbers as header values, an object as a body. Each is
 * refused before any I/O, with a message that says where the thing goes; the server
 * must not see a connection.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { HttpClient } from '../../src/client/index.js';
import { InvalidRequestError, type SentinelError } from '../../src/core/errors.js';
import { startTestServer, type TestServer } from '../../src/testing/index.js';
import { Fixtures, rejectsWith } from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

/** A test server that answers every path with 200 and the headers and body it received. */
async function recorder(): Promise<TestServer> {
  const server = await startTestServer({
    fallback: (req) => ({ json: { headers: req.headers, body: req.body.toString() } }),
  });
  return server;
}

/** Asserts `call` is refused with InvalidRequestError matching `pattern`, nothing sent. */
async function refused(
  server: TestServer,
  call: Promise<unknown>,
  pattern: RegExp,
): Promise<SentinelError> {
  const err = await rejectsWith(call, 'SENTINEL_INVALID_REQUEST');
  assert.ok(err instanceof InvalidRequestError);
  assert.match(err.message, pattern);
  assert.equal(err.attempts, 0);
  assert.equal(server.requests.length, 0, 'no request reached the server');
  assert.equal(server.connections, 0, 'no connection was opened');
  return err;
}

/** Headers as a JavaScript caller (or one typed `any`) passes them, past the types. */
function loose(headers: Record<string, unknown>): Record<string, string> {
  return headers as Record<string, string>;
}

function client(server: TestServer): HttpClient {
  return fx.client({ baseUrl: server.url, retry: false });
}

describe('options in the headers slot', () => {
  it('client.get(url, { timeout, retry }) is refused, saying where options go', async () => {
    await using server = await recorder();
    await refused(
      server,
      // @ts-expect-error header values are strings, and option names are not headers
      client(server).get('/a', { timeout: 200, retry: 0 }),
      /`timeout` looks like an option, not a header: options go in the third argument: client\.get\(url, headers, \{ timeout \}\)/,
    );
  });

  it('an option name is refused with a string value too, for every verb', async () => {
    await using server = await recorder();
    const c = client(server);
    const headers = { timeout: '200' } as Record<string, string>;
    await refused(server, c.get('/a', headers), /client\.get\(url, headers, \{ timeout \}\)/);
    await refused(server, c.head('/a', headers), /client\.head\(url, headers, \{ timeout \}\)/);
    await refused(server, c.delete('/a', headers), /client\.delete\(url, headers, \{ timeout \}\)/);
    await refused(
      server,
      c.post('/a', headers),
      /options go in the fourth argument: client\.post\(url, headers, body, \{ timeout \}\)/,
    );
    await refused(server, c.put('/a', headers), /client\.put\(url, headers, body, \{ timeout \}\)/);
    await refused(server, c.patch('/a', headers), /client\.patch\(url, headers, body/);
    await refused(
      server,
      c.request({ method: 'OPTIONS', url: '/a', headers }),
      /options go beside headers: client\.request\(\{ method, url, headers, timeout \}\)/,
    );
  });

  it('every option of a request and of the client is refused by name', async () => {
    await using server = await recorder();
    const c = client(server);
    const names = [
      'timeout',
      'attemptTimeout',
      'connectTimeout',
      'retry',
      'json',
      'signal',
      'headers',
      'body',
      'searchParams',
      'hooks',
      'throwHttpErrors',
      'maxRedirects',
      'maxBodySize',
      'decompress',
      'idempotencyKey',
      'hedge',
      'method',
      'url',
      'baseUrl',
      'pool',
      'proxy',
      'circuitBreaker',
      'retryBudget',
      'adaptive',
      'clock',
      'upstreams',
      'redirectStripHeaders',
    ];
    for (const name of names) {
      const err = await refused(server, c.get('/a', { [name]: 'x' }), new RegExp(`^.*\`${name}\``));
      assert.match(err.message, /looks like an option, not a header/, name);
    }
  });

  it('ky, got and axios names are refused with the name they have here', async () => {
    await using server = await recorder();
    const c = client(server);
    await refused(
      server,
      c.get('/a', loose({ params: 'page=2' })),
      /`params` looks like an option, not a header \(here it is searchParams\): .*\{ searchParams \}/,
    );
    await refused(
      server,
      c.get('/a', loose({ prefixUrl: 'http://x/' })),
      /\(here it is baseUrl\): it is a client option: new HttpClient\(\{ baseUrl \}\)/,
    );
    await refused(
      server,
      c.post('/a', loose({ data: 'x' })),
      /\(here it is body\): a body goes in the third/,
    );
    await refused(server, c.get('/a', loose({ followRedirect: 'false' })), /\{ maxRedirects \}/);
  });

  it('what goes elsewhere says where: body, json, headers, method, client options', async () => {
    await using server = await recorder();
    const c = client(server);
    await refused(
      server,
      c.post('/a', loose({ body: 'x' })),
      /a body goes in the third argument: client\.post\(url, headers, body\)/,
    );
    await refused(
      server,
      // @ts-expect-error ky's json option in the headers slot
      c.post('/a', { json: { name: 'x' } }),
      /client\.post\(url, headers, undefined, \{ json \}\)/,
    );
    await refused(
      server,
      // @ts-expect-error ky's options object wrapping the headers
      c.get('/a', { headers: { accept: 'text/plain' } }),
      /the second argument takes the headers themselves/,
    );
    await refused(
      server,
      c.get('/a', loose({ method: 'POST' })),
      /client\.request\(\{ method, url, headers \}\)/,
    );
    await refused(
      server,
      c.get('/a', loose({ circuitBreaker: 'off' })),
      /it is a client option: new HttpClient\(\{ circuitBreaker \}\)/,
    );
  });

  it('every message says how to send a header of that name anyway', async () => {
    await using server = await recorder();
    await refused(
      server,
      client(server).get('/a', loose({ retry: '1' })),
      /can be sent in a Headers or as \[name, value\] pairs/,
    );
  });

  it('a Headers or [name, value] pairs send such a header; so does another spelling', async () => {
    await using server = await recorder();
    const c = client(server);
    const seen = async (res: Promise<{ json<T>(): T }>): Promise<Record<string, string>> =>
      (await res).json<{ headers: Record<string, string> }>().headers;
    assert.equal((await seen(c.get('/a', new Headers({ retry: '1' })))).retry, '1');
    assert.equal((await seen(c.get('/a', [['timeout', '5']]))).timeout, '5');
    assert.equal((await seen(c.get('/a', [{ name: 'json', value: 'yes' }]))).json, 'yes');
    // Only the option's own spelling is refused: header names ignore case, option names do not.
    assert.equal((await seen(c.get('/a', { Retry: '2' }))).retry, '2');
    assert.equal(server.requests.length, 4);
  });

  it('request() and stream() headers are checked the same way', async () => {
    await using server = await recorder();
    const c = client(server);
    await refused(
      server,
      c.request({ method: 'GET', url: '/a', headers: loose({ signal: 'x' }) }),
      /`signal` looks like an option/,
    );
    await refused(
      server,
      c.stream({ method: 'GET', url: '/a', headers: loose({ hooks: 'x' }) }),
      /`hooks` looks like an option/,
    );
  });

  it('client and extend() default headers are checked at construction', async () => {
    await using server = await recorder();
    assert.throws(
      // @ts-expect-error an option in the client's headers
      () => fx.client({ baseUrl: server.url, headers: { timeout: 200 } }),
      (err: Error) =>
        err instanceof InvalidRequestError &&
        /`timeout` looks like an option, not a header: client options go beside headers: new HttpClient\(\{ headers, timeout \}\)/.test(
          err.message,
        ),
    );
    assert.throws(
      () => fx.client({ headers: loose({ signal: 'x' }) }),
      /`signal` looks like an option, not a header: it is an option of one request/,
    );
    const parent = client(server);
    assert.throws(() => parent.extend({ headers: loose({ retry: '3' }) }), InvalidRequestError);
    assert.equal(server.connections, 0);
  });
});

describe('header values are strings', () => {
  it('a number is refused in every shape, naming the header', async () => {
    await using server = await recorder();
    const c = client(server);
    await refused(
      server,
      // @ts-expect-error a number is not a header value
      c.get('/a', { 'x-count': 3 }),
      /header x-count must be a string, got number/,
    );
    await refused(
      server,
      c.get('/a', [['x-pair', 1]] as unknown as [string, string][]),
      /header x-pair must be a string, got number/,
    );
    await refused(
      server,
      c.get('/a', [{ name: 'x-seed', value: true }] as unknown as {
        name: string;
        value: string;
      }[]),
      /header x-seed must be a string, got boolean/,
    );
    await refused(
      server,
      // @ts-expect-error numbers inside an array are not header values either
      c.get('/a', { 'x-many': ['a', 2] }),
      /header x-many must be a string, got number/,
    );
    await refused(
      server,
      c.get('/a', { authorization: null } as unknown as Record<string, string>),
      /header authorization must be a string, got null/,
    );
  });

  it('a client default header that is a number fails the constructor', () => {
    assert.throws(
      // @ts-expect-error a number is not a header value
      () => fx.client({ headers: { 'x-version': 2 } }),
      /header x-version must be a string, got number/,
    );
  });
});

describe('a body where the headers go, an object where the body goes', () => {
  it('post(url, { name, age }) (axios habit): a non-string value is refused', async () => {
    await using server = await recorder();
    const c = client(server);
    await refused(
      server,
      // @ts-expect-error a body in the headers slot
      c.post('/users', { name: 'x', age: 3 }),
      /header age must be a string, got number/,
    );
    await refused(
      server,
      // @ts-expect-error a body in the headers slot
      c.put('/users/1', { user: { name: 'x' } }),
      /header user must be a string or an array of strings, got an object: the second argument is the headers; a body goes in the third, client\.put\(url, headers, body\), and JSON in the options, client\.put\(url, headers, undefined, \{ json \}\)/,
    );
  });

  it('a plain object or array as the body is refused, pointing at the json option', async () => {
    await using server = await recorder();
    const c = client(server);
    for (const body of [{ name: 'x' }, [1, 2]]) {
      await refused(
        server,
        // @ts-expect-error a plain object is not a BodyInit
        c.post('/users', undefined, body),
        /a plain object or array is not a body: send it as JSON with the json option, e\.g\. client\.post\(url, headers, undefined, \{ json: value \}\)/,
      );
    }
  });

  it('the json option sends what was meant', async () => {
    await using server = await recorder();
    const res = await client(server).post('/users', undefined, undefined, { json: { name: 'x' } });
    const seen = res.json<{ headers: Record<string, string>; body: string }>();
    assert.equal(seen.body, '{"name":"x"}');
    assert.equal(seen.headers['content-type'], 'application/json');
  });
});
