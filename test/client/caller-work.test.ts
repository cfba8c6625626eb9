/**
 * The caller's own asynchronous work before an attempt (an async `beforeRequest` hook, a
 * cookie jar answering with a promise) runs under the call's deadline, signal and
 * `close()`: work that never settles cannot hold a call, nothing is sent, and no host
 * hears of it.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import type { TimeoutError } from '../../src/core/errors.js';
import { Fixtures, rejectsWith } from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

/** A jar whose every answer is a promise that never settles. */
const stuckJar = {
  getCookieString: () => new Promise<string>(() => {}),
  setCookie: () => undefined,
};
const stuckHook = () => new Promise<void>(() => {});

describe('caller work that never settles', () => {
  for (const [name, options] of [
    ['a cookie jar', { cookieJar: stuckJar }],
    ['a beforeRequest hook', { hooks: { beforeRequest: [stuckHook] } }],
  ] as const) {
    it(`${name}: the call's deadline ends it, nothing sent, no verdict`, async () => {
      const clock = new ManualClock();
      const server = await fx.server((_req, res) => res.end('ok'));
      const client = fx.client({ clock, timeout: 200, ...options });
      const pending = rejectsWith<TimeoutError>(client.get(server.url), 'SENTINEL_TIMEOUT');
      await new Promise((r) => setImmediate(r));
      clock.advance(200);
      const err = await pending;
      assert.equal(err.phase, 'total');
      assert.equal(err.attempts, 0);
      assert.equal(server.requests, 0);
      const host = client.stats().hosts[`127.0.0.1:${server.port}`];
      assert.equal(host?.breaker?.consecutiveFailures ?? 0, 0);
      assert.equal(clock.pendingTimers, 0, 'no timer left behind');
    });

    it(`${name}: the caller's signal and close() end it`, async () => {
      const server = await fx.server((_req, res) => res.end('ok'));
      const client = fx.client({ ...options });
      const controller = new AbortController();
      const aborted = rejectsWith(
        client.get(server.url, undefined, { signal: controller.signal }),
        'SENTINEL_ABORTED',
      );
      await new Promise((r) => setImmediate(r));
      controller.abort(new Error('stop'));
      await aborted;
      const closing = rejectsWith(client.get(server.url), 'SENTINEL_POOL_CLOSED');
      await new Promise((r) => setImmediate(r));
      await client.close();
      await closing;
      assert.equal(server.requests, 0);
    });
  }
});
