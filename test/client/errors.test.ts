import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { HttpClient, RequestInit } from '../../src/client/index.js';
import { HttpResponse } from '../../src/client/index.js';
import {
  ConnectionError,
  HttpStatusError,
  InvalidRequestError,
  isSentinelError,
  SentinelError,
} from '../../src/core/errors.js';
import { echo, echoed, Fixtures, rejectsWith } from '../helpers/client-helpers.js';
import type { TestServer } from '../helpers/server.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

async function invalid(
  server: TestServer,
  call: () => Promise<unknown>,
  what: string,
): Promise<void> {
  const err = await rejectsWith(call(), 'SENTINEL_INVALID_REQUEST').catch((e: Error) => {
    throw new Error(`${what}: ${e.message}`);
  });
  assert.ok(err instanceof InvalidRequestError, what);
  assert.ok(err instanceof SentinelError, what);
  assert.equal(server.connections, 0, `${what}: no connection made`);
}

describe('invalid requests fail before any I/O', () => {
  let server: TestServer;
  let client: HttpClient;

  const setup = async (): Promise<void> => {
    server = await fx.server(echo);
    client = fx.client({ baseUrl: server.url });
  };

  it('bad URLs', async () => {
    await setup();
    const bare = fx.client();
    await invalid(server, () => bare.get('not a url'), 'garbage URL');
    await invalid(server, () => bare.get('/relative'), 'relative URL without baseUrl');
    await invalid(server, () => client.get('ftp://127.0.0.1/x'), 'ftp protocol');
    await invalid(server, () => client.get('file:///etc/passwd'), 'file protocol');
    await invalid(server, () => client.get('http://'), 'no host');
    await invalid(server, () => client.get(42 as unknown as string), 'number as URL');
  });

  it('bad methods', async () => {
    await setup();
    for (const method of ['', 'GE T', 'GET\r\n', 'CONNECT', 'connect', 'ü', 7]) {
      await invalid(
        server,
        () => client.request({ method: method as string, url: '/' }),
        `method ${JSON.stringify(method)}`,
      );
    }
  });

  it('header names and values with CR, LF or NUL, or bad names', async () => {
    await setup();
    const cases: Array<[string, Record<string, string>]> = [
      ['CRLF in value', { 'x-a': 'v\r\nInjected: 1' }],
      ['LF in value', { 'x-a': 'v\nx' }],
      ['CR in value', { 'x-a': 'v\rx' }],
      ['NUL in value', { 'x-a': 'v\0x' }],
      ['CRLF in name', { 'x-a\r\nInjected': 'v' }],
      ['space in name', { 'x a': 'v' }],
      ['colon in name', { 'x:a': 'v' }],
      ['empty name', { '': 'v' }],
    ];
    for (const [what, headers] of cases) {
      await invalid(server, () => client.get('/', headers), what);
    }
    await invalid(server, () => client.get('/', [['x-a', 'v\r\n']]), 'CRLF in a pair');
    await invalid(
      server,
      () => client.get('/', [{ name: 'x-a', value: 'a\nb' }]),
      'LF in {name,value}',
    );
    await invalid(server, () => client.get('/', { 'x-a': ['ok', 'bad\r\n'] }), 'CRLF in string[]');
    await invalid(
      server,
      () => client.get('/', { 'x-a': {} as unknown as string }),
      'object value',
    );
    await invalid(server, () => client.get('/', 'x: y' as never), 'string as headers');
  });

  it('header values the wire refuses: other control characters, beyond Latin-1', async () => {
    await setup();
    await invalid(server, () => client.get('/', { 'x-a': 'a\x01b' }), 'SOH');
    await invalid(server, () => client.get('/', { 'x-a': 'a\x7fb' }), 'DEL');
    await invalid(server, () => client.get('/', { 'x-a': 'check ✓' }), 'beyond Latin-1');
    await invalid(
      server,
      () => client.get('/', new Headers({ 'x-a': 'a\x01b' })),
      'SOH in Headers',
    );
    // Tabs and Latin-1 (obs-text) are allowed.
    const res = await client.get('/', { 'x-a': 'a\tb', 'x-b': 'caf\xe9' });
    assert.equal(echoed(res).headers['x-a'], 'a\tb');
    // Nothing of the refused requests reached the pool.
    assert.equal(client.pool.stats().totals.requests, 1);
  });

  it('framing and hop-by-hop headers the transport manages', async () => {
    await setup();
    const cases: Array<[string, Record<string, string> | [string, string][]]> = [
      ['transfer-encoding', { 'Transfer-Encoding': 'chunked' }],
      ['keep-alive', { 'Keep-Alive': 'timeout=5' }],
      ['upgrade', { Upgrade: 'websocket' }],
      ['expect', { Expect: '100-continue' }],
      ['bad connection', { Connection: 'keep alive' }],
      [
        'two hosts',
        [
          ['host', 'a'],
          ['Host', 'b'],
        ],
      ],
      [
        'two content-lengths',
        [
          ['content-length', '2'],
          ['Content-Length', '2'],
        ],
      ],
      ['non-numeric content-length', { 'Content-Length': '2x' }],
      ['content-length that does not match', { 'Content-Length': '3' }],
    ];
    for (const [what, headers] of cases) {
      await invalid(server, () => client.post('/', headers, 'ab'), what);
    }
    await invalid(server, () => client.get('/', { 'content-length': '5' }), 'length on GET');
    assert.throws(
      () => fx.client({ headers: { 'transfer-encoding': 'chunked' } }),
      (err: unknown) => isSentinelError(err) && err.code === 'SENTINEL_INVALID_REQUEST',
    );
    assert.equal(client.pool.stats().totals.requests, 0);
    // A matching content-length and connection tokens are fine.
    const ok = await client.post('/', { 'Content-Length': '2', Connection: 'keep-alive' }, 'ab');
    assert.equal(echoed(ok).text, 'ab');
  });

  it('bad default headers fail at construction', () => {
    assert.throws(
      () => fx.client({ headers: { 'x-a': 'v\r\nEvil: 1' } }),
      (err: unknown) => isSentinelError(err) && err.code === 'SENTINEL_INVALID_REQUEST',
    );
  });

  it('out-of-range option values', async () => {
    await setup();
    const bad: Array<[string, Partial<RequestInit>]> = [
      ['negative maxBodySize', { maxBodySize: -1 }],
      ['NaN maxBodySize', { maxBodySize: Number.NaN }],
      ['zero timeout', { timeout: 0 }],
      ['negative timeout', { timeout: -5 }],
      ['NaN timeout', { timeout: Number.NaN }],
      ['string timeout', { timeout: '100' as unknown as number }],
      ['negative attemptTimeout', { attemptTimeout: -1 }],
      ['NaN attemptTimeout', { attemptTimeout: Number.NaN }],
      ['negative connectTimeout', { connectTimeout: -1 }],
      ['NaN connectTimeout', { connectTimeout: Number.NaN }],
      ['huge connectTimeout', { connectTimeout: 2 ** 40 }],
      ['negative maxRedirects', { maxRedirects: -1 }],
      ['fractional maxRedirects', { maxRedirects: 1.5 }],
      ['NaN maxRedirects', { maxRedirects: Number.NaN }],
      ['Infinity maxRedirects', { maxRedirects: Number.POSITIVE_INFINITY }],
      ['non-boolean decompress', { decompress: 'yes' as unknown as boolean }],
      ['non-boolean throwHttpErrors', { throwHttpErrors: 1 as unknown as boolean }],
      ['empty idempotencyKey', { idempotencyKey: '' }],
      ['non-signal signal', { signal: {} as AbortSignal }],
      ['bad retry override', { retry: { maxAttempts: 0 } }],
      ['attemptTimeout past timeout', { timeout: 1000, attemptTimeout: 2000 }],
    ];
    for (const [what, options] of bad) {
      await invalid(server, () => client.request({ method: 'GET', url: '/', ...options }), what);
      await invalid(server, () => client.get('/', undefined, options), `${what} (get)`);
    }
  });

  it('Infinity is allowed where it means "no limit"', async () => {
    await setup();
    const res = await client.get('/', undefined, {
      timeout: Number.POSITIVE_INFINITY,
      attemptTimeout: Number.POSITIVE_INFINITY,
      connectTimeout: Number.POSITIVE_INFINITY,
      maxBodySize: Number.POSITIVE_INFINITY,
    });
    assert.equal(res.status, 200);
  });

  it('bodies that cannot be sent', async () => {
    await setup();
    await invalid(
      server,
      () => client.request({ method: 'GET', url: '/', body: 'x' }),
      'body on GET',
    );
    await invalid(
      server,
      () => client.request({ method: 'HEAD', url: '/', json: {} }),
      'json on HEAD',
    );
    await invalid(
      server,
      () => client.request({ method: 'POST', url: '/', body: 'x', json: { a: 1 } }),
      'both body and json',
    );
    await invalid(
      server,
      () => client.post('/', undefined, 12 as unknown as string),
      'number body',
    );
    await invalid(
      server,
      () => client.post('/', undefined, { plain: 'object' } as unknown as string),
      'plain object body',
    );
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await invalid(
      server,
      () => client.request({ method: 'POST', url: '/', json: circular }),
      'circular json',
    );
    await invalid(
      server,
      () => client.request({ method: 'POST', url: '/', json: () => 1 }),
      'json of a function',
    );
    await invalid(server, () => client.request(null as unknown as RequestInit), 'null init');
    await invalid(server, () => client.stream(undefined as unknown as RequestInit), 'no init');
  });

  it('bad client options fail at construction', () => {
    const bad: unknown[] = [
      null,
      'options',
      { baseUrl: 'not a url' },
      { timeout: -1 },
      { attemptTimeout: Number.NaN },
      { timeout: 1000, attemptTimeout: 5000 },
      { connectTimeout: 0 },
      { maxBodySize: -1 },
      { maxRedirects: 2.5 },
      { decompress: 'no' },
      { retry: { maxAttempts: -1 } },
      { retry: { initialDelayMs: Number.NaN } },
      { circuitBreaker: { consecutiveFailures: -1 } },
      { retryBudget: { percentCanRetry: -1 } },
      { adaptive: { k: 0 } },
      { adaptive: { shedFirstAttempts: 'yes' } },
      { pool: { maxConnections: 0 } },
      { pool: { nonsense: 1 } },
    ];
    for (const options of bad) {
      assert.throws(
        () => fx.client(options as never),
        (err: unknown) => isSentinelError(err) && err.code === 'SENTINEL_INVALID_REQUEST',
        JSON.stringify(options),
      );
    }
  });

  it('an error thrown before any attempt says attempts: 0', async () => {
    await setup();
    const err = await rejectsWith(client.get('/', { 'x-a': '\n' }), 'SENTINEL_INVALID_REQUEST');
    assert.equal(err.attempts, 0);
  });
});

