/**
 * Upload and download progress (ky's `onUploadProgress` / `onDownloadProgress`): the bytes
 * of one attempt's transfer as they move, reported to the caller's callback.
 *
 * Bytes are counted on the wire: a download as it arrives, before decompression, so that
 * `totalBytes` (the `content-length`) and `transferredBytes` measure the same thing; an
 * upload as the transport takes it for the socket. Each transfer reports a first event
 * (`percent` 0, an empty chunk), one per chunk (`percent` below 1), and a last one
 * (`percent` 1, an empty chunk) once it is complete. A retried attempt, a stale-socket
 * resend or a redirect hop that sends the body again reports its own transfer from 0.
 *
 * A callback that throws fails the call with `InvalidRequestError` (its error is the
 * `cause`), which the outcome classifier puts on the caller: no retry, nothing against the
 * host. With no callback set, nothing here runs.
 */
import { InvalidRequestError, type SentinelError } from '../core/errors.js';
import { findHeader, type HeaderList, rawHeader } from '../core/headers.js';
import type { ResponseObserver } from '../pool/response-observer.js';
import { isRedirect } from './redirect.js';

/** Where a transfer stands. */
export interface Progress {
  /** 0 to 1: `transferredBytes / totalBytes`; 0 while the total is unknown, 1 only at the end. */
  readonly percent: number;
  /** Bytes moved so far in this attempt. */
  readonly transferredBytes: number;
  /**
   * The size of the body: its `content-length` (a download) or its length (an upload),
   * 0 while unknown, and never less than `transferredBytes`.
   */
  readonly totalBytes: number;
}

/**
 * Called as a body moves: with where the transfer stands, and the chunk that just moved
 * (empty for the first and the last call). Called synchronously on the transfer's path:
 * keep it cheap. A promise it returns is not awaited.
 */
export type ProgressCallback = (progress: Progress, chunk: Uint8Array) => void;

/** The option a callback was given as, for the error that names it. */
type OptionName = 'onDownloadProgress' | 'onUploadProgress';

const EMPTY = new Uint8Array(0);
/** The largest `percent` before the end: 1 means the transfer is complete. */
const ALMOST_ONE = 1 - Number.EPSILON;
/** An upload held in memory goes to the socket in slices of this size, each reported. */
const UPLOAD_SLICE = 64 * 1024;

/** The error that fails a call whose progress callback threw. */
export function progressFailed(name: OptionName, cause: unknown): InvalidRequestError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new InvalidRequestError(`${name} threw: ${message}`, { cause });
}

/** @throws {InvalidRequestError} when `value` is neither a function nor undefined */
export function checkProgressCallback(
  name: OptionName,
  value: unknown,
): ProgressCallback | undefined {
  if (value === undefined || typeof value === 'function') return value as ProgressCallback;
  throw new InvalidRequestError(`${name} must be a function`);
}

/** Counts one transfer and reports it; never throws, returns the error to fail with. */
class Reporter {
  readonly #callback: ProgressCallback;
  readonly #name: OptionName;
  #total = 0;
  #transferred = 0;
  /** A promise the callback returned was rejected: the transfer fails at its next event. */
  #rejected: SentinelError | undefined;

  constructor(callback: ProgressCallback, name: OptionName) {
    this.#callback = callback;
    this.#name = name;
  }

  start(total: number): SentinelError | undefined {
    this.#total = Math.max(total, 0);
    return this.#emit(0, EMPTY);
  }

  data(chunk: Uint8Array): SentinelError | undefined {
    this.#transferred += chunk.byteLength;
    const total = this.#total;
    return this.#emit(total === 0 ? 0 : Math.min(this.#transferred / total, ALMOST_ONE), chunk);
  }

  end(): SentinelError | undefined {
    return this.#emit(1, EMPTY);
  }

