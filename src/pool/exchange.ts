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
import { DeadlineEntry } from '../core/deadlines.js';
import {
  BodyTooLargeError,
  ConnectionError,
  type SentinelError,
  TimeoutError,
} from '../core/errors.js';
import { headersFromRaw } from '../core/headers.js';
import { parseJsonBody } from '../core/json.js';
import { BodyStream } from './body-stream.js';
import { mapTransportError } from './map-error.js';
import type { ResponseObserver } from './response-observer.js';

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
   * Deadline of the whole exchange in ms, reported as phase `attempt`, when the owner
   * queues one (`conn.request`); the client keeps its own per attempt.
   */
  timeoutMs?: number;
  /**
   * Called once when the exchange ends (for a stream: when the body ends, fails or is
   * cancelled), after statistics are recorded.
   */
  onEnd?: ((error: SentinelError | undefined) => void) | undefined;
  /** Watches the response arrive (the client's download progress). */
  observer?: ResponseObserver | undefined;
}

/**
 * What came back. `rawHeaders` is undici's flat list, parsed into `headers` only when
 * read. A buffered exchange's result is also what `conn.request()` resolves with (see
 * `ConnectionResponse`): one object per response, its methods on the prototype.
 */
export class ExchangeResult {
  readonly status: number;
  readonly statusText: string;
  readonly rawHeaders: Buffer[];
  readonly body: Buffer | BodyStream;
  /** Whether the connection had carried a request before this one. */
  readonly reused: boolean;
  /** ms from dispatch until the request was written (connect time on a new socket). */
  readonly connectMs: number;
  /** ms from dispatch until the response headers arrived. */
  readonly ttfbMs: number;
  #headers: Headers | undefined;

  constructor(
    status: number,
    statusText: string,
    rawHeaders: Buffer[],
    body: Buffer | BodyStream,
    reused: boolean,
    connectMs: number,
    ttfbMs: number,
  ) {
    this.status = status;
    this.statusText = statusText;
    this.rawHeaders = rawHeaders;
    this.body = body;
    this.reused = reused;
    this.connectMs = connectMs;
    this.ttfbMs = ttfbMs;
  }

  /** True for a 2xx status. */
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /** The response headers (a WHATWG `Headers`, built on first access). */
  get headers(): Headers {
    this.#headers ??= headersFromRaw(this.rawHeaders);
    return this.#headers;
  }

  /** A buffered body decoded as UTF-8. */
  text(): string {
    return (this.body as Buffer).toString('utf8');
  }

  /**
   * A buffered body parsed as JSON.
   * @throws {ProtocolError} when the body is not JSON (the `SyntaxError` is its `cause`)
   */
  json<T = unknown>(): T {
    return parseJsonBody((this.body as Buffer).toString('utf8')) as T;
  }
}

/** The connection's side of an exchange: statistics and disposal. */
export interface ExchangeOwner {
  now(): number;
  /**
   * Called exactly once when the exchange ends, with success or the error. `discard`:
   * the response stands but its socket is being closed, so the connection is not reused.
   */
  exchangeEnded(
    exchange: Exchange,
    error: SentinelError | undefined,
    received: number,
    discard?: boolean,
  ): void;
  /** Called when an abort arrives before undici has handed us the request's abort hook. */
  abandon(error: SentinelError): void;
  readonly connectTimeoutMs: number;
}

const EMPTY = Buffer.alloc(0);
const NO_HEADERS: Buffer[] = [];
const CONTENT_LENGTH = Buffer.from('content-length');

/**
 * Whether `name` is `content-length` in any case, compared in place: lower-casing every
 * 14-byte name into a string cost more than the rest of the header handling.
 */
function isContentLength(name: Buffer): boolean {
  if (name.length !== 14) return false;
  for (let i = 0; i < 14; i++) {
    // Setting the 0x20 bit lower-cases an ASCII letter and leaves '-' as it is. Header
    // names are tokens (the parser refuses control bytes), so no other byte can match.
    if ((name[i]! | 0x20) !== CONTENT_LENGTH[i]) return false;
  }
  return true;
}

/**
 * Responses that have no body whatever their Content-Length says (RFC 9110 §6.4.1): the
 * length is the size of what a GET would have returned, not bytes to read.
 */
function bodiless(method: string, status: number): boolean {
  return method === 'HEAD' || status === 204 || status === 304;
}

function contentLengthOf(raw: Buffer[]): number {
  for (let i = 0; i < raw.length; i += 2) {
    if (isContentLength(raw[i]!)) {
      const n = Number(raw[i + 1]!.toString('latin1'));
      return Number.isFinite(n) ? n : -1;
    }
  }
  return -1;
}

/**
 * The handler of one exchange. Create one per request; not reusable. It is also the
 * entry of its own deadline when the owner queues one ({@link ExchangeRequest.timeoutMs}).
 */
