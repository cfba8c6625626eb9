/**
 * Hedged requests: a slow first request is raced by a second on another connection; the
 * first good answer wins, the others are cancelled and their connections let go.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { afterEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { InvalidRequestError } from '../../src/core/errors.js';
import { Fixtures, rejectsWith, waitFor } from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

/** The first request hangs (until the test releases it); later ones answer at once. */
async function slowFirst(body = 'fast') {
  const held: http.ServerResponse[] = [];
  let n = 0;
  const server = await fx.server((req, res) => {
    if (++n === 1) {
      held.push(res);
      req.socket.on('close', () => held.splice(held.indexOf(res), 1));
    } else {
      res.end(`${body} ${n}`);
    }
  });
  return { server, held };
}

describe('hedged requests', () => {
  it('a hedge answers when the first request hangs; the first is cancelled', async () => {
    // The injected clock decides when the hedge goes, so a loaded machine cannot send a
    // second hedge before the first one answers.
    const clock = new ManualClock();
    const { server, held } = await slowFirst();
    const client = fx.client({ clock, hedge: { delayMs: 20 } });
    const pending = client.get(server.url);
    await waitFor(() => held.length === 1, 'the first request at the server');
    clock.advance(20);
    const res = await pending;
    assert.equal(res.text(), 'fast 2');
    assert.equal(res.attempts, 2, 'every request sent counts');
    const { retry } = client.stats();
    assert.equal(retry.hedges, 1);
    assert.equal(retry.hedgesWon, 1);
    await waitFor(() => held.length === 0, 'the losing request cancelled');
    await waitFor(() => client.pool.stats().totals.active === 0, 'connections released');
    const host = client.stats().hosts[`127.0.0.1:${server.port}`]!;
    assert.equal(host.breaker!.consecutiveFailures, 0, 'the loser is no verdict on the host');
  });

  it('no hedge when the answer comes before delayMs', async () => {
    const server = await fx.server((_req, res) => res.end('quick'));
    const client = fx.client({ hedge: { delayMs: 5_000 } });
    const res = await client.get(server.url);
    assert.equal(res.attempts, 1);
    assert.equal(server.requests, 1);
    assert.equal(client.stats().retry.hedges, 0);
  });

  it('stream(): the hedge wins at headers and its body is the one read', async () => {
    const { server, held } = await slowFirst('streamed');
    const client = fx.client({ hedge: { delayMs: 20 } });
    const res = await client.stream({ method: 'GET', url: server.url });
    assert.equal(await res.text(), 'streamed 2');
    await waitFor(() => held.length === 0, 'the losing request cancelled');
    await waitFor(() => client.pool.stats().totals.active === 0, 'connections released');
  });

  it('a 5xx from the hedge does not win: the first request, when it answers, does', async () => {
    let n = 0;
    const held: http.ServerResponse[] = [];
    const server = await fx.server((_req, res) => {
      if (++n === 1) held.push(res);
      else {
        res.statusCode = 503;
        res.end('busy');
      }
    });
    const client = fx.client({ hedge: { delayMs: 20 }, retry: false });
    const pending = client.get(server.url);
    await waitFor(() => n === 2, 'the hedge sent');
    // Let the 503 land before the first request answers.
    await new Promise((r) => setTimeout(r, 20));
    held[0]!.end('slow but good');
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(res.text(), 'slow but good');
    assert.equal(client.stats().retry.hedgesWon, 0);
  });

  it('up to maxHedges, each after delayMs more', async () => {
    const held: http.ServerResponse[] = [];
    let n = 0;
    const server = await fx.server((_req, res) => {
      if (++n < 3) held.push(res);
      else res.end(`third ${n}`);
    });
    const client = fx.client({ hedge: { delayMs: 15, maxHedges: 2 } });
    const res = await client.get(server.url);
    assert.equal(res.text(), 'third 3');
    assert.equal(res.attempts, 3);
    assert.equal(client.stats().retry.hedges, 2);
    await waitFor(() => client.pool.stats().totals.active === 0, 'connections released');
  });

  it('never hedges a POST without an idempotency key', async () => {
    const { server, held } = await slowFirst();
    const client = fx.client({ hedge: { delayMs: 10 }, timeout: 200, retry: false });
    await rejectsWith(client.post(server.url, undefined, 'x'), 'SENTINEL_TIMEOUT');
    assert.equal(server.requests, 1);
    assert.equal(client.stats().retry.hedges, 0);
    for (const res of held) res.destroy();
  });

  it('hedges draw on the retry budget', async () => {
    const { server, held } = await slowFirst();
    const client = fx.client({
      hedge: { delayMs: 10 },
      retryBudget: { percentCanRetry: 0, minRetriesPerSecond: 0 },
      timeout: 200,
      retry: false,
    });
    await rejectsWith(client.get(server.url), 'SENTINEL_TIMEOUT');
    assert.equal(server.requests, 1, 'no budget, no hedge');
    assert.equal(client.stats().retry.hedgesRefused, 1);
    for (const res of held) res.destroy();
  });

  it('a hedge is not queued when the pool is full', async () => {
    const { server, held } = await slowFirst();
    const client = fx.client({
      hedge: { delayMs: 10 },
      pool: { maxConnections: 1 },
      timeout: 200,
      retry: false,
    });
    await rejectsWith(client.get(server.url), 'SENTINEL_TIMEOUT');
    assert.equal(server.requests, 1);
    assert.equal(client.stats().retry.hedges, 0, 'no free connection: no hedge');
    assert.equal(client.stats().retry.budget!.retries, 0, 'and no budget spent');
    assert.equal(client.pool.stats().totals.active, 0);
    for (const res of held) res.destroy();
  });

  it('the call deadline ends every request of the attempt', async () => {
    const held: http.ServerResponse[] = [];
    const server = await fx.server((_req, res) => void held.push(res));
    const clock = new ManualClock();
    const client = fx.client({ clock, hedge: { delayMs: 10 }, timeout: 100, retry: false });
    const pending = rejectsWith(client.get(server.url), 'SENTINEL_TIMEOUT');
    for (const sent of [1, 2, 3]) {
      await waitFor(() => held.length === sent, `request ${sent} at the server`);
      clock.advance(sent < 3 ? 10 : 100);
    }
    const err = await pending;
    assert.equal(err.attempts, 3, 'the first request and two hedges (the default)');
    assert.equal(held.length, 3);
    await waitFor(() => client.pool.stats().totals.active === 0, 'connections released');
  });

  it('bad hedge settings are refused before any I/O', () => {
    for (const hedge of [{ delayMs: 0 }, { delayMs: -1 }, { delayMs: 10, maxHedges: 0 }, {}]) {
      assert.throws(() => fx.client({ hedge: hedge as never }), InvalidRequestError);
    }
    assert.throws(() => fx.client({ hedge: { delayMs: 10, max: 2 } as never }), /unknown hedge/);
  });
});
