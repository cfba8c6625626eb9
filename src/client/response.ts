/**
 * Responses: {@link HttpResponse} (body fully read into one Buffer) and
 * {@link StreamingResponse} (body as an async iterable, with SSE parsing). Headers are
 * parsed from undici's raw list only when first read.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { InvalidRequestError, isSentinelError } from '../core/errors.js';
import { headersFromRaw, rawHeader } from '../core/headers.js';
import { formatMs, INSPECT, type InspectContext, oneLine } from '../core/inspect.js';
import { parseJsonBody } from '../core/json.js';
import { labelError, shownUrl } from './error-label.js';

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

/** What the client knows when it builds a response (not exported by the package). */
export interface ResponseInit {
  status: number;
  statusText: string;
  rawHeaders: Buffer[];
  url: string;
  /** The method, for the errors of reading the response. */
  method: string;
  /** `host:port` that answered. */
  host: string;
  /** The client's secret query parameters, hidden in errors and when printed. */
  redact: ReadonlySet<string>;
  redirected: boolean;
  attempts: number;
  timings: Timings;
}

/** Header names printed by `util.inspect`; values are left out (they may be secrets). */
const INSPECTED_HEADER_NAMES = 12;

/** What only the client may pass to a response's constructor. */
const BY_CLIENT = Symbol('made by the client');

/** Set by the response classes' static blocks: their constructors are private. */
let makeResponse: (init: ResponseInit, body: Buffer) => HttpResponse;
let makeStreamingResponse: (
  init: ResponseInit,
  body: AsyncIterable<Uint8Array>,
  control: StreamControl,
) => StreamingResponse;

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
  readonly #method: string;
  readonly #host: string;
  readonly #redact: ReadonlySet<string>;

  constructor(key: typeof BY_CLIENT, init: ResponseInit) {
    if (key !== BY_CLIENT) throw new TypeError('responses are made by the client');
    this.status = init.status;
    this.statusText = init.statusText;
    this.url = init.url;
    this.redirected = init.redirected;
    this.attempts = init.attempts;
    this.timings = init.timings;
    this.#raw = init.rawHeaders;
    this.#method = init.method;
    this.#host = init.host;
    this.#redact = init.redact;
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

  /**
   * A plain summary for JSON loggers (pino, winston, `JSON.stringify` of an
   * `HttpStatusError`): the URL with secret query values hidden, as errors show it; never
   * the body or header values.
   */
  toJSON(): Record<string, unknown> {
    return {
      status: this.status,
      statusText: this.statusText,
      url: shownUrl(this.url, this.#redact),
      redirected: this.redirected,
      attempts: this.attempts,
      timings: this.timings,
    };
  }

  /** An error raised while reading this response, told which request it was for. */
  protected labelled(err: unknown): unknown {
    if (!isSentinelError(err)) return err;
    err.attempts ??= this.attempts;
    return labelError(err, this.#method, this.url, this.#host, this.#redact);
  }

  /** What `util.inspect` prints of the body, given its `content-length` header. */
  protected abstract inspectBody(contentLength: string | undefined): string;

  /**
   * What `console.log(res)` shows: status, URL (secret query values hidden), attempts,
   * timings, the header names and the body's size; never the body or a header's value.
   */
  [INSPECT](depth: number, options: InspectContext): string {
    const head = `${this.constructor.name} ${this.status}${this.statusText ? ` ${this.statusText}` : ''}`;
    if (depth < 0) return options.stylize(`[${head}]`, 'special');
    const t = this.timings;
    const names: string[] = [];
    for (let i = 0; i < this.#raw.length; i += 2) names.push(this.#raw[i]!.toString('latin1'));
    const shown = names.slice(0, INSPECTED_HEADER_NAMES).map((n) => n.toLowerCase());
    if (names.length > shown.length) shown.push(`… ${names.length - shown.length} more`);
    const type = rawHeader(this.#raw, 'content-type');
    const lines = [
      `${head} {`,
      `  url: ${oneLine(shownUrl(this.url, this.#redact), options)},`,
      `  redirected: ${this.redirected}, attempts: ${this.attempts},`,
      `  timings: queued ${formatMs(t.queued)}, connect ${formatMs(t.connect)}, ttfb ${formatMs(t.ttfb)}, total ${formatMs(t.total)},`,
      `  headers: ${names.length} (${shown.join(', ')}),`,
    ];
    if (type !== undefined) lines.push(`  contentType: ${oneLine(type, options)},`);
    lines.push(`  body: ${this.inspectBody(rawHeader(this.#raw, 'content-length'))}`, '}');
    return lines.join('\n');
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

  static {
    makeResponse = (init, body) => new HttpResponse(BY_CLIENT, init, body);
  }

  /** Responses are made by the client. */
  private constructor(key: typeof BY_CLIENT, init: ResponseInit, body: Buffer) {
    super(key, init);
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
    try {
      return parseJsonBody(this.body.toString('utf8')) as T;
    } catch (err) {
      throw this.labelled(err);
    }
  }

  protected inspectBody(): string {
    return `${this.body.length} bytes`;
  }

  /** A plain summary for logs (not the body). */
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), bodyBytes: this.body.length };
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

  static {
    makeStreamingResponse = (init, body, control) =>
      new StreamingResponse(BY_CLIENT, init, body, control);
  }

  /** Responses are made by the client. */
  private constructor(
    key: typeof BY_CLIENT,
    init: ResponseInit,
    body: AsyncIterable<Uint8Array>,
    control: StreamControl,
  ) {
    super(key, init);
    this.body = body;
    this.#control = control;
  }

  #take(): AsyncIterable<Uint8Array> {
    if (this.#used) {
      throw this.labelled(new InvalidRequestError('the response body has already been read'));
    }
    this.#used = true;
    return this.body;
  }

  protected inspectBody(length: string | undefined): string {
    const size = length === undefined ? 'length unknown' : `${length} bytes expected`;
    return `streamed, ${this.#used ? 'read' : 'not read'} (${size})`;
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
    const text = await this.text();
    try {
      return parseJsonBody(text) as T;
    } catch (err) {
      throw this.labelled(err);
    }
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

/** @internal A fully read response (its constructor is private). */
export function createResponse(init: ResponseInit, body: Buffer): HttpResponse {
  return makeResponse(init, body);
}

/** @internal A streaming response (its constructor is private). */
export function createStreamingResponse(
  init: ResponseInit,
  body: AsyncIterable<Uint8Array>,
  control: StreamControl,
): StreamingResponse {
  return makeStreamingResponse(init, body, control);
}