export class Exchange extends DeadlineEntry {
  readonly request: ExchangeRequest;
  /** Clock time of dispatch. */
  readonly startedAt: number;
  readonly reused: boolean;
  /** Clock time the exchange ended (complete, failed or aborted); -1 before. */
  endedAt = -1;
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
  #rawHeaders = NO_HEADERS;
  /** The body of a buffered response: most arrive in one chunk, which needs no array. */
  #first: Buffer | undefined;
  #chunks: Buffer[] | undefined;
  #received = 0;
  #stream: BodyStream | undefined;
  #resume: (() => void) | undefined;
  #headersSeen = false;
  #settled = false;
  #resolved = false;
  /** The socket ended (FIN) or failed while the exchange was under way. */
  #peerClosed = false;
  /** The socket's own error (an RST), which undici does not always report. */
  #socketError: Error | undefined;

  /** @param now - the owner's clock reading at dispatch */
  constructor(owner: ExchangeOwner, request: ExchangeRequest, reused: boolean, now: number) {
    super();
    this.#owner = owner;
    this.request = request;
    this.reused = reused;
    this.startedAt = now;
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

  /**
   * The connection's socket ended or failed (`error`) while the exchange ran. undici
   * takes an RST in the middle of a close-delimited body for the body's end; this is how
   * the exchange knows that the body was cut instead.
   */
  peerClosed(error: Error | undefined): void {
    if (this.#settled || this.#abortHook === undefined) return;
    this.#peerClosed = true;
    this.#socketError ??= error;
  }

  /** The exchange's own deadline passed ({@link ExchangeRequest.timeoutMs}). */
  onDeadline(): void {
    this.abort(new TimeoutError('attempt', this.request.timeoutMs ?? 0));
  }

  // ---- undici dispatch handler (callback API) ----

  onConnect(abort: (err?: Error) => void): void {
    if (this.#pendingAbort !== undefined) {
      abort(this.#pendingAbort);
      return;
    }
    this.#abortHook = abort;
    // undici may have sent the request on a new socket after the one it was queued for
    // closed: what happened to that one says nothing about this response.
    this.#peerClosed = false;
    this.#socketError = undefined;
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
    const length = bodiless(this.request.method, statusCode) ? -1 : contentLengthOf(rawHeaders);
    if (length > this.request.maxBodySize) {
      this.#abortHook!(new BodyTooLargeError(this.request.maxBodySize));
      return false;
    }
    const observer = this.request.observer;
    if (observer !== undefined) {
      const failed = observer.headers(statusCode, length, rawHeaders);
      if (failed !== undefined) {
        this.#abortHook!(failed);
        return false;
      }
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
    const observer = this.request.observer;
    if (observer !== undefined) {
      const failed = observer.data(chunk);
      if (failed !== undefined) {
        this.#abortHook!(failed);
        return false;
      }
    }
    if (this.#stream !== undefined) return this.#stream.push(chunk);
    if (this.#first === undefined) this.#first = chunk;
    else if (this.#chunks === undefined) this.#chunks = [this.#first, chunk];
    else this.#chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    if (this.#settled) return;
    const reset = this.#socketError;
    if (reset !== undefined && this.#headersSeen) {
      // A body delimited by the connection's close ends cleanly only on FIN: after an RST
      // nothing says that every byte arrived.
      const code = (reset as { code?: unknown }).code;
      this.#fail(
        new ConnectionError(`response truncated: ${reset.message}`, {
          cause: reset,
          errno: typeof code === 'string' ? code : undefined,
          beforeResponse: false,
        }),
      );
      return;
    }
    this.#complete(false);
  }

  #complete(discard: boolean): void {
    const failed = this.request.observer?.end();
    if (failed !== undefined) {
      this.#fail(failed);
      return;
    }
    this.#settled = true;
    this.endedAt = this.#owner.now();
    if (this.#stream !== undefined) {
      this.#stream.end();
    } else {
      const body =
        this.#chunks !== undefined
          ? Buffer.concat(this.#chunks, this.#received)
          : (this.#first ?? EMPTY);
      this.#first = undefined;
      this.#chunks = undefined;
      this.#resolved = true;
      this.#resolve(this.#result(body));
    }
    this.#owner.exchangeEnded(this, undefined, this.#received, discard);
  }

  onError(err: Error): void {
    if (this.#settled) return;
    if (
      this.#headersSeen &&
      this.#received === 0 &&
      (err as { code?: unknown }).code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' &&
      bodiless(this.request.method, this.#status)
    ) {
      // undici checks a 204's or 304's Content-Length against a body they cannot have,
      // and closes the socket; the response itself is whole.
      this.#complete(true);
      return;
    }
    const mapped = mapTransportError(
      err,
      this.#headersSeen,
      this.#owner.connectTimeoutMs,
      this.request.idleTimeoutMs,
      this.#peerClosed,
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
    this.endedAt = this.#owner.now();
    this.#first = undefined;
    this.#chunks = undefined;
    if (this.#resolved) this.#stream?.fail(error);
    else this.#reject(error);
    this.#owner.exchangeEnded(this, error, this.#received);
  }

  #result(body: Buffer | BodyStream): ExchangeResult {
    return new ExchangeResult(
      this.#status,
      this.#statusText,
      this.#rawHeaders,
      body,
      this.reused,
      this.#connectMs,
      this.#ttfbMs,
    );
  }
}
