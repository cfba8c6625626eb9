/**
 * Responses a hostile or broken server sends: bodies cut off by FIN or RST, truncated
 * compressed bodies, bodiless responses with a Content-Length, oversized headers, empty
 * encoded bodies, and the interim responses only undici could accept.
 */
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { after, afterEach, describe, it } from 'node:test';
import zlib from 'node:zlib';
import type { ClientEvent } from '../../src/client/index.js';
import type { ConnectionError } from '../../src/core/errors.js';
import { ConnectionPool } from '../../src/pool/index.js';
import { Fixtures, rejectsWith } from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

const FULL = 'x'.repeat(100);
const WHOLE = `HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n${FULL}`;

/** Client sockets made while the test runs, to see what the client has read. */
const clientSockets: Socket[] = [];
const onClientSocket = (message: unknown): void => {
  clientSockets.push((message as { socket: Socket }).socket);
};
dc.subscribe('net.client.socket', onClientSocket);
after(() => dc.unsubscribe('net.client.socket', onClientSocket));
afterEach(() => {
  clientSockets.length = 0;
});

/**
 * Resets `server` (the server's end of a connection) once the client has read `bytes`
 * from it. An RST that reaches a socket with unread bytes is read by Linux as a clean
 * end of stream, which would test a FIN instead.
 */
function resetOnceRead(server: Socket, bytes: number): void {
  const poll = (): void => {
    if (server.destroyed) return;
    const client = clientSockets.find((s) => s.localPort === server.remotePort);
    if (client !== undefined && client.bytesRead >= bytes) server.resetAndDestroy();
    else setImmediate(poll);
  };
  poll();
}

/** Answers the first request on the first socket with `first`, every later one whole. */
async function cutThenWhole(first: (socket: Socket) => void) {
  return fx.rawServer((socket, index) => {
    socket.once('data', () => {
      if (index === 0) first(socket);
      else socket.end(WHOLE);
    });
  });
}

/** The errors of the client's failed attempts. */
function attemptErrors(client: { onEvent(l: (e: ClientEvent) => void): () => void }) {
  const errors: ConnectionError[] = [];
  client.onEvent((e) => {
    if (e.type === 'attempt' && e.error !== undefined) errors.push(e.error as ConnectionError);
  });
  return errors;
}

