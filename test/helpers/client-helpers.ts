/**
 * Helpers for HttpClient tests: a registry that closes every client and server a test
 * made, an echo handler that reports what the server received, and polling waits so
 * tests assert on state changes without sleeping.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import type { Socket } from 'node:net';
import { format } from 'node:util';
import { HttpClient } from '../../src/client/index.js';
import type { ClientOptions } from '../../src/client/options.js';
import { isSentinelError, type SentinelError } from '../../src/core/errors.js';
import {
  type TestServer as RoutedServer,
  startTestServer,
  type TestServerOptions,
} from '../../src/testing/index.js';
import { startRawServer, startServer, startTlsServer, type TestServer } from './server.js';

/** What {@link echo} answers with: the request as the server saw it. */
export interface Echoed {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  /** The body, base64. */
  body: string;
}

/** The whole request body. */
export function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** A handler that answers 200 with the request as JSON ({@link Echoed}). */
export const echo: http.RequestListener = (req, res) => {
  readBody(req).then((body) => {
    const payload: Echoed = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: body.toString('base64'),
    };
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(payload));
  }, res.destroy.bind(res));
};

/** Decodes an {@link echo} response body. */
export function echoed(res: { json<T>(): T }): Echoed & { text: string; bytes: Buffer } {
  const e = res.json<Echoed>();
  const bytes = Buffer.from(e.body, 'base64');
  return { ...e, bytes, text: bytes.toString('utf8') };
}

/** Polls `check` every few ms until it is true; fails after `timeoutMs`. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > until) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Asserts `promise` rejects with a SentinelError of `code`, and returns it. */
export async function rejectsWith<E extends SentinelError = SentinelError>(
  promise: Promise<unknown>,
  code: SentinelError['code'],
): Promise<E> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isSentinelError(err), `expected a SentinelError, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    return err as E;
  }
  assert.fail(`expected rejection with ${code}, but it resolved`);
}

/** Counts of `process.getActiveResourcesInfo()` by type. */
export function resources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const name of process.getActiveResourcesInfo()) {
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

/**
 * Waits until no resource type has more instances than in `before` (sockets, timers
 * and handles the code under test made are all gone).
 */
export async function waitForResources(before: Map<string, number>): Promise<void> {
  const leftover = (): string[] => {
    const out: string[] = [];
    for (const [name, n] of resources()) {
      if (n > (before.get(name) ?? 0)) out.push(`${name} x${n - (before.get(name) ?? 0)}`);
    }
    return out;
  };
  try {
    await waitFor(() => leftover().length === 0, 'resources to be released');
  } catch {
    assert.fail(`resources left: ${leftover().join(', ')}`);
  }
}

/** A raw TCP server plus the sockets it accepted, for scripted misbehaviour. */
export type RawHandler = (socket: Socket, index: number) => void;

/**
 * Everything a test opens, closed by {@link Fixtures.cleanup} (call it in `afterEach`):
 * clients first, so their sockets close before the servers do.
 */
export class Fixtures {
  readonly #clients: HttpClient[] = [];
  readonly #servers: { close(): Promise<void> }[] = [];
  readonly #unhandled: unknown[] = [];

  /** Also watches for unhandled rejections; {@link cleanup} fails if any happened. */
  constructor() {
    process.on('unhandledRejection', (reason) => {
      this.#unhandled.push(reason);
    });
  }

  client(options?: ClientOptions): HttpClient {
    const client = new HttpClient(options);
    this.#clients.push(client);
    return client;
  }

  async server(handler: http.RequestListener, options?: http.ServerOptions): Promise<TestServer> {
    const server = await startServer(handler, options);
    this.#servers.push(server);
    return server;
  }

  /** A `http-sentinel/testing` server: routes, sequences, faults and a request log. */
  async testServer(options?: TestServerOptions): Promise<RoutedServer> {
    const server = await startTestServer(options);
    this.#servers.push(server);
    return server;
  }

  async tlsServer(handler: http.RequestListener): Promise<TestServer & { cert: string }> {
    const server = await startTlsServer(handler);
    this.#servers.push(server);
    return server;
  }

  async rawServer(onSocket: RawHandler): Promise<TestServer> {
    let index = 0;
    const server = await startRawServer((socket) => {
      socket.on('error', () => {});
      onSocket(socket, index++);
    });
    this.#servers.push(server);
    return server;
  }

  async cleanup(): Promise<void> {
    const clients = this.#clients.splice(0);
    const servers = this.#servers.splice(0);
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(servers.map((s) => s.close()));
    // A rejection nobody handled would surface on a later turn: give it one.
    await new Promise((r) => setImmediate(r));
    const unhandled = this.#unhandled.splice(0);
    assert.deepEqual(unhandled, [], 'unhandled promise rejections');
  }
}

/**
 * Reads HTTP/1.1 requests off a raw socket as they complete (header block plus a
 * Content-Length body), calling `onRequest` with each one's index on that socket.
 */
export function onRawRequests(
  socket: Socket,
  onRequest: (head: string, index: number) => void,
): void {
  let buffered = Buffer.alloc(0);
  let count = 0;
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    for (;;) {
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = buffered.subarray(0, end).toString('latin1');
      const match = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      const length = match === null ? 0 : Number(match[1]);
      if (buffered.length < end + 4 + length) return;
      buffered = buffered.subarray(end + 4 + length);
      onRequest(head, count++);
    }
  });
}

/** Fails the test that calls it if any promise rejection goes unhandled meanwhile. */
export function trackUnhandledRejections(): { check(): void; dispose(): void } {
  const seen: unknown[] = [];
  const listener = (reason: unknown): void => {
    seen.push(reason);
  };
  process.on('unhandledRejection', listener);
  return {
    check() {
      assert.deepEqual(seen, [], 'unhandled rejections');
    },
    dispose() {
      process.off('unhandledRejection', listener);
    },
  };
}

/** Runs `fn` with console.log and console.error captured; returns what it printed. */
export async function captureConsole(fn: () => Promise<unknown>): Promise<string> {
  const lines: string[] = [];
  const { log, error } = console;
  console.log = (...args: unknown[]) => lines.push(format(...args));
  console.error = (...args: unknown[]) => lines.push(format(...args));
  try {
    await fn();
  } finally {
    console.log = log;
    console.error = error;
  }
  return lines.join('\n');
}
