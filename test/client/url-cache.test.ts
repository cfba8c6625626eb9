/**
 * The client's cache of parsed URLs stays small whatever URLs it is fed, and is freed by
 * close().
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { targetCacheOf } from '../../src/client/http-client.js';
import { TargetCache } from '../../src/client/prepare.js';
import { Fixtures } from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

describe('the URL cache', () => {
  it('1,000 distinct 64 KiB URLs leave it small', async () => {
    const server = await fx.server(
      (_req, res) => {
        res.end('ok');
      },
      { maxHeaderSize: 256 * 1024 },
    );
    const client = fx.client({ retry: false });
    const filler = 'a'.repeat(64 * 1024);
    for (let i = 0; i < 1000; i++) {
      const res = await client.get(`${server.url}/${i}?q=${filler}`);
      assert.equal(res.status, 200);
    }
    const cache = targetCacheOf(client);
    assert.ok(cache.chars < 64 * 1024, `${cache.chars} characters kept`);
    // Short URLs are still cached.
    await client.get(`${server.url}/short`);
    assert.equal(cache.size, 1);
  });

  it('is bounded by count and by characters', () => {
    const cache = new TargetCache(new URL('http://127.0.0.1:1/'));
    for (let i = 0; i < 5000; i++) cache.resolve(`/p/${i}`);
    assert.ok(cache.size <= 1024, `${cache.size} entries`);
    const long = 'b'.repeat(2000);
    for (let i = 0; i < 2000; i++) cache.resolve(`/${i}/${long}`);
    assert.ok(cache.chars <= 1024 * 1024, `${cache.chars} characters`);
    assert.ok(cache.size > 0);
    // A hit returns the same parsed target.
    assert.equal(cache.resolve('/x'), cache.resolve('/x'));
  });

  it('is emptied by close()', async () => {
    const server = await fx.server((_req, res) => {
      res.end('ok');
    });
    const client = fx.client({ retry: false });
    await client.get(`${server.url}/a`);
    await client.get(`${server.url}/b`);
    assert.equal(targetCacheOf(client).size, 2);
    await client.close();
    assert.equal(targetCacheOf(client).size, 0);
    assert.equal(targetCacheOf(client).chars, 0);
  });
});
