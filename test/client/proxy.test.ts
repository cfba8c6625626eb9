import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { ClientEvent } from '../../src/client/index.js';
import type { ConnectionError } from '../../src/core/errors.js';
import { ConnectionPool } from '../../src/pool/index.js';
import { Fixtures, rejectsWith, resources, waitForResources } from '../helpers/client-helpers.js';
import { basic, type ForwardProxy, startForwardProxy } from '../helpers/forward-proxy.js';
import { closedPort, startServer, startTlsServer, type TestServer } from '../helpers/server.js';

const fx = new Fixtures();

const PROXY_VARIABLES = [
  'http_proxy',
  'HTTP_PROXY',
  'https_proxy',
  'HTTPS_PROXY',
  'all_proxy',
  'ALL_PROXY',
  'no_proxy',
  'NO_PROXY',
];

interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
}

let target: TestServer;
let secureTarget: TestServer & { cert: string };
let proxy: ForwardProxy;
const seenByTargets: Seen[] = [];
let savedEnv: Record<string, string | undefined> = {};

const record: http.RequestListener = (req, res) => {
  seenByTargets.push({ url: req.url ?? '', headers: req.headers });
  res.end('ok');
};

before(async () => {
  target = await startServer(record);
  secureTarget = await startTlsServer(record);
  proxy = await startForwardProxy({ authorization: basic('user', 'pa:ss') });
});
after(async () => {
  await proxy.close();
  await target.close();
  await secureTarget.close();
});
beforeEach(() => {
  savedEnv = {};
  for (const name of PROXY_VARIABLES) {
    savedEnv[name] = process.env[name];
    delete process.env[name];
  }
});
afterEach(async () => {
  for (const name of PROXY_VARIABLES) {
    if (savedEnv[name] === undefined) delete process.env[name];
    else process.env[name] = savedEnv[name];
  }
  await fx.cleanup();
  seenByTargets.length = 0;
  proxy.seen.length = 0;
});

/** The proxy's URL with the credentials it asks for (the password has a `:`, escaped). */
function proxyUrl(password = 'pa%3Ass'): string {
  return `http://user:${password}@127.0.0.1:${proxy.port}`;
}

const httpUrl = (path: string): string => `${target.url}${path}`;
const httpsUrl = (path: string): string => `https://127.0.0.1:${secureTarget.port}${path}`;

describe('ClientOptions.proxy', () => {
  it('sends http in absolute form and https through CONNECT, credentials to the proxy only', async () => {
    const client = fx.client({ proxy: proxyUrl(), pool: { tls: { ca: secureTarget.cert } } });
    const plain = await client.get(httpUrl('/a?x=1'), { authorization: 'Bearer for-target' });
    const secure = await client.get(httpsUrl('/b'));
    assert.equal(plain.text(), 'ok');
    assert.equal(secure.text(), 'ok');

    assert.deepEqual(
      proxy.seen.map((s) => `${s.method} ${s.target}`),
      [`GET ${target.url}/a?x=1`, `CONNECT 127.0.0.1:${secureTarget.port}`],
    );
    for (const seen of proxy.seen) {
      assert.equal(seen.headers['proxy-authorization'], basic('user', 'pa:ss'));
    }
    assert.deepEqual(
      seenByTargets.map((s) => [s.url, s.headers.host]),
      [
        ['/a?x=1', `127.0.0.1:${target.port}`],
        ['/b', `127.0.0.1:${secureTarget.port}`],
      ],
    );
    for (const seen of seenByTargets) assert.equal(seen.headers['proxy-authorization'], undefined);
    assert.equal(seenByTargets[0]!.headers.authorization, 'Bearer for-target');

    // Statistics are per target, as without a proxy, and name no proxy or credentials.
    const stats = client.stats();
    assert.deepEqual(
      Object.keys(stats.pool.hosts).sort(),
      [`127.0.0.1:${secureTarget.port}`, `127.0.0.1:${target.port}`].sort(),
    );
    assert.doesNotMatch(JSON.stringify(stats), new RegExp(`pa%3Ass|${proxy.port}`));
  });

  it('keeps the socket to the proxy alive between requests to one target', async () => {
    const client = fx.client({ proxy: proxyUrl() });
    for (let i = 0; i < 3; i++) assert.equal((await client.get(httpUrl('/k'))).text(), 'ok');
    const host = client.stats().pool.hosts[`127.0.0.1:${target.port}`]!;
    assert.equal(host.connections.created, 1);
    assert.equal(host.requests.succeeded, 3);
  });

  it('a refused tunnel is a ConnectionError with the status; no event or message shows the credentials', async () => {
    const client = fx.client({ proxy: proxyUrl('wrong-hunter2'), retry: false });
    const events: ClientEvent[] = [];
    client.onEvent((e) => events.push(e));
    const err = await rejectsWith<ConnectionError>(
      client.get(httpsUrl('/x')),
      'SENTINEL_CONNECTION',
    );
    assert.match(err.message, /refused the tunnel .*: 407 Proxy Authentication Required/);
    const shown = `${err.message} ${err.stack} ${JSON.stringify(client.stats())} ${events
      .map((e) => `${JSON.stringify(e)} ${'error' in e ? String(e.error?.message) : ''}`)
      .join(' ')}`;
    assert.doesNotMatch(shown, /hunter2/);
    assert.doesNotMatch(shown, new RegExp(Buffer.from('user:wrong-hunter2').toString('base64')));
    assert.equal(seenByTargets.length, 0);
  });

  it('a plain-http request the proxy refuses with 407 is a response, as from any server', async () => {
    const client = fx.client({ proxy: proxyUrl('wrong') });
    const res = await client.get(httpUrl('/x'));
    assert.equal(res.status, 407);
    assert.equal(seenByTargets.length, 0);
  });

  it('a proxy nobody listens on is a ConnectionError naming the proxy', async () => {
    const port = await closedPort();
    const client = fx.client({ proxy: `http://127.0.0.1:${port}`, retry: false });
    const err = await rejectsWith<ConnectionError>(
      client.get(httpUrl('/x')),
      'SENTINEL_CONNECTION',
    );
    assert.equal(err.errno, 'ECONNREFUSED');
    assert.match(err.message, new RegExp(`proxy http://127\\.0\\.0\\.1:${port}`));
  });

  it('bad proxy options fail the constructor', async () => {
    for (const bad of ['socks5://user:hunter2@proxy:1080', 'http://user:hunter2@[x:1']) {
      assert.throws(
        () => fx.client({ proxy: bad }),
        (err: Error & { code?: string }) =>
          err.code === 'SENTINEL_INVALID_REQUEST' && !err.message.includes('hunter2'),
      );
    }
    const shared = new ConnectionPool();
    try {
      assert.throws(
        () => fx.client({ pool: shared, proxy: proxyUrl() }),
        (err: Error & { code?: string }) =>
          err.code === 'SENTINEL_INVALID_REQUEST' && /shared pool/.test(err.message),
      );
    } finally {
      await shared.close();
    }
  });

  it('no socket or timer is left once the client is closed', async () => {
    const baseline = resources();
    const client = fx.client({ proxy: proxyUrl(), pool: { tls: { ca: secureTarget.cert } } });
    await Promise.all([client.get(httpUrl('/1')), client.get(httpsUrl('/2'))]);
    const refused = fx.client({ proxy: proxyUrl('wrong'), retry: false });
    await rejectsWith(refused.get(httpsUrl('/3')), 'SENTINEL_CONNECTION');
    await client.close();
    await refused.close();
    await waitForResources(baseline);
  });
});

