import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import zlib from 'node:zlib';
import type { TimeoutError } from '../../src/core/errors.js';
import { Fixtures, rejectsWith, waitFor } from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

describe('stream() and a redirect it cannot follow', () => {
  it('an invalid Location releases the connection of the streamed 3xx', async () => {
    const server = await fx.server((_req, res) => {
      // A 3xx whose body never ends: only cancelling it frees the connection.
      res.writeHead(302, { location: 'ftp://127.0.0.1/elsewhere' });
      res.write('moving');
    });
    const client = fx.client({ retry: false });
    await rejectsWith(client.stream({ method: 'GET', url: `${server.url}/` }), 'SENTINEL_PROTOCOL');
    await waitFor(() => client.stats().pool.totals.active === 0, 'the connection to be released');
    await waitFor(() => server.openSockets === 0, 'the socket to close');
    assert.equal(client.stats().pool.totals.connections, 0);
  });
});

describe('stream() with a compressed body the caller stops reading', () => {
  for (const coding of ['gzip', 'deflate']) {
    it(`${coding}: breaking out of the body releases the connection`, async () => {
      const server = await fx.server((_req, res) => {
        res.writeHead(200, { 'content-encoding': coding });
        // Never ends: only cancelling the transfer frees the connection.
        const z = coding === 'gzip' ? zlib.createGzip() : zlib.createDeflate();
        z.pipe(res);
        z.write('x'.repeat(100));
        z.flush();
      });
      const client = fx.client({ retry: false });
      const res = await client.stream({ method: 'GET', url: `${server.url}/` });
      for await (const _ of res.body) break;
      await waitFor(() => client.stats().pool.totals.active === 0, 'the connection to be released');
      await waitFor(() => server.openSockets === 0, 'the socket to close');
    });
  }
});

describe('stream() following a redirect', () => {
  it('the whole-call timeout bounds the drain of the 3xx body', async () => {
    const timers: NodeJS.Timeout[] = [];
    const server = await fx.server((req, res) => {
      if (req.url === '/final') {
        res.end('ok');
        return;
      }
      // A 3xx body that trickles forever, each byte well within the idle timeout.
      res.writeHead(302, { location: '/final' });
      timers.push(setInterval(() => res.write('.'), 50));
    });
    const client = fx.client({ retry: false, timeout: 300 });
    try {
      const started = performance.now();
      const err = await rejectsWith<TimeoutError>(
        client.stream({ method: 'GET', url: `${server.url}/` }),
        'SENTINEL_TIMEOUT',
      );
      assert.equal(err.phase, 'total');
      assert.ok(performance.now() - started < 1500);
      await waitFor(() => client.stats().pool.totals.active === 0, 'the connection to be released');
    } finally {
      for (const t of timers) clearInterval(t);
    }
  });
});
