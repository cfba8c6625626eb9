/**
 * Responses: {@link HttpResponse} (body fully read into one Buffer) and
 * {@link StreamingResponse} (body as an async iterable, with SSE parsing). Headers are
 * parsed from undici's raw list only when first read.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { InvalidRequestError } from '../core/errors.js';
import { headersFromRaw } from '../core/headers.js';
import { parseJsonBody } from '../core/json.js';

/** Milliseconds spent in each phase of the call. */
export interface Timings {
  /** Waiting for a connection from the pool (last attempt). */
  queued: number;
  /** Opening the connection (0 when one was reused). */
  connect: number;
  /** From sending the request to the response headers (last attempt). */
  ttfb: number;
  /** The whole call, retries, delays and redirects included (for streams: until headers). */
  total: number;
}

/** @internal What the client knows when it builds a response. */
export interface ResponseInit {
  status: number;
  statusText: string;
  rawHeaders: Buffer[];
  url: string;
  redirected: boolean;
  attempts: number;
  timings: Timings;
}

abstract class ResponseBase {
  /** The status code. */
  readonly status: number;
  /** The reason phrase, as sent by the server. */
  readonly statusText: string;
  /**
   * The final URL, after redirects. For a request through an upstream it keeps the
   * upstream's name as its host (`http://api/users`), not the backend that answered:
   * it is the URL the caller asked for, and relative redirects resolve against it, so
   * they go through the upstream too.
   */
  readonly url: string;
  /** Whether at least one redirect was followed. */
  readonly redirected: boolean;
  /** Attempts made for this call; 1 means no retry. */
  readonly attempts: number;
  readonly timings: Timings;
  #raw: Buffer[];
  #headers: Headers | undefined;

  constructor(init: ResponseInit) {
    this.status = init.status;
    this.statusText = init.statusText;
    this.url = init.url;
    this.redirected = init.redirected;
    this.attempts = init.attempts;
    this.timings = init.timings;
    this.#raw = init.rawHeaders;
  }

  /** True for a 2xx status. */
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /** The response headers (a WHATWG `Headers`, built on first access). */
  get headers(): Headers {
    this.#headers ??= headersFromRaw(this.#raw);
    return this.#headers;
  }
}

/**
 * A fully read response.
 *
 * @example
 * ```ts
 * const res = await client.get('http://127.0.0.1:8080/data');
 * if (res.ok) console.log(res.json<{ items: string[] }>().items);
 * ```
 */
export class HttpResponse extends ResponseBase {
  /** The body, decompressed, bounded by `maxBodySize`. */
  readonly body: Buffer;

  /** @internal */
  constructor(init: ResponseInit, body: Buffer) {
    super(init);
    this.body = body;
  }

  /** The body decoded as UTF-8. */
  text(): string {
    return this.body.toString('utf8');
  }

  /**
   * The body parsed as JSON. The type parameter is an assertion, not a check.
   * @throws {ProtocolError} when the body is not JSON (the `SyntaxError` is its `cause`)
   */
  json<T = unknown>(): T {
    return parseJsonBody(this.body.toString('utf8')) as T;
  }

  /** A plain summary for logs (not the body). */
  toJSON(): Record<string, unknown> {
    return {
      status: this.status,
      statusText: this.statusText,
      url: this.url,
      redirected: this.redirected,
      attempts: this.attempts,
      timings: this.timings,
      bodyBytes: this.body.length,
    };
  }
}

/** One Server-Sent Event. */
export interface ServerSentEvent {
  /** The `event:` field, or `message` when absent. */
  event: string;
  data: string;
  id: string | undefined;
}

/** @internal How a streaming response gives its connection back. */
export interface StreamControl {
  /** Abort the transfer (connection discarded). */
  cancel(): void;
}

/**
 * A response whose body is read as it arrives. It holds a connection until the body is
 * consumed, cancelled or disposed: use `await using`, or read/cancel it.
 *
 * @example
 * ```ts
 * await using res = await client.stream({ method: 'GET', url });
 * for await (const event of res.events()) console.log(event.event, event.data);
 * ```
 */
export class StreamingResponse extends ResponseBase {
  /** The body, chunk by chunk (decompressed). Can be iterated once. */
  readonly body: AsyncIterable<Uint8Array>;
  #control: StreamControl;
  #used = false;

  /** @internal */
  constructor(init: ResponseInit, body: AsyncIterable<Uint8Array>, control: StreamControl) {
    super(init);
    this.body = body;
    this.#control = control;
  }

  #take(): AsyncIterable<Uint8Array> {
    if (this.#used) throw new InvalidRequestError('the response body has already been read');
    this.#used = true;
    return this.body;
  }

  /**
   * Reads the whole body into one Buffer.
   * @throws {InvalidRequestError} when the body has already been read
   */
  async bytes(): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let length = 0;
    for await (const chunk of this.#take()) {
      chunks.push(chunk as Buffer);
      length += chunk.length;
    }
    return Buffer.concat(chunks, length);
  }

  /** Reads the whole body as UTF-8 text. */
  async text(): Promise<string> {
    return (await this.bytes()).toString('utf8');
  }

  /**
   * Reads the whole body as JSON.
   * @throws {ProtocolError} when the body is not JSON (the `SyntaxError` is its `cause`)
   * @throws {InvalidRequestError} when the body has already been read
   */
  async json<T = unknown>(): Promise<T> {
    return parseJsonBody(await this.text()) as T;
  }

  /**
   * Parses the body as Server-Sent Events (`text/event-stream`), yielding each event as
   * it completes. Comments and retry hints are skipped.
   * @throws {InvalidRequestError} when the body has already been read
   */
  async *events(): AsyncGenerator<ServerSentEvent, void, undefined> {
    const pending: ServerSentEvent[] = [];
    const parser = createParser({
      onEvent(message: EventSourceMessage) {
        pending.push({ event: message.event ?? 'message', data: message.data, id: message.id });
      },
    });
    const decoder = new TextDecoder();
    for await (const chunk of this.#take()) {
      parser.feed(decoder.decode(chunk, { stream: true }));
      while (pending.length > 0) yield pending.shift()!;
    }
    parser.feed(decoder.decode());
    // A final event without its blank line is incomplete by the spec, so it is dropped.
    while (pending.length > 0) yield pending.shift()!;
  }

  /** Stops reading; the connection is discarded. Safe to call at any time. */
  cancel(): void {
    this.#control.cancel();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.cancel();
  }
}
