/**
 * Helpers for the pool tests: misbehaving raw HTTP servers, waiting for server-side
 * effects that arrive asynchronously, and typed error assertions.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { isSentinelError, type SentinelError } from '../../src/core/errors.js';
import { startRawServer, type TestServer } from './server.js';

/**
 * Polls `predicate` every millisecond until it holds. A safety net for effects that
 * cross the event loop (a FIN reaching the server), not a timing assertion: the
 * deadline only turns a hang into a readable failure.
 */
export async function waitFor(
  predicate: () => boolean,
  what: string,
  deadlineMs = 3000,
): Promise<void> {
  const end = performance.now() + deadlineMs;
  while (!predicate()) {
    if (performance.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Resolves after `ms` real milliseconds. Used only where real time must pass. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise's state without waiting for it: 'pending' until it has settled. */
export function settledState<T>(promise: Promise<T>): { readonly state: string } {
  const box = { state: 'pending' };
  promise.then(
    () => {
      box.state = 'fulfilled';
    },
    () => {
      box.state = 'rejected';
    },
  );
  return box;
}

/** Lets pending I/O callbacks and microtasks run (one macrotask turn). */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Awaits `promise`, which must reject with a SentinelError of `name`/`code`; returns it. */
export async function rejectsWith<E extends SentinelError = SentinelError>(
  promise: Promise<unknown>,
  name: string,
  code: string,
): Promise<E> {
  let error: unknown;
  try {
    await promise;
  } catch (err) {
    error = err;
  }
  assert.ok(error !== undefined, `expected ${name}, but the promise fulfilled`);
  assert.ok(isSentinelError(error), `expected a SentinelError, got ${String(error)}`);
  assert.equal((error as SentinelError).name, name, String((error as Error).message));
  assert.equal((error as SentinelError).code, code);
  return error as E;
}

/** A raw server that reads each request head and answers with `respond(socket, head)`. */
export function startScriptedServer(
  respond: (socket: Socket, head: string, index: number) => void,
): Promise<TestServer> {
  let index = 0;
  return startRawServer((socket) => {
    let buffered = '';
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        respond(socket, head, index++);
      }
    });
  });
}

/** A server that streams an endless (or huge) body lazily, counting what it wrote. */
export interface FloodServer extends TestServer {
  /** Body bytes written to sockets so far. */
  readonly bytesWritten: number;
}

/**
 * Answers every request with a body of `announced` bytes (or chunked, without a
 * length, when `announced` is undefined), written 64 KiB at a time only as the socket
 * drains, and stops when the socket closes. Nothing near the full size is ever held.
 */
export async function startFloodServer(announced: number | undefined): Promise<FloodServer> {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let written = 0;
  const server = await startScriptedServer((socket) => {
    const chunked = announced === undefined;
    socket.write(
      `HTTP/1.1 200 OK\r\n${
        chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${announced}`
      }\r\n\r\n`,
    );
    let left = announced ?? Number.POSITIVE_INFINITY;
    const pump = (): void => {
      while (left > 0 && !socket.destroyed) {
        const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= piece.length;
        written += piece.length;
        const ok = chunked
          ? socket.write(`${piece.length.toString(16)}\r\n`) &&
            socket.write(piece) &&
            socket.write('\r\n')
          : socket.write(piece);
        if (!ok) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
  // A getter, not Object.assign (which would copy the figure once).
  return Object.defineProperty(server, 'bytesWritten', { get: () => written }) as FloodServer;
}
