import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, afterEach, before, describe, test } from 'node:test';
import type { ConnectionError, InvalidRequestError } from '../../src/core/errors.js';
import { ConnectionPool } from '../../src/pool/index.js';
import { rejectsWith, resources, waitForResources } from '../helpers/client-helpers.js';
import { basic, type ForwardProxy, startForwardProxy } from '../helpers/forward-proxy.js';
import {
  closedPort,
  selfSignedCertificate,
  startServer,
  startTlsServer,
  type TestServer,
} from '../helpers/server.js';

interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
  secure: boolean;
}

const SECRET = 's3cr%40t';
const PASSWORD = 's3cr@t';

let target: TestServer;
let secureTarget: TestServer & { cert: string };
let proxy: ForwardProxy;
let pool: ConnectionPool | undefined;
const seenByTargets: Seen[] = [];

const record: http.RequestListener = (req, res) => {
  seenByTargets.push({
    url: req.url ?? '',
    headers: req.headers,
    secure: (req.socket as { encrypted?: boolean }).encrypted === true,
  });
  res.end('ok');
};

before(async () => {
  target = await startServer(record);
  secureTarget = await startTlsServer(record);
  proxy = await startForwardProxy({ authorization: basic('user', PASSWORD) });
});
after(async () => {
  await proxy.close();
  await target.close();
  await secureTarget.close();
});
afterEach(async () => {
  await pool?.close();
  pool = undefined;
  seenByTargets.length = 0;
  proxy.seen.length = 0;
});

/** A pool closed after the test. */
function usePool(config: ConstructorParameters<typeof ConnectionPool>[0]): ConnectionPool {
  pool = new ConnectionPool(config);
  return pool;
}

function proxyUrl(user = 'user', password = SECRET): string {
  return `http://${user}:${password}@127.0.0.1:${proxy.port}`;
}

