import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, it } from 'node:test';
import type { ServerSentEvent } from '../../src/client/index.js';
import type { TimeoutError } from '../../src/core/errors.js';
import { Fixtures, rejectsWith, waitFor } from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

/** Writes `total` bytes in 16 KiB chunks, respecting backpressure; reports bytes written. */
function writeLarge(res: ServerResponse, total: number, progress: { written: number }): void {
  const chunk = Buffer.alloc(16 * 1024, 'z');
  const pump = (): void => {
    while (progress.written < total) {
      progress.written += chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

describe('stream()', () => {
  it('yields the body as chunks of Uint8Array', async () => {
    const server = await fx.server((_req, res) => {
      res.write('first,');
      setTimeout(() => res.end('second'), 5);
    });
    const client = fx.client();
    const res = await client.stream({ method: 'GET', url: server.url });
    assert.equal(res.status, 200);
    const parts: string[] = [];
    for await (const chunk of res.body) {
      assert.ok(chunk instanceof Uint8Array);
      parts.push(Buffer.from(chunk).toString());
    }
    assert.equal(parts.join(''), 'first,second');
    assert.ok(parts.length >= 2, 'arrived as it was sent');
    await waitFor(() => client.pool.stats().totals.idle === 1, 'connection back in the pool');
    assert.equal(client.pool.stats().totals.active, 0);
  });

  it('applies backpressure: a slow reader keeps the server from racing ahead', async () => {
    const total = 32 * 1024 * 1024;
    const progress = { written: 0 };
    const server = await fx.server((_req, res) => writeLarge(res, total, progress));
    const client = fx.client({ maxBodySize: total });
    const res = await client.stream({ method: 'GET', url: server.url });
    let read = 0;
    let maxAhead = 0;
    for await (const chunk of res.body) {
      read += chunk.length;
      maxAhead = Math.max(maxAhead, progress.written - read);
      // A slow consumer: give the server every chance to run ahead.
      if (read % (1024 * 1024) < chunk.length) await new Promise((r) => setTimeout(r, 1));
    }
    assert.equal(read, total);
    // Socket buffers hold a few MiB at most; without backpressure the server would
    // have written everything long before the reader got here.
    assert.ok(maxAhead < 16 * 1024 * 1024, `server ran ${maxAhead} bytes ahead`);
  });

  it('the client-wide maxBodySize caps buffered bodies, not streamed ones', async () => {
    const total = 4 * 1024 * 1024;
    const server = await fx.server((_req, res) => writeLarge(res, total, { written: 0 }));
    const client = fx.client({ maxBodySize: 1024 * 1024 });
    const res = await client.stream({ method: 'GET', url: server.url });
    let read = 0;
    for await (const chunk of res.body) read += chunk.length;
    assert.equal(read, total, 'a stream is not held in memory: the default cap does not apply');
    await rejectsWith(client.get(server.url), 'SENTINEL_BODY_TOO_LARGE');
    const capped = await client.stream({ method: 'GET', url: server.url, maxBodySize: 64 * 1024 });
    await rejectsWith(capped.bytes(), 'SENTINEL_BODY_TOO_LARGE');
  });

  it('breaking out of the loop early discards the connection', async () => {
    const progress = { written: 0 };
    const server = await fx.server((_req, res) => writeLarge(res, 64 * 1024 * 1024, progress));
    const client = fx.client({ maxBodySize: 128 * 1024 * 1024 });
    const res = await client.stream({ method: 'GET', url: server.url });
    for await (const _chunk of res.body) break;
    await waitFor(() => server.openSockets === 0, 'the server to see the socket closed');
    const totals = client.pool.stats().totals;
    assert.equal(totals.active, 0);
    assert.equal(totals.idle, 0);
    assert.equal(totals.connections, 0);
  });

  it('await using disposes an unread stream', async () => {
    const server = await fx.server((_req, res) => res.write('never ends'));
    const client = fx.client();
    {
      await using res = await client.stream({ method: 'GET', url: server.url });
      assert.equal(res.status, 200);
    }
    await waitFor(() => server.openSockets === 0, 'the socket to close');
    assert.equal(client.pool.stats().totals.active, 0);
  });

  it('cancel() stops the transfer and a later read fails', async () => {
    const server = await fx.server((_req, res) => res.write('partial'));
    const client = fx.client();
    const res = await client.stream({ method: 'GET', url: server.url });
    res.cancel();
    res.cancel();
    await assert.rejects(res.text());
    await waitFor(() => server.openSockets === 0, 'the socket to close');
  });

  it('a body can be read once only', async () => {
    const server = await fx.server((_req, res) => res.end('once'));
    const client = fx.client();
    const res = await client.stream({ method: 'GET', url: server.url });
    assert.equal(await res.text(), 'once');
    await rejectsWith(res.text(), 'SENTINEL_INVALID_REQUEST');
  });

  it('a body idle past attemptTimeout fails with phase body', async () => {
    const server = await fx.server((_req, res) => {
      res.write('started');
      // …and never another byte.
    });
    const client = fx.client({ retry: false });
    const res = await client.stream({ method: 'GET', url: server.url, attemptTimeout: 50 });
    const err = await rejectsWith<TimeoutError>(res.text(), 'SENTINEL_TIMEOUT');
    assert.equal(err.phase, 'body');
    await waitFor(() => server.openSockets === 0, 'the socket to close');
  });

  it('a slow but steady body is not cut by the idle deadline', async () => {
    const server = await fx.server((_req, res) => {
      let n = 0;
      const timer = setInterval(() => {
        res.write(`${n}`);
        if (++n === 6) {
          clearInterval(timer);
          res.end();
        }
      }, 15);
    });
    const client = fx.client({ retry: false });
    const res = await client.stream({ method: 'GET', url: server.url, attemptTimeout: 60 });
    assert.equal(await res.text(), '012345');
  });

  it('a truncated body is a ConnectionError for the reader', async () => {
    const server = await fx.server((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('only part');
      setTimeout(() => res.destroy(), 5);
    });
    const client = fx.client({ retry: false });
    const res = await client.stream({ method: 'GET', url: server.url });
    await rejectsWith(res.bytes(), 'SENTINEL_CONNECTION');
  });
});

describe('events() (Server-Sent Events)', () => {
  it('parses event, data, id, multi-line data and comments, across chunk boundaries', async () => {
    const wire = [
      ': a comment\n',
      'retry: 1000\n',
      'data: plain\n\n',
      'event: update\nid: 7\ndata: {"a":1}\n\n',
      'data: line one\ndata: line two\n\n',
      'event: sp',
      'lit\r\nda',
      'ta: crlf and split\r\n\r\n',
      'data: ✓ unicode\n\n',
      'data: incomplete, no blank line',
    ];
    const server = await fx.server(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const piece of wire) {
        res.write(piece);
        await new Promise((r) => setTimeout(r, 1));
      }
      res.end();
    });
    const client = fx.client();
    const res = await client.stream({ method: 'GET', url: server.url });
    const events: ServerSentEvent[] = [];
    for await (const event of res.events()) events.push(event);
    assert.deepEqual(events, [
      { event: 'message', data: 'plain', id: undefined },
      { event: 'update', data: '{"a":1}', id: '7' },
      { event: 'message', data: 'line one\nline two', id: undefined },
      { event: 'split', data: 'crlf and split', id: undefined },
      { event: 'message', data: '✓ unicode', id: undefined },
    ]);
  });

  it('a multi-byte character split across chunks is decoded intact', async () => {
    const bytes = Buffer.from('data: é✓\n\n');
    const server = await fx.server(async (_req, res) => {
      res.write(bytes.subarray(0, 7));
      await new Promise((r) => setTimeout(r, 5));
      res.end(bytes.subarray(7));
    });
    const client = fx.client();
    const res = await client.stream({ method: 'GET', url: server.url });
    const events: ServerSentEvent[] = [];
    for await (const event of res.events()) events.push(event);
    assert.deepEqual(
      events.map((e) => e.data),
      ['é✓'],
    );
  });

  it('leaving the event loop early releases the connection', async () => {
    const server = await fx.server((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let n = 0;
      const timer = setInterval(() => res.write(`data: ${n++}\n\n`), 2);
      res.on('close', () => clearInterval(timer));
    });
    const client = fx.client();
    const res = await client.stream({ method: 'GET', url: server.url });
    const seen: string[] = [];
    for await (const event of res.events()) {
      seen.push(event.data);
      if (seen.length === 3) break;
    }
    assert.deepEqual(seen, ['0', '1', '2']);
    await waitFor(() => server.openSockets === 0, 'the server to see the socket closed');
    assert.equal(client.pool.stats().totals.active, 0);
  });

  it('events() of a gzip-encoded stream', async () => {
    const { gzipSync } = await import('node:zlib');
    const server = await fx.server((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
      res.end(gzipSync('event: z\ndata: zipped\n\n'));
    });
    const client = fx.client();
    const res = await client.stream({ method: 'GET', url: server.url });
    const events: ServerSentEvent[] = [];
    for await (const event of res.events()) events.push(event);
    assert.deepEqual(events, [{ event: 'z', data: 'zipped', id: undefined }]);
  });
});