describe("proxy: 'env'", () => {
  it('reads the variables, lower case before upper case', async () => {
    const dead = await closedPort();
    process.env.http_proxy = proxyUrl();
    process.env.HTTP_PROXY = `http://127.0.0.1:${dead}`;
    process.env.HTTPS_PROXY = proxyUrl();
    const client = fx.client({ proxy: 'env', pool: { tls: { ca: secureTarget.cert } } });
    assert.equal((await client.get(httpUrl('/env'))).text(), 'ok');
    assert.equal((await client.get(httpsUrl('/env'))).text(), 'ok');
    assert.deepEqual(
      proxy.seen.map((s) => s.method),
      ['GET', 'CONNECT'],
    );
    assert.equal(seenByTargets.length, 2);
  });

  it('NO_PROXY: a bypassed target sees the request directly and the proxy sees nothing', async () => {
    process.env.HTTP_PROXY = proxyUrl();
    process.env.HTTPS_PROXY = proxyUrl();
    process.env.NO_PROXY = `localhost, 127.0.0.1:${target.port}`;
    const client = fx.client({ proxy: 'env', pool: { tls: { ca: secureTarget.cert } } });
    assert.equal((await client.get(httpUrl('/direct'))).text(), 'ok');
    assert.equal(proxy.seen.length, 0);
    // Another port of the same host is not covered by host:port.
    assert.equal((await client.get(httpsUrl('/proxied'))).text(), 'ok');
    assert.deepEqual(
      proxy.seen.map((s) => `${s.method} ${s.target}`),
      [`CONNECT 127.0.0.1:${secureTarget.port}`],
    );
    assert.deepEqual(
      seenByTargets.map((s) => s.url),
      ['/direct', '/proxied'],
    );
  });

  it('NO_PROXY=* and no variables at all both mean direct connections', async () => {
    const client = fx.client({ proxy: 'env' });
    assert.equal((await client.get(httpUrl('/none'))).text(), 'ok');
    process.env.http_proxy = proxyUrl();
    process.env.no_proxy = '*';
    const star = fx.client({ proxy: 'env' });
    assert.equal((await star.get(httpUrl('/star'))).text(), 'ok');
    assert.equal(proxy.seen.length, 0);
    assert.equal(seenByTargets.length, 2);
  });

  it('is read when the client is made', async () => {
    process.env.HTTP_PROXY = proxyUrl();
    const client = fx.client({ proxy: 'env' });
    delete process.env.HTTP_PROXY;
    assert.equal((await client.get(httpUrl('/later'))).text(), 'ok');
    assert.equal(proxy.seen.length, 1);
  });
});
