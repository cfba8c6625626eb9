/**
 * The response stage: the attempt that stands becomes the caller's response, its body
 * decoded (buffered: at once, capped by `maxBodySize`; streamed: as it is read).
 */
import { rawHeader } from '../core/headers.js';
import type { ExchangeResult } from '../pool/exchange.js';
import type { Attempt } from './attempt.js';
import type { Call } from './call.js';
import { codingOf, decompressBuffer, decompressStream } from './decompress.js';
import type { ResolvedOptions } from './options.js';
import { HttpResponse, type ResponseInit, StreamingResponse } from './response.js';
import { rttOf } from './upstream-pick.js';

const NO_BODY_STATUS = (status: number, method: string): boolean =>
  method === 'HEAD' || status === 204 || status === 304;

/** What the caller's response is made of: status, headers, URL, attempts and timings. */
export function responseInit(
  call: Call,
  att: Attempt,
  result: ExchangeResult,
  url: string,
  redirected: boolean,
): ResponseInit {
  return {
    status: result.status,
    statusText: result.statusText,
    rawHeaders: result.rawHeaders,
    url,
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
    const decoded = coding === undefined ? body : decompressStream(body, coding, opts.maxBodySize);
    return new StreamingResponse(init, decoded, { cancel: () => body.cancel() });
  }
  if (coding === undefined) return new HttpResponse(init, body);
  return decompressBuffer(body, coding, opts.maxBodySize).then(
    (decoded) => new HttpResponse(init, decoded),
  );
}
