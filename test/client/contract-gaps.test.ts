/**
 * DESIGN.md's promises the verbs, the pool's responses and the response readers keep:
 * `json` on post/put/patch, the HttpResponse surface on `conn.request()`, and typed
 * errors from `json()` and from reading a body twice.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { InvalidRequestError, ProtocolError } from '../../src/core/errors.js';
import { ConnectionPool } from '../../src/pool/index.js';
import { echo, echoed, Fixtures, rejectsWith } from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

describe('json on the verbs', () => {
  for (const verb of ['post', 'put', 'patch'] as const) {
    it(`client.${verb}(url, undefined, undefined, { json }) sends the JSON body`, async () => {
      const server = await fx.server(echo);
      const client = fx.client({ baseUrl: server.url });
      const value = { name: 'x', n: [1, 2], nested: { ok: true } };
      const e = echoed(await client[verb]('/j', undefined, undefined, { json: value }));
      assert.equal(e.method, verb.toUpperCase());
      assert.deepEqual(JSON.parse(e.text), value);
      assert.equal(e.headers['content-type'], 'application/json');
      assert.equal(e.headers['content-length'], String(Buffer.byteLength(JSON.stringify(value))));
    });
  }

  it('a content-type given in the headers is kept', async () => {
    const server = await fx.server(echo);
    const client = fx.client({ baseUrl: server.url });
    const e = echoed(
      await client.post('/j', { 'content-type': 'application/vnd.api+json' }, undefined, {
        json: [1],
      }),
    );
    assert.equal(e.headers['content-type'], 'application/vnd.api+json');
    assert.equal(e.text, '[1]');
  });

  it('json together with a body is an InvalidRequestError, before any I/O', async () => {
    const server = await fx.server(echo);
    const client = fx.client({ baseUrl: server.url });
    await rejectsWith(
      client.post('/j', undefined, 'text', { json: { a: 1 } }),
      'SENTINEL_INVALID_REQUEST',
    );
    await rejectsWith(
      client.put('/j', undefined, 'text', { json: { a: 1 } }),
      'SENTINEL_INVALID_REQUEST',
    );
    assert.equal(server.requests, 0);
  });

  it('json on a GET is an InvalidRequestError, not silently dropped', async () => {
    const server = await fx.server(echo);
    const client = fx.client({ baseUrl: server.url });
    await rejectsWith(client.get('/j', undefined, { json: { a: 1 } }), 'SENTINEL_INVALID_REQUEST');
    assert.equal(server.requests, 0);
  });
});

describe('conn.request() has the read-only surface of HttpResponse', () => {
  it('ok, status, statusText, headers, body, text(), json()', async () => {
    const server = await fx.server((req, res) => {
      const status = req.url === '/missing' ? 404 : 200;
      res.writeHead(status, 'Custom Reason', { 'content-type': 'application/json', 'x-a': '1' });
      res.end(status === 200 ? '{"hello":"world"}' : 'not json');
    });
    const pool = new ConnectionPool();
    try {
      const conn = await pool.acquire(server.url);
      try {
        const res = await conn.request('GET', '/');
        assert.equal(res.ok, true);
        assert.equal(res.status, 200);
        assert.equal(res.statusText, 'Custom Reason');
        assert.ok(res.headers instanceof Headers);
        assert.equal(res.headers.get('x-a'), '1');
        assert.ok(Buffer.isBuffer(res.body));
        assert.equal(res.text(), '{"hello":"world"}');
        assert.deepEqual(res.json(), { hello: 'world' });
        const missing = await conn.request('GET', '/missing');
        assert.equal(missing.ok, false);
        assert.equal(missing.status, 404);
        assert.throws(
          () => missing.json(),
          (err: unknown) =>
            err instanceof ProtocolError && (err.cause as Error).name === 'SyntaxError',
        );
      } finally {
        pool.release(conn);
      }
    } finally {
      await pool.close();
    }
  });
});

describe('response readers throw typed errors', () => {
  it('res.json() on a body that is not JSON: ProtocolError with the SyntaxError as cause', async () => {
    const server = await fx.server((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('<html>not json</html>');
    });
    const client = fx.client();
    const res = await client.get(server.url);
    assert.throws(
      () => res.json(),
      (err: unknown) =>
        err instanceof ProtocolError &&
        err.code === 'SENTINEL_PROTOCOL' &&
        err.cause instanceof SyntaxError,
    );
    const streamed = await client.stream({ method: 'GET', url: server.url });
    const err = await rejectsWith<ProtocolError>(streamed.json(), 'SENTINEL_PROTOCOL');
    assert.ok(err.cause instanceof SyntaxError);
  });

  it('events() after text(): InvalidRequestError', async () => {
    const server = await fx.server((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: one\n\n');
    });
    const client = fx.client();
    const res = await client.stream({ method: 'GET', url: server.url });
    assert.equal(await res.text(), 'data: one\n\n');
    const err = await rejectsWith(res.events().next(), 'SENTINEL_INVALID_REQUEST');
    assert.ok(err instanceof InvalidRequestError);
    await rejectsWith(res.bytes(), 'SENTINEL_INVALID_REQUEST');
  });

  it('iterating res.body twice: InvalidRequestError', async () => {
    const server = await fx.server((_req, res) => {
      res.end('abc');
    });
    const client = fx.client();
    const res = await client.stream({ method: 'GET', url: server.url });
    for await (const _ of res.body) {
      // drain
    }
    await rejectsWith(res.body[Symbol.asyncIterator]().next(), 'SENTINEL_INVALID_REQUEST');
  });
});
