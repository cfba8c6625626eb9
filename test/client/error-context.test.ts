/**
 * Every error of a client call says which request failed: `method`, `url` (no
 * credentials, secret query values as `***`), `host`, and a message that starts with the
 * method and URL, for each error class, raised against real loopback servers.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { HttpClient } from '../../src/client/index.js';
import {
  type AbortError,
  type BodyTooLargeError,
  type CircuitOpenError,
  type ConnectionError,
  HttpStatusError,
  isSentinelError,
  type PoolClosedError,
  type SentinelError,
  type TimeoutError,
} from '../../src/core/errors.js';
import { ConnectionPool } from '../../src/pool/index.js';
import { Fixtures, readBody, rejectsWith, waitFor } from '../helpers/client-helpers.js';
import { closedPort, type TestServer } from '../helpers/server.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

const SECRET = 'SECRETPW';
const never = (): void => {};

/** A URL of `server` with a password and a secret query parameter in it. */
function secretUrl(server: { port: number }, path = '/things'): { url: string; shown: string } {
  return {
    url: `http://user:${SECRET}@127.0.0.1:${server.port}${path}?api_key=${SECRET}&page=2`,
    shown: `http://127.0.0.1:${server.port}${path}?api_key=***&page=2`,
  };
}

/** The error names the request: fields, and a message made of them and `detail`. */
function assertNames(err: SentinelError, method: string, url: string, host: string): void {
  assert.equal(err.method, method);
  assert.equal(err.url, url);
  assert.equal(err.host, host);
  assert.equal(err.message, `${method} ${url}: ${err.detail}`);
  assert.ok(!err.detail.startsWith(method), `detail without the request: ${err.detail}`);
  assert.ok(!err.message.includes(SECRET), err.message);
}

const hostOf = (server: { port: number }): string => `127.0.0.1:${server.port}`;

