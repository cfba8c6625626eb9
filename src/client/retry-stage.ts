/**
 * The retry stage: the attempts of one hop, each through the exchange stage, until one
 * stands. It is the client's driver of the shared retry loop (`retry/attempt-loop.ts`),
 * which decides between attempts (policy with `Retry-After`, budget, deadline) and waits
 * the delay; the stage makes each attempt (its `beforeRequest` hooks first, hedges when
 * asked), reports the retry or its refusal, settles the breaker's once-per-call verdicts
 * and runs the `beforeRetry` hooks.
 */
import type { Clock } from '../core/clock.js';
import { AbortError } from '../core/errors.js';
import { headersFromRaw, normalizeHeaders } from '../core/headers.js';
import { redactUrl } from '../core/redact.js';
import type { ConnectionPool } from '../pool/index.js';
import { type PoolPort, portOf } from '../pool/pool-port.js';
import {
  type AttemptDriver,
  type RetryGranted,
  retryAfter,
  settle,
} from '../retry/attempt-loop.js';
import type { RetryContext, RetryEngine } from '../retry/index.js';
import { Attempt, discard } from './attempt.js';
import type { Call } from './call.js';
import type { Cookies } from './cookies.js';
import { shownUrl } from './error-label.js';
import type { EventHub } from './events.js';
import type { Exchanger } from './exchange-stage.js';
import { HookHeaders, type HookRequest, type ResolvedHooks, runHooks } from './hooks.js';
import type { ResolvedOptions } from './options.js';
import { checkFramingHeaders, type PreparedRequest } from './prepare.js';
import type { Resilience } from './resilience.js';

export class RetryStage implements AttemptDriver<Call, Attempt, RetryEngine> {
  readonly #port: PoolPort;
  readonly #exchanger: Exchanger;
  readonly #resilience: Resilience;
  readonly #clock: Clock;
  readonly #events: EventHub;
  /** The client's `redactQueryParams`: events show URLs as its errors do. */
  readonly #redact: ReadonlySet<string>;
  /** The client's cookie jar, if it has one. */
  readonly #cookies: Cookies | undefined;

  constructor(
    pool: ConnectionPool,
    exchanger: Exchanger,
    resilience: Resilience,
    clock: Clock,
    events: EventHub,
    cookies: Cookies | undefined,
    redact: ReadonlySet<string>,
  ) {
    this.#port = portOf(pool);
    this.#exchanger = exchanger;
    this.#resilience = resilience;
    this.#clock = clock;
    this.#events = events;
    this.#cookies = cookies;
    this.#redact = redact;
  }

  /**
   * The attempts of one hop. Resolves with the attempt that stands: its `result`, or its
   * `error` for the caller to throw. Nothing of a discarded attempt stays checked out.
   *
   * The first attempt is the shared loop's first iteration made inline ({@link attempt}
   * makes the others): a call that succeeds at once awaits its exchange and nothing else.
   *
   * @param first - the call's first hop: its first attempt starts at the call's own clock
   *   reading, so the call takes no second one
   */
  async run(
    call: Call,
    request: PreparedRequest,
    opts: Readonly<ResolvedOptions>,
    stream: boolean,
    engine: RetryEngine | undefined,
    hooks: ResolvedHooks,
    first: boolean,
  ): Promise<Attempt> {
    const upstream = this.#port.upstreamFor(request.target.origin);
    // A host is the same for every attempt of a hop; an upstream picks a backend each time.
    const origin = upstream === undefined ? request.target.origin : undefined;
    const guard = origin === undefined ? undefined : this.#resilience.host(origin.key);
    const cookies = this.#cookies;
    // The jar is asked at every attempt: a retry carries what the last answer set.
    let sent = cookies === undefined ? request : cookies.attach(call, request);
    if (sent instanceof Promise) sent = await call.underWay(sent);
    if (hooks.beforeRequest.length > 0) sent = beforeRequest(call, sent, hooks);
    if (sent instanceof Promise) sent = await call.underWay(sent);
    const now = first ? call.startedAt : this.#clock.now();
    const exchanger = this.#exchanger;
    let att = new Attempt(sent, origin, guard, upstream, now, true);
    if (exchanger.begin(call, sent, opts, stream, att, undefined, true)) {
      if (opts.hedge !== undefined && hedgeable(sent) && att.exchange !== undefined) {
        att = await this.#hedged(call, sent, opts, stream, att, opts.hedge);
      } else {
        // Inline rather than #complete: the common case awaits its exchange and nothing else.
        if (att.exchange !== undefined) {
          try {
            att.result = await att.exchange.promise;
          } catch (err) {
            await exchanger.send(call, sent, opts, stream, att, err as never);
          }
        } else if (att.error === undefined) {
          await exchanger.send(call, sent, opts, stream, att, undefined);
        }
        exchanger.end(call, sent, stream, att);
      }
    }
    if (cookies !== undefined && att.result !== undefined) await this.#storeCookies(call, att);
    const delay = settle(this, call, att, 0, engine, undefined);
    if (delay === undefined) return att;
    call.retryHop = { request, opts, stream, hooks };
    return retryAfter(this, call, att, 0, delay, engine);
  }

