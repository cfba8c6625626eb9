/**
 * `http-sentinel/testing`: the test server's routes, log and every fault, each driven
 * by the real HttpClient over loopback sockets.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type ClientOptions,
  HttpClient,
  isSentinelError,
  ManualClock as RootClock,
} from '../../src/index.js';
import { fault, ManualClock, startTestServer, type TestServer } from '../../src/testing/index.js';

/** Quick retries, so sequences of failures take milliseconds. */
const QUICK: ClientOptions = { retry: { initialDelayMs: 1, maxDelayMs: 5 } };

async function withServer(
  fn: (server: TestServer, client: HttpClient) => Promise<void>,
  options: ClientOptions = QUICK,
): Promise<void> {
  const server = await startTestServer();
  const client = new HttpClient({ baseUrl: server.url, ...options });
  try {
    await fn(server, client);
  } finally {
    await client.close();
    await server.close();
  }
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('expected the call to fail');
}

/** Sockets and listening servers this process holds open. */
function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length;
}

describe('routes and the request log', () => {
  test('a route answers with a reply, a handler sees the request, no route is a 404', async () => {
    await withServer(async (server, client) => {
      server.route('GET', '/users/1', { json: { id: 1 } });
      server.route('post', '/echo', (req) => ({
        status: 201,
        headers: { 'x-got': req.headers['x-trace'] as string },
        body: req.body,
      }));

      const user = await client.get('/users/1');
      assert.equal(user.status, 200);
      assert.deepEqual(user.json(), { id: 1 });
      assert.equal(user.headers.get('content-type'), 'application/json');

      const echo = await client.post('/echo', { 'x-trace': 'abc' }, 'hello');
      assert.equal(echo.status, 201);
      assert.equal(echo.text(), 'hello');
      assert.equal(echo.headers.get('x-got'), 'abc');

      const missing = await client.get('/nope');
      assert.equal(missing.status, 404);
      assert.equal(missing.text(), 'no route for GET /nope');
    });
  });

  test('the log records method, target, headers, body and time of every request', async () => {
    await withServer(async (server, client) => {
      server.route('*', '/any', 204);
      const before = Date.now();
      await client.get('/any?page=2', { accept: 'text/plain' });
      await client.put('/any', { 'content-type': 'application/octet-stream' }, Buffer.from([1, 2]));
      await client.delete('/elsewhere');

      assert.equal(server.requests.length, 3);
      const [get, put, del] = server.requests;
      assert.equal(get!.method, 'GET');
      assert.equal(get!.url, '/any?page=2');
      assert.equal(get!.path, '/any');
      assert.equal(get!.headers.accept, 'text/plain');
      assert.equal(get!.headers.host, `127.0.0.1:${server.port}`);
      assert.deepEqual(get!.body, Buffer.alloc(0));
      assert.ok(get!.time >= before && get!.time <= put!.time, `${get!.time} vs ${before}`);
      assert.equal(put!.method, 'PUT');
      assert.deepEqual(put!.body, Buffer.from([1, 2]));
      assert.equal(put!.headers['content-type'], 'application/octet-stream');
      assert.deepEqual(
        server.requests.map((r) => [r.index, r.method, r.path]),
        [
          [0, 'GET', '/any'],
          [1, 'PUT', '/any'],
          [2, 'DELETE', '/elsewhere'],
        ],
      );
      assert.equal(del!.headers['content-length'], undefined);

      server.clearRequests();
      assert.equal(server.requests.length, 0);
    });
  });

  test('a handler that throws answers 500 with the error', async () => {
    await withServer(async (server, client) => {
      server.route('GET', '/boom', () => {
        throw new Error('kaput');
      });
      const res = await client.get('/boom', undefined, { retry: false });
      assert.equal(res.status, 500);
      assert.match(res.text(), /kaput/);
    });
  });
});

