/**
 * `onDownloadProgress` and `onUploadProgress` (ky's names and arguments): a first event at
 * 0, one per chunk, a last one at 1 once the transfer is complete; wire bytes (before
 * decompression) against `content-length`; each attempt reports from 0; a callback that
 * throws fails the call as the caller's doing and lets everything go.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { afterEach, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { Progress, ProgressCallback } from '../../src/client/index.js';
import { ManualClock } from '../../src/core/clock.js';
import { InvalidRequestError } from '../../src/core/errors.js';
import { Fixtures, readBody, rejectsWith, waitFor } from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

interface Seen {
  events: Progress[];
  /** The chunk of each event. */
  chunks: Buffer[];
  callback: ProgressCallback;
}

function recorder(): Seen {
  const events: Progress[] = [];
  const chunks: Buffer[] = [];
  return {
    events,
    chunks,
    callback: (progress, chunk) => {
      events.push(progress);
      chunks.push(Buffer.from(chunk));
    },
  };
}

/** The rules every complete transfer's events follow. */
function assertComplete(seen: Seen, total: number, transferred: number): void {
  const { events, chunks } = seen;
  assert.ok(events.length >= 2, 'a first and a last event');
  assert.deepEqual(events[0], { percent: 0, transferredBytes: 0, totalBytes: total });
  assert.equal(chunks[0]!.length, 0, 'the first chunk is empty');
  assert.deepEqual(events.at(-1), {
    percent: 1,
    transferredBytes: transferred,
    totalBytes: Math.max(total, transferred),
  });
  assert.equal(chunks.at(-1)!.length, 0, 'the last chunk is empty');
  let sum = 0;
  for (let i = 1; i < events.length - 1; i++) {
    sum += chunks[i]!.length;
    const e = events[i]!;
    assert.equal(e.transferredBytes, sum, 'transferredBytes adds up the chunks');
    assert.ok(e.percent < 1, 'percent reaches 1 only at the end');
    assert.ok(e.percent >= events[i - 1]!.percent, 'percent never goes back');
    assert.equal(e.totalBytes, Math.max(total, sum));
    assert.equal(e.percent, total === 0 ? 0 : Math.min(sum / total, 1 - Number.EPSILON));
  }
  assert.equal(sum, transferred);
}

/** A body written in `parts` pieces, with or without a content-length. */
async function bodyServer(body: Buffer, withLength = true, parts = 4) {
  return fx.server(async (req, res) => {
    await readBody(req);
    if (withLength) res.setHeader('content-length', body.length);
    const size = Math.ceil(body.length / parts);
    for (let at = 0; at < body.length; at += size) {
      res.write(body.subarray(at, at + size));
      await new Promise((r) => setImmediate(r));
    }
    res.end();
  });
}

