import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { ProtocolError } from '../../src/core/errors.js';
import { Fixtures, rejectsWith, waitFor } from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

const TEXT = `${'The quick brown fox jumps over the lazy dog. '.repeat(2000)}✓ end`;
const PLAIN = Buffer.from(TEXT);

const ENCODINGS: Record<string, Buffer> = {
  gzip: zlib.gzipSync(PLAIN),
  'x-gzip': zlib.gzipSync(PLAIN),
  deflate: zlib.deflateSync(PLAIN),
  'deflate-raw': zlib.deflateRawSync(PLAIN),
  br: zlib.brotliCompressSync(PLAIN),
};

/** Serves `/<name>` with ENCODINGS[name]; `deflate-raw` is labelled `deflate`. */
async function encodingServer() {
  const seen: Array<string | undefined> = [];
  const server = await fx.server((req, res) => {
    seen.push(req.headers['accept-encoding']);
    const name = req.url!.slice(1);
    const body = ENCODINGS[name]!;
    const label = name === 'deflate-raw' ? 'deflate' : name;
    // Split in two writes so decoding spans chunks.
    res.writeHead(200, { 'content-encoding': label, 'content-type': 'text/plain' });
    res.write(body.subarray(0, 10));
    setImmediate(() => res.end(body.subarray(10)));
  });
  return { server, seen };
}

describe('decompression', () => {
  for (const name of Object.keys(ENCODINGS)) {
    it(`${name}: buffered body is decoded`, async () => {
      const { server, seen } = await encodingServer();
      const client = fx.client();
      const res = await client.get(`${server.url}/${name}`);
      assert.equal(res.text(), TEXT);
      assert.match(String(seen[0]), /gzip, deflate, br/);
      // The header still says what came over the wire.
      assert.equal(res.headers.get('content-encoding'), name === 'deflate-raw' ? 'deflate' : name);
    });

    it(`${name}: streamed body is decoded`, async () => {
      const { server } = await encodingServer();
      const client = fx.client();
      const res = await client.stream({ method: 'GET', url: `${server.url}/${name}` });
      assert.equal(await res.text(), TEXT);
    });
  }

  it('raw deflate whose first byte looks like a zlib header is still raw', async () => {
    // A non-final stored block with its ignored padding bits set (first byte 0x08),
    // then an empty final stored block.
    const data = Buffer.from('hello');
    const raw = Buffer.concat([
      Buffer.from([0x08, data.length, 0x00, ~data.length & 0xff, 0xff]),
      data,
      Buffer.from([0x01, 0x00, 0x00, 0xff, 0xff]),
    ]);
    assert.equal(zlib.inflateRawSync(raw).toString(), 'hello');
    const server = await fx.server((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'deflate' });
      res.end(raw);
    });
    const client = fx.client();
    assert.equal((await client.get(server.url)).text(), 'hello');
    const streamed = await client.stream({ method: 'GET', url: server.url });
    assert.equal(await streamed.text(), 'hello');
  });

  it('breaking out of a decoded stream early releases the connection', async () => {
    const chunk = zlib.gzipSync(Buffer.alloc(64 * 1024, 'q'));
    const server = await fx.server((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' });
      // An endless gzip stream: members can be concatenated.
      const timer = setInterval(() => res.write(chunk), 1);
      res.on('close', () => clearInterval(timer));
    });
    const client = fx.client({ maxBodySize: 1e9 });
    const res = await client.stream({ method: 'GET', url: server.url });
    let got = 0;
    for await (const part of res.body) {
      got += part.length;
      if (got > 200_000) break;
    }
    await waitFor(() => server.openSockets === 0, 'the server to see the socket closed');
    assert.equal(client.pool.stats().totals.active, 0);
  });

  it('a limit of 0 refuses any decoded byte', async () => {
    const server = await fx.server((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' });
      res.end(zlib.gzipSync('x'));
    });
    const client = fx.client({ retry: false });
    await rejectsWith(
      client.get(server.url, undefined, { maxBodySize: 0 }),
      'SENTINEL_BODY_TOO_LARGE',
    );
  });

  it('decompress: false returns the raw bytes and sends no accept-encoding', async () => {
    const { server, seen } = await encodingServer();
    const client = fx.client({ decompress: false });
    const res = await client.get(`${server.url}/gzip`);
    assert.deepEqual(res.body, ENCODINGS.gzip);
    assert.equal(seen[0], undefined);
    const streamed = await client.stream({ method: 'GET', url: `${server.url}/br` });
    assert.deepEqual(await streamed.bytes(), ENCODINGS.br);
  });

  it('decompress: false per request on a decompressing client', async () => {
    const { server, seen } = await encodingServer();
    const client = fx.client();
    const res = await client.get(`${server.url}/deflate`, undefined, { decompress: false });
    assert.deepEqual(res.body, ENCODINGS.deflate);
    assert.equal(seen[0], undefined);
  });

  it('an unknown coding is left as it is', async () => {
    const server = await fx.server((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'x-custom' });
      res.end('opaque');
    });
    const client = fx.client();
    assert.equal((await client.get(server.url)).text(), 'opaque');
  });

  it('an empty encoded body (204, HEAD, zero length) is not decoded', async () => {
    const server = await fx.server((req, res) => {
      res.statusCode = req.url === '/204' ? 204 : 200;
      res.setHeader('content-encoding', 'gzip');
      if (req.url === '/head') res.setHeader('content-length', '30');
      res.end();
    });
    const client = fx.client({ baseUrl: server.url });
    assert.equal((await client.get('/204')).status, 204);
    assert.equal((await client.head('/head')).body.length, 0);
    assert.equal((await client.get('/empty')).body.length, 0);
  });

  it('corrupt gzip is a ProtocolError, buffered and streamed', async () => {
    const corrupt = Buffer.from(ENCODINGS.gzip!);
    corrupt.fill(0x55, 20, 200);
    const server = await fx.server((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' });
      res.end(corrupt);
    });
    const client = fx.client({ retry: false });
    const err = await rejectsWith(client.get(server.url), 'SENTINEL_PROTOCOL');
    assert.ok(err instanceof ProtocolError);
    assert.equal(err.attempts, 1);
    const res = await client.stream({ method: 'GET', url: server.url });
    await rejectsWith(res.bytes(), 'SENTINEL_PROTOCOL');
  });

  it('a body that is not gzip at all is a ProtocolError', async () => {
    const server = await fx.server((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'br' });
      res.end('this is plain text, not brotli');
    });
    const client = fx.client({ retry: false });
    await rejectsWith(client.get(server.url), 'SENTINEL_PROTOCOL');
  });
});
