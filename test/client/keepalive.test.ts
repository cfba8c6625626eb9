import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { ConnectionError } from '../../src/core/errors.js';
import { Fixtures, onRawRequests, rejectsWith, waitFor } from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function answer(socket: Socket, body: string, extra = ''): void {
  socket.write(
    `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: keep-alive\r\n${extra}\r\n${body}`,
  );
}

/**
 * A server that answers the first request on its first socket with keep-alive, then
 * destroys that socket without answering when the second request arrives on it (a
 * server that timed out the idle socket just as the request came). Other sockets are
 * served normally.
 */
async function stalePeer() {
  return fx.rawServer((socket, index) => {
    onRawRequests(socket, (_head, n) => {
      if (index === 0 && n === 1) socket.destroy();
      else answer(socket, `socket ${index} request ${n}`);
    });
  });
}

describe('keep-alive', () => {
  it('sequential requests share one socket; concurrent ones open more', async () => {
    const server = await fx.server((_req, res) => setTimeout(() => res.end('ok'), 5));
    const client = fx.client();
    for (let i = 0; i < 5; i++) await client.get(server.url);
    assert.equal(server.connections, 1);
    await Promise.all([1, 2, 3].map(() => client.get(server.url)));
    assert.equal(server.peakSockets, 3);
    assert.equal(client.pool.stats().totals.idle, 3);
  });

  it('concurrent calls beyond maxConnections wait their turn and all succeed', async () => {
    const server = await fx.server((req, res) => setTimeout(() => res.end(req.url), 2));
    const client = fx.client({ pool: { maxConnections: 2 } });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => client.get(`${server.url}/${i}`)),
    );
    assert.deepEqual(
      results.map((r) => r.text()),
      Array.from({ length: 20 }, (_, i) => `/${i}`),
    );
    assert.equal(server.peakSockets, 2);
    assert.equal(server.connections, 2);
    assert.ok(results.some((r) => r.timings.queued > 0));
  });

  it('a GET on a socket the server just dropped is resent once, transparently', async () => {
    const server = await stalePeer();
    const client = fx.client({ retry: false });
    assert.equal((await client.get(server.url)).text(), 'socket 0 request 0');
    const res = await client.get(server.url);
    assert.equal(res.text(), 'socket 1 request 0');
    assert.equal(res.attempts, 1, 'not counted as a retry');
    assert.equal(server.connections, 2);
  });

  it('PUT and DELETE are resent too; so is a POST with an idempotency key', async () => {
    for (const call of [
      (c: ReturnType<Fixtures['client']>, url: string) => c.put(url, undefined, 'x'),
      (c: ReturnType<Fixtures['client']>, url: string) => c.delete(url),
      (c: ReturnType<Fixtures['client']>, url: string) =>
        c.post(url, undefined, 'x', { idempotencyKey: 'k1' }),
    ]) {
      const server = await stalePeer();
      const client = fx.client({ retry: false });
      await client.get(server.url);
      const res = await call(client, server.url);
      assert.equal(res.text(), 'socket 1 request 0');
      assert.equal(res.attempts, 1);
    }
  });

  it('a POST without an idempotency key is not resent: ConnectionError', async () => {
    const server = await stalePeer();
    const client = fx.client();
    await client.get(server.url);
    const err = await rejectsWith<ConnectionError>(
      client.post(server.url, undefined, 'charge the card'),
      'SENTINEL_CONNECTION',
    );
    assert.ok(err instanceof ConnectionError);
    assert.equal(err.attempts, 1);
    assert.equal(server.connections, 1, 'no second socket for the POST');
  });

  it('a server that closes idle sockets early never fails spaced GETs', async () => {
    // Closes each socket 25 ms after its last response, and says nothing about it.
    const server = await fx.rawServer((socket) => {
      let timer: NodeJS.Timeout | undefined;
      onRawRequests(socket, (_head, n) => {
        clearTimeout(timer);
        answer(socket, `r${n}`);
        timer = setTimeout(() => socket.destroy(), 25);
      });
      socket.on('close', () => clearTimeout(timer));
    });
    const client = fx.client({ retry: false });
    for (const gap of [0, 10, 20, 24, 25, 26, 30, 40]) {
      const res = await client.get(server.url);
      assert.equal(res.status, 200, `after a gap of ${gap} ms`);
      await sleep(gap);
    }
  });

  it('a server announcing Keep-Alive: timeout=1 is never caught closing a reused socket', async () => {
    const server = await fx.rawServer((socket) => {
      let timer: NodeJS.Timeout | undefined;
      onRawRequests(socket, (_head, n) => {
        clearTimeout(timer);
        answer(socket, `r${n}`, 'Keep-Alive: timeout=1\r\n');
        // It keeps its word only approximately: gone a little before one second.
        timer = setTimeout(() => socket.destroy(), 30);
      });
      socket.on('close', () => clearTimeout(timer));
    });
    const client = fx.client({ retry: false });
    for (let i = 0; i < 6; i++) {
      assert.equal((await client.get(server.url)).status, 200);
      await sleep(i * 10);
    }
  });

  it('a node:http server with a short keepAliveTimeout', async () => {
    const server = await fx.server((_req, res) => res.end('ok'), { keepAliveTimeout: 20 });
    const client = fx.client({ retry: false });
    for (let i = 0; i < 6; i++) {
      assert.equal((await client.get(server.url)).text(), 'ok');
      await sleep(i * 8);
    }
  });

  it('a socket the server closed while idle is not handed out again', async () => {
    const server = await fx.rawServer((socket) => {
      onRawRequests(socket, () => {
        answer(socket, 'bye');
        setImmediate(() => socket.end());
      });
    });
    const client = fx.client({ retry: false });
    await client.get(server.url);
    await waitFor(() => server.openSockets === 0, 'the server to close the socket');
    await waitFor(() => client.pool.stats().totals.idle === 0, 'the pool to drop it');
    assert.equal((await client.get(server.url)).text(), 'bye');
    assert.equal(server.connections, 2);
  });
});