describe('transport failures are typed errors', () => {
  it('a malformed response is a ProtocolError', async () => {
    const server = await fx.rawServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 abc nonsense\r\n\r\n'));
    });
    const client = fx.client({ retry: false });
    const err = await rejectsWith(client.get(server.url), 'SENTINEL_PROTOCOL');
    assert.equal(err.attempts, 1);
  });

  it('a body cut short of its Content-Length is a ConnectionError, retried for a GET', async () => {
    const server = await fx.rawServer((socket) => {
      socket.once('data', () =>
        socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this'),
      );
    });
    const client = fx.client({ retry: { maxAttempts: 2, initialDelayMs: 1 } });
    const err = await rejectsWith<ConnectionError>(client.get(server.url), 'SENTINEL_CONNECTION');
    assert.equal(err.beforeResponse, false);
    assert.equal(err.attempts, 2, 'a truncated body is retried like a reset');
  });

  it('a refused connection is a ConnectionError with errno and syscall', async () => {
    const { closedPort } = await import('../helpers/server.js');
    const port = await closedPort();
    const client = fx.client({ retry: false });
    const err = await rejectsWith<ConnectionError>(
      client.get(`http://127.0.0.1:${port}/`),
      'SENTINEL_CONNECTION',
    );
    assert.ok(err instanceof ConnectionError);
    assert.equal(err.errno, 'ECONNREFUSED');
    assert.equal(err.syscall, 'connect');
    assert.ok(err.cause !== undefined);
  });

  it('an untrusted certificate is a ConnectionError, not retried', async () => {
    const server = await fx.tlsServer((_req, res) => res.end('secret'));
    const client = fx.client();
    const err = await rejectsWith(client.get(server.url), 'SENTINEL_CONNECTION');
    assert.equal(err.attempts, 1);
    // Trusting its CA makes it work.
    const trusting = fx.client({ pool: { tls: { ca: server.cert } } });
    assert.equal((await trusting.get(server.url)).text(), 'secret');
  });

  it('a server that closes without answering is a ConnectionError for a POST', async () => {
    const server = await fx.rawServer((socket) => socket.once('data', () => socket.destroy()));
    const client = fx.client();
    const err = await rejectsWith<ConnectionError>(
      client.post(server.url, undefined, 'x'),
      'SENTINEL_CONNECTION',
    );
    assert.equal(err.attempts, 1);
    assert.equal(server.connections, 1);
  });
});