describe('a body cut off is a retryable ConnectionError, however it was cut', () => {
  it('FIN after 10 of 100 bytes: retried, the second answer is returned whole', async () => {
    const server = await cutThenWhole((socket) =>
      socket.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789'),
    );
    const client = fx.client({ retry: { maxAttempts: 3, initialDelayMs: 1 } });
    const errors = attemptErrors(client);
    const res = await client.get(server.url);
    assert.equal(res.status, 200);
    assert.equal(res.text(), FULL);
    assert.equal(res.attempts, 2);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.code, 'SENTINEL_CONNECTION');
    assert.equal(errors[0]!.beforeResponse, false);
  });

  it('RST after 10 of 100 bytes: retried the same way', async () => {
    const head = 'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789';
    const server = await cutThenWhole((socket) => {
      socket.write(head);
      resetOnceRead(socket, head.length);
    });
    const client = fx.client({ retry: { maxAttempts: 3, initialDelayMs: 1 } });
    const errors = attemptErrors(client);
    const res = await client.get(server.url);
    assert.equal(res.text(), FULL);
    assert.equal(res.attempts, 2);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.code, 'SENTINEL_CONNECTION');
    assert.equal(errors[0]!.errno, 'ECONNRESET');
    assert.equal(errors[0]!.beforeResponse, false);
  });

  it('FIN in the middle of a chunked body on a closing connection: retried', async () => {
    const server = await cutThenWhole((socket) =>
      socket.end(
        'HTTP/1.1 200 OK\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\na\r\n0123456789\r\n',
      ),
    );
    const client = fx.client({ retry: { maxAttempts: 3, initialDelayMs: 1 } });
    const res = await client.get(server.url);
    assert.equal(res.text(), FULL);
    assert.equal(res.attempts, 2);
  });

  it('RST in the middle of a close-delimited body (HTTP/1.0 style) is not a success', async () => {
    const head = 'HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\n0123456789';
    const server = await cutThenWhole((socket) => {
      socket.write(head);
      resetOnceRead(socket, head.length);
    });
    const once = fx.client({ retry: false });
    const err = await rejectsWith<ConnectionError>(once.get(server.url), 'SENTINEL_CONNECTION');
    assert.equal(err.errno, 'ECONNRESET');
    assert.equal(err.beforeResponse, false);
    assert.equal(err.attempts, 1);
  });

  it('RST in the middle of a close-delimited body: a GET is retried', async () => {
    const head = 'HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n0123456789';
    const server = await cutThenWhole((socket) => {
      socket.write(head);
      resetOnceRead(socket, head.length);
    });
    const client = fx.client({ retry: { maxAttempts: 3, initialDelayMs: 1 } });
    const res = await client.get(server.url);
    assert.equal(res.text(), FULL);
    assert.equal(res.attempts, 2);
  });

  it('RST in the middle of a close-delimited body: the stream reader gets ConnectionError', async () => {
    const head = 'HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n0123456789';
    const server = await fx.rawServer((socket) => {
      socket.once('data', () => {
        socket.write(head);
        resetOnceRead(socket, head.length);
      });
    });
    const client = fx.client({ retry: false });
    const res = await client.stream({ method: 'GET', url: server.url });
    await rejectsWith(res.bytes(), 'SENTINEL_CONNECTION');
  });

  it('a FIN that ends a close-delimited body is its end (HTTP/1.0)', async () => {
    const server = await fx.rawServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.0 200 OK\r\n\r\n0123456789'));
    });
    const client = fx.client({ retry: false });
    const res = await client.get(server.url);
    assert.equal(res.text(), '0123456789');
  });

  it('conn.request: a body cut by RST on a closing connection rejects', async () => {
    const head = 'HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n0123456789';
    const server = await fx.rawServer((socket) => {
      socket.once('data', () => {
        socket.write(head);
        resetOnceRead(socket, head.length);
      });
    });
    const pool = new ConnectionPool();
    try {
      const conn = await pool.acquire(server.url);
      try {
        await rejectsWith(conn.request('GET', '/'), 'SENTINEL_CONNECTION');
      } finally {
        pool.release(conn);
      }
    } finally {
      await pool.close();
    }
  });
});

describe('a truncated compressed body is never a success', () => {
  const whole = zlib.gzipSync(Buffer.from('hello '.repeat(1000)));
  const cases: Record<string, Buffer> = {
    gzip: whole.subarray(0, whole.length - 8),
    deflate: zlib.deflateSync(Buffer.from('hello '.repeat(1000))).subarray(0, 20),
    br: zlib.brotliCompressSync(Buffer.from('hello '.repeat(1000))).subarray(0, 10),
  };
  for (const [coding, body] of Object.entries(cases)) {
    it(`${coding}, well framed but cut: ProtocolError buffered and streamed`, async () => {
      const server = await fx.server((_req, res) => {
        res.writeHead(200, { 'content-encoding': coding, 'content-length': body.length });
        res.end(body);
      });
      const client = fx.client({ retry: false });
      const err = await rejectsWith(client.get(server.url), 'SENTINEL_PROTOCOL');
      assert.match(err.message, /truncated/);
      const res = await client.stream({ method: 'GET', url: server.url });
      await rejectsWith(res.bytes(), 'SENTINEL_PROTOCOL');
    });
  }

  it('gzip cut by RST on a close-delimited body: ConnectionError', async () => {
    const head = Buffer.concat([
      Buffer.from('HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-encoding: gzip\r\n\r\n'),
      whole.subarray(0, 30),
    ]);
    const server = await fx.rawServer((socket) => {
      socket.once('data', () => {
        socket.write(head);
        resetOnceRead(socket, head.length);
      });
    });
    const client = fx.client({ retry: false });
    await rejectsWith(client.get(server.url), 'SENTINEL_CONNECTION');
  });
});

