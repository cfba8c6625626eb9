/**
 * Which request headers a redirect hop keeps: the body's headers go when the method
 * becomes GET (Fetch, HTTP-redirect fetch), credential headers go when the origin changes.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { DEFAULT_REDIRECT_STRIP_HEADERS } from '../../src/client/index.js';
import { InvalidRequestError } from '../../src/core/errors.js';
import { echo, echoed, Fixtures, readBody } from '../helpers/client-helpers.js';

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
      res.end();
      return;
    }
    echo(req, res);
  });
}

const BODY_HEADERS = {
  'content-type': 'text/plain',
  'content-encoding': 'identity',
  'content-language': 'en',
  'content-location': '/doc',
};

describe('a redirect that turns the method into GET drops every request-body header', () => {
  const cases: Array<[number, string]> = [
    [303, 'POST'],
    [303, 'PUT'],
    [301, 'POST'],
    [302, 'POST'],
  ];
  for (const [status, method] of cases) {
    it(`${status} after ${method}`, async () => {
      const server = await redirectServer();
      const client = fx.client({ baseUrl: server.url });
      const res = await client.request({
        method,
        url: `/r/${status}`,
        body: 'payload',
        headers: { ...BODY_HEADERS, 'x-keep': 'kept' },
      });
      const e = echoed(res);
      assert.equal(e.method, 'GET');
      for (const name of [...Object.keys(BODY_HEADERS), 'content-length', 'transfer-encoding']) {
        assert.equal(e.headers[name], undefined, name);
      }
      assert.equal(e.headers['x-keep'], 'kept');
    });
  }

  it('307 keeps the method, the body and its headers', async () => {
    const server = await redirectServer();
    const client = fx.client({ baseUrl: server.url });
    const e = echoed(
      await client.request({
        method: 'POST',
        url: '/r/307',
        body: 'payload',
        headers: BODY_HEADERS,
      }),
    );
    assert.equal(e.method, 'POST');
    assert.equal(e.text, 'payload');
    assert.equal(e.headers['content-language'], 'en');
    assert.equal(e.headers['content-location'], '/doc');
  });
});

describe('credential headers do not follow a cross-origin redirect', () => {
  for (const name of DEFAULT_REDIRECT_STRIP_HEADERS) {
    it(`${name} is dropped on a cross-origin hop and kept on a same-origin one`, async () => {
      const target = await fx.server(echo);
      const origin = await redirectServer();
      const client = fx.client();
      const to = encodeURIComponent(`${target.url}/landed`);
      const away = echoed(
        await client.get(`${origin.url}/r/302?to=${to}`, { [name]: 'secret', 'x-trace': 'abc' }),
      );
      assert.equal(away.headers[name], undefined);
      assert.equal(away.headers['x-trace'], 'abc');
      const home = echoed(await client.get(`${origin.url}/r/302`, { [name]: 'secret' }));
      assert.equal(home.headers[name], 'secret');
    });
  }

  it('redirectStripHeaders replaces the default list; the three always go', async () => {
    const target = await fx.server(echo);
    const origin = await redirectServer();
    const client = fx.client({ redirectStripHeaders: ['X-Tenant-Key'] });
    const to = encodeURIComponent(`${target.url}/landed`);
    const e = echoed(
      await client.get(`${origin.url}/r/302?to=${to}`, {
        'x-tenant-key': 't',
        'x-api-key': 'k',
        authorization: 'Bearer a',
        cookie: 'c=1',
      }),
    );
    assert.equal(e.headers['x-tenant-key'], undefined);
    assert.equal(e.headers['x-api-key'], 'k', 'not in the list given');
    assert.equal(e.headers.authorization, undefined);
    assert.equal(e.headers.cookie, undefined);
  });

  it('an invalid redirectStripHeaders is an InvalidRequestError at construction', () => {
    for (const bad of ['x-api-key', ['bad name'], [42], ['x\r\n']]) {
      assert.throws(
        () => fx.client({ redirectStripHeaders: bad as unknown as string[] }),
        (err: unknown) =>
          err instanceof InvalidRequestError && /redirectStripHeaders/.test(err.message),
        JSON.stringify(bad),
      );
    }
  });
});