describe('onDownloadProgress', () => {
  it('a buffered body: 0, every chunk as it arrives, then 1', async () => {
    const body = Buffer.alloc(300_000, 'x');
    const server = await bodyServer(body);
    const seen = recorder();
    const client = fx.client();
    const res = await client.get(server.url, undefined, { onDownloadProgress: seen.callback });
    assert.equal(res.body.length, body.length);
    assertComplete(seen, body.length, body.length);
    assert.ok(seen.events.length > 3, 'several chunks reported');
    assert.deepEqual(Buffer.concat(seen.chunks), body);
  });

  it('without content-length the total is 0 until the end and percent stays 0', async () => {
    const body = Buffer.alloc(50_000, 'y');
    const server = await bodyServer(body, false);
    const seen = recorder();
    const client = fx.client({ onDownloadProgress: seen.callback });
    await client.get(server.url);
    assertComplete(seen, 0, body.length);
    assert.ok(seen.events.slice(0, -1).every((e) => e.percent === 0));
  });

  it('counts wire bytes: a gzip body reports its compressed size against content-length', async () => {
    const plain = Buffer.alloc(100_000, 'z');
    const packed = gzipSync(plain);
    const server = await fx.server((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': packed.length });
      res.end(packed);
    });
    const seen = recorder();
    const res = await fx.client().get(server.url, undefined, { onDownloadProgress: seen.callback });
    assert.equal(res.body.length, plain.length, 'the caller gets the decoded body');
    assertComplete(seen, packed.length, packed.length);
  });

  it('stream(): events as the body arrives, the last once it is complete', async () => {
    const body = Buffer.alloc(200_000, 's');
    const server = await bodyServer(body);
    const seen = recorder();
    const client = fx.client();
    const res = await client.stream({
      method: 'GET',
      url: server.url,
      onDownloadProgress: seen.callback,
    });
    assert.ok(seen.events.length >= 1, 'the first event comes at headers');
    assert.equal((await res.bytes()).length, body.length);
    assertComplete(seen, body.length, body.length);
  });

  it('a followed redirect reports nothing; bodiless answers report 0 then 1', async () => {
    const server = await fx.server((req, res) => {
      if (req.url === '/old') {
        res.writeHead(302, { location: '/new', 'content-length': 9 });
        res.end('redirect!');
      } else if (req.method === 'HEAD') {
        res.writeHead(200, { 'content-length': 1234 });
        res.end();
      } else res.end('final');
    });
    const client = fx.client();
    const seen = recorder();
    await client.get(`${server.url}/old`, undefined, { onDownloadProgress: seen.callback });
    // node:http gives a body sent with end() its content-length.
    assertComplete(seen, 5, 5);
    assert.equal(Buffer.concat(seen.chunks).toString(), 'final');
    const head = recorder();
    await client.head(server.url, undefined, { onDownloadProgress: head.callback });
    assert.deepEqual(head.events, [
      { percent: 0, transferredBytes: 0, totalBytes: 0 },
      { percent: 1, transferredBytes: 0, totalBytes: 0 },
    ]);
    const kept = recorder();
    const res = await client.get(`${server.url}/old`, undefined, {
      maxRedirects: 0,
      onDownloadProgress: kept.callback,
    });
    assert.equal(res.status, 302);
    assertComplete(kept, 9, 9);
    // A 302 after a PUT keeps the body, which a stream cannot send again: not followed.
    const oneShot = recorder();
    const put = await client.put(`${server.url}/old`, undefined, Readable.from(['data']), {
      onDownloadProgress: oneShot.callback,
    });
    assert.equal(put.status, 302);
    assertComplete(oneShot, 9, 9);
  });

  it('a retried attempt reports its own response from 0', async () => {
    let n = 0;
    const server = await fx.server((_req, res) => {
      if (++n === 1) {
        res.writeHead(503, { 'content-length': 4 });
        res.end('busy');
      } else res.end('fine');
    });
    const seen = recorder();
    const client = fx.client({ retry: { maxAttempts: 2, initialDelayMs: 1, jitter: 'none' } });
    const res = await client.get(server.url, undefined, { onDownloadProgress: seen.callback });
    assert.equal(res.attempts, 2);
    const starts = seen.events.flatMap((e, i) =>
      e.transferredBytes === 0 && e.percent === 0 ? [i] : [],
    );
    assert.equal(starts.length, 2, 'two transfers');
    assertComplete(
      { ...seen, events: seen.events.slice(0, starts[1]), chunks: seen.chunks.slice(0, starts[1]) },
      4,
      4,
    );
    assertComplete(
      { ...seen, events: seen.events.slice(starts[1]), chunks: seen.chunks.slice(starts[1]) },
      4,
      4,
    );
  });

  it('a call with a progress callback is not hedged', async () => {
    const held: ((body: string) => void)[] = [];
    const server = await fx.server((_req, res) => void held.push((body) => res.end(body)));
    const clock = new ManualClock();
    const client = fx.client({ clock, hedge: { delayMs: 5 } });
    const seen = recorder();
    const pending = client.get(server.url, undefined, { onDownloadProgress: seen.callback });
    await waitFor(() => held.length === 1, 'the request at the server');
    clock.advance(50);
    // A hedge would have been sent by now (the timer fired in advance()).
    await new Promise((r) => setImmediate(r));
    held[0]!('slow');
    await pending;
    assert.equal(client.stats().retry.hedges, 0);
    assert.equal(server.requests, 1);
  });
});

describe('onUploadProgress', () => {
  it('a Buffer body goes out in 64 KiB slices with its content-length', async () => {
    const body = Buffer.alloc(200 * 1024, 'u');
    let received: { length: number; contentLength: string | undefined } | undefined;
    const server = await fx.server(async (req, res) => {
      received = {
        length: (await readBody(req)).length,
        contentLength: req.headers['content-length'],
      };
      res.end('ok');
    });
    const seen = recorder();
    await fx.client().post(server.url, undefined, body, { onUploadProgress: seen.callback });
    assert.deepEqual(received, { length: body.length, contentLength: String(body.length) });
    assertComplete(seen, body.length, body.length);
    assert.deepEqual(
      seen.chunks.slice(1, -1).map((c) => c.length),
      [65536, 65536, 65536, 8192],
    );
  });

  it('string, JSON and stream bodies; no body, no events', async () => {
    const server = await fx.server(async (req, res) => {
      res.end(String((await readBody(req)).length));
    });
    const client = fx.client();
    const text = recorder();
    await client.put(server.url, undefined, 'héllo', { onUploadProgress: text.callback });
    assertComplete(text, 6, 6);
    const json = recorder();
    const res = await client.post(server.url, undefined, undefined, {
      json: { a: 1 },
      onUploadProgress: json.callback,
    });
    assert.equal(res.text(), '7');
    assertComplete(json, 7, 7);
    const streamed = recorder();
    const sent = await client.post(
      server.url,
      undefined,
      Readable.from([Buffer.from('ab'), Buffer.from('cde')]),
      { onUploadProgress: streamed.callback },
    );
    assert.equal(sent.text(), '5');
    assertComplete(streamed, 0, 5);
    const none = recorder();
    await client.get(server.url, undefined, { onUploadProgress: none.callback });
    assert.deepEqual(none.events, []);
  });

  it('a retried upload reports again from 0', async () => {
    let n = 0;
    const server = await fx.server(async (req, res) => {
      await readBody(req);
      res.statusCode = ++n === 1 ? 503 : 200;
      res.end();
    });
    const seen = recorder();
    const client = fx.client({ retry: { maxAttempts: 2, initialDelayMs: 1, jitter: 'none' } });
    const res = await client.put(server.url, undefined, 'payload', {
      onUploadProgress: seen.callback,
    });
    assert.equal(res.attempts, 2);
    assert.deepEqual(
      seen.events.map((e) => e.percent),
      [0, 1 - Number.EPSILON, 1, 0, 1 - Number.EPSILON, 1],
    );
  });
});