describe('throwHttpErrors', () => {
  it('status >= 400 throws HttpStatusError carrying the response', async () => {
    const server = await fx.server((req, res) => {
      res.statusCode = req.url === '/missing' ? 404 : 200;
      res.setHeader('x-why', 'test');
      res.end(req.url === '/missing' ? 'nope' : 'fine');
    });
    const client = fx.client({ baseUrl: server.url, throwHttpErrors: true });
    const err = await rejectsWith<HttpStatusError<HttpResponse>>(
      client.get('/missing'),
      'SENTINEL_HTTP_STATUS',
    );
    assert.ok(err instanceof HttpStatusError);
    assert.equal(err.status, 404);
    assert.ok(err.response instanceof HttpResponse);
    assert.equal(err.response.status, 404);
    assert.equal(err.response.text(), 'nope');
    assert.equal(err.response.headers.get('x-why'), 'test');
    assert.equal(err.attempts, 1);
    assert.equal((await client.get('/ok')).text(), 'fine');
    // Per request it can be turned off again.
    const res = await client.get('/missing', undefined, { throwHttpErrors: false });
    assert.equal(res.status, 404);
  });

  it('a 5xx is thrown after the retries, with the last response', async () => {
    const server = await fx.testServer();
    server.route('GET', '/').reply((req) => ({ status: 503, body: `try ${req.index + 1}` }));
    const client = fx.client({ retry: { maxAttempts: 2, initialDelayMs: 1 }, adaptive: false });
    const err = await rejectsWith<HttpStatusError<HttpResponse>>(
      client.get(server.url, undefined, { throwHttpErrors: true }),
      'SENTINEL_HTTP_STATUS',
    );
    assert.equal(err.status, 503);
    assert.equal(err.attempts, 2);
    assert.equal(err.response.text(), 'try 2');
  });

  it('a streamed error response is thrown and its connection given back', async () => {
    const server = await fx.server((_req, res) => {
      res.statusCode = 500;
      res.end('x'.repeat(100_000));
    });
    const client = fx.client({ retry: false });
    await rejectsWith(
      client.stream({ method: 'GET', url: server.url, throwHttpErrors: true }),
      'SENTINEL_HTTP_STATUS',
    );
    assert.equal(client.pool.stats().totals.active, 0);
  });
});