  /** A retry (`n` > 0): an attempt as {@link run} makes the first. */
  async attempt(call: Call, _n: number, previous: Attempt | undefined): Promise<Attempt> {
    const { request, opts, stream, hooks } = call.retryHop!;
    const cookies = this.#cookies;
    let sent = cookies === undefined ? request : cookies.attach(call, request);
    if (sent instanceof Promise) sent = await call.underWay(sent);
    if (hooks.beforeRequest.length > 0) sent = beforeRequest(call, sent, hooks);
    if (sent instanceof Promise) sent = await call.underWay(sent);
    const upstream = previous!.upstream;
    let att = new Attempt(
      sent,
      upstream === undefined ? previous!.origin : undefined,
      upstream === undefined ? previous!.guard : undefined,
      upstream,
      this.#clock.now(),
      false,
    );
    // The backend that failed is passed over by the next pick.
    if (this.#exchanger.begin(call, sent, opts, stream, att, previous!.backend, false)) {
      if (opts.hedge !== undefined && hedgeable(sent) && att.exchange !== undefined) {
        att = await this.#hedged(call, sent, opts, stream, att, opts.hedge);
      } else {
        await this.#complete(call, sent, opts, stream, att);
        this.#exchanger.end(call, sent, stream, att);
      }
    }
    if (cookies !== undefined && att.result !== undefined) await this.#storeCookies(call, att);
    return att;
  }

