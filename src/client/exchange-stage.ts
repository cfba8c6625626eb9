/**
 * The exchange stage: one attempt on a connection. It picks the backend (for an upstream),
 * asks the host's breaker, takes a connection (or waits for one, bounded by the call's
 * deadline), sends the request, sends it once more on a fresh connection when a kept-alive
 * socket turns out to have been closed by the server (the stale-socket resend), and ends
 * the attempt: releases the connection, ends the backend's pick and records the outcome
 * with the one classifier's verdict.
 *
 * A call that succeeds at once awaits nothing here but its exchange: {@link Exchanger.begin}
 * and {@link Exchanger.end} are synchronous, and only waiting for a connection or a resend
 * ({@link Exchanger.send}) is async.
 */
import type { Clock } from '../core/clock.js';
import { type SentinelError, TimeoutError } from '../core/errors.js';
import { classify } from '../core/outcome.js';
import { startExchange } from '../pool/connection-seam.js';
import type { Exchange } from '../pool/exchange.js';
import type { Backend, Connection, ConnectionPool } from '../pool/index.js';
import { type PoolPort, portOf } from '../pool/pool-port.js';
import { type Attempt, asSentinelError, idleTimeout, resendable } from './attempt.js';
import type { Call } from './call.js';
import { labelAttempt, shownUrl } from './error-label.js';
import type { EventHub } from './events.js';
import type { ResolvedOptions } from './options.js';
import type { PreparedRequest } from './prepare.js';
import { DownloadProgress, reportedUpload } from './progress.js';
import type { Resilience } from './resilience.js';
import { endPick, endStreamPick, pickBackend, rttOf } from './upstream-pick.js';

export class Exchanger {
  readonly #pool: ConnectionPool;
  /** The pool's narrow way in for the client. */
  readonly #port: PoolPort;
  readonly #resilience: Resilience;
  readonly #clock: Clock;
  readonly #events: EventHub;
  /** Whether the pool runs on the client's clock, so that one reading serves both. */
  readonly #sameClock: boolean;
  /**
   * How long an attempt may wait for a connection beyond the call's own deadline: none
   * (Infinity) unless the pool's `connectionTimeoutMs` was set for it.
   */
  readonly #acquireWaitMs: number;
  /** Query parameters whose values errors hide. */
  readonly #redact: ReadonlySet<string>;

  constructor(
    pool: ConnectionPool,
    resilience: Resilience,
    clock: Clock,
    events: EventHub,
    acquireWaitMs: number,
    redact: ReadonlySet<string>,
  ) {
    this.#pool = pool;
    this.#port = portOf(pool);
    this.#resilience = resilience;
    this.#clock = clock;
    this.#events = events;
    this.#sameClock = pool.config.clock === clock;
    this.#acquireWaitMs = acquireWaitMs;
    this.#redact = redact;
  }

