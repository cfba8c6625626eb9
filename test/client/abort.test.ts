import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { afterEach, describe, it } from 'node:test';
import { AbortError } from '../../src/core/errors.js';
import {
  Fixtures,
  rejectsWith,
  resources,
  trackUnhandledRejections,
  waitFor,
  waitForResources,
} from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

const never = (): void => {};

describe('AbortSignal', () => {
  it('an already aborted signal rejects at once, without a connection', async () => {
    const server = await fx.server(never);
    const client = fx.client();
    const reason = new Error('caller gave up');
    const err = await rejectsWith<AbortError>(
      client.get(server.url, undefined, { signal: AbortSignal.abort(reason) }),
      'SENTINEL_ABORTED',
    );
    assert.ok(err instanceof AbortError);
    assert.equal(err.reason, reason);
    assert.equal(server.connections, 0);
    // Neither the pool nor the host's health heard of it.
    assert.deepEqual(client.pool.stats().hosts, {});
    assert.deepEqual(client.stats().hosts, {});
  });

  it('the default reason of abort() is carried', async () => {
    const server = await fx.server(never);
    const client = fx.client();
    const controller = new AbortController();
    controller.abort();
    const err = await rejectsWith<AbortError>(
      client.stream({ method: 'GET', url: server.url, signal: controller.signal }),
      'SENTINEL_ABORTED',
    );
    assert.equal(err.reason, controller.signal.reason);
    assert.equal((err.reason as DOMException).name, 'AbortError');
  });

  it('abort while waiting for headers closes the socket', async () => {
    const server = await fx.server(never);
    const client = fx.client();
    const before = resources();
    const controller = new AbortController();
    const pending = client.get(server.url, undefined, { signal: controller.signal });
    await waitFor(() => server.requests === 1, 'the request to arrive');
    controller.abort('stop');
    const err = await rejectsWith<AbortError>(pending, 'SENTINEL_ABORTED');
    assert.equal(err.reason, 'stop');
    assert.equal(err.attempts, 1);
    await waitFor(() => server.openSockets === 0, 'the socket to close');
    assert.equal(client.pool.stats().totals.connections, 0);
    await waitForResources(before);
  });

  it('abort while connecting', async () => {
    const server = await fx.server(never);
    const client = fx.client();
    const controller = new AbortController();
    const pending = client.get(server.url, undefined, { signal: controller.signal });
    // The connection is being opened on this tick; abort before it completes.
    queueMicrotask(() => controller.abort('early'));
    const err = await rejectsWith<AbortError>(pending, 'SENTINEL_ABORTED');
    assert.equal(err.reason, 'early');
    await waitFor(() => client.pool.stats().totals.connections === 0, 'the connection gone');
    await waitFor(() => server.openSockets === 0, 'the socket to close');
    assert.equal(server.requests, 0);
  });

  it('abort while waiting for a connection from a full pool', async () => {
    const server = await fx.server(never);
    const client = fx.client({ pool: { maxConnections: 1 } });
    const first = client.get(server.url);
    first.catch(() => {});
    await waitFor(() => server.requests === 1, 'the first request to arrive');
    const controller = new AbortController();
    const second = client.get(server.url, undefined, { signal: controller.signal });
    await waitFor(() => client.pool.stats().totals.pending === 1, 'the second call to queue');
    controller.abort('queue');
    const err = await rejectsWith<AbortError>(second, 'SENTINEL_ABORTED');
    assert.equal(err.reason, 'queue');
    assert.equal(client.pool.stats().totals.pending, 0);
    assert.equal(server.connections, 1);
  });

  it('abort while reading a buffered body', async () => {
    const server = await fx.server((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('some of it');
    });
    const client = fx.client();
    const before = resources();
    const controller = new AbortController();
    const pending = client.get(server.url, undefined, { signal: controller.signal });
    await waitFor(() => client.pool.stats().totals.inFlight === 1 && server.requests === 1, 'body');
    setTimeout(() => controller.abort('mid-body'), 10);
    const err = await rejectsWith<AbortError>(pending, 'SENTINEL_ABORTED');
    assert.equal(err.reason, 'mid-body');
    await waitFor(() => server.openSockets === 0, 'the socket to close');
    await waitForResources(before);
  });

  it('abort while reading a streamed body fails the reader', async () => {
    const server = await fx.server((_req, res) => res.write('start '));
    const client = fx.client();
    const controller = new AbortController();
    const res = await client.stream({ method: 'GET', url: server.url, signal: controller.signal });
    const reading = res.text();
    controller.abort('stream-stop');
    const err = await rejectsWith<AbortError>(reading, 'SENTINEL_ABORTED');
    assert.equal(err.reason, 'stream-stop');
    await waitFor(() => server.openSockets === 0, 'the socket to close');
    assert.equal(client.pool.stats().totals.active, 0);
  });

  it('abort during a long retry delay ends at once, leaving no timer', async () => {
    const server = await fx.server((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    const client = fx.client({
      // Long, but inside the default 30 s deadline so the retry is taken.
      retry: { initialDelayMs: 20_000, maxDelayMs: 20_000, jitter: 'none' },
      adaptive: false,
    });
    // Warm the connection so the snapshot below includes the pool's own state.
    await client.get(server.url, undefined, { retry: false });
    const before = resources();
    const controller = new AbortController();
    const pending = client.get(server.url, undefined, { signal: controller.signal });
    await waitFor(() => server.requests === 2, 'the first attempt');
    await waitFor(() => client.stats().retry.retries === 1, 'the retry delay to start');
    controller.abort('no more waiting');
    const err = await rejectsWith<AbortError>(pending, 'SENTINEL_ABORTED');
    assert.equal(err.reason, 'no more waiting');
    assert.equal(err.attempts, 1);
    assert.equal(server.requests, 2);
    await waitForResources(before);
  });

  it('an abort after the response is complete changes nothing', async () => {
    const server = await fx.server((_req, res) => res.end('done'));
    const client = fx.client();
    const controller = new AbortController();
    const res = await client.get(server.url, undefined, { signal: controller.signal });
    controller.abort();
    assert.equal(res.text(), 'done');
    // The connection is still good for the next call.
    assert.equal((await client.get(server.url)).text(), 'done');
    assert.equal(server.connections, 1);
  });

  it('many aborted calls leave no listener on a shared signal and no unhandled rejection', async () => {
    const tracker = trackUnhandledRejections();
    try {
      const server = await fx.server((_req, res) => res.end('ok'));
      const client = fx.client();
      const controller = new AbortController();
      for (let i = 0; i < 20; i++) {
        await client.get(server.url, undefined, { signal: controller.signal });
      }
      assert.equal(EventEmitter.getEventListeners(controller.signal, 'abort').length, 0);
      const pending = [1, 2, 3].map(() =>
        client.get(server.url, undefined, { signal: controller.signal }),
      );
      controller.abort();
      const settled = await Promise.allSettled(pending);
      for (const s of settled) {
        if (s.status === 'rejected') assert.equal(s.reason.code, 'SENTINEL_ABORTED');
      }
      assert.equal(EventEmitter.getEventListeners(controller.signal, 'abort').length, 0);
      await new Promise((r) => setTimeout(r, 10));
      tracker.check();
    } finally {
      tracker.dispose();
    }
  });
});
