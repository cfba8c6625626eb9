/**
 * `baseUrl` is a prefix (ky's `prefixUrl`): its path is kept, whatever slashes either
 * side has; absolute URLs go where they say; `..` cannot climb out of the prefix.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { targetCacheOf } from '../../src/client/http-client.js';
import { InvalidRequestError } from '../../src/core/errors.js';
import { startTestServer, type TestServer } from '../../src/testing/index.js';
import { Fixtures, rejectsWith } from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

/** The request target the server received for `path` through a client of `baseUrl`. */
async function sent(server: TestServer, baseUrl: string, path: string | URL): Promise<string> {
  const res = await fx.client({ baseUrl, retry: false }).get(path);
  assert.equal(res.status, 200);
  const target = server.requests.at(-1)!.url;
  assert.equal(res.url, `${server.url}${target}`, 'the response carries the URL sent');
  return target;
}

describe('baseUrl is a prefix', () => {
  it('keeps its path: with or without a trailing slash, paths with or without a leading one', async () => {
    await using server = await startTestServer({ fallback: 200 });
    for (const base of [`${server.url}/api/v1`, `${server.url}/api/v1/`]) {
      for (const path of ['/users/1', 'users/1']) {
        assert.equal(await sent(server, base, path), '/api/v1/users/1', `${base} + ${path}`);
      }
    }
  });

  it('a root base: the path as given', async () => {
    await using server = await startTestServer({ fallback: 200 });
    for (const base of [server.url, `${server.url}/`]) {
      assert.equal(await sent(server, base, '/users'), '/users');
      assert.equal(await sent(server, base, 'users'), '/users');
    }
  });

  it('query strings in the path, the empty path, a query alone, searchParams', async () => {
    await using server = await startTestServer({ fallback: 200 });
    const base = `${server.url}/api/v1`;
    assert.equal(await sent(server, base, 'users?page=2&q=a b'), '/api/v1/users?page=2&q=a%20b');
    assert.equal(await sent(server, base, ''), '/api/v1');
    assert.equal(await sent(server, base, '?page=2'), '/api/v1?page=2');
    assert.equal(await sent(server, `${base}/`, '?page=2'), '/api/v1/?page=2');
    const client = fx.client({ baseUrl: base, retry: false });
    await client.get('/users?page=2', undefined, { searchParams: { size: 10 } });
    assert.equal(server.requests.at(-1)!.url, '/api/v1/users?page=2&size=10');
  });

  it('an absolute URL (string or URL) is used as it is', async () => {
    await using server = await startTestServer({ fallback: 200 });
    const base = `${server.url}/api/v1`;
    assert.equal(await sent(server, base, `${server.url}/elsewhere?x=1`), '/elsewhere?x=1');
    assert.equal(await sent(server, base, new URL(`${server.url}/as-url`)), '/as-url');
  });

  it('a path starting with // stays on the base host', async () => {
    await using server = await startTestServer({ fallback: 200 });
    assert.equal(
      await sent(server, `${server.url}/api`, '//other.example/x'),
      '/api//other.example/x',
    );
  });

  it('. and .. segments resolve within the prefix', async () => {
    await using server = await startTestServer({ fallback: 200 });
    const base = `${server.url}/api/v1`;
    assert.equal(await sent(server, base, 'users/../groups/./1'), '/api/v1/groups/1');
    assert.equal(await sent(server, base, 'users/..'), '/api/v1/');
  });

  it('.. that climbs out of the prefix is refused before any I/O', async () => {
    await using server = await startTestServer({ fallback: 200 });
    const client = fx.client({ baseUrl: `${server.url}/api/v1/`, retry: false });
    for (const path of ['../admin', '/users/../../v2/users', '%2e%2e/admin', 'a/../..']) {
      const err = await rejectsWith(client.get(path), 'SENTINEL_INVALID_REQUEST');
      assert.match(err.message, /leads out of the baseUrl's path \/api\/v1\//, path);
      assert.match(err.message, /give an absolute URL to go elsewhere/);
      assert.equal(err.attempts, 0);
    }
    assert.equal(server.connections, 0, 'nothing was sent');
  });

  it('a baseUrl with a query or fragment, or not http(s), fails the constructor', () => {
    for (const baseUrl of ['http://h/api?key=1', 'http://h/api?', 'http://h/api#top']) {
      assert.throws(
        () => fx.client({ baseUrl }),
        (err: Error) =>
          err instanceof InvalidRequestError && /has a query or fragment/.test(err.message),
        baseUrl,
      );
    }
    assert.throws(() => fx.client({ baseUrl: 'ftp://h/pub' }), /unsupported protocol ftp:/);
  });

  it('the URL cache still serves a prefixed URL asked for again', async () => {
    await using server = await startTestServer({ fallback: 200 });
    const client = fx.client({ baseUrl: `${server.url}/api/v1`, retry: false });
    await client.get('users/1');
    await client.get('users/1');
    const cache = targetCacheOf(client);
    assert.equal(cache.size, 1);
    const target = cache.resolve('users/1');
    assert.equal(target, cache.resolve('users/1'), 'the same parsed target');
    assert.equal(target.href, `${server.url}/api/v1/users/1`);
    assert.equal(target.path, '/api/v1/users/1');
  });

  it('extend({ baseUrl }) replaces the prefix for the child; the parent keeps its own', async () => {
    await using server = await startTestServer({ fallback: 200 });
    const parent = fx.client({ baseUrl: `${server.url}/api/v1`, retry: false });
    const child = parent.extend({ baseUrl: `${server.url}/api/v2/` });
    const inherits = parent.extend({ headers: { 'x-tenant': 't1' } });
    await child.get('/users');
    assert.equal(server.requests.at(-1)!.url, '/api/v2/users');
    await parent.get('/users');
    assert.equal(server.requests.at(-1)!.url, '/api/v1/users');
    await inherits.get('users');
    assert.equal(server.requests.at(-1)!.url, '/api/v1/users');
    assert.equal(server.requests.at(-1)!.headers['x-tenant'], 't1');
    await child.close();
    await inherits.close();
  });
});
