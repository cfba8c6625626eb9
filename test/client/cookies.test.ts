/**
 * Cookies through `ClientOptions.cookieJar` (a tough-cookie `CookieJar`): stored from every
 * response (redirects, error statuses, retried attempts), sent with every later attempt and
 * hop as the jar scopes them, merged with the caller's own `cookie` header; a bad jar is
 * refused before any I/O, and a failing one fails the call as the caller's doing.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { afterEach, describe, it } from 'node:test';
import { CookieJar } from 'tough-cookie';
import { mergeCookieHeader } from '../../src/client/cookies.js';
import type { ClientOptions, CookieJarLike } from '../../src/client/index.js';
import { ManualClock } from '../../src/core/clock.js';
import { InvalidRequestError } from '../../src/core/errors.js';
import { Fixtures, rejectsWith, waitFor } from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

/** A server that records the `cookie` header of every request, by path. */
async function cookieServer(handler: http.RequestListener = (_req, res) => res.end('ok')) {
  const seen: { path: string; cookie: string | undefined }[] = [];
  const server = await fx.server((req, res) => {
    seen.push({ path: req.url ?? '', cookie: req.headers.cookie });
    handler(req, res);
  });
  return { server, seen, cookieOf: (path: string) => seen.find((s) => s.path === path)?.cookie };
}

