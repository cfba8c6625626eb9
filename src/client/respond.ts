/**
 * The response stage: the attempt that stands becomes the caller's response, its body
 * decoded (buffered: at once, capped by `maxBodySize`; streamed: as it is read).
 */
import { BodyTooLargeError } from '../core/errors.js';
import { rawHeader } from '../core/headers.js';
import type { ExchangeResult } from '../pool/exchange.js';
import type { Attempt } from './attempt.js';
import type { Call } from './call.js';
import { codingOf, decompressBuffer, decompressStream } from './decompress.js';
import type { ResolvedOptions } from './options.js';
import type { PreparedRequest } from './prepare.js';
import {
  createResponse,
  createStreamingResponse,
  type HttpResponse,
  type ResponseInit,
  type StreamingResponse,
} from './response.js';
import { rttOf } from './upstream-pick.js';

const NO_BODY_STATUS = (status: number, method: string): boolean =>
  method === 'HEAD' || status === 204 || status === 304;

/** What the caller's response is made of: status, headers, URL, attempts and timings. */
export function responseInit(
  call: Call,
  att: Attempt,
  result: ExchangeResult,
  request: PreparedRequest,
  redirected: boolean,
  redact: ReadonlySet<string>,
): ResponseInit {
  return {
    status: result.status,
    statusText: result.statusText,
    rawHeaders: result.rawHeaders,
    url: request.target.href,
    method: request.method,
    host: att.origin?.key ?? request.target.origin.key,
    redact,
    redirected,
    attempts: call.reportedAttempts,
    timings: {
      queued: att.queuedMs,
      // The exchange measures from dispatch; the caller reads `connect` as 0 on a
      // reused socket and `ttfb` from when the request went out, as the docs say.
      connect: result.reused ? 0 : result.connectMs,
      ttfb: rttOf(result),
      total: att.endedAt - call.startedAt,
    },
  };
}

/** The response; a promise only when a buffered body must be decoded first. */
export function respond(
  init: ResponseInit,
  result: ExchangeResult,
  method: string,
  opts: Readonly<ResolvedOptions>,
): HttpResponse | StreamingResponse | Promise<HttpResponse> {
  const coding =
    opts.decompress && !NO_BODY_STATUS(init.status, method)
      ? codingOf(rawHeader(init.rawHeaders, 'content-encoding'))
      : undefined;
  const body = result.body;
  if (!Buffer.isBuffer(body)) {
    const decoded =
      coding === undefined ? body : decompressStream(body, coding, opts.maxBodySize, init);
    return createStreamingResponse(init, decoded, { cancel: () => body.cancel() });
  }
  if (coding === undefined) return createResponse(init, body);
  return decompressBuffer(body, coding, opts.maxBodySize).then((decoded) =>
    createResponse(init, decoded),
  );
}

/**
 * The response an `HttpStatusError` of a `stream()` call carries: its body read into
 * memory, as a buffered call's would be, up to the client's buffered `maxBodySize` and
 * within the call's deadline. A body that cannot be read (too large, cut off, too slow)
 * leaves the response empty, with why as the error's cause.
 */
export async function readErrorBody(
  call: Call,
  init: ResponseInit,
  response: StreamingResponse,
  limit: number,
): Promise<{ response: HttpResponse; cause: unknown }> {
  call.armTotal(call.clock.now());
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of response.body) {
      length += chunk.length;
      if (length > limit) throw new BodyTooLargeError(limit);
      chunks.push(chunk as Buffer);
    }
  } catch (cause) {
    response.cancel();
    return { response: createResponse(init, Buffer.alloc(0)), cause };
  }
  return { response: createResponse(init, Buffer.concat(chunks, length)), cause: undefined };
}