  #emit(percent: number, chunk: Uint8Array): SentinelError | undefined {
    if (this.#rejected !== undefined) return this.#rejected;
    const transferredBytes = this.#transferred;
    let result: unknown;
    try {
      result = this.#callback(
        { percent, transferredBytes, totalBytes: Math.max(this.#total, transferredBytes) },
        chunk,
      );
    } catch (cause) {
      return progressFailed(this.#name, cause);
    }
    if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
      // Not awaited (the transfer does not wait for its observer), but not unhandled either.
      Promise.resolve(result).catch((cause: unknown) => {
        this.#rejected ??= progressFailed(this.#name, cause);
      });
    }
    return undefined;
  }
}

/**
 * The download side: the pool calls it as a response arrives. A redirect that will be
 * followed reports nothing (its body is not the caller's), as with fetch.
 */
export class DownloadProgress implements ResponseObserver {
  readonly #reporter: Reporter;
  readonly #followsRedirects: boolean;
  readonly #method: string;
  readonly #oneShotBody: boolean;
  #silent = false;

  /**
   * @param maxRedirects - the call's: 0 means a 3xx is the caller's response
   * @param oneShotBody - the request sends a stream, which a redirect cannot send again
   */
  constructor(
    callback: ProgressCallback,
    maxRedirects: number,
    method: string,
    oneShotBody: boolean,
  ) {
    this.#reporter = new Reporter(callback, 'onDownloadProgress');
    this.#followsRedirects = maxRedirects > 0;
    this.#method = method;
    this.#oneShotBody = oneShotBody;
  }

  headers(status: number, length: number, rawHeaders: Buffer[]): SentinelError | undefined {
    if (this.#followsRedirects && this.#followed(status, rawHeaders)) {
      this.#silent = true;
      return undefined;
    }
    return this.#reporter.start(length);
  }

  /** Whether the redirect stage will follow this response (the rules of `nextHop`). */
  #followed(status: number, rawHeaders: Buffer[]): boolean {
    if (!isRedirect(status) || !rawHeader(rawHeaders, 'location')) return false;
    if (!this.#oneShotBody) return true;
    // A hop that keeps the body cannot resend a stream: the 3xx is the caller's response.
    const method = this.#method;
    return (
      (status === 303 && method !== 'HEAD') ||
      ((status === 301 || status === 302) && method === 'POST')
    );
  }

  data(chunk: Buffer): SentinelError | undefined {
    return this.#silent ? undefined : this.#reporter.data(chunk);
  }

  end(): SentinelError | undefined {
    return this.#silent ? undefined : this.#reporter.end();
  }
}

/** What an attempt sends when its upload is reported. */
export interface ReportedUpload {
  readonly body: AsyncIterable<Uint8Array>;
  /** The request's headers, with a `content-length` when the body's length is known. */
  readonly headers: HeaderList;
}

/**
 * The body of one attempt as an iterable that reports each chunk once the transport has
 * taken it for the socket (it asks for the next one only then, after waiting for the
 * socket to drain). A body held in memory is sliced so that its progress shows; its
 * `content-length` is kept, as an iterable body would otherwise go chunked.
 *
 * @returns undefined when there is no body to report
 */
export function reportedUpload(
  data: string | Uint8Array | AsyncIterable<Uint8Array> | null,
  length: number,
  headers: HeaderList,
  callback: ProgressCallback,
): ReportedUpload | undefined {
  if (data === null) return undefined;
  const withLength =
    length >= 0 && findHeader(headers, 'content-length') === -1
      ? [...headers, 'content-length', String(length)]
      : headers;
  return {
    body: upload(data, length, new Reporter(callback, 'onUploadProgress')),
    headers: withLength,
  };
}

async function* upload(
  data: string | Uint8Array | AsyncIterable<Uint8Array>,
  length: number,
  reporter: Reporter,
): AsyncGenerator<Uint8Array, void, undefined> {
  let failed = reporter.start(length);
  if (failed !== undefined) throw failed;
  if (typeof data === 'string' || data instanceof Uint8Array) {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    for (let at = 0; at < bytes.byteLength; at += UPLOAD_SLICE) {
      const chunk = bytes.subarray(at, Math.min(at + UPLOAD_SLICE, bytes.byteLength));
      yield chunk;
      failed = reporter.data(chunk);
      if (failed !== undefined) throw failed;
    }
  } else {
    for await (const chunk of data) {
      yield chunk;
      failed = reporter.data(chunk);
      if (failed !== undefined) throw failed;
    }
  }
  failed = reporter.end();
  if (failed !== undefined) throw failed;
}