  /**
   * Keeps the cookies an answer set, before the next attempt or hop goes out so that it
   * carries them. A jar that fails ends the call: the attempt is given up, as when the
   * decision after it throws.
   */
  async #storeCookies(call: Call, att: Attempt): Promise<void> {
    const storing = this.#cookies!.store(att.request, att.result!.rawHeaders);
    if (storing === undefined) return;
    try {
      await call.underWay(storing);
    } catch (err) {
      this.abandon(call, att);
      this.decided(call, att, false);
      throw err;
    }
  }

  interrupted(call: Call): unknown {
    return call.abortError;
  }

  /**
   * The policy's question about an attempt, unless nothing could retry it: an open circuit
   * (no request went out), or a response whose status the policy does not list and no
   * `shouldRetry` to overrule it (the success path builds no context).
   */
  question(call: Call, att: Attempt, n: number, engine: RetryEngine): RetryContext | undefined {
    const error = att.error;
    if (error !== undefined && error.code === 'SENTINEL_CIRCUIT_OPEN') return undefined;
    const status = att.result?.status;
    const mightRetry =
      error !== undefined ||
      engine.config.statusCodes.has(status!) ||
      engine.config.shouldRetry !== undefined;
    if (!mightRetry) return undefined;
    const request = att.request;
    return {
      attempt: n,
      method: request.method,
      idempotencyKey: request.idempotencyKey,
      replayable: request.body.replayable,
      error,
      status,
      headers: att.result === undefined ? undefined : headersFromRaw(att.result.rawHeaders),
      remainingMs: call.remaining(),
    };
  }

  withdraw(): string | undefined {
    return this.#resilience.refuseRetry();
  }

  retrying(_call: Call, att: Attempt, n: number, decision: RetryGranted): void {
    if (!this.#events.retries) return;
    this.#events.emit({
      type: 'retry',
      method: att.request.method,
      url: shownUrl(att.request.target.href, this.#redact),
      attempt: n + 1,
      delayMs: decision.delayMs,
      retryAfterMs: decision.retryAfterMs,
      status: att.result?.status,
      error: att.error,
    });
  }

  refused(_call: Call, att: Attempt, n: number, by: string): void {
    if (!this.#events.retries) return;
    this.#events.emit({
      type: 'retry-refused',
      method: att.request.method,
      url: shownUrl(att.request.target.href, this.#redact),
      attempt: n + 1,
      by: by as 'budget',
    });
  }

  /** The breaker hears of a deferred outcome once it is known whether a retry follows. */
  decided(_call: Call, att: Attempt, retrying: boolean): void {
    if (!att.deferBreaker) return;
    att.deferBreaker = false;
    this.#resilience.settleBreaker(
      att.guard!,
      att.verdict!,
      att.ticket,
      att.sentAt,
      att.endedAt - att.sentAt,
      retrying,
    );
  }

  /** Nothing of an attempt that does not stand stays checked out: a streamed body holds its connection until cancelled. */
  abandon(_call: Call, att: Attempt): void {
    discard(att);
  }

  beforeRetry(call: Call, att: Attempt): Promise<void> | undefined {
    const hooks = call.retryHop!.hooks.beforeRetry;
    if (hooks.length === 0) return undefined;
    return runHooks('beforeRetry', hooks, {
      request: hookRequest(att.request),
      error: att.error,
      response:
        att.result === undefined
          ? undefined
          : { status: att.result.status, headers: headersFromRaw(att.result.rawHeaders) },
      attempt: call.reportedAttempts + 1,
    }) as Promise<void> | undefined;
  }

  pause(call: Call, ms: number): Promise<void> {
    return call.delay(ms);
  }

  /** Waits for an attempt that began to complete; its result or error is left in it. */
  async #complete(
    call: Call,
    request: PreparedRequest,
    opts: Readonly<ResolvedOptions>,
    stream: boolean,
    att: Attempt,
  ): Promise<Attempt> {
    if (att.exchange !== undefined) {
      try {
        att.result = await att.exchange.promise;
      } catch (err) {
        await this.#exchanger.send(call, request, opts, stream, att, err as never);
      }
    } else if (att.error === undefined) {
      await this.#exchanger.send(call, request, opts, stream, att, undefined);
    }
    return att;
  }

  /**
   * An attempt with hedges: while no response has come, another request of it goes out
   * every `delayMs` (up to `maxHedges`, budget and free connections allowing). The first
   * complete answer below 500 wins; the others are cancelled (no verdict on their hosts)
   * or, when they had already failed, recorded as they ended. When none wins, the last to
   * end stands, for the retry decision.
   */
  async #hedged(
    call: Call,
    request: PreparedRequest,
    opts: Readonly<ResolvedOptions>,
    stream: boolean,
    primary: Attempt,
    hedge: NonNullable<ResolvedOptions['hedge']>,
  ): Promise<Attempt> {
    const flights: Attempt[] = [primary];
    const pending = new Map<Attempt, Promise<Attempt>>();
    pending.set(primary, this.#complete(call, request, opts, stream, primary));
    let hedges = 0;
    let winner: Attempt | undefined;
    let last: Attempt | undefined;
    while (pending.size > 0) {
      const wait =
        hedges < hedge.maxHedges && call.abortError === undefined && Number.isFinite(hedge.delayMs)
          ? sleep(this.#clock, hedge.delayMs)
          : undefined;
      const next = await Promise.race(
        wait === undefined ? pending.values() : [...pending.values(), wait.promise],
      );
      wait?.cancel();
      if (next === undefined) {
        hedges++;
        if (!this.#resilience.allowHedge()) {
          hedges = hedge.maxHedges;
          continue;
        }
        const att = new Attempt(
          request,
          primary.origin,
          primary.guard,
          primary.upstream,
          this.#clock.now(),
          false,
        );
        if (this.#exchanger.beginHedge(call, request, opts, stream, att, primary.backend)) {
          this.#resilience.hedgeSent();
          flights.push(att);
          pending.set(att, this.#complete(call, request, opts, stream, att));
        }
        continue;
      }
      pending.delete(next);
      last = next;
      if (next.error === undefined && next.result!.status < 500) {
        winner = next;
        break;
      }
    }
    winner ??= last!;
    if (pending.size > 0) {
      const lost = new AbortError('another request of the attempt answered first');
      for (const att of pending.keys()) att.exchange?.abort(lost);
      await Promise.all(pending.values());
    }
    for (const att of flights) {
      if (att === winner) continue;
      discard(att);
      this.#exchanger.end(call, request, stream, att, 'loser');
    }
    this.#exchanger.end(call, request, stream, winner, 'winner');
    if (winner !== primary) this.#resilience.hedgesWon++;
    return winner;
  }
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** Only a request that is safe to send twice at once is hedged. */
function hedgeable(request: PreparedRequest): boolean {
  return request.body.replayable && (request.idempotencyKey || IDEMPOTENT.has(request.method));
}

/** A timer resolving with undefined, cancellable. */
function sleep(clock: Clock, ms: number): { promise: Promise<undefined>; cancel(): void } {
  let timer: ReturnType<Clock['setTimeout']> | undefined;
  const promise = new Promise<undefined>((resolve) => {
    timer = clock.setTimeout(() => resolve(undefined), ms);
  });
  return { promise, cancel: () => clock.clearTimeout(timer!) };
}

/** The request as hooks see it: a mutable copy of its headers. */
export function hookRequest(request: PreparedRequest): HookRequest & { headers: HookHeaders } {
  return {
    method: request.method,
    url: redactUrl(request.target.href),
    headers: HookHeaders.of(request.headers),
  };
}

/**
 * Runs the `beforeRequest` hooks; the attempt goes out with the headers they leave
 * (checked as the caller's own would be).
 */
function beforeRequest(
  call: Call,
  request: PreparedRequest,
  hooks: ResolvedHooks,
): PreparedRequest | Promise<PreparedRequest> {
  const seen = hookRequest(request);
  const ran = runHooks('beforeRequest', hooks.beforeRequest, seen);
  if (ran === undefined) return withHeaders(request, seen.headers);
  return ran.then(() => {
    // A hook may take its time: the call may have ended meanwhile.
    if (call.abortError !== undefined) throw call.abortError;
    return withHeaders(request, seen.headers);
  });
}

/** The request with the headers its hooks left, checked as the caller's own would be. */
function withHeaders(request: PreparedRequest, headers: HookHeaders): PreparedRequest {
  if (!headers.changed) return request;
  // Field for field in the order `prepareRequest` assembles them: a spread would make an
  // object of another hidden class, and every stage after this one would see two.
  return {
    method: request.method,
    target: request.target,
    headers: checkFramingHeaders(normalizeHeaders(headers)),
    body: request.body,
    idempotencyKey: request.idempotencyKey,
  };
}
