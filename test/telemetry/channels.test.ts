/**
 * The `diagnostics_channel` channels, each subscribed as an APM agent would, and
 * `tracingChannel('http-sentinel:request')` with a bound store.
 */
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import dc from 'node:diagnostics_channel';
import type http from 'node:http';
import { afterEach, describe, it } from 'node:test';
import type {
  BreakerStateMessage,
  RequestEndMessage,
  RequestErrorMessage,
  RequestStartMessage,
  RequestTraceContext,
  RetryMessage,
} from '../../src/client/channels.js';
import { ManualClock } from '../../src/core/clock.js';
import type { PoolCloseMessage, PoolConnectMessage } from '../../src/pool/channels.js';
import { Fixtures, rejectsWith, waitFor } from '../helpers/client-helpers.js';

const fx = new Fixtures();
const subscriptions: [string, (message: unknown) => void][] = [];

afterEach(async () => {
  for (const [name, fn] of subscriptions.splice(0)) dc.unsubscribe(name, fn);
  await fx.cleanup();
});

/** Messages published on `name` from now until the test ends. */
function listen<T>(name: string): T[] {
  const seen: T[] = [];
  const fn = (message: unknown) => seen.push(message as T);
  dc.subscribe(name, fn);
  subscriptions.push([name, fn]);
  return seen;
}

