import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { type AcquireOptions, ConnectionPool, type PoolConfig } from '../../src/pool/index.js';
import { rejectsWith } from '../helpers/pool-helpers.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let pool: ConnectionPool;

before(async () => {
  server = await startServer((req, res) => {
    res.setHeader('x-path', req.url ?? '');
    res.end('ok');
  });
});
after(() => server.close());
afterEach(() => pool?.close());

describe('acquire: the three ways to name a host', () => {
  test('(host, port), an origin string and a URL reach the same host and share its socket', async () => {
    pool = new ConnectionPool();
    const key = `127.0.0.1:${server.port}`;
    const before = server.connections;
    const forms: (() => ReturnType<ConnectionPool['acquire']>)[] = [
      () => pool.acquire('127.0.0.1', server.port),
      () => pool.acquire(`http://127.0.0.1:${server.port}`),
      () => pool.acquire(new URL(`http://127.0.0.1:${server.port}/some/path?q=1`)),
    ];
    for (const acquire of forms) {
      const conn = await acquire();
      assert.equal(conn.origin.key, key);
      assert.equal(conn.origin.origin, `http://127.0.0.1:${server.port}`);
      assert.equal(conn.origin.tls, false);
      const res = await conn.request('GET', '/x');
      assert.equal(res.status, 200);
      assert.equal(res.text(), 'ok');
      pool.release(conn);
    }
    assert.equal(server.connections - before, 1);
    assert.deepEqual(Object.keys(pool.stats().hosts), [key]);
    assert.equal(pool.stats().hosts[key]!.requests.total, 3);
  });

  test('host names are case-insensitive: one key per host', async () => {
    pool = new ConnectionPool();
    const a = await pool.acquire('LOCALHOST', 8080);
    const b = await pool.acquire('http://LocalHost:8080');
    assert.equal(a.origin.key, 'localhost:8080');
    assert.equal(b.origin.key, 'localhost:8080');
    pool.release(a);
    pool.release(b);
    assert.deepEqual(Object.keys(pool.stats().hosts), ['localhost:8080']);
  });
});

describe('acquire: host normalisation', () => {
  test('IPv6 literals, with or without brackets, share one key', async () => {
    pool = new ConnectionPool();
    const a = await pool.acquire('::1', 8080);
    const b = await pool.acquire('[::1]', 8080);
    const c = await pool.acquire('http://[::1]:8080');
    for (const conn of [a, b, c]) {
      assert.equal(conn.origin.key, '[::1]:8080');
      assert.equal(conn.origin.origin, 'http://[::1]:8080');
      pool.release(conn);
    }
    assert.deepEqual(Object.keys(pool.stats().hosts), ['[::1]:8080']);
  });

  test('the (host, port) form normalises like a URL does', async () => {
    pool = new ConnectionPool();
    const conn = await pool.acquire('Example.COM', 8080);
    assert.equal(conn.origin.key, 'example.com:8080');
    const idn = await pool.acquire('bücher.example', 8080);
    assert.equal(idn.origin.key, 'xn--bcher-kva.example:8080');
    pool.release(conn);
    pool.release(idn);
  });
});

describe('acquire: bad input fails with InvalidRequestError before any I/O', () => {
  const bad: [string, (p: ConnectionPool, port: number) => Promise<unknown>][] = [
    ['empty host', (p, port) => p.acquire('', port)],
    ['host with a space', (p, port) => p.acquire('127.0.0.1 x', port)],
    ['host with a slash', (p, port) => p.acquire('127.0.0.1/x', port)],
    ['host with userinfo', (p, port) => p.acquire('user@127.0.0.1', port)],
    ['host with a query', (p, port) => p.acquire('127.0.0.1?x', port)],
    ['host with a fragment', (p, port) => p.acquire('127.0.0.1#x', port)],
    ['host with a backslash', (p, port) => p.acquire('127.0.0.1\\x', port)],
    ['host with a CR LF', (p, port) => p.acquire('127.0.0.1\r\nx', port)],
    ['port 0', (p) => p.acquire('127.0.0.1', 0)],
    ['negative port', (p) => p.acquire('127.0.0.1', -1)],
    ['port above 65535', (p) => p.acquire('127.0.0.1', 65_536)],
    ['fractional port', (p) => p.acquire('127.0.0.1', 80.5)],
    ['NaN port', (p) => p.acquire('127.0.0.1', Number.NaN)],
    ['infinite port', (p) => p.acquire('127.0.0.1', Number.POSITIVE_INFINITY)],
    ['not a URL', (p) => p.acquire('not a url')],
    ['host:port without a scheme', (p, port) => p.acquire(`127.0.0.1:${port}`)],
    ['ftp origin', (p, port) => p.acquire(`ftp://127.0.0.1:${port}`)],
    ['ws origin', (p, port) => p.acquire(`ws://127.0.0.1:${port}`)],
    ['file URL', (p) => p.acquire(new URL('file:///etc/hosts'))],
    ['origin with a bad port', (p) => p.acquire('http://127.0.0.1:99999')],
    ['negative timeoutMs', (p, port) => p.acquire('127.0.0.1', port, { timeoutMs: -1 })],
    [
      'NaN timeoutMs',
      (p, port) => p.acquire(`http://127.0.0.1:${port}`, { timeoutMs: Number.NaN }),
    ],
    ['zero connectTimeoutMs', (p, port) => p.acquire('127.0.0.1', port, { connectTimeoutMs: 0 })],
    [
      'negative connectTimeoutMs',
      (p, port) => p.acquire(`http://127.0.0.1:${port}`, { connectTimeoutMs: -5 }),
    ],
    [
      'NaN connectTimeoutMs',
      (p, port) => p.acquire('127.0.0.1', port, { connectTimeoutMs: Number.NaN }),
    ],
    [
      'timeoutMs past what a timer can hold',
      (p, port) => p.acquire('127.0.0.1', port, { timeoutMs: 2 ** 31 }),
    ],
    [
      'string timeoutMs',
      (p, port) =>
        p.acquire('127.0.0.1', port, { timeoutMs: '5' as unknown as AcquireOptions['timeoutMs'] }),
    ],
  ];
  for (const [what, call] of bad) {
    test(what, async () => {
      pool = new ConnectionPool();
      const before = server.connections;
      await rejectsWith(call(pool, server.port), 'InvalidRequestError', 'SENTINEL_INVALID_REQUEST');
      assert.equal(server.connections, before, 'no socket was opened');
      assert.deepEqual(pool.stats().totals, {
        connections: 0,
        active: 0,
        idle: 0,
        pending: 0,
        requests: 0,
        inFlight: 0,
      });
    });
  }

  test('acquire never throws synchronously; errors arrive as rejections', async () => {
    pool = new ConnectionPool();
    const p = pool.acquire('', -1);
    assert.ok(p instanceof Promise);
    await rejectsWith(p, 'InvalidRequestError', 'SENTINEL_INVALID_REQUEST');
  });
});

