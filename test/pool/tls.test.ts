import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { ConnectionError } from '../../src/core/errors.js';
import { type Connection, ConnectionPool } from '../../src/pool/index.js';
import { rejectsWith, waitFor } from '../helpers/pool-helpers.js';
import { startTlsServer, type TestServer } from '../helpers/server.js';

let server: TestServer & { cert: string };
let pool: ConnectionPool | undefined;

before(async () => {
  server = await startTlsServer((req, res) => {
    res.end(`secure:${(req.socket as { encrypted?: boolean }).encrypted === true}`);
  });
});
after(() => server.close());
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('TLS', () => {
  test('an https: origin speaks TLS, verified against the given CA, and keeps the socket alive', async () => {
    pool = new ConnectionPool({ tls: { ca: server.cert } });
    const before = server.connections;
    for (let i = 0; i < 3; i++) {
      const conn: Connection = await pool.acquire(`https://127.0.0.1:${server.port}`);
      assert.equal(conn.origin.tls, true);
      const res = await conn.request('GET', '/');
      assert.equal(res.text(), 'secure:true');
      pool.release(conn);
    }
    assert.equal(server.connections - before, 1);
    const host = pool.stats().hosts[`127.0.0.1:${server.port}`]!;
    assert.equal(host.requests.succeeded, 3);
    assert.equal(host.connections.created, 1);
  });

  test('port 443 means TLS; an explicit scheme wins; the default port is left out of the origin', async () => {
    pool = new ConnectionPool();
    // acquire() does no I/O until a request is sent, so nothing listens on 443 here.
    const byPort = await pool.acquire('127.0.0.1', 443);
    assert.equal(byPort.origin.tls, true);
    assert.equal(byPort.origin.origin, 'https://127.0.0.1');
    assert.equal(byPort.origin.key, '127.0.0.1:443');
    const byScheme = await pool.acquire('https://127.0.0.1');
    assert.equal(byScheme.origin.key, '127.0.0.1:443');
    assert.equal(byScheme.origin.tls, true);
    const plain = await pool.acquire('http://127.0.0.1:443');
    assert.equal(plain.origin.tls, false);
    assert.equal(plain.origin.origin, 'http://127.0.0.1:443');
    const port80 = await pool.acquire('127.0.0.1', 80);
    assert.equal(port80.origin.tls, false);
    assert.equal(port80.origin.origin, 'http://127.0.0.1');
    for (const c of [byPort, byScheme, plain, port80]) pool.release(c);
    assert.notEqual(plain.id, byPort.id);
    // One host:port under two schemes: two hosts, the later one named by its full origin.
    assert.deepEqual(Object.keys(pool.stats().hosts).sort(), [
      '127.0.0.1:443',
      '127.0.0.1:80',
      'http://127.0.0.1:443',
    ]);
  });

  test('http: and https: to the same host:port never share a connection', async () => {
    // Regression: both schemes shared one host entry keyed `host:port`, so an https URL
    // could be sent in plain text on a connection opened for http (or the reverse).
    pool = new ConnectionPool({ tls: { ca: server.cert } });
    const plain = await pool.acquire(`http://127.0.0.1:${server.port}`);
    await plain.request('GET', '/').catch(() => {});
    pool.release(plain);
    const secure = await pool.acquire(`https://127.0.0.1:${server.port}`);
    assert.equal(secure.origin.tls, true);
    assert.equal((await secure.request('GET', '/')).text(), 'secure:true');
    pool.release(secure);
    const again = await pool.acquire(`http://127.0.0.1:${server.port}`);
    assert.notEqual(again.id, secure.id);
    assert.equal(again.origin.tls, false);
    pool.release(again);
    const hosts = pool.stats().hosts;
    assert.equal(hosts[`127.0.0.1:${server.port}`]!.requests.failed, 1);
    assert.equal(hosts[`https://127.0.0.1:${server.port}`]!.requests.succeeded, 1);
  });

  test('a certificate the pool does not trust -> ConnectionError; the connection is dropped', async () => {
    pool = new ConnectionPool();
    const conn = await pool.acquire(`https://127.0.0.1:${server.port}`);
    const before = server.requests;
    const err = await rejectsWith<ConnectionError>(
      conn.request('GET', '/'),
      'ConnectionError',
      'SENTINEL_CONNECTION',
    );
    assert.match(String(err.errno), /SELF_SIGNED|CERT|UNABLE_TO_VERIFY/);
    assert.equal(err.beforeResponse, true);
    assert.equal(server.requests, before, 'no request reached the server');
    assert.equal(conn.alive, false);
    pool.release(conn);
    const host = pool.stats().hosts[`127.0.0.1:${server.port}`]!;
    assert.equal(host.connections.idle, 0);
    assert.equal(host.requests.failed, 1);
    assert.equal(pool.stats().totals.connections, 0);
  });

  test('a plain-http pool talking to a TLS port gets a typed error, not a hang', async () => {
    pool = new ConnectionPool();
    const conn = await pool.acquire(`http://127.0.0.1:${server.port}`);
    // The TLS server drops a connection that does not start with a handshake.
    const err = await rejectsWith<ConnectionError>(
      conn.request('GET', '/', undefined, undefined, { timeoutMs: 2000 }),
      'ConnectionError',
      'SENTINEL_CONNECTION',
    );
    assert.equal(err.beforeResponse, true);
    assert.equal(conn.alive, false);
    pool.release(conn);
  });

  test('rejectUnauthorized: false accepts the self-signed certificate', async () => {
    pool = new ConnectionPool({ tls: { rejectUnauthorized: false } });
    const conn = await pool.acquire(`https://127.0.0.1:${server.port}`);
    assert.equal((await conn.request('GET', '/')).text(), 'secure:true');
    pool.release(conn);
  });

  test('closing the pool closes the TLS sockets on the server side', async () => {
    pool = new ConnectionPool({ tls: { ca: server.cert } });
    const conn = await pool.acquire(`https://127.0.0.1:${server.port}`);
    await conn.request('GET', '/');
    pool.release(conn);
    assert.ok(server.openSockets >= 1);
    await pool.close();
    await waitFor(() => server.openSockets === 0, 'the server to see the TLS socket close');
  });
});
