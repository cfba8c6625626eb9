import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { afterEach, describe, it } from 'node:test';
import { echo, echoed, Fixtures, readBody } from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

/** The values of `name` in the order the server received them. */
function rawValues(rawHeaders: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === name) out.push(rawHeaders[i + 1]!);
  }
  return out;
}

describe('request headers', () => {
  it('accepts a Record with string and string[] values, and leaves out undefined ones', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    const res = await client.get(server.url, {
      'X-One': 'one',
      'X-Many': ['a', 'b'],
      'X-None': undefined,
    });
    const e = echoed(res);
    assert.equal(e.headers['x-one'], 'one');
    assert.deepEqual(rawValues(e.rawHeaders, 'x-many'), ['a', 'b']);
    assert.equal(e.headers['x-none'], undefined);
  });

  it('accepts an iterable of pairs (Map and generator)', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    const fromMap = echoed(await client.get(server.url, new Map([['X-Map', 'm']])));
    assert.equal(fromMap.headers['x-map'], 'm');
    function* pairs(): Generator<[string, string]> {
      yield ['X-Gen', '1'];
      yield ['X-Gen', '2'];
    }
    const fromGen = echoed(await client.get(server.url, pairs()));
    assert.deepEqual(rawValues(fromGen.rawHeaders, 'x-gen'), ['1', '2']);
    const fromArray = echoed(await client.get(server.url, [['X-Arr', 'v']]));
    assert.equal(fromArray.headers['x-arr'], 'v');
  });

  it('accepts a WHATWG Headers', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    const headers = new Headers({ 'X-Whatwg': 'yes' });
    headers.append('X-Whatwg', 'again');
    const e = echoed(await client.get(server.url, headers));
    assert.equal(e.headers['x-whatwg'], 'yes, again');
  });

  it('accepts the { name, value }[] shape', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    const e = echoed(
      await client.get(server.url, [
        { name: 'X-Seed', value: 's' },
        { name: 'X-Other', value: 'o' },
      ]),
    );
    assert.equal(e.headers['x-seed'], 's');
    assert.equal(e.headers['x-other'], 'o');
  });

  it('request headers override client defaults case-insensitively, all values of a name', async () => {
    const server = await fx.server(echo);
    const client = fx.client({
      headers: { 'X-Default': 'd', 'X-Replace': ['old1', 'old2'], 'User-Agent': 'sentinel' },
    });
    const e = echoed(await client.get(server.url, { 'x-REPLACE': 'new' }));
    assert.equal(e.headers['x-default'], 'd');
    assert.deepEqual(rawValues(e.rawHeaders, 'x-replace'), ['new']);
    assert.equal(e.headers['user-agent'], 'sentinel');
    // Defaults are not changed by a request's override.
    const again = echoed(await client.get(server.url));
    assert.deepEqual(rawValues(again.rawHeaders, 'x-replace'), ['old1', 'old2']);
  });

  it('does not mutate the caller’s headers object', async () => {
    const server = await fx.server(echo);
    const defaults = { 'X-A': 'a' };
    const client = fx.client({ headers: defaults });
    const mine = { 'X-B': 'b' };
    await client.post(server.url, mine, 'text');
    assert.deepEqual(defaults, { 'X-A': 'a' });
    assert.deepEqual(mine, { 'X-B': 'b' });
  });

  it('sends accept-encoding by default, and the caller can replace it', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    const e = echoed(await client.get(server.url));
    assert.match(String(e.headers['accept-encoding']), /gzip/);
    const own = echoed(await client.get(server.url, { 'Accept-Encoding': 'identity' }));
    assert.equal(own.headers['accept-encoding'], 'identity');
  });
});