describe('responses without a body ignore their Content-Length', () => {
  it('head() of a 5 GiB resource', async () => {
    const server = await fx.rawServer((socket) => {
      socket.on('data', () =>
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 5368709120\r\n\r\n'),
      );
    });
    const client = fx.client({ retry: false });
    const res = await client.head(server.url);
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 0);
    assert.equal(res.headers.get('content-length'), '5368709120');
    // And the connection is still good for the next request.
    assert.equal((await client.head(server.url)).status, 200);
    assert.equal(server.connections, 1);
  });

  for (const status of [204, 304]) {
    it(`${status} with a Content-Length and no body`, async () => {
      const server = await fx.rawServer((socket) => {
        socket.on('data', () =>
          socket.write(`HTTP/1.1 ${status} X\r\netag: "v1"\r\ncontent-length: 5368709120\r\n\r\n`),
        );
      });
      const client = fx.client({ retry: false });
      for (let i = 0; i < 2; i++) {
        const res = await client.get(server.url);
        assert.equal(res.status, status);
        assert.equal(res.body.length, 0);
        assert.equal(res.headers.get('etag'), '"v1"');
      }
      const res = await client.stream({ method: 'GET', url: server.url });
      assert.equal(res.status, status);
      assert.equal((await res.bytes()).length, 0);
    });
  }

  it('conn.request: a 304 with a Content-Length', async () => {
    const server = await fx.rawServer((socket) => {
      socket.on('data', () =>
        socket.write('HTTP/1.1 304 Not Modified\r\ncontent-length: 100\r\n\r\n'),
      );
    });
    const pool = new ConnectionPool();
    try {
      const conn = await pool.acquire(server.url);
      try {
        const res = await conn.request('GET', '/');
        assert.equal(res.status, 304);
        assert.equal(res.body.length, 0);
      } finally {
        pool.release(conn);
      }
    } finally {
      await pool.close();
    }
  });
});

describe('oversized response headers are a ProtocolError, not retried', () => {
  const heads: Record<string, string> = {
    '10,000 headers': Array.from({ length: 10_000 }, (_, i) => `x-h${i}: v\r\n`).join(''),
    '1 MiB of one header': `x-big: ${'a'.repeat(1024 * 1024)}\r\n`,
  };
  for (const [what, head] of Object.entries(heads)) {
    it(what, async () => {
      let requests = 0;
      const server = await fx.rawServer((socket) => {
        socket.on('data', () => {
          requests++;
          socket.write(`HTTP/1.1 200 OK\r\n${head}content-length: 0\r\n\r\n`);
        });
      });
      const client = fx.client({ retry: { maxAttempts: 3, initialDelayMs: 1 } });
      const err = await rejectsWith(client.get(server.url), 'SENTINEL_PROTOCOL');
      assert.equal(err.attempts, 1);
      assert.equal(requests, 1);
    });
  }
});

describe('an empty body with a content-encoding is an empty 200', () => {
  for (const coding of ['br', 'gzip', 'deflate']) {
    it(`${coding}, buffered and streamed`, async () => {
      const server = await fx.server((_req, res) => {
        res.writeHead(200, { 'content-encoding': coding, 'content-length': '0' });
        res.end();
      });
      const client = fx.client({ retry: false });
      const res = await client.get(server.url);
      assert.equal(res.status, 200);
      assert.equal(res.body.length, 0);
      const streamed = await client.stream({ method: 'GET', url: server.url });
      assert.equal(streamed.status, 200);
      assert.equal((await streamed.bytes()).length, 0);
    });
  }
});

describe('known limitations of undici 7, pinned', () => {
  it('a 100 Continue before the final response is refused by undici', async () => {
    const server = await fx.rawServer((socket) => {
      socket.once('data', () =>
        socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi'),
      );
    });
    const client = fx.client({ retry: false });
    const err = await rejectsWith(client.get(server.url), 'SENTINEL_CONNECTION');
    assert.equal((err.cause as { code?: string }).code, 'UND_ERR_SOCKET');
  });

  it('other interim responses (103 Early Hints) are passed over', async () => {
    const server = await fx.rawServer((socket) => {
      socket.once('data', () =>
        socket.write(
          'HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi',
        ),
      );
    });
    const client = fx.client({ retry: false });
    const res = await client.get(server.url);
    assert.equal(res.status, 200);
    assert.equal(res.text(), 'hi');
  });
});