  /** The pool clock's reading matching `now` on the client's clock. */
  #poolNow(now: number): number {
    return this.#sameClock ? now : this.#pool.config.clock.now();
  }

  /**
   * Begins an attempt: picks the backend (for an upstream), asks its breaker, arms the
   * attempt's deadline and, when a connection is free at once, sends the request. The
   * caller then awaits `att.exchange.promise`, or {@link #send} when there was no free
   * connection.
   *
   * For an upstream the pick passes over `failed`; it then ends in exactly one record or
   * cancel: in #end, or for a stream that reached headers, when its body ends.
   *
   * @returns false when the attempt was refused before it began (open breaker, no
   *   backend to pick): `att.error` says why, and there is nothing to end
   */
  begin(
    call: Call,
    request: PreparedRequest,
    opts: Readonly<ResolvedOptions>,
    stream: boolean,
    att: Attempt,
    failed: Backend | undefined,
    first: boolean,
  ): boolean {
    if (att.upstream === undefined) {
      try {
        att.ticket = this.#resilience.admit(att.origin!.key, att.guard!, first, att.startedAt);
      } catch (err) {
        att.error = err as SentinelError;
        return false;
      }
    } else {
      pickBackend(this.#resilience, att.upstream, failed, first, att, att.startedAt);
      if (att.error !== undefined) {
        // No backend to pick is a failed attempt (retryable, like a refused
        // connection); refusals by every breaker are no attempt at all.
        if (att.error.code !== 'SENTINEL_CIRCUIT_OPEN') {
          call.attempts++;
          this.#attemptEnded(request, call, att, 0);
        }
        return false;
      }
      att.origin = att.backend!.origin;
    }
    call.attempts++;
    if (call.deadlineAt <= att.startedAt) {
      // The whole-call deadline had passed before the attempt could start.
      call.abort(new TimeoutError('total', opts.timeout));
      att.error = call.abortError;
      return true;
    }
    try {
      att.entry = this.#port.host(att.origin!);
      const conn = this.#port.tryTake(
        att.entry,
        opts.connectTimeout,
        false,
        this.#poolNow(att.startedAt),
      );
      if (conn !== undefined) this.#dispatch(call, request, opts, stream, att, conn, att.startedAt);
      // Waiting in our own queue is bounded by the call's deadline; the attempt's own
      // deadline starts when its request is sent.
      else call.armTotal(att.startedAt);
    } catch (err) {
      att.error = asSentinelError(err);
    }
    return true;
  }

  /**
   * Begins a hedge of an attempt: the same request on another connection (for an
   * upstream, another backend than `avoid` when one is usable), admitted by the host's
   * breaker like any attempt. Only when a connection is free at once: a hedge never
   * waits in the queue, where it would only add to the load it is meant to route around.
   *
   * @returns false when it was not sent (nothing to end; nothing counted)
   */
  beginHedge(
    call: Call,
    request: PreparedRequest,
    opts: Readonly<ResolvedOptions>,
    stream: boolean,
    att: Attempt,
    avoid: Backend | undefined,
  ): boolean {
    att.hedge = true;
    if (att.upstream === undefined) {
      try {
        att.ticket = this.#resilience.admit(att.origin!.key, att.guard!, false, att.startedAt);
      } catch {
        return false;
      }
    } else {
      pickBackend(this.#resilience, att.upstream, avoid, false, att, att.startedAt);
      if (att.error !== undefined) return false;
      att.origin = att.backend!.origin;
    }
    let conn: Connection | undefined;
    try {
      att.entry = this.#port.host(att.origin!);
      conn = this.#port.tryTake(
        att.entry,
        opts.connectTimeout,
        false,
        this.#poolNow(att.startedAt),
      );
    } catch {
      conn = undefined;
    }
    if (conn === undefined) {
      this.#resilience.release(att.guard!, att.ticket);
      if (att.picked) endPick(att, 'none', 0);
      return false;
    }
    call.attempts++;
    this.#dispatch(call, request, opts, stream, att, conn, att.startedAt);
    return true;
  }

  /**
   * Sends the attempt's request on `conn`. From here the attempt is the host's to judge:
   * its own deadline starts, and the hop's first request earns the retry budget's deposit.
   * `now` is on the client's clock.
   */
  #dispatch(
    call: Call,
    request: PreparedRequest,
    opts: Readonly<ResolvedOptions>,
    stream: boolean,
    att: Attempt,
    conn: Connection,
    now: number,
  ): void {
    att.conn = conn;
    const resend = att.sent;
    if (!resend) {
      att.sent = true;
      att.sentAt = now;
      // A hedge runs under the deadline its attempt already has.
      if (!att.hedge) call.armAttempt(now);
      if (att.first) this.#resilience.sent(now);
    }
    const otel = this.#events.otel;
    const headers =
      otel === undefined
        ? request.headers
        : otel.sending(
            att,
            request.method,
            request.target.href,
            request.headers,
            call.attempts - 1,
            resend,
            this.#redact,
          );
    // Each request of the attempt reports its own upload, from 0.
    const upload =
      opts.onUploadProgress === undefined
        ? undefined
        : reportedUpload(request.body.data, request.body.length, headers, opts.onUploadProgress);
    // `let`, not `const`: onEnd can run inside startExchange() (a dispatch that
    // throws), before the assignment.
    let exchange: Exchange | undefined;
    exchange = startExchange(
      conn,
      {
        method: request.method,
        path: request.target.path,
        headers: upload === undefined ? headers : upload.headers,
        body: upload === undefined ? request.body.data : upload.body,
        bodyLength: Math.max(request.body.length, 0),
        maxBodySize: opts.maxBodySize,
        stream,
        idleTimeoutMs: idleTimeout(stream ? (opts.attemptTimeout ?? opts.timeout) : call.attemptMs),
        onEnd: stream
          ? (error) => this.#streamEnded(call, request, conn, att, exchange, error)
          : undefined,
        observer:
          opts.onDownloadProgress === undefined
            ? undefined
            : new DownloadProgress(
                opts.onDownloadProgress,
                opts.maxRedirects,
                request.method,
                !request.body.replayable && request.body.data !== null,
              ),
      },
      this.#poolNow(now),
    );
    att.exchange = exchange;
    if (att.hedge) call.hedging(exchange);
    else call.exchanging(exchange);
  }

  /**
   * The rest of an attempt that could not complete at once: waits for a connection when
   * none was free, and sends once more on a fresh connection when a kept-alive one turns
   * out to have been closed by the server. Leaves the result or the error in `att`.
   *
   * @param failure - why the exchange already sent failed, if it did
   */
  async send(
    call: Call,
    request: PreparedRequest,
    opts: Readonly<ResolvedOptions>,
    stream: boolean,
    att: Attempt,
    failure: SentinelError | undefined,
  ): Promise<void> {
    try {
      for (;;) {
        if (failure !== undefined) {
          this.#pool.release(att.conn!);
          att.conn = undefined;
          if (!resendable(call, request, att, failure)) throw failure;
          // A kept-alive socket that failed before any response byte, almost always one
          // the server had closed while idle: send again on a new one, once. Not counted
          // as a retry. The server may, rarely, have processed it before closing, which
          // is why only idempotent requests are resent (as HTTP allows, and browsers do).
          att.fresh = true;
          att.exchange = undefined;
          failure = undefined;
        }
        const waitStart = this.#clock.now();
        let conn = this.#port.tryTake(
          att.entry!,
          opts.connectTimeout,
          att.fresh,
          this.#poolNow(waitStart),
        );
        if (conn === undefined) {
          try {
            conn = await this.#port.acquireOrigin(
              att.origin!,
              this.#acquireWaitMs,
              opts.connectTimeout,
              att.fresh,
              call.acquiring(),
            );
          } catch (err) {
            const error = call.abortError ?? call.attemptError ?? asSentinelError(err);
            this.#events.otel?.waited(att.origin!, this.#clock.now() - waitStart, error);
            throw error;
          }
          this.#events.otel?.waited(att.origin!, this.#clock.now() - waitStart, undefined);
        }
        const now = this.#clock.now();
        att.queuedMs = now - waitStart;
        if (!att.sent && call.expiredInQueue(now)) {
          // The connection came after the call's time ran out (its timer had not fired
          // yet): nothing is sent, and the connection goes back unused.
          this.#pool.release(conn);
          throw call.abortError;
        }
        this.#dispatch(call, request, opts, stream, att, conn, now);
        try {
          att.result = await att.exchange!.promise;
          return;
        } catch (err) {
          failure = err as SentinelError;
        }
      }
    } catch (err) {
      att.error = asSentinelError(err);
    }
  }

  /**
   * Ends an attempt that began: releases its connection (a streamed body keeps it until
   * it ends, see #streamEnded), ends the backend's pick, reports the attempt, then
   * records its outcome with the host's breaker and health, so that a breaker transition
   * it causes is reported after it. The end time is the exchange's own reading when it
   * has one.
   */
  end(
    call: Call,
    request: PreparedRequest,
    stream: boolean,
    att: Attempt,
    role: 'only' | 'winner' | 'loser' = 'only',
  ): void {
    const streaming = stream && att.error === undefined;
    if (role === 'loser') {
      // Another request of this attempt stands: the call forgets this one alone.
      call.dropExchange(att.exchange);
    } else {
      if (streaming) call.stopAttemptTimer();
      else call.endAttempt();
      if (role === 'winner' && att.hedge) call.adopt(att.exchange);
    }
    const exchange = att.exchange;
    const result = att.result;
    // On the pool's clock: when the response ended (a stream: its headers came) or failed.
    let poolNow: number;
    if (exchange === undefined) poolNow = this.#pool.config.clock.now();
    else if (result !== undefined && stream) poolNow = exchange.startedAt + result.ttfbMs;
    else if (exchange.endedAt >= 0) poolNow = exchange.endedAt;
    else poolNow = this.#pool.config.clock.now();
    const verdict = classify({
      status: result?.status,
      error: att.error,
      sent: exchange !== undefined,
      reused: exchange?.reused,
    });
    att.verdict = verdict;
    if (!streaming) {
      // A pick that sent nothing (acquire timed out or was aborted) is cancelled by its
      // verdict; one that failed took as long as it took to fail.
      if (att.picked) {
        endPick(
          att,
          verdict.backend,
          exchange === undefined
            ? 0
            : result === undefined
              ? poolNow - exchange.startedAt
              : rttOf(result),
        );
      }
      if (att.conn !== undefined) this.#port.releaseAt(att.conn, poolNow);
    } else if (att.picked && att.streamEnded) {
      endPick(att, att.streamVerdict, rttOf(result!));
    }
    const now = this.#sameClock ? poolNow : this.#clock.now();
    att.endedAt = now;
    const duration = now - att.startedAt;
    this.#attemptEnded(request, call, att, duration);
    this.#events.otel?.ended(att, request.method);
    // A 502/503/504 counts for the breaker once per call: if a retry follows, its answer
    // is the verdict (see the retry loop).
    att.deferBreaker = verdict.kind === 'unavailable';
    this.#resilience.settle(
      att.guard!,
      verdict,
      att.ticket,
      att.sentAt,
      now - (att.sent ? att.sentAt : att.startedAt),
      now,
      att.deferBreaker,
    );
  }

  #attemptEnded(request: PreparedRequest, call: Call, att: Attempt, ms: number): void {
    if (!this.#events.active) return;
    // A listener sees the error as the caller would: naming its request.
    if (att.error !== undefined) labelAttempt(att.error, request, att.origin, this.#redact);
    this.#events.emit({
      type: 'attempt',
      method: request.method,
      url: shownUrl(request.target.href, this.#redact),
      attempt: call.attempts,
      status: att.result?.status,
      error: att.error,
      durationMs: ms,
    });
  }

  #streamEnded(
    call: Call,
    request: PreparedRequest,
    conn: Connection,
    att: Attempt,
    exchange: Exchange | undefined,
    error: SentinelError | undefined,
  ): void {
    // Before the caller reading the body hears of the error: it names its request too.
    if (error !== undefined) labelAttempt(error, request, att.origin, this.#redact, call);
    this.#pool.release(conn);
    // Before headers the attempt itself ends the pick (a resend on a fresh connection
    // may still follow). A body that ended before the attempt read its result (all of
    // it came at once) is left to the attempt too: only the result has the round trip.
    if (att.picked && exchange?.responseStarted === true) endStreamPick(att, exchange, error);
    // Only the body handed to the caller ends the call; a discarded one (a retried or
    // losing response) may end after the next response was handed over.
    if (!att.discarded) call.onStreamEnd?.();
  }
}
