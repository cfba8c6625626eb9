/**
 * The redirect stage: whether a response is followed, and the request of the next hop.
 * The rules themselves (method, body, which headers cross origins) are `nextHop`'s; this
 * stage applies them to a response, counts the hops, and lets a streamed 3xx body go —
 * drained so its connection is reused, or cancelled when the redirect is refused.
 */
import { NO_BODY } from '../core/body.js';
import type { Clock } from '../core/clock.js';
import { ProtocolError } from '../core/errors.js';
import { rawHeader } from '../core/headers.js';
import type { BodyStream } from '../pool/body-stream.js';
import type { ExchangeResult } from '../pool/exchange.js';
import type { Call } from './call.js';
import type { ResolvedOptions } from './options.js';
import { type PreparedRequest, targetOf } from './prepare.js';
import { isRedirect, nextHop, type RedirectHop } from './redirect.js';

/**
 * The request of the next hop, or undefined when `result` is the response (not a
 * redirect, or not followed). A promise only when a streamed 3xx body must be drained.
 *
 * @param hops - redirects followed so far
 * @param strip - the headers a cross-origin hop drops
 * @throws {ProtocolError} past `maxRedirects`, or a Location that cannot be followed
 */
export function followRedirect(
  call: Call,
  request: PreparedRequest,
  result: ExchangeResult,
  stream: boolean,
  opts: Readonly<ResolvedOptions>,
  hops: number,
  strip: readonly string[],
  clock: Clock,
): PreparedRequest | undefined | Promise<PreparedRequest> {
  if (opts.maxRedirects === 0 || !isRedirect(result.status)) return undefined;
  const source = stream ? (result.body as BodyStream) : undefined;
  const location = rawHeader(result.rawHeaders, 'location');
  let hop: RedirectHop | undefined;
  try {
    hop =
      location === undefined
        ? undefined
        : nextHop(
            new URL(request.target.href),
            request.method,
            result.status,
            location,
            request.headers,
            request.body.replayable,
            request.body.data !== null,
            strip,
          );
  } catch (err) {
    // A redirect refused (bad Location, https -> http): its streamed body is never
    // handed over, so it must let its connection go here.
    source?.cancel();
    throw err;
  }
  if (hop === undefined) return undefined;
  if (hops >= opts.maxRedirects) {
    source?.cancel();
    throw new ProtocolError(`more than ${opts.maxRedirects} redirects`);
  }
  call.redirects++;
  const next: PreparedRequest = {
    method: hop.method,
    target: targetOf(hop.url),
    headers: hop.headers,
    body: hop.keepBody ? request.body : NO_BODY,
    idempotencyKey: request.idempotencyKey,
  };
  if (source === undefined) return next;
  // The attempt's timer stopped at headers: the call's deadline bounds the drain.
  call.armTotal(clock.now());
  return drain(source).then(() => next);
}

async function drain(stream: BodyStream): Promise<void> {
  for await (const _ of stream) {
    // Read to the end so the connection can be reused.
  }
}
