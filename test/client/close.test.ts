import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { HttpClient } from '../../src/client/index.js';
import { PoolClosedError } from '../../src/core/errors.js';
import { ConnectionPool } from '../../src/pool/index.js';
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

describe('close()', () => {
  it('ends in-flight, queued and delayed calls, then refuses new ones', async () => {
    const tracker = trackUnhandledRejections();
    try {
      const hang = await fx.server(never);
      const flaky = await fx.server((_req, res) => {
        res.statusCode = 503;
        res.end();
      });
      const trickle = await fx.server((_req, res) => res.write('partial'));
      const before = resources();
      const client = new HttpClient({
        pool: { maxConnections: 1 },
        retry: { initialDelayMs: 20_000, maxDelayMs: 20_000, jitter: 'none' },
        adaptive: false,
      });
      const inFlight = client.get(hang.url);
      await waitFor(() => hang.requests === 1, 'the in-flight request');
      const queued = client.get(hang.url);
      await waitFor(() => client.pool.stats().totals.pending === 1, 'the queued call');
      const delayed = client.get(flaky.url);
      await waitFor(() => client.stats().retry.retries === 1, 'the retry delay');
      const streaming = await client.stream({ method: 'GET', url: trickle.url });
      // Outcomes are collected before close() so no rejection goes unobserved.
      const outcomes = [inFlight, queued, delayed].map((p) =>
        p.then(
          () => 'resolved',
          (e) => e,
        ),
      );
      const reading = streaming.bytes().then(
        () => 'resolved',
        (e) => e,
      );

      await client.close();
      const names = ['in-flight', 'queued', 'delayed', 'stream body'];
      for (const [i, outcome] of (await Promise.all([...outcomes, reading])).entries()) {
        assert.ok(outcome instanceof PoolClosedError, `${names[i]}: ${String(outcome)}`);
      }
      await rejectsWith(client.get(hang.url), 'SENTINEL_POOL_CLOSED');
      await rejectsWith(client.stream({ method: 'GET', url: hang.url }), 'SENTINEL_POOL_CLOSED');
      await waitFor(
        () => hang.openSockets + flaky.openSockets + trickle.openSockets === 0,
        'sockets closed',
      );
      await waitForResources(before);
      await new Promise((r) => setTimeout(r, 5));
      tracker.check();
    } finally {
      tracker.dispose();
    }
  });

  it('is idempotent and closes idle keep-alive sockets', async () => {
    const server = await fx.server((_req, res) => res.end('ok'));
    const before = resources();
    const client = new HttpClient();
    await Promise.all([client.get(server.url), client.get(server.url)]);
    assert.equal(server.openSockets, 2);
    await Promise.all([client.close(), client.close()]);
    await client.close();
    await waitFor(() => server.openSockets === 0, 'the server to see the sockets closed');
    await waitForResources(before);
  });

  it('await using closes the client at the end of the block', async () => {
    const server = await fx.server((_req, res) => res.end('ok'));
    const before = resources();
    let escaped: HttpClient | undefined;
    {
      await using client = new HttpClient({ baseUrl: server.url });
      escaped = client;
      assert.equal((await client.get('/')).text(), 'ok');
    }
    await rejectsWith(escaped.get('/'), 'SENTINEL_POOL_CLOSED');
    await waitFor(() => server.openSockets === 0, 'sockets closed');
    await waitForResources(before);
  });

  it('a shared pool is left open for its owner', async () => {
    const server = await fx.server((_req, res) => res.end('ok'));
    const pool = new ConnectionPool();
    try {
      const a = new HttpClient({ pool });
      const b = new HttpClient({ pool });
      assert.equal(a.pool, pool);
      await a.get(server.url);
      await a.close();
      await rejectsWith(a.get(server.url), 'SENTINEL_POOL_CLOSED');
      assert.equal(pool.closed, false);
      assert.equal((await b.get(server.url)).text(), 'ok');
      assert.equal(server.connections, 1, 'the second client reused the pooled socket');
      await b.close();
    } finally {
      await pool.close();
    }
  });

  it('a client on a closed pool fails with PoolClosedError', async () => {
    const server = await fx.server((_req, res) => res.end('ok'));
    const pool = new ConnectionPool();
    const client = new HttpClient({ pool });
    await pool.close();
    await rejectsWith(client.get(server.url), 'SENTINEL_POOL_CLOSED');
    assert.equal(server.connections, 0);
    await client.close();
  });

  it('stats() is plain JSON with pool, retry and host figures', async () => {
    const server = await fx.server((_req, res) => res.end('ok'));
    const client = fx.client();
    await client.get(server.url);
    const stats = client.stats();
    const copy = JSON.parse(JSON.stringify(stats));
    assert.deepEqual(copy, stats);
    const key = `127.0.0.1:${server.port}`;
    assert.equal(stats.pool.hosts[key]!.requests.total, 1);
    assert.equal(stats.pool.totals.idle, 1);
    assert.equal(stats.retry.retries, 0);
    assert.equal(stats.hosts[key]!.breaker!.state, 'closed');
  });
});
