/**
 * OpenTelemetry through the real SDK: spans and metrics by the HTTP client semantic
 * conventions, the library's own metrics, the caller's context and `traceparent`, the
 * global providers and given ones, and nothing at all when there is no SDK.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { afterEach, describe, it } from 'node:test';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ManualClock } from '../../src/core/clock.js';
import { Fixtures, rejectsWith, waitFor } from '../helpers/client-helpers.js';
import { count, finished, point, points, type Sdk, startSdk, sum } from './otel-helpers.js';

const fx = new Fixtures();
let sdk: Sdk | undefined;

afterEach(async () => {
  await fx.cleanup();
  await sdk?.shutdown();
  sdk = undefined;
});

/** A server answering `statuses` in turn, then 200, echoing the traceparent it got. */
function sequence(statuses: number[], seen: (string | undefined)[] = []) {
  let i = 0;
  return fx.server((req, res) => {
    seen.push(req.headers.traceparent as string | undefined);
    res.statusCode = statuses[i++] ?? 200;
    res.end('ok');
  });
}

/** A server that holds every response until the test lets it go. */
async function holding() {
  const held: http.ServerResponse[] = [];
  const server = await fx.server((_req, res) => held.push(res));
  return { server, held };
}

describe('OpenTelemetry spans', () => {
  it('a CLIENT span per request, under the caller’s span, whose context the server receives', async () => {
    sdk = startSdk(true);
    const seen: (string | undefined)[] = [];
    const server = await sequence([], seen);
    const client = fx.client();
    const parent = trace.getTracer('test').startSpan('caller');
    const res = await context.with(trace.setSpan(context.active(), parent), () =>
      client.get(`${server.url}/items?sig=secret&x=1`),
    );
    parent.end();
    assert.equal(res.status, 200);
    const [span] = finished(sdk).filter((s) => s.name !== 'caller');
    assert.ok(span !== undefined);
    assert.equal(span.name, 'GET');
    assert.equal(span.kind, SpanKind.CLIENT);
    assert.equal(span.instrumentationScope.name, 'http-sentinel');
    assert.equal(span.parentSpanContext?.spanId, parent.spanContext().spanId);
    assert.equal(span.spanContext().traceId, parent.spanContext().traceId);
    assert.deepEqual(span.attributes, {
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': server.port,
      'url.full': `${server.url}/items?sig=REDACTED&x=1`,
      'url.scheme': 'http',
      'http.response.status_code': 200,
    });
    assert.equal(span.status.code, SpanStatusCode.UNSET);
    const { traceId, spanId } = span.spanContext();
    assert.equal(seen[0], `00-${traceId}-${spanId}-01`);
  });

  it('each retry is its own span with http.request.resend_count; a 503 is an error', async () => {
    sdk = startSdk(true);
    const seen: (string | undefined)[] = [];
    const server = await sequence([503], seen);
    const client = fx.client({ retry: { initialDelayMs: 1 }, adaptive: false });
    await client.get(server.url);
    const spans = finished(sdk);
    assert.equal(spans.length, 2);
    const [first, second] = spans;
    assert.equal(first!.attributes['http.request.resend_count'], undefined, 'only when > 0');
    assert.equal(first!.attributes['error.type'], '503');
    assert.equal(first!.status.code, SpanStatusCode.ERROR);
    assert.equal(second!.attributes['http.request.resend_count'], 1);
    assert.equal(second!.attributes['http.response.status_code'], 200);
    assert.notEqual(seen[0], seen[1], 'each request carries its own span');
    assert.ok(seen[1]!.includes(second!.spanContext().spanId));
    const all = await sdk.metrics();
    const retries = point(all, 'http_sentinel.retries', { 'server.port': server.port });
    assert.equal(retries?.value, 1);
    assert.equal(retries?.attributes['http.request.method'], 'GET');
  });

  it('a redirect hop is a span of its own, counted as a resend', async () => {
    sdk = startSdk(true);
    const server = await fx.server((req, res) => {
      if (req.url === '/from') {
        res.writeHead(302, { location: '/to' });
        res.end();
      } else res.end('there');
    });
    const client = fx.client();
    const res = await client.get(`${server.url}/from`);
    assert.equal(res.text(), 'there');
    const spans = finished(sdk);
    assert.deepEqual(
      spans.map((s) => [
        s.attributes['url.full'],
        s.attributes['http.response.status_code'],
        s.attributes['http.request.resend_count'],
      ]),
      [
        [`${server.url}/from`, 302, undefined],
        [`${server.url}/to`, 200, 1],
      ],
    );
  });

  it('a failed request: error.type is the error’s code, status ERROR', async () => {
    sdk = startSdk(true);
    const server = await fx.rawServer((socket) => socket.destroy());
    const client = fx.client({ retry: false });
    await rejectsWith(client.get(server.url), 'SENTINEL_CONNECTION');
    const [span] = finished(sdk);
    assert.equal(span?.attributes['error.type'], 'SENTINEL_CONNECTION');
    assert.equal(span?.attributes['http.response.status_code'], undefined);
    assert.equal(span?.status.code, SpanStatusCode.ERROR);
    const all = await sdk.metrics();
    const duration = point(all, 'http.client.request.duration', {
      'error.type': 'SENTINEL_CONNECTION',
    });
    assert.equal(count(duration), 1);
  });

  it('an unknown method: span HTTP, method _OTHER with the original', async () => {
    sdk = startSdk(true);
    const server = await sequence([]);
    const client = fx.client();
    await client.request({ method: 'PURGE', url: server.url });
    const [span] = finished(sdk);
    assert.equal(span?.name, 'HTTP');
    assert.equal(span?.attributes['http.request.method'], '_OTHER');
    assert.equal(span?.attributes['http.request.method_original'], 'PURGE');
  });

  it('a stream’s span ends at its headers', async () => {
    sdk = startSdk(true);
    const server = await fx.server((_req, res) => {
      res.write('part');
      // The body stays open until the caller has seen the span end.
    });
    const client = fx.client();
    const res = await client.stream({ method: 'GET', url: server.url });
    const [span] = finished(sdk);
    assert.equal(span?.attributes['http.response.status_code'], 200);
    await res.cancel();
  });

  it('given providers are used without any global registration', async () => {
    sdk = startSdk(false);
    const seen: (string | undefined)[] = [];
    const server = await sequence([], seen);
    const client = fx.client({
      telemetry: { meterProvider: sdk.meterProvider, tracerProvider: sdk.tracerProvider },
    });
    await client.get(server.url);
    assert.equal(finished(sdk).length, 1);
    assert.match(seen[0] ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const all = await sdk.metrics();
    assert.equal(
      count(point(all, 'http.client.request.duration', { 'server.port': server.port })),
      1,
    );
  });

  it('telemetry: false turns it off even with an SDK registered', async () => {
    sdk = startSdk(true);
    const seen: (string | undefined)[] = [];
    const server = await sequence([], seen);
    const client = fx.client({ telemetry: false });
    await client.get(server.url);
    assert.equal(finished(sdk).length, 0);
    assert.deepEqual(seen, [undefined]);
    assert.deepEqual(points(await sdk.metrics(), 'http.client.request.duration'), []);
  });

  it('with the API installed but no SDK registered, nothing is made and nothing sent', async () => {
    const seen: (string | undefined)[] = [];
    const server = await sequence([], seen);
    // A context manager and propagator alone (as some frameworks set) do not make spans.
    sdk = startSdk(false);
    const client = fx.client();
    await client.get(server.url);
    assert.deepEqual(seen, [undefined]);
    assert.equal(finished(sdk).length, 0);
  });

  it('bad telemetry options are refused at construction', () => {
    assert.throws(() => fx.client({ telemetry: 'on' as never }), {
      code: 'SENTINEL_INVALID_REQUEST',
    });
    assert.throws(() => fx.client({ telemetry: { meterProvider: {} as never } }), /getMeter/);
    assert.throws(() => fx.client({ telemetry: { tracer: 1 } as never }), /unknown telemetry/);
    const client = fx.client();
    assert.throws(() => client.extend({ telemetry: false }), /shares the parent's telemetry/);
  });
});

describe('OpenTelemetry metrics', () => {
  it('http.client.request.duration: seconds on the client’s clock, with the conventions’ attributes', async () => {
    sdk = startSdk(true);
    const clock = new ManualClock();
    const { server, held } = await holding();
    const client = fx.client({ clock });
    const call = client.get(`${server.url}/slow`);
    await waitFor(() => held.length === 1, 'the request to arrive');
    clock.advance(250);
    held[0]!.statusCode = 404;
    held[0]!.end('none');
    assert.equal((await call).status, 404);
    const all = await sdk.metrics();
    const metric = all.get('http.client.request.duration');
    assert.equal(metric?.descriptor.unit, 's');
    const [p] = points(all, 'http.client.request.duration');
    assert.deepEqual(p?.attributes, {
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': server.port,
      'url.scheme': 'http',
      'http.response.status_code': 404,
      'error.type': '404',
    });
    assert.equal(sum(p), 0.25);
  });

  it('http.client.open_connections by state, and http.client.connection.duration', async () => {
    sdk = startSdk(true);
    const { server, held } = await holding();
    const client = fx.client();
    const call = client.get(server.url);
    await waitFor(() => held.length === 1, 'the request to arrive');
    const state = async (s: string) =>
      point(await sdk!.metrics(), 'http.client.open_connections', {
        'server.port': server.port,
        'http.connection.state': s,
      })?.value;
    assert.equal(await state('active'), 1);
    assert.equal(await state('idle'), 0);
    held[0]!.end('done');
    await call;
    assert.equal(await state('active'), 0);
    assert.equal(await state('idle'), 1);
    const all = await sdk.metrics();
    assert.equal(all.get('http.client.open_connections')?.descriptor.unit, '{connection}');
    await client.close();
    const lifetime = point(await sdk.metrics(), 'http.client.connection.duration', {
      'server.port': server.port,
    });
    assert.equal(count(lifetime), 1);
    assert.deepEqual(lifetime?.attributes, {
      'server.address': '127.0.0.1',
      'server.port': server.port,
      'url.scheme': 'http',
    });
  });

  it('two clients on one host add up; a client’s extend() counts once', async () => {
    sdk = startSdk(true);
    const server = await sequence([]);
    const a = fx.client();
    const b = fx.client();
    const child = a.extend({ headers: { 'x-child': '1' } });
    await Promise.all([a.get(server.url), b.get(server.url), child.get(server.url)]);
    const idle = point(await sdk.metrics(), 'http.client.open_connections', {
      'server.port': server.port,
      'http.connection.state': 'idle',
    });
    assert.equal(idle?.value, a.pool.stats().totals.idle + b.pool.stats().totals.idle);
    const closed = point(await sdk.metrics(), 'http_sentinel.breaker.state', {
      'server.port': server.port,
      'http_sentinel.breaker.state': 'closed',
    });
    assert.equal(closed?.value, 2, 'one breaker per client family');
  });

  it('http_sentinel.breaker.state per host: 1 for the state it is in', async () => {
    sdk = startSdk(true);
    const server = await sequence([503, 503]);
    const client = fx.client({
      retry: false,
      circuitBreaker: { consecutiveFailures: 2, minOutageMs: 0 },
    });
    await client.get(server.url);
    await client.get(server.url);
    await rejectsWith(client.get(server.url), 'SENTINEL_CIRCUIT_OPEN');
    const all = await sdk.metrics();
    const state = (s: string) =>
      point(all, 'http_sentinel.breaker.state', {
        'server.port': server.port,
        'http_sentinel.breaker.state': s,
      })?.value;
    assert.deepEqual([state('closed'), state('open'), state('half-open')], [0, 1, 0]);
  });

  it('http_sentinel.retries.refused: a retry the budget refused', async () => {
    sdk = startSdk(true);
    const server = await sequence([503, 503]);
    const client = fx.client({
      retry: { initialDelayMs: 1 },
      adaptive: false,
      retryBudget: { percentCanRetry: 0.01, minRetriesPerSecond: 0 },
    });
    assert.equal((await client.get(server.url)).status, 503);
    const refused = point(await sdk.metrics(), 'http_sentinel.retries.refused', {
      'server.port': server.port,
    });
    assert.equal(refused?.value, 1);
    assert.equal(refused?.attributes['http_sentinel.retry.refused_by'], 'budget');
  });

  it('http_sentinel.hedges: a hedge sent is counted and traced', async () => {
    sdk = startSdk(true);
    let n = 0;
    const held: http.ServerResponse[] = [];
    const server = await fx.server((_req, res) => {
      if (++n === 1) held.push(res);
      else res.end('fast');
    });
    const client = fx.client({ hedge: { delayMs: 20 } });
    assert.equal((await client.get(server.url)).text(), 'fast');
    await waitFor(() => finished(sdk!).length === 2, 'both spans to end');
    const hedges = point(await sdk.metrics(), 'http_sentinel.hedges', {
      'server.port': server.port,
    });
    assert.equal(hedges?.value, 1);
    const spans = finished(sdk);
    const won = spans.find((s) => s.attributes['http.response.status_code'] === 200);
    const lost = spans.find((s) => s !== won);
    assert.equal(won?.attributes['http.request.resend_count'], 1);
    assert.equal(lost?.attributes['error.type'], 'SENTINEL_ABORTED');
  });

  it('http_sentinel.shed: first attempts shed by adaptive throttling', async () => {
    sdk = startSdk(true);
    const server = await sequence([503, 503, 503, 503]);
    const client = fx.client({
      clock: new ManualClock({ random: () => 0 }),
      retry: false,
      circuitBreaker: false,
      // Not in the public type: shedding first attempts is opt-in and undocumented.
      adaptive: { shedFirstAttempts: true, minRequests: 1 },
    });
    await client.get(server.url);
    await rejectsWith(client.get(server.url), 'SENTINEL_CIRCUIT_OPEN');
    const shed = point(await sdk.metrics(), 'http_sentinel.shed', { 'server.port': server.port });
    assert.equal(shed?.value, client.stats().retry.shed);
    assert.equal(shed?.value, 1);
  });

  it('http_sentinel.pool.wait.duration: time spent in the queue for a connection', async () => {
    sdk = startSdk(true);
    const clock = new ManualClock();
    const { server, held } = await holding();
    const client = fx.client({ clock, pool: { maxConnections: 1 } });
    const first = client.get(server.url);
    await waitFor(() => held.length === 1, 'the first request to arrive');
    const second = client.get(server.url);
    await waitFor(() => client.pool.stats().totals.pending === 1, 'the second to queue');
    clock.advance(100);
    held[0]!.end('1');
    await first;
    await waitFor(() => held.length === 2, 'the second request to arrive');
    held[1]!.end('2');
    await second;
    const [p] = points(await sdk.metrics(), 'http_sentinel.pool.wait.duration');
    assert.equal(count(p), 1, 'only the request that waited');
    assert.equal(sum(p), 0.1);
    assert.equal(p?.attributes['server.port'], server.port);
  });
});