describe('idempotencyKey', () => {
  it('a string key is sent as Idempotency-Key', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    const res = await client.post(server.url, undefined, 'x', { idempotencyKey: 'key-123' });
    assert.equal(echoed(res).headers['idempotency-key'], 'key-123');
  });

  it('true generates a UUID, a fresh one per call', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    const a = echoed(await client.post(server.url, undefined, 'x', { idempotencyKey: true }));
    const b = echoed(await client.post(server.url, undefined, 'x', { idempotencyKey: true }));
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    assert.match(String(a.headers['idempotency-key']), uuid);
    assert.match(String(b.headers['idempotency-key']), uuid);
    assert.notEqual(a.headers['idempotency-key'], b.headers['idempotency-key']);
  });

  it('makes POST retryable, with the same key on every attempt', async () => {
    const server = await fx.testServer();
    server.route('POST', '/').sequence([503, 503, 201]);
    const client = fx.client({ retry: { initialDelayMs: 1 }, adaptive: false });
    const res = await client.post(server.url, undefined, 'pay', { idempotencyKey: true });
    assert.equal(res.status, 201);
    assert.equal(res.attempts, 3);
    const keys = server.requests.map((r) => r.headers['idempotency-key']);
    assert.equal(keys.length, 3);
    assert.equal(new Set(keys).size, 1);
  });
});