describe('a progress callback that fails', () => {
  const boom = new Error('boom');

  for (const at of ['first', 'chunk', 'last'] as const) {
    it(`download, at the ${at} event: InvalidRequestError, no retry, nothing held, no verdict`, async () => {
      const server = await bodyServer(Buffer.alloc(10_000, 'f'));
      const client = fx.client({ retry: { maxAttempts: 3 } });
      const onDownloadProgress: ProgressCallback = (p) => {
        const hit =
          at === 'first'
            ? p.transferredBytes === 0
            : at === 'last'
              ? p.percent === 1
              : p.transferredBytes > 0 && p.percent < 1;
        if (hit) throw boom;
      };
      const err = await rejectsWith(
        client.get(server.url, undefined, { onDownloadProgress }),
        'SENTINEL_INVALID_REQUEST',
      );
      assert.ok(err instanceof InvalidRequestError);
      assert.equal(err.cause, boom);
      assert.match(err.message, /onDownloadProgress threw: boom/);
      assert.equal(err.attempts, 1);
      assert.equal(server.requests, 1);
      const host = client.stats().hosts[`127.0.0.1:${server.port}`]!;
      assert.equal(host.breaker!.consecutiveFailures, 0);
      assert.equal(client.pool.stats().totals.active, 0);
    });
  }

  it('stream(): the read fails with the callback error and the connection goes', async () => {
    const server = await bodyServer(Buffer.alloc(300_000, 'g'));
    const client = fx.client();
    const res = await client.stream({
      method: 'GET',
      url: server.url,
      onDownloadProgress: (p) => {
        if (p.transferredBytes > 0) throw boom;
      },
    });
    const err = await rejectsWith(res.bytes(), 'SENTINEL_INVALID_REQUEST');
    assert.equal(err.cause, boom);
    await waitFor(() => client.pool.stats().totals.active === 0, 'connection released');
  });

  it('upload: the request is cut, the call fails with the callback error, not retried', async () => {
    const server = await fx.server(async (req, res) => {
      await readBody(req).catch(() => {});
      res.end('ok');
    });
    const client = fx.client({ retry: { maxAttempts: 3 } });
    const err = await rejectsWith(
      client.put(server.url, undefined, Buffer.alloc(300_000), {
        onUploadProgress: (p) => {
          if (p.transferredBytes > 0) throw boom;
        },
      }),
      'SENTINEL_INVALID_REQUEST',
    );
    assert.equal(err.cause, boom);
    assert.match(err.message, /onUploadProgress threw: boom/);
    assert.equal(err.attempts, 1);
    const host = client.stats().hosts[`127.0.0.1:${server.port}`]!;
    assert.equal(host.breaker!.consecutiveFailures, 0);
    await waitFor(() => client.pool.stats().totals.active === 0, 'connection released');
  });

  it('a rejected promise fails the call at the next event, and is not left unhandled', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const server = await fx.server(async (_req, res) => {
      res.writeHead(200, { 'content-length': 10 });
      res.write('12345');
      // The rest comes once the rejection has been seen.
      await gate;
      res.end('67890');
    });
    const client = fx.client();
    const err = await rejectsWith(
      client.get(server.url, undefined, {
        onDownloadProgress: async (p) => {
          if (p.transferredBytes === 0) {
            setImmediate(release);
            throw boom;
          }
        },
      }),
      'SENTINEL_INVALID_REQUEST',
    );
    assert.equal(err.cause, boom);
  });

  it('a callback that is not a function is refused before any I/O', async () => {
    const server = await fx.server((_req, res) => res.end());
    const client = fx.client();
    for (const name of ['onDownloadProgress', 'onUploadProgress'] as const) {
      await rejectsWith(
        client.get(server.url, undefined, { [name]: 'nope' } as never),
        'SENTINEL_INVALID_REQUEST',
      );
      assert.throws(
        () => fx.client({ [name]: 42 } as never),
        (e: unknown) => e instanceof InvalidRequestError && e.message.includes(name),
      );
    }
    assert.equal(server.requests, 0);
  });
});
