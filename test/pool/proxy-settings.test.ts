import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { InvalidRequestError } from '../../src/core/errors.js';
import {
  bypassesProxy,
  parseNoProxy,
  proxyTableFromEnv,
  resolveProxy,
} from '../../src/pool/proxy.js';
import { basic } from '../helpers/forward-proxy.js';

describe('NO_PROXY and the environment', () => {
  test('names match themselves and their subdomains, with or without a leading dot', () => {
    const rules = parseNoProxy('example.com, .internal.test  *.corp.test,localhost:8080');
    const cases: [string, number, boolean][] = [
      ['example.com', 443, true],
      ['api.example.com', 443, true],
      ['API.Example.COM', 80, true],
      ['badexample.com', 443, false],
      ['internal.test', 80, true],
      ['a.b.internal.test', 80, true],
      ['corp.test', 80, true],
      ['x.corp.test', 80, true],
      ['localhost', 8080, true],
      ['localhost', 8081, false],
      ['other.test', 80, false],
    ];
    for (const [host, port, direct] of cases) {
      assert.equal(bypassesProxy(rules, host, port), direct, `${host}:${port}`);
    }
  });

  test('IP addresses match exactly or by CIDR range, IPv6 with or without brackets', () => {
    const rules = parseNoProxy('127.0.0.1,10.0.0.0/8,[::1]:8443,fd00::/8,192.168.1.1:80');
    const cases: [string, number, boolean][] = [
      ['127.0.0.1', 80, true],
      ['127.0.0.2', 80, false],
      ['10.1.2.3', 443, true],
      ['11.0.0.1', 443, false],
      ['[::1]', 8443, true],
      ['[::1]', 443, false],
      ['[fd00::5]', 80, true],
      ['192.168.1.1', 80, true],
      ['192.168.1.1', 443, false],
      // No name is resolved, and an IP is never matched as a domain suffix.
      ['localhost', 80, false],
      ['1.127.0.0.1.example', 80, false],
    ];
    for (const [host, port, direct] of cases) {
      assert.equal(bypassesProxy(rules, host, port), direct, `${host}:${port}`);
    }
  });

  test('* bypasses every host; an empty list none', () => {
    assert.equal(bypassesProxy(parseNoProxy('*'), 'anything.example', 443), true);
    assert.equal(bypassesProxy(parseNoProxy(''), 'anything.example', 443), false);
    assert.equal(bypassesProxy(parseNoProxy(' , '), 'anything.example', 443), false);
  });

  test('environment: lower case wins, an empty value is unset, ALL_PROXY fills a missing scheme', () => {
    assert.deepEqual(
      proxyTableFromEnv({
        http_proxy: 'http://lower:1',
        HTTP_PROXY: 'http://upper:1',
        HTTPS_PROXY: 'http://secure:2',
        NO_PROXY: 'a.test',
        no_proxy: 'b.test',
      }),
      { httpProxy: 'http://lower:1', httpsProxy: 'http://secure:2', noProxy: 'b.test' },
    );
    assert.deepEqual(proxyTableFromEnv({ http_proxy: '', HTTP_PROXY: 'http://upper:1' }), {
      httpProxy: 'http://upper:1',
      httpsProxy: undefined,
      noProxy: '',
    });
    assert.deepEqual(proxyTableFromEnv({ ALL_PROXY: 'http://all:3', https_proxy: 'http://s:4' }), {
      httpProxy: 'http://all:3',
      httpsProxy: 'http://s:4',
      noProxy: '',
    });
  });

  test("'env' resolves from the environment given, and a value without a scheme is http://", () => {
    const resolved = resolveProxy('env', { HTTPS_PROXY: 'user:pw@proxy.test:3128' });
    assert.equal(resolved.http, undefined);
    assert.equal(resolved.https?.url, 'http://proxy.test:3128');
    assert.equal(resolved.https?.authorization, basic('user', 'pw'));
  });

  test('bad proxy URLs are InvalidRequestErrors, without the credentials', () => {
    for (const bad of [
      'socks5://user:hunter2@127.0.0.1:1080',
      'http://user:hunter2@[not-an-ip:80',
      'ftp://proxy',
      { httpsProxy: 'https://user:hunter2@ex ample:1' },
      { httpProxy: 'http://proxy:3128', sslProxy: 'x' },
    ]) {
      let error: unknown;
      try {
        resolveProxy(bad as Parameters<typeof resolveProxy>[0], {});
      } catch (err) {
        error = err;
      }
      const e = error as InvalidRequestError;
      assert.equal(e?.code, 'SENTINEL_INVALID_REQUEST', JSON.stringify(bad));
      assert.match(e.message, /proxy/);
      assert.doesNotMatch(`${e.message} ${String(e.cause ?? '')}`, /hunter2/);
    }
    // 'env' is valid whatever the environment holds.
    assert.equal(resolveProxy('env', {}).http, undefined);
  });
});
