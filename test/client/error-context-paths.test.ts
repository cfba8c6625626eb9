/**
 * The request an error names, on the paths past the call itself: a streamed body that
 * fails while the caller reads it, parsing a response, hooks (which must not name it
 * twice) and client events.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { ClientEvent } from '../../src/client/index.js';
import { InvalidRequestError, isSentinelError, type SentinelError } from '../../src/core/errors.js';
import { Fixtures, rejectsWith } from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

const SECRET = 'SECRETPW';

/** Reads `body` to its end; the error it fails with. */
async function failedRead(body: AsyncIterable<Uint8Array>): Promise<SentinelError> {
  try {
    for await (const _ of body) {
      // drained
    }
  } catch (err) {
    assert.ok(isSentinelError(err), String(err));
    return err;
  }
  assert.fail('the body ended without an error');
}

function assertNames(err: SentinelError, method: string, url: string, port: number): void {
  assert.equal(err.method, method);
  assert.equal(err.url, url);
  assert.equal(err.host, `127.0.0.1:${port}`);
  assert.equal(err.message, `${method} ${url}: ${err.detail}`);
  assert.ok(!err.message.includes(SECRET), err.message);
}

describe('a streamed body that fails while it is read', () => {
  it('cut off by the server', async () => {
    const server = await fx.server((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('0123456789');
      setTimeout(() => res.socket?.destroy(), 10);
    });
    const client = fx.client({ retry: false });
    const res = await client.stream({ method: 'GET', url: `${server.url}/feed?token=${SECRET}` });
    const err = await failedRead(res.body);
    assert.equal(err.code, 'SENTINEL_CONNECTION');
    assertNames(err, 'GET', `${server.url}/feed?token=***`, server.port);
    assert.equal(err.attempts, 1);
  });

  it('stalled past attemptTimeout between chunks, read with text()', async () => {
    const server = await fx.server((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first');
    });
    const client = fx.client({ retry: false });
    const res = await client.stream({
      method: 'GET',
      url: `${server.url}/slow?sig=${SECRET}`,
      attemptTimeout: 40,
    });
    const err = await rejectsWith(res.text(), 'SENTINEL_TIMEOUT');
    assertNames(err, 'GET', `${server.url}/slow?sig=***`, server.port);
  });

  it('a compressed body that does not decode', async () => {
    const gzip = gzipSync('a'.repeat(1000));
    const server = await fx.server((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' });
      // A valid header, then garbage in place of the deflate stream.
      res.end(Buffer.concat([gzip.subarray(0, 10), Buffer.from('not deflate at all')]));
    });
    const client = fx.client({ retry: false });
    const res = await client.stream({ method: 'POST', url: `${server.url}/z`, body: 'x' });
    const err = await failedRead(res.body);
    assert.equal(err.code, 'SENTINEL_PROTOCOL');
    assertNames(err, 'POST', `${server.url}/z`, server.port);
  });
});

describe('parsing a response', () => {
  it('json() of a body that is not JSON, buffered and streamed', async () => {
    const server = await fx.server((_req, res) => res.end('<html>'));
    const client = fx.client();
    const res = await client.get(`${server.url}/page?key=${SECRET}`);
    let err: unknown;
    try {
      res.json();
    } catch (e) {
      err = e;
    }
    assert.ok(isSentinelError(err) && err.code === 'SENTINEL_PROTOCOL');
    assertNames(err, 'GET', `${server.url}/page?key=***`, server.port);
    assert.equal(err.attempts, 1);

    const streamed = await client.stream({ method: 'GET', url: `${server.url}/page` });
    const fromStream = await rejectsWith(streamed.json(), 'SENTINEL_PROTOCOL');
    assertNames(fromStream, 'GET', `${server.url}/page`, server.port);
    const again = await rejectsWith(streamed.text(), 'SENTINEL_INVALID_REQUEST');
    assertNames(again, 'GET', `${server.url}/page`, server.port);
  });
});

describe('hooks', () => {
  it('beforeError sees the request; a hook that throws it back does not name it twice', async () => {
    const server = await fx.server(() => {});
    const seen: Array<string | undefined> = [];
    const client = fx.client({
      retry: false,
      timeout: 30,
      hooks: {
        beforeError: [
          (error) => {
            seen.push(error.url, error.host, error.message);
            throw error;
          },
        ],
      },
    });
    const url = `${server.url}/x?token=${SECRET}`;
    const shown = `${server.url}/x?token=***`;
    const err = await rejectsWith(client.get(url), 'SENTINEL_INVALID_REQUEST');
    assert.deepEqual(seen, [
      shown,
      `127.0.0.1:${server.port}`,
      `GET ${shown}: total timeout after 30 ms`,
    ]);
    assert.equal(err.message, `GET ${shown}: hooks.beforeError threw: total timeout after 30 ms`);
    assert.ok(isSentinelError(err.cause) && err.cause.code === 'SENTINEL_TIMEOUT');
  });

  it("afterResponse: a nested call's error names its own request in the cause", async () => {
    const server = await fx.server((req, res) => {
      res.statusCode = req.url === '/refresh' ? 500 : 401;
      res.end();
    });
    const client = fx.client({ retry: false });
    const err = await rejectsWith<InvalidRequestError>(
      client.get(`${server.url}/data`, undefined, {
        hooks: {
          afterResponse: [
            async (res) => {
              if (res.status !== 401) return;
              // The token refresh fails: its HttpStatusError passes through this hook.
              await client.post(`${server.url}/refresh`, undefined, 'x', {
                throwHttpErrors: true,
              });
            },
          ],
        },
      }),
      'SENTINEL_INVALID_REQUEST',
    );
    assert.ok(err instanceof InvalidRequestError);
    assert.equal(
      err.message,
      `GET ${server.url}/data: hooks.afterResponse threw: HTTP 500 Internal Server Error`,
    );
    const cause = err.cause;
    assert.ok(isSentinelError(cause) && cause.code === 'SENTINEL_HTTP_STATUS');
    assertNames(cause, 'POST', `${server.url}/refresh`, server.port);
  });
});

describe('client events', () => {
  it("attempt and retry events carry errors that name the attempt's request", async () => {
    const server = await fx.server((req) => req.socket.destroy());
    const client = fx.client({
      retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
      adaptive: false,
    });
    const events: ClientEvent[] = [];
    client.onEvent((e) => events.push(e));
    const url = `${server.url}/e?api_key=${SECRET}`;
    const err = await rejectsWith(client.get(url), 'SENTINEL_CONNECTION');
    const errors = events.flatMap((e) =>
      (e.type === 'attempt' || e.type === 'retry') && e.error !== undefined ? [e.error] : [],
    );
    assert.deepEqual(
      events.map((e) => e.type),
      ['attempt', 'retry', 'attempt'],
    );
    assert.equal(errors.length, 3);
    for (const e of errors) assertNames(e, 'GET', `${server.url}/e?api_key=***`, server.port);
    assert.equal(errors[2], err, 'the last attempt error is the one thrown');
  });
});
