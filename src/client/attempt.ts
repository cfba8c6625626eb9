/**
 * One attempt of a call, and the small rules about it that the stages share.
 */
import { ConnectionError, isSentinelError, type SentinelError } from '../core/errors.js';
import type { Verdict } from '../core/outcome.js';
import type { Exchange, ExchangeResult } from '../pool/exchange.js';
import type { HostEntry } from '../pool/host-table.js';
import type { Backend, Connection, Origin, Upstream } from '../pool/index.js';
import type { Call } from './call.js';
import type { PreparedRequest } from './prepare.js';
import type { HostGuard } from './resilience.js';
import type { BackendPick } from './upstream-pick.js';

/** One attempt of a call: where it goes, what it holds, what came back. */
export class Attempt implements BackendPick {
  /** The request it sends, after the `beforeRequest` hooks. */
  readonly request: PreparedRequest;
  error: SentinelError | undefined = undefined;
  guard: HostGuard | undefined;
  readonly upstream: Upstream | undefined;
  backend: Backend | undefined = undefined;
  picked = false;
  /** The breaker's ticket, handed back exactly once when the attempt is settled. */
  ticket = 0;
  /** Whether the request went out on a connection (only then is it the host's to judge). */
  sent = false;
  /** Client clock time it went out. */
  sentAt = 0;
  /** The classifier's verdict, once the attempt ended. */
  verdict: Verdict | undefined = undefined;
  /** The breaker hears of this outcome once the retry decision is made. */
  deferBreaker = false;
  /** A hedge: a second request of the same attempt, sent while the first had no answer. */
  hedge = false;
  /** Its response is not used (a retry or another hedge came after it). */
  discarded = false;
  /** Where the attempt goes: for an upstream, known once the backend is picked. */
  origin: Origin | undefined;
  /** The pool's entry of that origin. */
  entry: HostEntry | undefined = undefined;
  /** Client clock time the attempt started. */
  readonly startedAt: number;
  /** The first attempt of its hop: its request earns the retry budget's deposit. */
  readonly first: boolean;
  /** Client clock time it ended (a stream: at headers). */
  endedAt = 0;
  conn: Connection | undefined = undefined;
  /** The exchange sent (the last one, after a resend); undefined while none is. */
  exchange: Exchange | undefined = undefined;
  result: ExchangeResult | undefined = undefined;
  /** ms spent waiting for a connection (0 when one was free at once). */
  queuedMs = 0;
  /** Sent again on a fresh connection: the kept-alive one had been closed by the server. */
  fresh = false;
  /** A streamed body ended before the attempt read its result; the attempt ends the pick. */
  streamEnded = false;
  /** That body's verdict on the backend. */
  streamVerdict: Verdict['backend'] = 'none';
  /** Its OpenTelemetry span while one is open. */
  span: unknown = undefined;

  constructor(
    request: PreparedRequest,
    origin: Origin | undefined,
    guard: HostGuard | undefined,
    upstream: Upstream | undefined,
    startedAt: number,
    first: boolean,
  ) {
    this.request = request;
    this.origin = origin;
    this.guard = guard;
    this.upstream = upstream;
    this.startedAt = startedAt;
    this.first = first;
  }
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/**
 * Whether a failed exchange may be sent again on a fresh connection: it failed on a
 * kept-alive socket before any response (typically a socket the server closed while it
 * sat idle), and the request is idempotent or carries an idempotency key, so sending it
 * again is safe even in the rare case that the server did see it. Once per attempt.
 */
export function resendable(
  call: Call,
  request: PreparedRequest,
  att: Attempt,
  failure: SentinelError,
): boolean {
  return (
    !att.fresh &&
    att.exchange!.reused &&
    failure instanceof ConnectionError &&
    failure.beforeResponse &&
    request.body.replayable &&
    call.abortError === undefined &&
    call.attemptError === undefined &&
    (request.idempotencyKey || IDEMPOTENT.has(request.method))
  );
}

/** An idle deadline for undici's parser: ours fire first, this is a backstop. */
export function idleTimeout(ms: number): number {
  return Number.isFinite(ms) ? ms : 300_000;
}

export function asSentinelError(err: unknown): SentinelError {
  return isSentinelError(err) ? err : new ConnectionError(String(err), { cause: err });
}

/** Cancels the streamed body of an attempt whose response is not used. */
export function discard(att: Attempt): void {
  att.discarded = true;
  const body = att.result?.body;
  if (body !== undefined && !Buffer.isBuffer(body)) body.cancel();
}