describe('cookieJar', () => {
  it('a cookie set on a 302 is sent with the redirected request', async () => {
    const { server, seen } = await cookieServer((req, res) => {
      if (req.url === '/login') {
        res.writeHead(302, { location: '/home', 'set-cookie': 'session=abc; Path=/; HttpOnly' });
        res.end();
      } else res.end('home');
    });
    const client = fx.client({ cookieJar: new CookieJar() });
    const res = await client.get(`${server.url}/login`);
    assert.equal(res.text(), 'home');
    assert.deepEqual(seen, [
      { path: '/login', cookie: undefined },
      { path: '/home', cookie: 'session=abc' },
    ]);
  });

  it('a cookie is sent on the next call, and a stream() response sets them too', async () => {
    const { server, cookieOf } = await cookieServer((req, res) => {
      if (req.url === '/set') res.setHeader('set-cookie', ['a=1', 'b=2']);
      if (req.url === '/stream-set') res.setHeader('set-cookie', 'c=3');
      res.end('ok');
    });
    const jar = new CookieJar();
    const client = fx.client({ cookieJar: jar });
    await client.get(`${server.url}/set`);
    await client.get(`${server.url}/next`);
    assert.equal(cookieOf('/next'), 'a=1; b=2');
    const streamed = await client.stream({ method: 'GET', url: `${server.url}/stream-set` });
    await streamed.text();
    await client.get(`${server.url}/after-stream`);
    assert.equal(cookieOf('/after-stream'), 'a=1; b=2; c=3');
    assert.equal(await jar.getCookieString(`${server.url}/`), 'a=1; b=2; c=3');
  });

  it('cookies are scoped by path and by host (127.0.0.1 is not localhost)', async () => {
    const { server, cookieOf } = await cookieServer((req, res) => {
      if (req.url === '/app/login')
        res.setHeader('set-cookie', ['app=1; Path=/app', 'all=1; Path=/']);
      res.end('ok');
    });
    const client = fx.client({ cookieJar: new CookieJar() });
    await client.get(`${server.url}/app/login`);
    await client.get(`${server.url}/app/page`);
    await client.get(`${server.url}/other`);
    await client.get(`http://localhost:${server.port}/elsewhere`);
    assert.equal(cookieOf('/app/page'), 'app=1; all=1');
    assert.equal(cookieOf('/other'), 'all=1');
    assert.equal(cookieOf('/elsewhere'), undefined, 'a host-only cookie stays on its host');
  });

  it('a Secure cookie goes over https, never over http', async () => {
    const tls = await fx.tlsServer((req, res) => {
      if (req.url === '/set') res.setHeader('set-cookie', ['secret=1; Secure', 'plain=1']);
      res.end(req.headers.cookie ?? '');
    });
    const { server, cookieOf } = await cookieServer();
    // tough-cookie treats loopback addresses as secure unless told not to.
    const jar = new CookieJar(undefined, { allowSecureOnLocal: false });
    const client = fx.client({ cookieJar: jar, pool: { tls: { ca: tls.cert } } });
    await client.get(`${tls.url}/set`);
    // Cookies do not tell ports apart: the http server on the same host is in scope.
    await client.get(`${server.url}/plain`);
    assert.equal(cookieOf('/plain'), 'plain=1');
    const secure = await client.get(`${tls.url}/echo`);
    assert.equal(secure.text(), 'secret=1; plain=1');
  });

  it('Max-Age=0 removes a cookie', async () => {
    const { server, cookieOf } = await cookieServer((req, res) => {
      if (req.url === '/set') res.setHeader('set-cookie', ['gone=1', 'kept=1']);
      if (req.url === '/logout') res.setHeader('set-cookie', 'gone=; Max-Age=0');
      res.end('ok');
    });
    const client = fx.client({ cookieJar: new CookieJar() });
    await client.get(`${server.url}/set`);
    await client.get(`${server.url}/logout`);
    await client.get(`${server.url}/after`);
    assert.equal(cookieOf('/logout'), 'gone=1; kept=1');
    assert.equal(cookieOf('/after'), 'kept=1');
  });

  it("a redirect to another host carries neither the first host's cookies nor the caller's", async () => {
    const other = await cookieServer();
    const { server, seen } = await cookieServer((req, res) => {
      if (req.url === '/go') {
        res.writeHead(302, {
          location: `http://localhost:${other.server.port}/landed`,
          'set-cookie': 'first=1',
        });
        res.end();
      } else res.end('ok');
    });
    const jar = new CookieJar();
    await jar.setCookie('old=1', `${server.url}/`);
    const client = fx.client({ cookieJar: jar });
    const res = await client.get(`${server.url}/go`, { cookie: 'mine=1' });
    assert.equal(res.status, 200);
    assert.equal(seen[0]!.cookie, 'old=1; mine=1');
    assert.equal(other.cookieOf('/landed'), undefined);
    assert.equal(await jar.getCookieString(`${server.url}/`), 'old=1; first=1');
  });

  it('a retried attempt carries the cookie its failed attempt was given (5xx and 4xx store too)', async () => {
    let n = 0;
    const { server, seen } = await cookieServer((req, res) => {
      n++;
      if (req.url === '/flaky' && n === 1) {
        res.writeHead(503, { 'set-cookie': 'retry-token=1' });
        res.end();
      } else if (req.url === '/missing') {
        res.writeHead(404, { 'set-cookie': 'seen-404=1' });
        res.end();
      } else res.end('ok');
    });
    const client = fx.client({
      cookieJar: new CookieJar(),
      retry: { maxAttempts: 2, initialDelayMs: 1, jitter: 'none' },
    });
    const res = await client.get(`${server.url}/flaky`);
    assert.equal(res.attempts, 2);
    assert.deepEqual(
      seen.map((s) => s.cookie),
      [undefined, 'retry-token=1'],
    );
    assert.equal((await client.get(`${server.url}/missing`)).status, 404);
    await client.get(`${server.url}/next`);
    assert.equal(seen.at(-1)!.cookie, 'retry-token=1; seen-404=1');
  });

  it('a hedge carries the cookie too', async () => {
    const held: http.ServerResponse[] = [];
    const { server, seen } = await cookieServer((req, res) => {
      if (held.length === 0 && seen.length === 1) {
        held.push(res);
        req.socket.on('close', () => held.splice(held.indexOf(res), 1));
      } else res.end('fast');
    });
    const jar = new CookieJar();
    await jar.setCookie('hedged=1', `${server.url}/`);
    // The injected clock sends the one hedge, whatever the machine's load.
    const clock = new ManualClock();
    const client = fx.client({ clock, cookieJar: jar, hedge: { delayMs: 20 } });
    const pending = client.get(`${server.url}/slow`);
    await waitFor(() => held.length === 1, 'the first request at the server');
    clock.advance(20);
    const res = await pending;
    assert.equal(res.text(), 'fast');
    assert.equal(client.stats().retry.hedges, 1);
    assert.deepEqual(
      seen.map((s) => s.cookie),
      ['hedged=1', 'hedged=1'],
    );
    await waitFor(() => held.length === 0, 'the losing request cancelled');
  });

  it("the caller's cookie header is merged: the jar's first, the caller's value wins a clash", async () => {
    const { server, cookieOf } = await cookieServer();
    const jar = new CookieJar();
    await jar.setCookie('a=jar', `${server.url}/`);
    await jar.setCookie('b=jar', `${server.url}/`);
    const client = fx.client({ cookieJar: jar, headers: { cookie: 'c=default' } });
    await client.get(`${server.url}/one`, { cookie: ['b=mine', 'd=mine'] });
    await client.get(`${server.url}/two`);
    assert.equal(cookieOf('/one'), 'a=jar; b=mine; d=mine');
    assert.equal(cookieOf('/two'), 'a=jar; b=jar; c=default');
    assert.deepEqual(mergeCookieHeader(['accept', '*/*'], 'x=1'), [
      'accept',
      '*/*',
      'cookie',
      'x=1',
    ]);
  });

  it('a cookie the jar refuses (another domain, malformed) is dropped and the call goes on', async () => {
    const { server } = await cookieServer((_req, res) => {
      res.setHeader('set-cookie', ['evil=1; Domain=example.com', '=', 'good=1']);
      res.end('ok');
    });
    const jar = new CookieJar();
    const client = fx.client({ cookieJar: jar });
    assert.equal((await client.get(`${server.url}/`)).status, 200);
    assert.equal(await jar.getCookieString(`${server.url}/`), 'good=1');
  });

  it('extend() children share the jar unless they give their own', async () => {
    const { server, cookieOf } = await cookieServer((req, res) => {
      if (req.url === '/set') res.setHeader('set-cookie', 'shared=1');
      res.end('ok');
    });
    const parent = fx.client({ cookieJar: new CookieJar() });
    await parent.get(`${server.url}/set`);
    const child = parent.extend({ headers: { 'x-child': '1' } });
    await child.get(`${server.url}/child`);
    const own = new CookieJar();
    await own.setCookie('own=1', `${server.url}/`);
    const other = parent.extend({ cookieJar: own });
    await other.get(`${server.url}/other`);
    assert.equal(cookieOf('/child'), 'shared=1');
    assert.equal(cookieOf('/other'), 'own=1');
    await Promise.all([child.close(), other.close()]);
  });

  it('an invalid jar is refused with InvalidRequestError when the client is made', () => {
    for (const bad of [{}, 'jar', { getCookieString() {} }, { setCookie() {} }, null]) {
      assert.throws(
        () => fx.client({ cookieJar: bad } as unknown as ClientOptions),
        (err: unknown) => err instanceof InvalidRequestError && /cookieJar/.test(err.message),
      );
    }
  });

  it('a jar that fails fails the call before anything is sent, never against the host', async () => {
    const { server, seen } = await cookieServer((_req, res) => {
      res.setHeader('set-cookie', 'x=1');
      res.end('ok');
    });
    const failingGet: CookieJarLike = {
      getCookieString: () => Promise.reject(new Error('store offline')),
      setCookie: () => undefined,
    };
    const client = fx.client({ cookieJar: failingGet });
    const err = await rejectsWith(client.get(`${server.url}/`), 'SENTINEL_INVALID_REQUEST');
    assert.match(err.message, /cookieJar\.getCookieString failed: store offline/);
    assert.equal(seen.length, 0);

    const failingSet: CookieJarLike = {
      getCookieString: () => '',
      setCookie: () => {
        throw new Error('disk full');
      },
    };
    const setter = fx.client({ cookieJar: failingSet, retry: { maxAttempts: 3 } });
    const failed = await rejectsWith(setter.get(`${server.url}/`), 'SENTINEL_INVALID_REQUEST');
    assert.match(failed.message, /cookieJar\.setCookie failed: disk full/);
    assert.equal(failed.attempts, 1, 'not retried');
    const host = setter.stats().hosts[`127.0.0.1:${server.port}`]!;
    assert.equal(host.breaker!.consecutiveFailures, 0);
    await waitFor(() => setter.pool.stats().totals.active === 0, 'connection released');
  });

  it('a synchronous jar answers without a promise', async () => {
    const { server, cookieOf } = await cookieServer((_req, res) => {
      res.setHeader('set-cookie', 'sync=1');
      res.end('ok');
    });
    const jar = new CookieJar();
    const sync: CookieJarLike = {
      getCookieString: (url) => jar.getCookieStringSync(url),
      setCookie: (cookie, url, options) => jar.setCookieSync(cookie, url, options),
    };
    const client = fx.client({ cookieJar: sync });
    await client.get(`${server.url}/one`);
    await client.get(`${server.url}/two`);
    assert.equal(cookieOf('/two'), 'sync=1');
  });
});
