/**
 * Secret query parameters (`redactQueryParams`) are hidden everywhere a URL leaves the
 * call for someone else to read: span `url.full`, the channels, the tracing channel's
 * context and `onEvent`, as they are in errors. Hooks see the real URL: they are the
 * caller's own code, and signing a request needs it.
 */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { afterEach, describe, it } from 'node:test';
import type { ClientEvent } from '../../src/client/events.js';
import { Fixtures } from '../helpers/client-helpers.js';
import { finished, type Sdk, startSdk } from './otel-helpers.js';

const fx = new Fixtures();
let sdk: Sdk | undefined;

afterEach(async () => {
  await fx.cleanup();
  await sdk?.shutdown();
  sdk = undefined;
});

describe('secret query parameters outside errors', () => {
  it('spans, channels, the tracing context and events show *** where hooks see the value', async () => {
    sdk = startSdk(true);
    let n = 0;
    const server = await fx.server((_req, res) => {
      res.statusCode = ++n === 1 ? 503 : 200;
      res.end('ok');
    });
    const seen: string[] = [];
    const onStart = (message: unknown) => {
      seen.push(`start ${(message as { request: { url: string } }).request.url}`);
    };
    const onTrace = (message: unknown) => {
      seen.push(`trace ${(message as { url: string }).url}`);
    };
    diagnostics.subscribe('http-sentinel:request:start', onStart);
    diagnostics.subscribe('tracing:http-sentinel:request:start', onTrace);
    const hookUrls: string[] = [];
    const client = fx.client({
      retry: { initialDelayMs: 1 },
      adaptive: false,
      redactQueryParams: ['session'],
      hooks: { beforeRequest: [(request) => void hookUrls.push(request.url)] },
    });
    const events: ClientEvent[] = [];
    const off = client.onEvent((e) => events.push(e));
    try {
      const res = await client.get(`${server.url}/x?session=s3cr3t&sig=abc&page=2`);
      assert.equal(res.status, 200);
    } finally {
      off();
      diagnostics.unsubscribe('http-sentinel:request:start', onStart);
      diagnostics.unsubscribe('tracing:http-sentinel:request:start', onTrace);
    }
    const shown = `${server.url}/x?session=***&sig=abc&page=2`;
    assert.deepEqual(seen.sort(), [`start ${shown}`, `trace ${shown}`]);
    const urls = events.map((e) => ('url' in e ? `${e.type} ${e.url}` : e.type));
    assert.deepEqual(urls, [`attempt ${shown}`, `retry ${shown}`, `attempt ${shown}`]);
    const spans = finished(sdk);
    assert.equal(spans.length, 2);
    for (const span of spans) {
      assert.equal(span.attributes['url.full'], `${server.url}/x?session=***&sig=REDACTED&page=2`);
    }
    assert.deepEqual(hookUrls, [
      `${server.url}/x?session=s3cr3t&sig=abc&page=2`,
      `${server.url}/x?session=s3cr3t&sig=abc&page=2`,
    ]);
  });
});
