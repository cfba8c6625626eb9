/** `searchParams`: query parameters merged into the URL's own, as got and ky take them. */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { InvalidRequestError } from '../../src/core/errors.js';
import { echo, echoed, Fixtures } from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

describe('searchParams', () => {
  it('an object is appended to the query the URL already has; undefined values are left out', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    const res = await client.get(`${server.url}/items?sort=name`, undefined, {
      searchParams: { page: 2, q: 'a b&c', all: true, skip: undefined },
    });
    assert.equal(echoed(res).url, '/items?sort=name&page=2&q=a+b%26c&all=true');
  });

  it('a URLSearchParams keeps repeated names; a string is parsed as a query', async () => {
    const server = await fx.server(echo);
    const client = fx.client({ baseUrl: server.url });
    const repeated = new URLSearchParams([
      ['tag', 'x'],
      ['tag', 'y'],
    ]);
    assert.equal(
      echoed(await client.get('/a', undefined, { searchParams: repeated })).url,
      '/a?tag=x&tag=y',
    );
    assert.equal(
      echoed(await client.get('/a', undefined, { searchParams: '?b=1&c=2' })).url,
      '/a?b=1&c=2',
    );
    assert.equal(echoed(await client.get('/a', undefined, { searchParams: {} })).url, '/a');
  });

  it('works with request() and stream(), and the URL cache is not polluted', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    const viaRequest = await client.request({
      method: 'GET',
      url: `${server.url}/r`,
      searchParams: { n: 1 },
    });
    assert.equal(echoed(viaRequest).url, '/r?n=1');
    const streamed = await client.stream({
      method: 'GET',
      url: `${server.url}/r`,
      searchParams: { n: 2 },
    });
    assert.equal(JSON.parse(await streamed.text()).url, '/r?n=2');
    assert.equal(
      echoed(await client.get(`${server.url}/r`)).url,
      '/r',
      'the next call is unchanged',
    );
  });

  it('credentials in the URL still become Basic auth', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    const url = server.url.replace('http://', 'http://user:pw@');
    const seen = echoed(await client.get(`${url}/x`, undefined, { searchParams: { a: 1 } }));
    assert.equal(seen.url, '/x?a=1');
    assert.equal(seen.headers.authorization, `Basic ${Buffer.from('user:pw').toString('base64')}`);
  });

  it('bad shapes are refused before any I/O', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    for (const bad of [42, ['a', 'b'], { a: { nested: 1 } }, null]) {
      await assert.rejects(
        client.get(server.url, undefined, { searchParams: bad as never }),
        (err: unknown) => err instanceof InvalidRequestError && /searchParams/.test(err.message),
      );
    }
    assert.equal(server.requests, 0);
  });
});
