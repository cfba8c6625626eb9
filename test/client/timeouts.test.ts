import assert from 'node:assert/strict';
import net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { ManualClock } from '../../src/core/clock.js';
import { TimeoutError } from '../../src/core/errors.js';
import { Fixtures, rejectsWith, waitFor } from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

/** A handler that never answers (the server's close() ends its sockets). */
const never = (): void => {};

/**
 * A listening socket whose accept queue is full, so a new connection's SYN is dropped
 * and its handshake never completes. The listener lives in a worker whose event loop is
 * blocked, so nothing accepts; a few filler connections fill the queue.
 */
async function unacceptingPort(): Promise<{ port: number; close(): Promise<void> }> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const net = require('node:net');
    const server = net.createServer();
    server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
      parentPort.postMessage(server.address().port);
      Atomics.wait(new Int32Array(workerData), 0, 0);
      server.close();
    });`;
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(code, { eval: true, workerData: flag.buffer });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const fillers: net.Socket[] = [];
  let connected = 0;
  for (let i = 0; i < 4; i++) {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.on('connect', () => connected++);
    fillers.push(socket);
  }
  // The queue holds backlog + 1 completed handshakes; the rest stay pending.
  await waitFor(() => connected >= 2, 'the accept queue to fill');
  return {
    port,
    async close() {
      for (const socket of fillers) socket.destroy();
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      await worker.terminate();
    },
  };
}

describe('timeouts', () => {
  it('attemptTimeout: a server that never answers ends with phase attempt', async () => {
    const server = await fx.server(never);
    const client = fx.client({ retry: false });
    const err = await rejectsWith<TimeoutError>(
      client.get(server.url, undefined, { attemptTimeout: 40 }),
      'SENTINEL_TIMEOUT',
    );
    assert.ok(err instanceof TimeoutError);
    assert.equal(err.phase, 'attempt');
    assert.equal(err.timeoutMs, 40);
    assert.equal(err.attempts, 1);
  });

  it('timeout: the whole-call deadline ends with phase total', async () => {
    const server = await fx.server(never);
    const client = fx.client();
    const err = await rejectsWith<TimeoutError>(
      client.get(server.url, undefined, { timeout: 40 }),
      'SENTINEL_TIMEOUT',
    );
    assert.equal(err.phase, 'total');
    assert.equal(err.timeoutMs, 40);
  });

  it('a timeout that is also the attempt deadline reports phase total, at any clock reading', async () => {
    // At this reading (start + 300) - start is 300.0000000000073 in floating point: the
    // phase must not depend on that.
    const clock = new ManualClock({ now: 65306.025313030426 });
    const server = await fx.server(never);
    const client = fx.client({ clock, retry: false });
    const call = client.get(server.url, undefined, { timeout: 300 });
    call.catch(() => {});
    await waitFor(() => server.requests === 1, 'the request to arrive');
    clock.advance(300);
    const err = await rejectsWith<TimeoutError>(call, 'SENTINEL_TIMEOUT');
    assert.equal(err.phase, 'total');
    assert.equal(err.timeoutMs, 300);
  });

  it('a client-wide timeout applies to every call', async () => {
    const server = await fx.server(never);
    const client = fx.client({ timeout: 40 });
    const err = await rejectsWith<TimeoutError>(client.get(server.url), 'SENTINEL_TIMEOUT');
    assert.equal(err.phase, 'total');
  });

  it('attempt timeouts are retried until the total deadline runs out', async () => {
    const server = await fx.server(never);
    const client = fx.client({
      retry: { maxAttempts: 100, initialDelayMs: 1, maxDelayMs: 1 },
      retryBudget: false,
      adaptive: false,
      circuitBreaker: false,
    });
    const err = await rejectsWith<TimeoutError>(
      // Three attempts of 30 ms end around 93-105 ms: the deadline falls inside the fourth.
      client.get(server.url, undefined, { attemptTimeout: 30, timeout: 115 }),
      'SENTINEL_TIMEOUT',
    );
    assert.equal(err.phase, 'total');
    assert.ok(err.attempts! > 1, `attempts ${err.attempts}`);
    // The deadline may end the last attempt before its request is written.
    assert.ok(server.requests >= err.attempts! - 1);
  });

  it('a slow body past the attempt deadline times out too', async () => {
    const server = await fx.server((_req, res) => {
      res.writeHead(200, { 'content-length': '10' });
      res.write('12345');
    });
    const client = fx.client({ retry: false });
    const err = await rejectsWith<TimeoutError>(
      client.get(server.url, undefined, { attemptTimeout: 40 }),
      'SENTINEL_TIMEOUT',
    );
    assert.equal(err.phase, 'attempt');
    // The half-read connection is not kept.
    await waitFor(() => server.openSockets === 0, 'the socket to be closed');
  });

  it('acquire: waiting for a busy connection past connectionTimeoutMs', async () => {
    const server = await fx.server(never);
    const client = fx.client({
      retry: false,
      pool: { maxConnections: 1, connectionTimeoutMs: 30 },
    });
    const hanging = client.get(server.url, undefined, { timeout: 2000 });
    hanging.catch(() => {});
    await waitFor(() => server.requests === 1, 'the first request to arrive');
    const err = await rejectsWith<TimeoutError>(client.get(server.url), 'SENTINEL_TIMEOUT');
    assert.equal(err.phase, 'acquire');
    assert.equal(server.connections, 1);
    await client.close();
    await rejectsWith(hanging, 'SENTINEL_POOL_CLOSED');
  });

  it('connectTimeout: a handshake that never completes ends with phase connect', async () => {
    const target = await unacceptingPort();
    try {
      const client = fx.client({ retry: false });
      const err = await rejectsWith<TimeoutError>(
        client.get(`http://127.0.0.1:${target.port}/`, undefined, { connectTimeout: 30 }),
        'SENTINEL_TIMEOUT',
      );
      assert.equal(err.phase, 'connect');
      assert.equal(err.timeoutMs, 30);
      assert.equal(client.pool.stats().totals.connections, 0);
    } finally {
      await fx.cleanup();
      await target.close();
    }
  });

  it('a fast answer is not affected by the deadlines', async () => {
    const server = await fx.server((_req, res) => res.end('quick'));
    const client = fx.client({ timeout: 1000, attemptTimeout: 500, connectTimeout: 500 });
    const res = await client.get(server.url);
    assert.equal(res.text(), 'quick');
  });
});
