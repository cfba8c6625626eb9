import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { afterEach, describe, it } from 'node:test';
import { ProtocolError } from '../../src/core/errors.js';
import { echo, echoed, Fixtures, readBody, rejectsWith } from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

/** `/r/<status>?to=<url>` redirects with that status; anything else echoes. */
async function redirectServer() {
  return fx.server(async (req, res) => {
    const url = new URL(req.url!, 'http://x');
    const match = /^\/r\/(\d{3})$/.exec(url.pathname);
    if (match !== null) {
      await readBody(req);
      res.writeHead(Number(match[1]), { location: url.searchParams.get('to') ?? '/final' });
      res.end('redirecting');
      return;
    }
    echo(req, res);
  });
}

describe('redirects', () => {
  it('a GET follows every redirect status, and the response says so', async () => {
    const server = await redirectServer();
    const client = fx.client({ baseUrl: server.url });
    for (const status of [301, 302, 303, 307, 308]) {
      const res = await client.get(`/r/${status}?to=/final%3Fq%3D1`);
      assert.equal(res.status, 200, String(status));
      assert.equal(res.redirected, true);
      assert.equal(res.url, `${server.url}/final?q=1`);
      assert.equal(res.attempts, 1, 'a redirect is not a retry');
      assert.equal(echoed(res).method, 'GET');
    }
  });

  it('303 turns any method into GET and drops the body', async () => {
    const server = await redirectServer();
    const client = fx.client({ baseUrl: server.url });
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const res = await client.request({
        method,
        url: '/r/303',
        body: 'payload',
        headers: { 'x-keep': 'kept' },
      });
      const e = echoed(res);
      assert.equal(e.method, 'GET', method);
      assert.equal(e.bytes.length, 0);
      assert.equal(e.headers['content-type'], undefined);
      assert.equal(e.headers['content-length'], undefined);
      assert.equal(e.headers['x-keep'], 'kept');
    }
  });

  it('HEAD stays HEAD on 303', async () => {
    const server = await redirectServer();
    const client = fx.client({ baseUrl: server.url });
    const res = await client.head('/r/303');
    assert.equal(res.status, 200);
    assert.equal(res.redirected, true);
  });

  it('POST on 301 and 302 becomes GET without the body', async () => {
    const server = await redirectServer();
    const client = fx.client({ baseUrl: server.url });
    for (const status of [301, 302]) {
      const e = echoed(await client.post(`/r/${status}`, undefined, 'payload'));
      assert.equal(e.method, 'GET');
      assert.equal(e.bytes.length, 0);
    }
  });

  it('PUT on 301 and 302 keeps its method and body', async () => {
    const server = await redirectServer();
    const client = fx.client({ baseUrl: server.url });
    const e = echoed(await client.put('/r/301', undefined, 'payload'));
    assert.equal(e.method, 'PUT');
    assert.equal(e.text, 'payload');
  });

  it('307 and 308 keep method, body and content-type', async () => {
    const server = await redirectServer();
    const client = fx.client({ baseUrl: server.url });
    for (const status of [307, 308]) {
      const res = await client.request({ method: 'POST', url: `/r/${status}`, json: { a: 1 } });
      const e = echoed(res);
      assert.equal(e.method, 'POST');
      assert.equal(e.text, '{"a":1}');
      assert.equal(e.headers['content-type'], 'application/json');
    }
  });

  it('307 with a one-shot stream body returns the 307 rather than resend', async () => {
    const server = await redirectServer();
    const client = fx.client({ baseUrl: server.url });
    const res = await client.post('/r/307', undefined, Readable.from(['once']));
    assert.equal(res.status, 307);
    assert.equal(res.redirected, false);
  });

  it('after a 303 drops a one-shot body, the GET can be retried', async () => {
    let landed = 0;
    const server = await fx.server(async (req, res) => {
      await readBody(req);
      if (req.url === '/r/303') {
        res.writeHead(303, { location: '/landing' });
        res.end();
      } else {
        landed++;
        res.writeHead(landed === 1 ? 503 : 200, { 'retry-after-ms': '0' });
        res.end(`landed ${landed}`);
      }
    });
    const client = fx.client({
      baseUrl: server.url,
      retry: { initialDelayMs: 1 },
      adaptive: false,
    });
    const res = await client.post('/r/303', undefined, Readable.from(['one-shot']));
    assert.equal(res.text(), 'landed 2');
    assert.equal(res.attempts, 2);
  });

  it('maxRedirects 0 returns the 3xx itself', async () => {
    const server = await redirectServer();
    const client = fx.client({ baseUrl: server.url });
    const res = await client.get('/r/302', undefined, { maxRedirects: 0 });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/final');
    assert.equal(res.text(), 'redirecting');
    assert.equal(res.redirected, false);
  });

  it('too many redirects is a ProtocolError; exactly the limit is fine', async () => {
    const server = await fx.server((req, res) => {
      const n = Number(req.url!.slice(1));
      if (n > 0) {
        res.writeHead(302, { location: `/${n - 1}` });
        res.end();
      } else {
        res.end('done');
      }
    });
    const client = fx.client({ baseUrl: server.url });
    assert.equal((await client.get('/3', undefined, { maxRedirects: 3 })).text(), 'done');
    const err = await rejectsWith(
      client.get('/4', undefined, { maxRedirects: 3 }),
      'SENTINEL_PROTOCOL',
    );
    assert.ok(err instanceof ProtocolError);
    // A loop ends too (the default limit, 10).
    const loop = await fx.server((_req, res) => {
      res.writeHead(301, { location: '/' });
      res.end();
    });
    await rejectsWith(client.get(loop.url), 'SENTINEL_PROTOCOL');
    assert.equal(loop.requests, 11);
  });

  it('same-origin hops keep credentials', async () => {
    const server = await redirectServer();
    const client = fx.client({ baseUrl: server.url });
    const e = echoed(
      await client.get('/r/302', { authorization: 'Bearer t', cookie: 'a=b', 'x-other': '1' }),
    );
    assert.equal(e.headers.authorization, 'Bearer t');
    assert.equal(e.headers.cookie, 'a=b');
    assert.equal(e.headers['x-other'], '1');
  });

  it('cross-origin hops drop authorization, cookie and proxy-authorization only', async () => {
    const target = await fx.server(echo);
    const origin = await redirectServer();
    const client = fx.client({ headers: { cookie: 'session=1' } });
    const to = encodeURIComponent(`${target.url}/landed`);
    const res = await client.get(`${origin.url}/r/307?to=${to}`, {
      Authorization: 'Bearer secret',
      'Proxy-Authorization': 'Basic xyz',
      'X-Trace': 'abc',
      Accept: 'application/json',
    });
    const e = echoed(res);
    assert.equal(res.url, `${target.url}/landed`);
    assert.equal(e.headers.authorization, undefined);
    assert.equal(e.headers.cookie, undefined);
    assert.equal(e.headers['proxy-authorization'], undefined);
    assert.equal(e.headers['x-trace'], 'abc');
    assert.equal(e.headers.accept, 'application/json');
    assert.equal(e.headers.host, new URL(target.url).host);
  });

  it('URL credentials do not follow a cross-origin hop', async () => {
    const target = await fx.server(echo);
    const origin = await redirectServer();
    const client = fx.client();
    const url = new URL(`${origin.url}/r/302`);
    url.searchParams.set('to', `${target.url}/x`);
    url.username = 'user';
    url.password = 'pw';
    const e = echoed(await client.get(url));
    assert.equal(e.headers.authorization, undefined);
  });

  it('https to http is refused', async () => {
    const plain = await fx.server(echo);
    const tls = await fx.tlsServer((_req, res) => {
      res.writeHead(302, { location: `${plain.url}/downgrade` });
      res.end();
    });
    const client = fx.client({ pool: { tls: { ca: tls.cert } } });
    // The TLS server itself is trusted with the given CA.
    const err = await rejectsWith(client.get(`${tls.url}/start`), 'SENTINEL_PROTOCOL');
    assert.match(err.message, /https to http/);
    assert.equal(plain.connections, 0);
    const res = await client.get(`${tls.url}/start`, undefined, { maxRedirects: 0 });
    assert.equal(res.status, 302);
  });

  it('http to https is followed', async () => {
    const tls = await fx.tlsServer(echo);
    const plain = await redirectServer();
    const client = fx.client({ pool: { tls: { ca: tls.cert } } });
    const res = await client.get(
      `${plain.url}/r/301?to=${encodeURIComponent(`${tls.url}/secure`)}`,
    );
    assert.equal(res.url, `${tls.url}/secure`);
    assert.equal(echoed(res).url, '/secure');
  });

  it('a redirect to a non-http scheme is refused', async () => {
    const server = await redirectServer();
    const client = fx.client({ baseUrl: server.url });
    await rejectsWith(client.get('/r/302?to=file:///etc/passwd'), 'SENTINEL_PROTOCOL');
  });

  it('a 3xx without Location is returned as is', async () => {
    const server = await fx.server((_req, res) => {
      res.statusCode = 301;
      res.end('nowhere');
    });
    const client = fx.client();
    const res = await client.get(server.url);
    assert.equal(res.status, 301);
    assert.equal(res.text(), 'nowhere');
  });

  it('stream() follows redirects too', async () => {
    const server = await redirectServer();
    const client = fx.client({ baseUrl: server.url });
    const res = await client.stream({ method: 'GET', url: '/r/302?to=/streamed' });
    assert.equal(res.redirected, true);
    assert.equal(res.url, `${server.url}/streamed`);
    const e = (await res.json()) as { url: string };
    assert.equal(e.url, '/streamed');
    assert.equal(server.connections, 1);
  });
});
