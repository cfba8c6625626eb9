/**
 * One request/response exchange on one connection, as an undici dispatch handler.
 *
 * A buffered response is collected into one Buffer (the only copy, and none when the
 * body arrives in one chunk): there is no `Readable` per response. A streamed response
 * resolves at headers with a {@link BodyStream}. The body size limit is enforced at
 * headers (Content-Length) and again on every chunk, so an oversized body is cut off
 * as soon as it is known, and the connection is discarded.
 *
 * The handler speaks undici's callback API (`onConnect`/`onHeaders`/`onData`/
 * `onComplete`/`onError`) rather than the controller API, because undici 7 runs the
 * former natively and wraps the latter in an adapter that also parses every header
 * into an object; our headers are parsed lazily, only when read.
 */
import { BodyTooLargeError, type SentinelError } from '../core/errors.js';
import { BodyStream } from './body-stream.js';
import { mapTransportError } from './map-error.js';

/** A request body undici can send. */
export type WireBody =
  | string
  | Buffer
  | Uint8Array
  | NodeJS.ReadableStream
  | AsyncIterable<Uint8Array>
  | null;

/** What to send. Header validation and body normalisation are the caller's. */
export interface ExchangeRequest {
  method: string;
  /** Path and query, starting with `/`. */
  path: string;
  /** Flat `[name, value, name, value, …]`, already validated. */
  headers: string[] | null;
  body: WireBody;
  /** Bytes of `body` when known, for statistics. */
  bodyLength: number;
  /** Response body bytes allowed; past it `BodyTooLargeError`. */
  maxBodySize: number;
  /** Resolve at headers with a {@link BodyStream} instead of buffering. */
  stream: boolean;
  /** Deadline for headers and between body chunks, in ms (undici's idle timeouts). */
  idleTimeoutMs: number;
  /**
   * Called once when the exchange ends (for a stream: when the body ends, fails or is
   * cancelled), after statistics are recorded.
   */
  onEnd?: ((error: SentinelError | undefined) => void) | undefined;
}

/** What came back. `rawHeaders` is undici's flat list; parse on demand. */
export interface ExchangeResult {
  status: number;
  statusText: string;
  rawHeaders: Buffer[];
  body: Buffer | BodyStream;
  /** Whether the connection had carried a request before this one. */
  reused: boolean;
  /** ms from dispatch until the request was written (connect time on a new socket). */
  connectMs: number;
  /** ms from dispatch until the response headers arrived. */
  ttfbMs: number;
}

/** The connection's side of an exchange: statistics and disposal. */
export interface ExchangeOwner {
  now(): number;
  /** Called exactly once when the exchange ends, with success or the error. */
  exchangeEnded(exchange: Exchange, error: SentinelError | undefined, received: number): void;
  /** Called when an abort arrives before undici has handed us the request's abort hook. */
  abandon(error: SentinelError): void;
  readonly connectTimeoutMs: number;
}

const EMPTY = Buffer.alloc(0);

function contentLengthOf(raw: Buffer[]): number {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 14 && name.toString('latin1').toLowerCase() === 'content-length') {
      const n = Number(raw[i + 1]!.toString('latin1'));
      return Number.isFinite(n) ? n : -1;
    }
  }
  return -1;
}

/** The handler of one exchange. Create one per request; not reusable. */
export class Exchange {
  readonly request: ExchangeRequest;
  readonly startedAt: number;
  readonly reused: boolean;
  #owner: ExchangeOwner;
  #resolve!: (result: ExchangeResult) => void;
  #reject!: (error: SentinelError) => void;
  readonly promise: Promise<ExchangeResult>;
  #abortHook: ((err?: Error) => void) | undefined;
  #pendingAbort: SentinelError | undefined;
  #connectMs = 0;
  #ttfbMs = 0;
  #status = 0;
  #statusText = '';
  #rawHeaders: Buffer[] = [];
  #chunks: Buffer[] = [];
  #received = 0;
  #stream: BodyStream | undefined;
  #resume: (() => void) | undefined;
  #headersSeen = false;
  #settled = false;
  #resolved = false;

