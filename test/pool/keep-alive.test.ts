import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { ConnectionPool } from '../../src/pool/index.js';
import { sleep, waitFor } from '../helpers/pool-helpers.js';
import { startServer, type TestServer } from '../helpers/server.js';

const servers: TestServer[] = [];
let pool: ConnectionPool | undefined;

afterEach(async () => {
  await pool?.close();
  pool = undefined;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function get(p: ConnectionPool, url: string): Promise<number> {
  const conn = await p.acquire(url);
  try {
    return (await conn.request('GET', '/')).status;
  } finally {
    p.release(conn);
  }
}

describe('stale keep-alive sockets', () => {
  test('a server hinting Keep-Alive: timeout=1 never sees a request on a socket it is closing', async () => {
    // node:http sends `Keep-Alive: timeout=1` for keepAliveTimeout 1000 and closes the
    // socket 1 s after the response. The pool's own idle timeout is 30 s.
    const server = await startServer((_req, res) => res.end('ok'), { keepAliveTimeout: 1000 });
    servers.push(server);
    pool = new ConnectionPool({ idleTimeoutMs: 30_000 });
    const statuses: number[] = [];
    statuses.push(await get(pool, server.url));
    // Past the server's timeout: a socket kept by the pool would be dead by now.
    await sleep(1100);
    statuses.push(await get(pool, server.url));
    statuses.push(await get(pool, server.url));
    assert.deepEqual(statuses, [200, 200, 200]);
    const host = pool.stats().hosts[`127.0.0.1:${server.port}`]!;
    assert.equal(host.requests.failed, 0);
    assert.equal(host.requests.succeeded, 3);
    assert.ok(server.connections >= 2, 'the request after the pause used a new socket');
  });

  test('a server closing idle sockets without a hint: requests spaced past its timeout never fail', async () => {
    // Setting `Connection` by hand stops node:http from sending a Keep-Alive hint, so
    // the pool learns of the close only from the socket itself. The server drops each
    // socket 20 ms after its response, as its keep-alive timer would.
    const server = await startServer(
      (req, res) => {
        res.setHeader('Connection', 'keep-alive');
        res.end('ok', () => {
          setTimeout(() => req.socket.end(), 20).unref();
        });
      },
      { keepAliveTimeout: 600_000 },
    );
    servers.push(server);
    pool = new ConnectionPool({ idleTimeoutMs: 30_000 });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push(await get(pool, server.url));
      await waitFor(() => server.openSockets === 0, 'the server to drop the idle socket');
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200]);
    const host = pool.stats().hosts[`127.0.0.1:${server.port}`]!;
    assert.equal(host.requests.failed, 0);
    assert.equal(server.connections, 5, 'each request on a new socket');
  });

  test('a server that keeps sockets longer than the pool: one socket for every request', async () => {
    const server = await startServer((_req, res) => res.end('ok'), { keepAliveTimeout: 10_000 });
    servers.push(server);
    pool = new ConnectionPool();
    for (let i = 0; i < 5; i++) assert.equal(await get(pool, server.url), 200);
    assert.equal(server.connections, 1);
  });
});