describe('fault injection against HttpClient', () => {
  test('a 503, 503, 200 sequence is retried to success; the last step repeats', async () => {
    await withServer(async (server, client) => {
      const route = server.route('GET', '/flaky').sequence([503, 503, { body: 'ok' }]);
      const res = await client.get('/flaky');
      assert.equal(res.status, 200);
      assert.equal(res.text(), 'ok');
      assert.equal(res.attempts, 3);
      assert.equal(route.hits, 3);
      assert.equal((await client.get('/flaky')).attempts, 1);
      assert.equal(server.requests.length, 4);
    });
  });

  test('a sequence longer than the retries: the client gets the last 503', async () => {
    await withServer(async (server, client) => {
      server.route('GET', '/down').sequence([503, 503, 503, 200]);
      const res = await client.get('/down');
      assert.equal(res.status, 503);
      assert.equal(res.attempts, 3);
    });
  });

  test('Retry-After is honoured: the retry waits the second the server asked for', async () => {
    await withServer(async (server, client) => {
      server.route('GET', '/throttled').sequence([{ status: 503, retryAfter: 1 }, 200]);
      const res = await client.get('/throttled');
      assert.equal(res.status, 200);
      assert.equal(res.attempts, 2);
      const [first, second] = server.requests;
      // The client's own backoff is at most 5 ms here.
      assert.ok(second!.time - first!.time >= 990, `${second!.time - first!.time} ms apart`);
    });
  });

  test('Retry-After as an HTTP date, on a 429', async () => {
    await withServer(async (server, client) => {
      const at = new Date(Date.now() + 60_000);
      server.route('GET', '/later', { status: 429, retryAfter: at });
      const res = await client.get('/later', undefined, { retry: false });
      assert.equal(res.status, 429);
      assert.equal(res.headers.get('retry-after'), at.toUTCString());
    });
  });

  test('a fixed delay: a deadline shorter than it times out, a longer one gets the answer', async () => {
    await withServer(async (server, client) => {
      server.route('GET', '/slow', 'slow').delay(200);
      const err = await failure(client.get('/slow', undefined, { timeout: 50, retry: false }));
      assert.ok(isSentinelError(err) && err.code === 'SENTINEL_TIMEOUT', String(err));

      const started = performance.now();
      const res = await client.get('/slow', undefined, { timeout: 5_000 });
      assert.equal(res.text(), 'slow');
      assert.ok(performance.now() - started >= 190);
    });
  });

  test('a hang hits the client timeout, and close() ends a request still hanging', async () => {
    const handles = tcpHandles();
    const server = await startTestServer();
    const client = new HttpClient({ baseUrl: server.url, retry: false });
    try {
      server.route('GET', '/hang').hang();
      const err = await failure(client.get('/hang', undefined, { timeout: 200 }));
      assert.ok(isSentinelError(err), String(err));
      assert.equal(err.code, 'SENTINEL_TIMEOUT');
      assert.equal(server.requests.length, 1);

      const pending = failure(client.get('/hang', undefined, { timeout: 30_000 }));
      while (server.requests.length < 2) await new Promise((r) => setTimeout(r, 5));
      assert.ok(server.openConnections >= 1);
      await server.close();
      const cut = await pending;
      assert.ok(isSentinelError(cut) && cut.code === 'SENTINEL_CONNECTION', String(cut));
      assert.equal(server.openConnections, 0);
      await server.close();
    } finally {
      await client.close();
      await server.close();
    }
    // A destroyed socket lets go of its handle on the next turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(tcpHandles(), handles, 'every socket and the listener are gone');
  });

  test('a reset before the response: a ConnectionError, retried for a GET', async () => {
    await withServer(async (server, client) => {
      server.route('GET', '/reset').reset();
      const err = await failure(client.get('/reset', undefined, { retry: false }));
      assert.ok(isSentinelError(err) && err.code === 'SENTINEL_CONNECTION', String(err));

      server.route('GET', '/once').sequence([fault.reset(), { body: 'back' }]);
      const res = await client.get('/once');
      assert.equal(res.text(), 'back');
      assert.equal(res.attempts, 2);
    });
  });

  test('a reset in the middle of the body: the headers arrive, then the body fails', async () => {
    await withServer(async (server, client) => {
      const body = 'x'.repeat(64 * 1024);
      server.route('GET', '/cut').resetMidBody({ body, after: 1000 });

      await using res = await client.stream({ method: 'GET', url: '/cut', retry: false });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-length'), String(body.length));
      let received = 0;
      const err = await failure(
        (async () => {
          for await (const chunk of res.body) received += chunk.length;
        })(),
      );
      assert.ok(isSentinelError(err), String(err));
      assert.ok(received <= 1000, `${received} bytes before the reset`);

      const buffered = await failure(client.get('/cut', undefined, { retry: { maxAttempts: 2 } }));
      assert.ok(isSentinelError(buffered) && buffered.code === 'SENTINEL_CONNECTION');
      assert.equal(buffered.attempts, 2);
    });
  });

  test('a truncated body (closed cleanly, shorter than content-length) fails', async () => {
    await withServer(async (server, client) => {
      server.route('GET', '/short').truncate({ body: '0123456789', after: 4 });
      const err = await failure(client.get('/short', undefined, { retry: false }));
      assert.ok(isSentinelError(err) && err.code === 'SENTINEL_CONNECTION', String(err));

      server
        .route('GET', '/short-once')
        .sequence([fault.truncate({ body: '0123456789' }), { body: '0123456789' }]);
      const res = await client.get('/short-once');
      assert.equal(res.text(), '0123456789');
      assert.equal(res.attempts, 2);
    });
  });
});

describe('ManualClock', () => {
  test('is exported by http-sentinel/testing, the same class the root entry still exports', () => {
    assert.equal(ManualClock, RootClock);
    const clock = new ManualClock();
    let fired = 0;
    clock.setTimeout(() => fired++, 100);
    clock.advance(99);
    assert.equal(fired, 0);
    clock.advance(1);
    assert.equal(fired, 1);
  });
});
