/**
 * The retry stage: the attempts of one hop, each through the exchange stage, until one
 * stands. Between attempts it asks the policy (with `Retry-After`), the retry budget and
 * the deadline whether to go on, reports the retry or its refusal, settles the breaker's
 * once-per-call verdicts, runs the `beforeRetry` hooks, and waits the delay. Before every
 * attempt it runs the `beforeRequest` hooks.
 */
import type { Clock } from '../core/clock.js';
import { AbortError } from '../core/errors.js';
import { headersFromRaw, normalizeHeaders } from '../core/headers.js';
import { redactUrl } from '../core/redact.js';
import type { Backend, ConnectionPool } from '../pool/index.js';
import { type PoolPort, portOf } from '../pool/pool-port.js';
import type { RetryEngine } from '../retry/index.js';
import { Attempt, discard } from './attempt.js';
import type { Call } from './call.js';
import type { Cookies } from './cookies.js';
import type { EventHub } from './events.js';
import type { Exchanger } from './exchange-stage.js';
import { HookHeaders, type HookRequest, type ResolvedHooks, runHooks } from './hooks.js';
import type { ResolvedOptions } from './options.js';
import { checkFramingHeaders, type PreparedRequest } from './prepare.js';
import type { Resilience } from './resilience.js';

export class RetryStage {
  readonly #port: PoolPort;
  readonly #exchanger: Exchanger;
  readonly #resilience: Resilience;
  readonly #clock: Clock;
  readonly #events: EventHub;
  /** The client's cookie jar, if it has one. */
  readonly #cookies: Cookies | undefined;

  constructor(
    pool: ConnectionPool,
    exchanger: Exchanger,
    resilience: Resilience,
    clock: Clock,
    events: EventHub,
    cookies: Cookies | undefined,
  ) {
    this.#port = portOf(pool);
    this.#exchanger = exchanger;
    this.#resilience = resilience;
    this.#clock = clock;
    this.#events = events;
    this.#cookies = cookies;
  }

  /**
   * The attempts of one hop. Resolves with the attempt that stands: its `result`, or its
   * `error` for the caller to throw. Nothing of a discarded attempt stays checked out.
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
    let previousDelay: number | undefined;
    let failed: Backend | undefined;
    const cookies = this.#cookies;
    for (let n = 0; ; n++) {
      // The jar is asked at every attempt: a retry carries what the last answer set.
      let sent = cookies === undefined ? request : cookies.attach(call, request);
      if (sent instanceof Promise) sent = await sent;
      if (hooks.beforeRequest.length > 0) sent = beforeRequest(call, sent, hooks);
      if (sent instanceof Promise) sent = await sent;
      const now = first && n === 0 ? call.startedAt : this.#clock.now();
      const exchanger = this.#exchanger;
      let att = new Attempt(origin, guard, upstream, now, n === 0);
      if (exchanger.begin(call, sent, opts, stream, att, failed, n === 0)) {
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
      // Only read by a retry, which follows a failure: the next pick passes it over.
      failed = att.backend;
      let delay: number | undefined;
      try {
        // Before the next attempt or hop goes out, so that it carries them.
        const storing =
          cookies === undefined || att.result === undefined
            ? undefined
            : cookies.store(sent, att.result.rawHeaders);
        if (storing !== undefined) await storing;
        if (call.abortError !== undefined) throw call.abortError;
        delay = this.#retryDelay(call, sent, engine, att, n, previousDelay);
      } catch (err) {
        // Nothing of this attempt may stay checked out: a streamed body holds its
        // connection until cancelled.
        discard(att);
        throw err;
      } finally {
        if (att.deferBreaker) {
          att.deferBreaker = false;
          this.#resilience.settleBreaker(
            att.guard!,
            att.verdict!,
            att.ticket,
            att.sentAt,
            att.endedAt - att.sentAt,
            delay !== undefined,
          );
        }
      }
      if (delay === undefined) return att;
      discard(att);
      previousDelay = delay;
      if (hooks.beforeRetry.length > 0) {
        await runHooks('beforeRetry', hooks.beforeRetry, {
          request: hookRequest(sent),
          error: att.error,
          response:
            att.result === undefined
              ? undefined
              : { status: att.result.status, headers: headersFromRaw(att.result.rawHeaders) },
          attempt: call.reportedAttempts + 1,
        });
      }
      await call.delay(delay);
    }
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

  /**
   * The delay before the next attempt, or undefined when this attempt's outcome stands
   * (no retry policy, a success it does not retry, a refusal by policy, budget or
   * deadline). Reports the retry, or its refusal.
   */
  #retryDelay(
    call: Call,
    request: PreparedRequest,
    engine: RetryEngine | undefined,
    att: Attempt,
    attempt: number,
    previousDelay: number | undefined,
  ): number | undefined {
    if (engine === undefined) return undefined;
    const error = att.error;
    if (error !== undefined && error.code === 'SENTINEL_CIRCUIT_OPEN') return undefined;
    const status = att.result?.status;
    const mightRetry =
      error !== undefined ||
      engine.config.statusCodes.has(status!) ||
      engine.config.shouldRetry !== undefined;
    if (!mightRetry) return undefined;
    const decision = engine.decide(
      {
        attempt,
        method: request.method,
        idempotencyKey: request.idempotencyKey,
        replayable: request.body.replayable,
        error,
        status,
        headers: att.result === undefined ? undefined : headersFromRaw(att.result.rawHeaders),
        remainingMs: call.remaining(),
      },
      previousDelay,
    );
    if (!decision.retry) return undefined;
    const refused = this.#resilience.refuseRetry();
    if (refused === undefined) {
      if (this.#events.retries) {
        this.#events.emit({
          type: 'retry',
          method: request.method,
          url: request.target.href,
          attempt: attempt + 1,
          delayMs: decision.delayMs,
          retryAfterMs: decision.retryAfterMs,
          status,
          error,
        });
      }
      return decision.delayMs;
    }
    if (this.#events.retries) {
      this.#events.emit({
        type: 'retry-refused',
        method: request.method,
        url: request.target.href,
        attempt: attempt + 1,
        by: refused,
      });
    }
    return undefined;
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
  const headers = new HookHeaders();
  const list = request.headers;
  for (let i = 0; i < list.length; i += 2) headers.append(list[i]!, list[i + 1]!);
  headers.changed = false;
  return { method: request.method, url: redactUrl(request.target.href), headers };
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
  return { ...request, headers: checkFramingHeaders(normalizeHeaders(headers)) };
}