describe('each error class names its request', () => {
  it('TimeoutError (total)', async () => {
    const server = await fx.server(never);
    const client = fx.client({ retry: false, timeout: 40 });
    const { url, shown } = secretUrl(server);
    const err = await rejectsWith<TimeoutError>(client.get(url), 'SENTINEL_TIMEOUT');
    assertNames(err, 'GET', shown, hostOf(server));
    assert.equal(err.detail, 'total timeout after 40 ms');
    assert.equal(err.phase, 'total');
  });

  it('TimeoutError (acquire): waiting in the pool queue', async () => {
    const server = await fx.server(never);
    const client = fx.client({
      retry: false,
      pool: { maxConnections: 1, connectionTimeoutMs: 30 },
    });
    const hanging = client.get(`${server.url}/first`, undefined, { timeout: 5000 });
    hanging.catch(() => {});
    await waitFor(() => server.requests === 1, 'the first request to arrive');
    const { url, shown } = secretUrl(server, '/queued');
    const err = await rejectsWith<TimeoutError>(client.delete(url), 'SENTINEL_TIMEOUT');
    assert.equal(err.phase, 'acquire');
    assertNames(err, 'DELETE', shown, hostOf(server));
    assert.equal(err.attempts, 1);
  });

  it('ConnectionError (refused)', async () => {
    const port = await closedPort();
    const client = fx.client({ retry: false });
    const { url, shown } = secretUrl({ port });
    const err = await rejectsWith<ConnectionError>(
      client.put(url, undefined, 'x'),
      'SENTINEL_CONNECTION',
    );
    assert.equal(err.errno, 'ECONNREFUSED');
    assertNames(err, 'PUT', shown, `127.0.0.1:${port}`);
  });

  it('a retry: the error of the final attempt, with the attempts made', async () => {
    const server = await fx.server((req) => req.socket.destroy());
    const client = fx.client({
      retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
      adaptive: false,
      circuitBreaker: false,
    });
    const { url, shown } = secretUrl(server);
    const err = await rejectsWith<ConnectionError>(client.get(url), 'SENTINEL_CONNECTION');
    assert.equal(err.attempts, 3);
    assert.equal(server.requests, 3);
    assertNames(err, 'GET', shown, hostOf(server));
  });

  it('a redirect hop: the URL and host of the hop that failed', async () => {
    const target = await fx.server((req) => req.socket.destroy());
    const start = await fx.server((_req, res) => {
      res.writeHead(302, { location: `${target.url}/hop?token=${SECRET}&n=1` });
      res.end();
    });
    const client = fx.client({ retry: false });
    const err = await rejectsWith<ConnectionError>(
      client.get(`${start.url}/start`),
      'SENTINEL_CONNECTION',
    );
    assertNames(err, 'GET', `${target.url}/hop?token=***&n=1`, hostOf(target));
  });

  it('an upstream: the URL as asked, the host of the backend that failed', async () => {
    const backend = await fx.server((req) => req.socket.destroy());
    const client = fx.client({
      retry: false,
      upstreams: { api: { backends: [backend.url] } },
    });
    const err = await rejectsWith<ConnectionError>(
      client.get(`http://api/users?token=${SECRET}`),
      'SENTINEL_CONNECTION',
    );
    assertNames(err, 'GET', 'http://api/users?token=***', hostOf(backend));
  });

  it('ProtocolError: a response that is not HTTP', async () => {
    const server = await fx.rawServer((socket) => {
      socket.once('data', () => socket.end('NOT HTTP AT ALL\r\n\r\n'));
    });
    const client = fx.client({ retry: false });
    const { url, shown } = secretUrl(server);
    const err = await rejectsWith(client.get(url), 'SENTINEL_PROTOCOL');
    assertNames(err, 'GET', shown, hostOf(server));
  });

  it('BodyTooLargeError', async () => {
    const server = await fx.server((_req, res) => res.end('x'.repeat(1000)));
    const client = fx.client({ retry: false, maxBodySize: 100 });
    const { url, shown } = secretUrl(server);
    const err = await rejectsWith<BodyTooLargeError>(client.get(url), 'SENTINEL_BODY_TOO_LARGE');
    assert.equal(err.limit, 100);
    assertNames(err, 'GET', shown, hostOf(server));
  });

  it('CircuitOpenError: refused before any I/O, its own host kept', async () => {
    const server = await fx.server((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    const client = fx.client({ retry: false, circuitBreaker: { consecutiveFailures: 2 } });
    await client.get(server.url);
    await client.get(server.url);
    const { url, shown } = secretUrl(server);
    const err = await rejectsWith<CircuitOpenError>(client.get(url), 'SENTINEL_CIRCUIT_OPEN');
    assertNames(err, 'GET', shown, hostOf(server));
    assert.match(err.detail, /^circuit for 127\.0\.0\.1:\d+ is open; retry after \d+ ms$/);
    assert.equal(err.attempts, 0);
    assert.equal(server.requests, 2);
  });

  it('PoolClosedError: a call ended by close(), and one made after it', async () => {
    const server = await fx.server(never);
    const client = fx.client({ retry: false });
    const { url, shown } = secretUrl(server);
    const pending = rejectsWith<PoolClosedError>(client.get(url), 'SENTINEL_POOL_CLOSED');
    await waitFor(() => server.requests === 1, 'the request to arrive');
    await client.close();
    const ended = await pending;
    assertNames(ended, 'GET', shown, hostOf(server));
    const late = await rejectsWith(client.post(url, undefined, 'x'), 'SENTINEL_POOL_CLOSED');
    assertNames(late, 'POST', shown, hostOf(server));
    assert.equal(late.detail, 'the client is closed');
  });

  it('InvalidRequestError: refused before any I/O, named as far as it can be', async () => {
    const server = await fx.server(never);
    const client = fx.client({ baseUrl: `${server.url}/api/` });
    const header = await rejectsWith(
      client.get(`items?key=${SECRET}`, { 'x-a': 'v\r\nInjected: 1' }),
      'SENTINEL_INVALID_REQUEST',
    );
    assertNames(header, 'GET', `${server.url}/api/items?key=***`, hostOf(server));

    const bare = fx.client();
    const badUrl = await rejectsWith(
      bare.get(`http://user:${SECRET}@127.0.0.1:zz/?token=${SECRET}`),
      'SENTINEL_INVALID_REQUEST',
    );
    assert.equal(badUrl.method, 'GET');
    assert.equal(badUrl.url, 'http://***@127.0.0.1:zz/?token=***');
    assert.equal(badUrl.host, undefined);
    assert.ok(badUrl.message.startsWith('GET http://***@127.0.0.1:zz/?token=***: invalid URL'));

    const badMethod = await rejectsWith(
      client.request({ method: 'GE T', url: 'x' }),
      'SENTINEL_INVALID_REQUEST',
    );
    assertNames(badMethod, '"GE T"', `${server.url}/api/x`, hostOf(server));
    assert.equal(server.connections, 0);
  });

  it('AbortError', async () => {
    const server = await fx.server(never);
    const client = fx.client();
    const { url, shown } = secretUrl(server);
    const controller = new AbortController();
    const pending = client.get(url, undefined, { signal: controller.signal });
    await waitFor(() => server.requests === 1, 'the request to arrive');
    controller.abort(new Error('user left'));
    const err = await rejectsWith<AbortError>(pending, 'SENTINEL_ABORTED');
    assertNames(err, 'GET', shown, hostOf(server));
    assert.equal((err.reason as Error).message, 'user left');
  });

  it('RequestBodyError', async () => {
    const server = await fx.server(async (req, res) => {
      await readBody(req).catch(() => undefined);
      res.end();
    });
    const client = fx.client();
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('part');
      throw new Error('disk read failed');
    }
    const { url, shown } = secretUrl(server);
    const err = await rejectsWith(client.post(url, undefined, failing()), 'SENTINEL_REQUEST_BODY');
    assertNames(err, 'POST', shown, hostOf(server));
  });

  it('HttpStatusError: named, the response typed and readable', async () => {
    const server = await fx.server((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'no such thing' }));
    });
    const client = fx.client({ throwHttpErrors: true });
    const { url, shown } = secretUrl(server);
    const err = await rejectsWith(client.get(url), 'SENTINEL_HTTP_STATUS');
    assertNames(err, 'GET', shown, hostOf(server));
    assert.equal(err.detail, 'HTTP 404 Not Found');
    assert.ok(err instanceof HttpStatusError);
    assert.deepEqual(err.response.json(), { error: 'no such thing' });
  });
});