describe('request bodies', () => {
  it('string: utf-8 with text/plain', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    const e = echoed(await client.post(server.url, undefined, 'héllo ✓'));
    assert.equal(e.text, 'héllo ✓');
    assert.equal(e.headers['content-length'], String(Buffer.byteLength('héllo ✓')));
    assert.match(String(e.headers['content-type']), /^text\/plain/);
  });

  it('Uint8Array and Buffer: exact bytes, no content-type invented', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    const e = echoed(await client.post(server.url, undefined, bytes));
    assert.deepEqual([...e.bytes], [0, 1, 2, 250, 255]);
    assert.equal(e.headers['content-type'], undefined);
    const buf = Buffer.from('buffer body');
    assert.equal(echoed(await client.put(server.url, undefined, buf)).text, 'buffer body');
    // A view into a larger buffer sends only its own bytes.
    const view = Buffer.from('xxINNERyy').subarray(2, 7);
    assert.equal(echoed(await client.put(server.url, undefined, view)).text, 'INNER');
  });

  it('ArrayBuffer', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    const ab = new TextEncoder().encode('array buffer').buffer as ArrayBuffer;
    const e = echoed(await client.post(server.url, undefined, ab));
    assert.equal(e.text, 'array buffer');
  });

  it('URLSearchParams: form-encoded with its content-type', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    const e = echoed(
      await client.post(server.url, undefined, new URLSearchParams({ a: '1', b: 'x y&z' })),
    );
    assert.equal(e.text, 'a=1&b=x+y%26z');
    assert.match(String(e.headers['content-type']), /^application\/x-www-form-urlencoded/);
  });

  it('FormData: multipart arrives intact, fields and file', async () => {
    const server = await fx.server(async (req, res) => {
      const body = await readBody(req);
      // Parse what arrived with the platform's own multipart parser.
      const parsed = await new Response(body, {
        headers: { 'content-type': String(req.headers['content-type']) },
      }).formData();
      const file = parsed.get('file') as File;
      res.end(
        JSON.stringify({
          type: req.headers['content-type'],
          length: req.headers['content-length'],
          field: parsed.get('field'),
          fileName: file.name,
          fileText: await file.text(),
        }),
      );
    });
    const client = fx.client();
    const form = new FormData();
    form.append('field', 'value ✓');
    form.append('file', new Blob(['file contents\r\n--not-a-boundary']), 'a.txt');
    const res = await client.post(server.url, undefined, form);
    const got = res.json<Record<string, string>>();
    assert.match(got.type!, /^multipart\/form-data; boundary=/);
    assert.ok(Number(got.length) > 0);
    assert.equal(got.field, 'value ✓');
    assert.equal(got.fileName, 'a.txt');
    assert.equal(got.fileText, 'file contents\r\n--not-a-boundary');
  });

  it('Blob: its bytes and its type', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    const blob = new Blob(['blob body'], { type: 'application/x-custom' });
    const e = echoed(await client.post(server.url, undefined, blob));
    assert.equal(e.text, 'blob body');
    assert.equal(e.headers['content-type'], 'application/x-custom');
    assert.equal(e.headers['content-length'], '9');
  });

  it('Node Readable: streamed with chunked encoding', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    const e = echoed(
      await client.post(server.url, undefined, Readable.from([Buffer.from('one '), 'two']), {
        retry: false,
      }),
    );
    assert.equal(e.text, 'one two');
    assert.equal(e.headers['transfer-encoding'], 'chunked');
  });

  it('async iterable of Uint8Array', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    async function* gen(): AsyncGenerator<Uint8Array> {
      yield new TextEncoder().encode('async ');
      await new Promise((r) => setImmediate(r));
      yield new TextEncoder().encode('iterable');
    }
    const e = echoed(await client.put(server.url, undefined, gen()));
    assert.equal(e.text, 'async iterable');
  });

  it('json option: serialised with application/json; caller content-type wins', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    const res = await client.request({
      method: 'POST',
      url: server.url,
      json: { a: [1, 2], b: 'ü' },
    });
    const e = echoed(res);
    assert.deepEqual(JSON.parse(e.text), { a: [1, 2], b: 'ü' });
    assert.equal(e.headers['content-type'], 'application/json');
    assert.equal(e.headers['content-length'], String(Buffer.byteLength(e.text)));
    const own = echoed(
      await client.request({
        method: 'PUT',
        url: server.url,
        headers: { 'Content-Type': 'application/merge-patch+json' },
        json: null,
      }),
    );
    assert.equal(own.text, 'null');
    assert.equal(own.headers['content-type'], 'application/merge-patch+json');
  });

  it('the same replayable body can be sent twice', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    const form = new URLSearchParams({ k: 'v' });
    const bytes = Buffer.from('again');
    for (let i = 0; i < 2; i++) {
      assert.equal(echoed(await client.post(server.url, undefined, form)).text, 'k=v');
      assert.equal(echoed(await client.post(server.url, undefined, bytes)).text, 'again');
    }
  });
});
