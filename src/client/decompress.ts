/**
 * Response decompression: gzip, deflate and br, and zstd where this Node has it. Bodies
 * are decoded with a cap equal to `maxBodySize`, so a small compressed body cannot expand
 * into an unbounded one (a "zip bomb").
 */
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { BodyTooLargeError, isSentinelError, ProtocolError } from '../core/errors.js';
import { labelError } from './error-label.js';
import type { ResponseInit } from './response.js';

type Coding = 'gzip' | 'deflate' | 'br' | 'zstd';

const zstd = zlib as unknown as {
  zstdDecompress?: (
    buf: Buffer,
    opts: zlib.ZlibOptions,
    cb: (err: Error | null, out: Buffer) => void,
  ) => void;
  createZstdDecompress?: (opts?: zlib.ZlibOptions) => NodeJS.ReadWriteStream;
};

/** Whether this Node can decode zstd. */
export const HAS_ZSTD = typeof zstd.zstdDecompress === 'function';

/** The `accept-encoding` the client sends when decompression is on. */
export const ACCEPT_ENCODING = HAS_ZSTD ? 'gzip, deflate, br, zstd' : 'gzip, deflate, br';

/** The coding to undo for a `content-encoding` value, or undefined to leave the body as is. */
export function codingOf(contentEncoding: string | undefined): Coding | undefined {
  if (contentEncoding === undefined) return undefined;
  const value = contentEncoding.trim().toLowerCase();
  switch (value) {
    case 'gzip':
    case 'x-gzip':
      return 'gzip';
    case 'deflate':
      return 'deflate';
    case 'br':
      return 'br';
    case 'zstd':
      return HAS_ZSTD ? 'zstd' : undefined;
    default:
      return undefined;
  }
}

function mapError(err: unknown, limit: number): Error {
  const code = (err as { code?: string }).code;
  if (code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
    return new BodyTooLargeError(limit, { cause: err });
  }
  if (code === 'Z_BUF_ERROR') {
    return new ProtocolError('the compressed response body is truncated', { cause: err });
  }
  return new ProtocolError(`could not decompress the response body: ${(err as Error).message}`, {
    cause: err,
  });
}

/**
 * Whether deflate data has the zlib wrapper (RFC 1950) rather than being raw: method 8 in
 * the low nibble of the first byte, and the two header bytes a multiple of 31. Servers
 * send both under `deflate`.
 */
function isZlibWrapped(bytes: Uint8Array): boolean {
  const cmf = bytes[0]!;
  if ((cmf & 0x0f) !== 0x08) return false;
  return bytes.length < 2 || ((cmf << 8) | bytes[1]!) % 31 === 0;
}

/**
 * Decodes a whole body. Deflate accepts both zlib-wrapped and raw streams, as browsers do.
 * A compressed stream that stops before its end is an error, not the bytes decoded so far
 * (browsers are lenient here; a service client must not hand cut data over as whole).
 */
export function decompressBuffer(body: Buffer, coding: Coding, limit: number): Promise<Buffer> {
  if (body.length === 0) return Promise.resolve(body);
  const opts: zlib.ZlibOptions = { maxOutputLength: Math.max(1, Math.min(limit, 2 ** 31 - 1)) };
  return new Promise<Buffer>((resolve, reject) => {
    const done = (err: Error | null, out: Buffer): void => {
      // maxOutputLength cannot be 0, so a limit of 0 is checked here.
      if (err === null) {
        if (out.length > limit) reject(new BodyTooLargeError(limit));
        else resolve(out);
      } else reject(mapError(err, limit));
    };
    switch (coding) {
      case 'gzip':
        zlib.gunzip(body, opts, done);
        break;
      case 'deflate':
        if (isZlibWrapped(body)) zlib.inflate(body, opts, done);
        else zlib.inflateRaw(body, opts, done);
        break;
      case 'br':
        zlib.brotliDecompress(body, opts as zlib.BrotliOptions, done);
        break;
      case 'zstd':
        zstd.zstdDecompress!(body, opts, done);
        break;
    }
  });
}

/**
 * Decodes a streamed body chunk by chunk, failing past `limit` decoded bytes. Its errors
 * name the request of `init`, as those of the body it decodes do.
 */
export async function* decompressStream(
  source: AsyncIterable<Uint8Array>,
  coding: Coding,
  limit: number,
  init: ResponseInit,
): AsyncGenerator<Uint8Array, void, undefined> {
  let completed = false;
  try {
    yield* decode(source, coding, limit);
    completed = true;
  } catch (err) {
    if (!isSentinelError(err)) throw err;
    err.attempts ??= init.attempts;
    throw labelError(err, init.method, init.url, init.host, init.redact);
  } finally {
    // Stopped early (the caller broke out, or decoding failed): the source's own
    // iterator may be parked in a read that never returns, so cancel the source itself,
    // which ends the transfer and lets its connection go.
    if (!completed) (source as { cancel?: () => void }).cancel?.();
  }
}

async function* decode(
  source: AsyncIterable<Uint8Array>,
  coding: Coding,
  limit: number,
): AsyncGenerator<Uint8Array, void, undefined> {
  const iterator = source[Symbol.asyncIterator]();
  let first = await iterator.next();
  while (!first.done && first.value.length === 0) first = await iterator.next();
  // An empty body has nothing to decode whatever its coding says, as when buffered; a
  // decoder given no input would report it truncated.
  if (first.done) return;
  let decoder: NodeJS.ReadWriteStream;
  switch (coding) {
    case 'gzip':
      decoder = zlib.createGunzip();
      break;
    case 'deflate':
      decoder = isZlibWrapped(first.value) ? zlib.createInflate() : zlib.createInflateRaw();
      break;
    case 'br':
      decoder = zlib.createBrotliDecompress();
      break;
    case 'zstd':
      decoder = zstd.createZstdDecompress!();
      break;
  }
  yield* pipeThrough(prepend(first.value, iterator), decoder, limit);
}

async function* prepend(
  first: Uint8Array,
  rest: AsyncIterator<Uint8Array>,
): AsyncGenerator<Uint8Array, void, undefined> {
  yield first;
  for (;;) {
    const next = await rest.next();
    if (next.done) return;
    yield next.value;
  }
}

async function* pipeThrough(
  source: AsyncIterable<Uint8Array>,
  decoder: NodeJS.ReadWriteStream,
  limit: number,
): AsyncGenerator<Uint8Array, void, undefined> {
  const input = Readable.from(source, { objectMode: false });
  input.on('error', (err) => (decoder as unknown as Readable).destroy(err));
  input.pipe(decoder as unknown as NodeJS.WritableStream);
  let total = 0;
  try {
    for await (const chunk of decoder as unknown as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > limit) throw new BodyTooLargeError(limit);
      yield chunk;
    }
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('SENTINEL_')) throw err;
    throw mapError(err, limit);
  } finally {
    input.destroy();
    (decoder as unknown as Readable).destroy();
  }
}
