import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { BodyTooLargeError } from '../../src/core/errors.js';
import { Fixtures, rejectsWith, waitFor } from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

describe('maxBodySize', () => {
  it('a chunked body over the limit fails and its connection is discarded', async () => {
    const server = await fx.server((req, res) => {
      if (req.url === '/big') {
        res.write('x'.repeat(600));
        res.end('y'.repeat(600));
      } else {
        res.end('small');
      }
    });
    const client = fx.client({ baseUrl: server.url, maxBodySize: 1000 });
    assert.equal((await client.get('/small')).text(), 'small');
    assert.equal(server.connections, 1);
    const err = await rejectsWith<BodyTooLargeError>(client.get('/big'), 'SENTINEL_BODY_TOO_LARGE');
    assert.ok(err instanceof BodyTooLargeError);
    assert.equal(err.limit, 1000);
    assert.equal(err.attempts, 1);
    await waitFor(() => server.openSockets === 0, 'the oversized socket to close');
    assert.equal((await client.get('/small')).text(), 'small');
    assert.equal(server.connections, 2);
  });

  it('a Content-Length over the limit fails at headers, before the body is read', async () => {
    let bodyWritten = false;
    const server = await fx.server((_req, res) => {
      res.writeHead(200, { 'content-length': String(5 * 1024 * 1024) });
      // Headers first; the body would only follow later.
      res.flushHeaders();
      setTimeout(() => {
        bodyWritten = true;
        res.destroy();
      }, 500).unref();
    });
    const client = fx.client({ retry: false });
    const err = await rejectsWith<BodyTooLargeError>(
      client.get(server.url, undefined, { maxBodySize: 1024 }),
      'SENTINEL_BODY_TOO_LARGE',
    );
    assert.equal(err.limit, 1024);
    assert.equal(bodyWritten, false);
    await waitFor(() => server.openSockets === 0, 'the socket to close');
  });

  it('a body exactly at the limit is fine, and maxBodySize 0 allows empty bodies', async () => {
    const server = await fx.server((req, res) => res.end(req.url === '/empty' ? '' : 'abcd'));
    const client = fx.client({ baseUrl: server.url });
    assert.equal((await client.get('/', undefined, { maxBodySize: 4 })).text(), 'abcd');
    assert.equal((await client.get('/empty', undefined, { maxBodySize: 0 })).body.length, 0);
    await rejectsWith(client.get('/', undefined, { maxBodySize: 3 }), 'SENTINEL_BODY_TOO_LARGE');
  });

  it('applies to the decompressed body: a small gzip that expands past the limit', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(4 * 1024 * 1024));
    assert.ok(bomb.length < 10_000);
    const server = await fx.server((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': bomb.length });
      res.end(bomb);
    });
    const client = fx.client({ retry: false });
    const err = await rejectsWith<BodyTooLargeError>(
      client.get(server.url, undefined, { maxBodySize: 64 * 1024 }),
      'SENTINEL_BODY_TOO_LARGE',
    );
    assert.equal(err.limit, 64 * 1024);
    // With room enough it decodes.
    const ok = await client.get(server.url, undefined, { maxBodySize: 5 * 1024 * 1024 });
    assert.equal(ok.body.length, 4 * 1024 * 1024);
  });

  it('applies to a decompressed stream, for every coding', async () => {
    const plain = Buffer.alloc(2 * 1024 * 1024, 'a');
    const encoded: Record<string, Buffer> = {
      gzip: zlib.gzipSync(plain),
      deflate: zlib.deflateSync(plain),
      br: zlib.brotliCompressSync(plain),
    };
    const server = await fx.server((req, res) => {
      const coding = req.url!.slice(1);
      res.writeHead(200, { 'content-encoding': coding });
      res.end(encoded[coding]);
    });
    const client = fx.client({ retry: false });
    for (const coding of Object.keys(encoded)) {
      const res = await client.stream({
        method: 'GET',
        url: `${server.url}/${coding}`,
        maxBodySize: 100_000,
      });
      const err = await rejectsWith<BodyTooLargeError>(res.bytes(), 'SENTINEL_BODY_TOO_LARGE');
      assert.equal(err.limit, 100_000, coding);
    }
    await waitFor(() => client.pool.stats().totals.active === 0, 'connections released');
  });
});
