/**
 * What `http-sentinel` prints: the curl-style head (`-i`), the `-v` trace of client events and
 * timings, error lines, and a backpressure-aware writer for the body.
 */
import { STATUS_CODES } from 'node:http';
import type { Writable } from 'node:stream';
import { type ClientEvent, isSentinelError, type SentinelError } from '../index.js';
import { PROGRAM } from './args.js';

/** `HTTP/1.1 200 OK`, with the reason phrase Node knows when the server sent none. */
export function statusLine(status: number, statusText: string): string {
  const reason = statusText !== '' ? statusText : (STATUS_CODES[status] ?? '');
  return reason === '' ? `HTTP/1.1 ${status}` : `HTTP/1.1 ${status} ${reason}`;
}

/**
 * The lines of a response head: the status line, then `name: value`. Names come
 * lower-cased and sorted (a WHATWG `Headers` keeps neither the server's case nor its
 * order); each `set-cookie` keeps its own line.
 */
export function headLines(status: number, statusText: string, headers: Headers): string[] {
  const lines = [statusLine(status, statusText)];
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  return lines;
}

/** The head as curl's `-i` prints it: each line and a final empty line end in CRLF. */
export function formatHead(status: number, statusText: string, headers: Headers): string {
  return `${headLines(status, statusText, headers).join('\r\n')}\r\n\r\n`;
}

/** Milliseconds for humans: one decimal below 10 ms, whole numbers above. */
export function ms(value: number): string {
  return value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`;
}

/**
 * An error's message, without the request it names: the command line names it, as with
 * curl. A timeout is told from its fields: the library may report its deadline as a
 * difference of clock readings (199.99999999999997 ms) where 200 was set.
 */
function messageOf(err: { message?: unknown }): string {
  if (isSentinelError(err)) {
    if (err.code === 'SENTINEL_TIMEOUT') {
      return `${err.phase} timeout after ${Math.round(err.timeoutMs)} ms`;
    }
    return err.detail;
  }
  return typeof err.message === 'string' ? err.message : String(err);
}

function describeError(error: SentinelError): string {
  return `${error.code} (${messageOf(error)})`;
}

/** One `-v` line (without the newline) for a client event. */
export function formatEvent(event: ClientEvent): string {
  switch (event.type) {
    case 'attempt': {
      const outcome =
        event.error !== undefined ? describeError(event.error) : String(event.status ?? '?');
      return `* attempt ${event.attempt}: ${event.method} ${event.url} -> ${outcome} in ${ms(event.durationMs)}`;
    }
    case 'retry': {
      const why = event.error !== undefined ? event.error.code : `status ${event.status ?? '?'}`;
      const asked =
        event.retryAfterMs === undefined ? '' : `, server asked for ${ms(event.retryAfterMs)}`;
      return `* retry after attempt ${event.attempt} (${why}) in ${ms(event.delayMs)}${asked}`;
    }
    case 'retry-refused':
      return `* no retry after attempt ${event.attempt}: refused by the ${
        event.by === 'budget' ? 'retry budget' : "host's retry throttle"
      }`;
    case 'breaker':
      return `* circuit breaker for ${event.host}: ${event.from} -> ${event.to}`;
  }
}

/** `http-sentinel: <code>: <message>` for anything thrown, with the attempts when known. */
export function formatError(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const e = err as { code?: unknown; name?: unknown; message?: unknown; attempts?: unknown };
    const code =
      typeof e.code === 'string' ? e.code : typeof e.name === 'string' ? e.name : 'Error';
    const message = messageOf(e);
    const attempts =
      typeof e.attempts === 'number' && e.attempts > 1 ? ` (after ${e.attempts} attempts)` : '';
    return `${PROGRAM}: ${code}: ${message}${attempts}`;
  }
  return `${PROGRAM}: Error: ${String(err)}`;
}

/**
 * Writes to a stream that may fail (a closed pipe, a full disk) and respects its
 * backpressure: `write` waits for `drain` when the stream's buffer is full.
 */
export class Sink {
  readonly stream: Writable;
  #error: Error | undefined;
  #lastWrite: Promise<void> = Promise.resolve();
  readonly #onError = (err: Error): void => {
    this.#error ??= err;
  };

  constructor(stream: Writable) {
    this.stream = stream;
    // Kept for the stream's lifetime: an EPIPE can arrive after the last write returned.
    stream.on('error', this.#onError);
  }

  async write(chunk: Uint8Array | string): Promise<void> {
    if (this.#error !== undefined) throw this.#error;
    if (this.stream.destroyed) throw new Error('the output was closed');
    let written!: () => void;
    this.#lastWrite = new Promise<void>((resolve) => {
      written = resolve;
    });
    // The callback runs once the chunk is handed on (or failed): flush() waits for it.
    if (this.stream.write(chunk, () => written())) return;
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        this.stream.off('drain', onDrain);
        this.stream.off('error', onFail);
        this.stream.off('close', onClose);
        if (err === undefined) resolve();
        else reject(err);
      };
      const onDrain = (): void => done();
      const onFail = (err: Error): void => done(err);
      const onClose = (): void => done(this.#error ?? new Error('the output was closed'));
      this.stream.on('drain', onDrain);
      this.stream.on('error', onFail);
      this.stream.on('close', onClose);
    });
  }

  /** Waits until everything written so far has been handed on. @throws the stream's error */
  async flush(): Promise<void> {
    await this.#lastWrite;
    if (this.#error !== undefined) throw this.#error;
  }
}