  constructor(owner: ExchangeOwner, request: ExchangeRequest, reused: boolean) {
    this.#owner = owner;
    this.request = request;
    this.reused = reused;
    this.startedAt = owner.now();
    this.promise = new Promise<ExchangeResult>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** True once the exchange has ended (complete, failed or aborted). */
  get settled(): boolean {
    return this.#settled;
  }

  /** The response status, 0 until headers arrive. */
  get status(): number {
    return this.#status;
  }

  /** True once response headers have arrived. */
  get responseStarted(): boolean {
    return this.#headersSeen;
  }

  /**
   * Ends the exchange with `error` at once. Before undici has started writing the
   * request (still connecting) there is no abort hook yet: the owner abandons the
   * connection, which is then never reused.
   */
  abort(error: SentinelError): void {
    if (this.#settled) return;
    if (this.#abortHook !== undefined) {
      this.#abortHook(error);
      return;
    }
    this.#pendingAbort = error;
    this.#fail(error);
    this.#owner.abandon(error);
  }

  // ---- undici dispatch handler (callback API) ----

  onConnect(abort: (err?: Error) => void): void {
    if (this.#pendingAbort !== undefined) {
      abort(this.#pendingAbort);
      return;
    }
    this.#abortHook = abort;
    this.#connectMs = this.#owner.now() - this.startedAt;
  }

  onResponseStarted(): void {}

  onHeaders(
    statusCode: number,
    rawHeaders: Buffer[],
    resume: () => void,
    statusText: string,
  ): boolean {
    if (statusCode < 200) return true;
    this.#headersSeen = true;
    this.#ttfbMs = this.#owner.now() - this.startedAt;
    this.#status = statusCode;
    this.#statusText = statusText;
    this.#rawHeaders = rawHeaders;
    const length = contentLengthOf(rawHeaders);
    if (length > this.request.maxBodySize) {
      this.#abortHook!(new BodyTooLargeError(this.request.maxBodySize));
      return false;
    }
    if (this.request.stream) {
      this.#resume = resume;
      this.#stream = new BodyStream(this);
      this.#resolved = true;
      this.#resolve(this.#result(this.#stream));
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#received += chunk.length;
    if (this.#received > this.request.maxBodySize) {
      this.#abortHook!(new BodyTooLargeError(this.request.maxBodySize));
      return false;
    }
    if (this.#stream !== undefined) return this.#stream.push(chunk);
    this.#chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    if (this.#settled) return;
    this.#settled = true;
    if (this.#stream !== undefined) {
      this.#stream.end();
    } else {
      const chunks = this.#chunks;
      const body =
        chunks.length === 0
          ? EMPTY
          : chunks.length === 1
            ? chunks[0]!
            : Buffer.concat(chunks, this.#received);
      this.#chunks = [];
      this.#resolved = true;
      this.#resolve(this.#result(body));
    }
    this.#owner.exchangeEnded(this, undefined, this.#received);
  }

  onError(err: Error): void {
    if (this.#settled) return;
    const mapped = mapTransportError(
      err,
      this.#headersSeen,
      this.#owner.connectTimeoutMs,
      this.request.idleTimeoutMs,
    );
    this.#fail(mapped);
  }

  // ---- BodySource, for the streamed body ----

  resume(): void {
    this.#resume?.();
  }

  cancel(reason: Error): void {
    this.#abortHook?.(reason);
  }

  #fail(error: SentinelError): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#chunks = [];
    if (this.#resolved) this.#stream?.fail(error);
    else this.#reject(error);
    this.#owner.exchangeEnded(this, error, this.#received);
  }

  #result(body: Buffer | BodyStream): ExchangeResult {
    return {
      status: this.#status,
      statusText: this.#statusText,
      rawHeaders: this.#rawHeaders,
      body,
      reused: this.reused,
      connectMs: this.#connectMs,
      ttfbMs: this.#ttfbMs,
    };
  }
}