describe('HttpStatusError of stream()', () => {
  it('carries the response with its body read', async () => {
    const server = await fx.server((_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'slow down' }));
    });
    const client = fx.client({ retry: false, throwHttpErrors: true });
    const { url, shown } = secretUrl(server);
    const err = await rejectsWith(client.stream({ method: 'GET', url }), 'SENTINEL_HTTP_STATUS');
    assertNames(err, 'GET', shown, hostOf(server));
    assert.ok(err instanceof HttpStatusError);
    assert.deepEqual(err.response.json(), { error: 'slow down' });
    assert.equal(err.cause, undefined);
    await waitFor(() => client.pool.stats().totals.active === 0, 'the connection released');
  });

  it('past the buffered maxBodySize: an empty body, and why as the cause', async () => {
    const server = await fx.server((_req, res) => {
      res.statusCode = 500;
      res.end('x'.repeat(100_000));
    });
    const client = fx.client({ retry: false, maxBodySize: 1000 });
    const err = await rejectsWith<HttpStatusError>(
      client.stream({ method: 'GET', url: server.url, throwHttpErrors: true }),
      'SENTINEL_HTTP_STATUS',
    );
    assert.equal(err.response.body.length, 0);
    assert.ok(isSentinelError(err.cause) && err.cause.code === 'SENTINEL_BODY_TOO_LARGE');
    assert.equal(err.cause.limit, 1000);
    await waitFor(() => client.pool.stats().totals.active === 0, 'the connection released');
  });
});

describe('redactQueryParams', () => {
  async function urlOfError(client: HttpClient, server: TestServer, query: string) {
    const err = await rejectsWith(
      client.get(`${server.url}/x?${query}`),
      'SENTINEL_BODY_TOO_LARGE',
    );
    return err.url;
  }

  it('the default list, matched by name in any case, also in the fragment', async () => {
    const server = await fx.server((_req, res) => res.end('too long'));
    const client = fx.client({ retry: false, maxBodySize: 1 });
    assert.equal(
      await urlOfError(client, server, 'API_KEY=a&Access_Token=b&x-amz-signature=c&q=d#sig=e'),
      `${server.url}/x?API_KEY=***&Access_Token=***&x-amz-signature=***&q=d#sig=***`,
    );
  });

  it('a list replaces the default one; [] hides none; children inherit it', async () => {
    const server = await fx.server((_req, res) => res.end('too long'));
    const custom = fx.client({ retry: false, maxBodySize: 1, redactQueryParams: ['Session'] });
    assert.equal(
      await urlOfError(custom, server, 'session=a&api_key=b'),
      `${server.url}/x?session=***&api_key=b`,
    );
    const child = custom.extend({ headers: { 'x-a': '1' } });
    assert.equal(await urlOfError(child, server, 'SESSION=a'), `${server.url}/x?SESSION=***`);
    const none = fx.client({ retry: false, maxBodySize: 1, redactQueryParams: [] });
    assert.equal(await urlOfError(none, server, 'token=a'), `${server.url}/x?token=a`);
  });

  it('a bad list is refused at construction', () => {
    for (const bad of ['token', [''], [1], null]) {
      assert.throws(
        () => fx.client({ redactQueryParams: bad as unknown as string[] }),
        (err: unknown) =>
          isSentinelError(err) &&
          err.code === 'SENTINEL_INVALID_REQUEST' &&
          /redactQueryParams/.test(err.message),
      );
    }
  });
});

describe('errors without a client call name no request', () => {
  it('a pool used directly', async () => {
    const pool = new ConnectionPool();
    await pool.close();
    const err = await rejectsWith(pool.acquire('127.0.0.1', 1), 'SENTINEL_POOL_CLOSED');
    assert.equal(err.method, undefined);
    assert.equal(err.url, undefined);
    assert.equal(err.host, undefined);
    assert.equal(err.message, err.detail);
  });
});