describe('diagnostics_channel', () => {
  it('http-sentinel:request:start and :end pair up on one request object', async () => {
    const starts = listen<RequestStartMessage>('http-sentinel:request:start');
    const ends = listen<RequestEndMessage>('http-sentinel:request:end');
    const clock = new ManualClock();
    const held: http.ServerResponse[] = [];
    const server = await fx.server((_req, res) => held.push(res));
    const client = fx.client({ clock });
    const call = client.get(`${server.url}/a?b=1`);
    await waitFor(() => held.length === 1, 'the request to arrive');
    assert.equal(starts.length, 1);
    assert.deepEqual(starts[0]!.request, {
      method: 'GET',
      url: `${server.url}/a?b=1`,
      stream: false,
    });
    assert.equal(ends.length, 0);
    clock.advance(40);
    held[0]!.end('done');
    const res = await call;
    assert.equal(ends.length, 1);
    assert.equal(ends[0]!.request, starts[0]!.request);
    assert.equal(ends[0]!.response, res);
    assert.equal(ends[0]!.durationMs, 40);
  });

  it('http-sentinel:request:error carries the error the caller gets', async () => {
    const starts = listen<RequestStartMessage>('http-sentinel:request:start');
    const errors = listen<RequestErrorMessage>('http-sentinel:request:error');
    const server = await fx.rawServer((socket) => socket.destroy());
    const client = fx.client({ retry: false });
    const err = await rejectsWith(client.get(server.url), 'SENTINEL_CONNECTION');
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.error, err);
    assert.equal(errors[0]!.request, starts[0]!.request);
    // A call refused before it starts (bad input) publishes neither.
    await rejectsWith(client.get('not a url'), 'SENTINEL_INVALID_REQUEST');
    assert.equal(starts.length, 1);
    assert.equal(errors.length, 1);
  });

  it('request:end alone subscribed still gets every call', async () => {
    const ends = listen<RequestEndMessage>('http-sentinel:request:end');
    const server = await fx.server((_req, res) => res.end('x'));
    const client = fx.client();
    const res = await client.stream({ method: 'GET', url: server.url });
    assert.equal(ends.length, 1, 'a stream ends its call at headers');
    assert.equal(ends[0]!.request.stream, true);
    assert.equal(await res.text(), 'x');
  });

  it('http-sentinel:retry: retries scheduled and refused', async () => {
    const retries = listen<RetryMessage>('http-sentinel:retry');
    let n = 0;
    // 503, 200, then 503 for good.
    const server = await fx.server((_req, res) => {
      res.statusCode = ++n === 2 ? 200 : 503;
      res.end();
    });
    const retrying = fx.client({
      retry: { initialDelayMs: 1, jitter: 'none' },
      adaptive: false,
      retryBudget: false,
    });
    assert.equal((await retrying.get(server.url)).status, 200);
    const refusing = fx.client({
      retry: { initialDelayMs: 1 },
      adaptive: false,
      retryBudget: { percentCanRetry: 0.01, minRetriesPerSecond: 0 },
    });
    assert.equal((await refusing.get(server.url)).status, 503);
    assert.deepEqual(
      retries.map((m) =>
        m.type === 'retry' ? [m.type, m.attempt, m.status, m.delayMs] : [m.type, m.attempt, m.by],
      ),
      [
        ['retry', 1, 503, 1],
        ['retry-refused', 1, 'budget'],
      ],
    );
    assert.equal(retries[0]!.url, `${server.url}/`);
  });

  it('http-sentinel:breaker:state: a host’s transitions', async () => {
    const states = listen<BreakerStateMessage>('http-sentinel:breaker:state');
    const server = await fx.server((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    const client = fx.client({
      retry: false,
      circuitBreaker: { consecutiveFailures: 2, minOutageMs: 0 },
    });
    await client.get(server.url);
    await client.get(server.url);
    assert.deepEqual(states, [
      { type: 'breaker', host: `127.0.0.1:${server.port}`, from: 'closed', to: 'open' },
    ]);
  });

  it('http-sentinel:pool:connect and :close: each connection’s life', async () => {
    const connects = listen<PoolConnectMessage>('http-sentinel:pool:connect');
    const closes = listen<PoolCloseMessage>('http-sentinel:pool:close');
    const server = await fx.server((_req, res) => res.end('x'));
    const client = fx.client();
    await client.get(server.url);
    await client.get(server.url);
    assert.equal(connects.length, 1, 'one connection, reused');
    const connect = connects[0]!;
    assert.equal(connect.pool, client.pool);
    assert.equal(connect.origin, server.url);
    assert.equal(connect.host, '127.0.0.1');
    assert.equal(connect.port, server.port);
    assert.ok(connect.connectMs >= 0);
    assert.equal(closes.length, 0);
    await client.close();
    assert.equal(closes.length, 1);
    const close = closes[0]!;
    assert.equal(close.connection, connect.connection);
    assert.equal(close.connected, true);
    assert.equal(close.requests, 2);
    assert.ok(close.connectedMs >= 0);
  });

  it('a connection that never connected closes with connected: false', async () => {
    const connects = listen<PoolConnectMessage>('http-sentinel:pool:connect');
    const closes = listen<PoolCloseMessage>('http-sentinel:pool:close');
    const server = await fx.server((_req, res) => res.end());
    const port = server.port;
    await server.close();
    const client = fx.client({ retry: false });
    await rejectsWith(client.get(`http://127.0.0.1:${port}/`), 'SENTINEL_CONNECTION');
    assert.equal(connects.length, 0);
    await waitFor(() => closes.length === 1, 'the close');
    assert.equal(closes[0]!.connected, false);
    assert.equal(closes[0]!.connectedMs, 0);
  });
});

describe("tracingChannel('http-sentinel:request')", () => {
  it('start, end, asyncStart, asyncEnd around a call, its store active inside it', async () => {
    const tracing = dc.tracingChannel<unknown, RequestTraceContext>('http-sentinel:request');
    const events: string[] = [];
    let context: RequestTraceContext | undefined;
    const handlers = {
      start: (ctx: RequestTraceContext) => {
        context = ctx;
        events.push('start');
      },
      end: () => events.push('end'),
      asyncStart: () => events.push('asyncStart'),
      asyncEnd: () => events.push('asyncEnd'),
      error: () => events.push('error'),
    };
    const store = new AsyncLocalStorage<string>();
    tracing.subscribe(handlers);
    tracing.start.bindStore(store, (ctx) => `apm:${ctx.method}`);
    try {
      const server = await fx.server((_req, res) => res.end('x'));
      let inside: string | undefined;
      const client = fx.client({
        hooks: { beforeRequest: [() => void (inside = store.getStore())] },
      });
      const res = await client.get(`http://user:pw@127.0.0.1:${server.port}/p`);
      assert.deepEqual(events, ['start', 'end', 'asyncStart', 'asyncEnd']);
      assert.equal(context?.method, 'GET');
      assert.equal(context?.url, `http://***@127.0.0.1:${server.port}/p`);
      assert.equal(context?.stream, false);
      assert.equal(context?.result, res);
      assert.equal(inside, 'apm:GET', 'the call runs in the store the agent bound');
      events.length = 0;
      await rejectsWith(client.get('bad url'), 'SENTINEL_INVALID_REQUEST');
      assert.deepEqual(events, ['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
      assert.equal(
        (context?.error as { code?: string } | undefined)?.code,
        'SENTINEL_INVALID_REQUEST',
      );
    } finally {
      tracing.unsubscribe(handlers);
      tracing.start.unbindStore(store);
    }
  });
});
