/**
 * Request body normalisation: every accepted body shape becomes bytes undici can send,
 * with its length and content type, and a flag saying whether it can be sent again
 * (for retries and redirects). Streams are one-shot; everything else is replayable.
 */
import { Readable } from 'node:stream';
import { InvalidRequestError, RequestBodyError } from './errors.js';

/** Body shapes accepted by the client. */
export type BodyInit =
  | string
  | Uint8Array
  | ArrayBuffer
  | URLSearchParams
  | FormData
  | Blob
  | Readable
  | AsyncIterable<Uint8Array>;

/** A body ready for the wire. */
export interface PreparedBody {
  /** What undici sends: bytes, a string, or a stream. */
  readonly data: string | Uint8Array | Readable | AsyncIterable<Uint8Array> | null;
  /** Byte length when known, else -1. */
  readonly length: number;
  /** The content type implied by the body, when the caller set none. */
  readonly contentType: string | undefined;
  /** False for one-shot streams, which are never retried or re-sent on redirect. */
  readonly replayable: boolean;
}

/** No body. */
export const NO_BODY: PreparedBody = Object.freeze({
  data: null,
  length: 0,
  contentType: undefined,
  replayable: true,
});

function isAsyncIterable(value: object): value is AsyncIterable<Uint8Array> {
  return typeof (value as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function';
}

/**
 * Normalises `body` (or `json`, serialised). Synchronous for every shape but `FormData`
 * and `Blob`, which are read into memory once so they stay replayable.
 *
 * @throws {InvalidRequestError} for an unsupported shape, both `body` and `json`, or
 *   a value `JSON.stringify` cannot serialise
 */
export function prepareBody(body: unknown, json: unknown): PreparedBody | Promise<PreparedBody> {
  if (json !== undefined) {
    if (body !== undefined && body !== null) {
      throw new InvalidRequestError('give either body or json, not both');
    }
    let text: string | undefined;
    try {
      text = JSON.stringify(json);
    } catch (cause) {
      throw new InvalidRequestError('json could not be serialised', { cause });
    }
    if (text === undefined) throw new InvalidRequestError('json could not be serialised');
    return {
      data: text,
      length: Buffer.byteLength(text),
      contentType: 'application/json',
      replayable: true,
    };
  }
  if (body === undefined || body === null) return NO_BODY;
  if (typeof body === 'string') {
    return {
      data: body,
      length: Buffer.byteLength(body),
      contentType: 'text/plain;charset=UTF-8',
      replayable: true,
    };
  }
  if (body instanceof Uint8Array) {
    return { data: body, length: body.byteLength, contentType: undefined, replayable: true };
  }
  if (body instanceof ArrayBuffer) {
    return {
      data: new Uint8Array(body),
      length: body.byteLength,
      contentType: undefined,
      replayable: true,
    };
  }
  if (body instanceof URLSearchParams) {
    const text = body.toString();
    return {
      data: text,
      length: Buffer.byteLength(text),
      contentType: 'application/x-www-form-urlencoded;charset=UTF-8',
      replayable: true,
    };
  }
  if (body instanceof FormData || body instanceof Blob) {
    return readWhole(body);
  }
  if (typeof body === 'object' && (body instanceof Readable || isAsyncIterable(body))) {
    return {
      data: guarded(body as AsyncIterable<Uint8Array>),
      length: -1,
      contentType: undefined,
      replayable: false,
    };
  }
  const proto = typeof body === 'object' ? Object.getPrototypeOf(body) : undefined;
  if (proto === Object.prototype || proto === null || Array.isArray(body)) {
    // Not serialised on the caller's behalf: as with ky and got, JSON is asked for by name,
    // and so is its content-type.
    throw new InvalidRequestError(
      'a plain object or array is not a body: send it as JSON with the json option, e.g. client.post(url, headers, undefined, { json: value })',
    );
  }
  throw new InvalidRequestError(
    `unsupported body type ${Object.prototype.toString.call(body)}; use a string, bytes, URLSearchParams, FormData, Blob, a stream, or json`,
  );
}

/**
 * The caller's stream, with its failures marked as the caller's: an error thrown while
 * reading the source becomes a {@link RequestBodyError}, so the attempt that sends it is
 * judged as the caller's fault (never the host's) and is not retried.
 */
async function* guarded(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await iterator.next();
      } catch (cause) {
        throw new RequestBodyError(
          `the request body source failed: ${cause instanceof Error ? cause.message : String(cause)}`,
          { cause },
        );
      }
      if (next.done === true) return;
      yield next.value;
    }
  } finally {
    // Stopped early (the connection failed): let the source release what it holds.
    await iterator.return?.();
  }
}

async function readWhole(body: FormData | Blob): Promise<PreparedBody> {
  // Response does the multipart encoding (with its boundary) the way fetch would.
  const response = new Response(body);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const type = response.headers.get('content-type') ?? undefined;
  return {
    data: bytes,
    length: bytes.byteLength,
    contentType: type || undefined,
    replayable: true,
  };
}