describe('pool through a forward proxy', () => {
  test('plain http goes in absolute form with the target Host; credentials go to the proxy only', async () => {
    const p = usePool({ proxy: proxyUrl() });
    for (let i = 0; i < 2; i++) {
      const conn = await p.acquire(`http://127.0.0.1:${target.port}`);
      const res = await conn.request('GET', `/plain?i=${i}`);
      assert.equal(res.text(), 'ok');
      p.release(conn);
    }
    assert.deepEqual(
      proxy.seen.map((s) => `${s.method} ${s.target}`),
      [
        `GET http://127.0.0.1:${target.port}/plain?i=0`,
        `GET http://127.0.0.1:${target.port}/plain?i=1`,
      ],
    );
    for (const seen of proxy.seen) {
      assert.equal(seen.headers.host, `127.0.0.1:${target.port}`);
      assert.equal(seen.headers['proxy-authorization'], basic('user', PASSWORD));
    }
    assert.deepEqual(
      seenByTargets.map((s) => s.url),
      ['/plain?i=0', '/plain?i=1'],
    );
    for (const seen of seenByTargets) assert.equal(seen.headers['proxy-authorization'], undefined);
    // Limits and statistics are the target's, and the socket to the proxy was kept alive.
    const stats = p.stats();
    assert.deepEqual(Object.keys(stats.hosts), [`127.0.0.1:${target.port}`]);
    assert.equal(stats.hosts[`127.0.0.1:${target.port}`]!.requests.succeeded, 2);
    assert.equal(stats.hosts[`127.0.0.1:${target.port}`]!.connections.created, 1);
  });

  test('https goes through a CONNECT tunnel with TLS verified against the target', async () => {
    const p = usePool({ proxy: proxyUrl(), tls: { ca: secureTarget.cert } });
    for (let i = 0; i < 2; i++) {
      const conn = await p.acquire(`https://127.0.0.1:${secureTarget.port}`);
      const res = await conn.request('GET', '/secure');
      assert.equal(res.text(), 'ok');
      p.release(conn);
    }
    assert.deepEqual(
      proxy.seen.map((s) => `${s.method} ${s.target}`),
      [`CONNECT 127.0.0.1:${secureTarget.port}`],
    );
    assert.equal(proxy.seen[0]!.headers['proxy-authorization'], basic('user', PASSWORD));
    assert.equal(seenByTargets.length, 2);
    for (const seen of seenByTargets) {
      assert.equal(seen.secure, true);
      assert.equal(seen.url, '/secure');
      assert.equal(seen.headers.host, `127.0.0.1:${secureTarget.port}`);
      assert.equal(seen.headers['proxy-authorization'], undefined);
    }
    assert.equal(p.stats().hosts[`127.0.0.1:${secureTarget.port}`]!.connections.created, 1);
  });

  test('the target certificate is still checked inside the tunnel', async () => {
    const p = usePool({ proxy: proxyUrl() });
    const conn = await p.acquire(`https://127.0.0.1:${secureTarget.port}`);
    try {
      const err = await rejectsWith<ConnectionError>(
        conn.request('GET', '/'),
        'SENTINEL_CONNECTION',
      );
      assert.match(err.message, /TLS|certificate/i);
    } finally {
      p.release(conn);
    }
    assert.equal(seenByTargets.length, 0);
  });

  test('connections through one proxy are not shared between targets', async () => {
    const other = await startServer(record);
    try {
      const p = usePool({ proxy: proxyUrl() });
      const a = await p.acquire(`http://127.0.0.1:${target.port}`);
      await a.request('GET', '/a');
      p.release(a);
      const b = await p.acquire(`http://127.0.0.1:${other.port}`);
      assert.notEqual(b, a);
      await b.request('GET', '/b');
      p.release(b);
      const hosts = p.stats().hosts;
      assert.equal(hosts[`127.0.0.1:${target.port}`]!.connections.created, 1);
      assert.equal(hosts[`127.0.0.1:${other.port}`]!.connections.created, 1);
      assert.equal(hosts[`127.0.0.1:${other.port}`]!.requests.total, 1);
      assert.equal(p.stats().totals.connections, 2);
    } finally {
      await other.close();
    }
  });

  test('a tunnel the proxy refuses is a ConnectionError with the status, not the credentials', async () => {
    const p = usePool({ proxy: proxyUrl('user', 'wrong-hunter2') });
    const conn = await p.acquire(`https://127.0.0.1:${secureTarget.port}`);
    try {
      const err = await rejectsWith<ConnectionError>(
        conn.request('GET', '/'),
        'SENTINEL_CONNECTION',
      );
      assert.match(err.message, /407/);
      assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${secureTarget.port}`));
      assert.equal(err.beforeResponse, true);
      assert.doesNotMatch(`${err.message} ${err.stack}`, /hunter2|d3Jvbmct/);
    } finally {
      p.release(conn);
    }
    assert.equal(seenByTargets.length, 0);
    assert.equal(p.stats().hosts[`127.0.0.1:${secureTarget.port}`]!.requests.failed, 1);
  });

  test('403 and 502 on CONNECT fail the same way', async () => {
    for (const status of [403, 502]) {
      const refusing = await startForwardProxy({ refuseConnect: status });
      const p = new ConnectionPool({ proxy: refusing.url, tls: { ca: secureTarget.cert } });
      try {
        const conn = await p.acquire(`https://127.0.0.1:${secureTarget.port}`);
        const err = await rejectsWith<ConnectionError>(
          conn.request('GET', '/'),
          'SENTINEL_CONNECTION',
        );
        assert.match(err.message, new RegExp(`refused the tunnel .*: ${status}`));
        p.release(conn);
      } finally {
        await p.close();
        await refusing.close();
      }
    }
  });

  test('a proxy nobody listens on is a ConnectionError naming the proxy', async () => {
    const port = await closedPort();
    const p = usePool({ proxy: `http://user:hunter2@127.0.0.1:${port}` });
    for (const origin of [
      `http://127.0.0.1:${target.port}`,
      `https://127.0.0.1:${secureTarget.port}`,
    ]) {
      const conn = await p.acquire(origin);
      const err = await rejectsWith<ConnectionError>(
        conn.request('GET', '/'),
        'SENTINEL_CONNECTION',
      );
      assert.equal(err.errno, 'ECONNREFUSED');
      assert.match(err.message, new RegExp(`proxy http://127\\.0\\.0\\.1:${port}`));
      assert.doesNotMatch(`${err.message} ${err.stack}`, /hunter2/);
      p.release(conn);
    }
    assert.equal(seenByTargets.length, 0);
  });

  test('a bypassed target is reached directly and the proxy sees nothing', async () => {
    const p = usePool({
      proxy: { httpProxy: proxyUrl(), httpsProxy: proxyUrl(), noProxy: '127.0.0.1' },
      tls: { ca: secureTarget.cert },
    });
    for (const origin of [
      `http://127.0.0.1:${target.port}`,
      `https://127.0.0.1:${secureTarget.port}`,
    ]) {
      const conn = await p.acquire(origin);
      assert.equal((await conn.request('GET', '/direct')).text(), 'ok');
      p.release(conn);
    }
    assert.equal(proxy.seen.length, 0);
    assert.equal(seenByTargets.length, 2);
  });

  test('an https: proxy URL means TLS to the proxy too, verified by the same tls options', async () => {
    const secureProxy = await startForwardProxy({ tls: selfSignedCertificate() });
    try {
      const p = usePool({ proxy: secureProxy.url, tls: { ca: secureTarget.cert } });
      for (const origin of [
        `http://127.0.0.1:${target.port}`,
        `https://127.0.0.1:${secureTarget.port}`,
      ]) {
        const conn = await p.acquire(origin);
        assert.equal((await conn.request('GET', '/via-tls')).text(), 'ok');
        p.release(conn);
      }
      assert.deepEqual(
        secureProxy.seen.map((s) => s.method),
        ['GET', 'CONNECT'],
      );
      await p.close();
      // An untrusted proxy certificate fails the connection.
      const untrusting = usePool({ proxy: secureProxy.url });
      const conn = await untrusting.acquire(`http://127.0.0.1:${target.port}`);
      const err = await rejectsWith<ConnectionError>(
        conn.request('GET', '/'),
        'SENTINEL_CONNECTION',
      );
      assert.match(err.message, /proxy https:\/\/127\.0\.0\.1:\d+: self.signed/);
      untrusting.release(conn);
    } finally {
      await secureProxy.close();
    }
    assert.equal(seenByTargets.length, 2);
  });

  test('a bad proxy URL fails the constructor with InvalidRequestError', () => {
    assert.throws(
      () => new ConnectionPool({ proxy: 'socks5://user:hunter2@127.0.0.1:1080' }),
      (err: InvalidRequestError) =>
        err.code === 'SENTINEL_INVALID_REQUEST' && !err.message.includes('hunter2'),
    );
  });

  test('no socket outlives the pool', async () => {
    const before = resources();
    const p = usePool({ proxy: proxyUrl(), tls: { ca: secureTarget.cert } });
    await Promise.all(
      [`http://127.0.0.1:${target.port}`, `https://127.0.0.1:${secureTarget.port}`].map(
        async (origin) => {
          const conn = await p.acquire(origin);
          await conn.request('GET', '/');
          p.release(conn);
        },
      ),
    );
    const refused = await startForwardProxy({ refuseConnect: 407 });
    const refusing = new ConnectionPool({ proxy: refused.url });
    const conn = await refusing.acquire(`https://127.0.0.1:${secureTarget.port}`);
    await rejectsWith(conn.request('GET', '/'), 'SENTINEL_CONNECTION');
    refusing.release(conn);
    await refusing.close();
    await refused.close();
    await p.close();
    await waitForResources(before);
  });
});
