/**
 * The CLI honours the proxy environment variables as curl does: a real forward proxy
 * and a real target, the environment injected through `io.env`.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { type ForwardProxy, startForwardProxy } from '../helpers/forward-proxy.js';
import { type Server, sentinel, startServer } from './helpers.js';

let target: Server;
let proxy: ForwardProxy;
let hits = 0;

before(async () => {
  target = await startServer((_req, res) => {
    hits++;
    res.end('from target');
  });
  proxy = await startForwardProxy();
});
after(async () => {
  await proxy.close();
  await target.close();
});
afterEach(() => {
  proxy.seen.length = 0;
  hits = 0;
});

describe('sentinel and the proxy environment', () => {
  test('http_proxy: the request goes through the proxy in absolute form', async () => {
    const r = await sentinel(['get', `${target.url}/p`], { env: { http_proxy: proxy.url } });
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'from target');
    assert.deepEqual(
      proxy.seen.map((s) => `${s.method} ${s.target}`),
      [`GET ${target.url}/p`],
    );
  });

  test('NO_PROXY: a listed host is reached directly', async () => {
    const r = await sentinel(['get', `${target.url}/d`], {
      env: { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' },
    });
    assert.equal(r.code, 0, r.err);
    assert.equal(hits, 1);
    assert.equal(proxy.seen.length, 0);
  });

  test('a proxy URL the library cannot use is a usage error (exit 2), credentials redacted', async () => {
    const r = await sentinel(['get', `${target.url}/x`], {
      env: { https_proxy: 'socks5://user:hunter2@127.0.0.1:1080' },
    });
    assert.equal(r.code, 2);
    assert.match(r.err, /httpsProxy has an unsupported scheme socks5:/);
    assert.doesNotMatch(r.err, /hunter2/);
    assert.equal(hits, 0);
  });
});