describe('pool options are checked at construction', () => {
  const bad: [string, Partial<PoolConfig>][] = [
    ['maxConnections 0', { maxConnections: 0 }],
    ['negative maxConnections', { maxConnections: -1 }],
    ['fractional maxConnections', { maxConnections: 1.5 }],
    ['NaN maxConnections', { maxConnections: Number.NaN }],
    ['negative maxIdleConnections', { maxIdleConnections: -1 }],
    ['maxTotalConnections 0', { maxTotalConnections: 0 }],
    ['negative connectionTimeoutMs', { connectionTimeoutMs: -1 }],
    ['NaN connectionTimeoutMs', { connectionTimeoutMs: Number.NaN }],
    ['connectionTimeoutMs past what a timer can hold', { connectionTimeoutMs: 2 ** 31 }],
    ['zero idleTimeoutMs', { idleTimeoutMs: 0 }],
    ['negative idleTimeoutMs', { idleTimeoutMs: -1 }],
    ['NaN idleTimeoutMs', { idleTimeoutMs: Number.NaN }],
    ['negative maxConnectionLifetimeMs', { maxConnectionLifetimeMs: -1 }],
    ['negative connectTimeoutMs', { connectTimeoutMs: -1 }],
    ['unknown option', { maxSockets: 3 } as unknown as Partial<PoolConfig>],
  ];
  for (const [what, config] of bad) {
    test(what, () => {
      assert.throws(
        () => new ConnectionPool(config),
        (err: Error & { code?: string }) =>
          err.name === 'InvalidRequestError' && err.code === 'SENTINEL_INVALID_REQUEST',
      );
    });
  }

  test('the caller’s options object is not mutated, and undefined means default', () => {
    const options = { maxConnections: 2, maxIdleConnections: 5, idleTimeoutMs: undefined };
    const p = new ConnectionPool(options);
    assert.deepEqual(options, {
      maxConnections: 2,
      maxIdleConnections: 5,
      idleTimeoutMs: undefined,
    });
    assert.equal(p.config.maxIdleConnections, 2, 'idle limit clamped to the connection limit');
    assert.equal(p.config.idleTimeoutMs, 30_000);
    assert.ok(Object.isFrozen(p.config));
    return p.close();
  });
});

describe('keep-alive reuse', () => {
  test('sequential requests use one socket', async () => {
    pool = new ConnectionPool();
    const before = server.connections;
    const ids = new Set<number>();
    for (let i = 0; i < 10; i++) {
      const conn = await pool.acquire(server.url);
      ids.add(conn.id);
      const res = await conn.request('GET', `/r${i}`);
      assert.equal(res.headers.get('x-path'), `/r${i}`);
      pool.release(conn);
    }
    assert.equal(server.connections - before, 1);
    assert.equal(ids.size, 1);
    const host = pool.stats().hosts[`127.0.0.1:${server.port}`]!;
    assert.equal(host.connections.created, 1);
    assert.equal(host.connections.idle, 1);
    assert.equal(host.requests.succeeded, 10);
  });

  test('fresh: true opens a new connection instead of reusing the idle one', async () => {
    pool = new ConnectionPool();
    const before = server.connections;
    const a = await pool.acquire(server.url);
    await a.request('GET', '/');
    pool.release(a);
    const b = await pool.acquire(server.url, { fresh: true });
    assert.notEqual(b.id, a.id);
    await b.request('GET', '/');
    pool.release(b);
    assert.equal(server.connections - before, 2);
  });
});
