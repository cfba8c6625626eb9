/**
 * The client's side of an upstream: which backend an attempt goes to (the balancer's
 * pick, passing over the backend that just failed and those whose breaker is open),
 * how a pick ends (recorded with a verdict, or cancelled), and adding the client's
 * upstream definitions to its pool.
 */
import { CircuitOpenError, type SentinelError } from '../core/errors.js';
import { classify, type Verdict } from '../core/outcome.js';
import type { Exchange, ExchangeResult } from '../pool/exchange.js';
import type { Backend, ConnectionPool, Upstream } from '../pool/index.js';
import type { CheckedUpstream } from './options.js';
import type { HostGuard, Resilience } from './resilience.js';

/** Where an attempt is going and whether its pick is still open. */
export interface BackendPick {
  /** Why the attempt failed, if it did. */
  error: SentinelError | undefined;
  /** The host the attempt went to (undefined when an upstream had none to offer). */
  guard: HostGuard | undefined;
  /** The upstream the request goes through, if any. */
  upstream: Upstream | undefined;
  /** The backend picked for this attempt. */
  backend: Backend | undefined;
  /** The pick is neither recorded nor cancelled yet. */
  picked: boolean;
  /** The breaker's ticket of the host picked. */
  ticket: number;
}

/**
 * The round trip a backend is judged by: from the request going out to the response
 * headers (the response's `timings.ttfb`). Not from dispatch: connecting (and undici's
 * one-off parser setup) would make the first request to a backend look slow, and a
 * peak EWMA keeps such a peak for seconds. Not to the end of the body: a long stream
 * is not a slow backend.
 */
export function rttOf(result: ExchangeResult): number {
  return Math.max(0, result.ttfbMs - result.connectMs);
}

/**
 * Picks the backend of an upstream attempt, into `into.backend` and `into.guard`, or
 * sets `into.error`. A backend whose breaker refuses is passed over for another, so one
 * bad backend trips its own breaker without failing the upstream's calls; only when
 * every usable backend refuses does the attempt fail, with a `CircuitOpenError` naming
 * the upstream. Each backend is refused at most once, so this ends within
 * `backends.length + 1` picks.
 *
 * @param failed - the backend of the attempt before, passed over while another is usable
 * @param first - the call's first attempt (first-attempt shedding)
 * @param now - the client clock's reading the attempt starts at
 */
export function pickBackend(
  resilience: Resilience,
  upstream: Upstream,
  failed: Backend | undefined,
  first: boolean,
  into: BackendPick,
  now: number,
): void {
  // Passed over: the backends whose breaker refused, and while another is left, the
  // one that just failed. Sets are made only once a breaker refuses.
  let avoid: Backend | ReadonlySet<Backend> | undefined = failed;
  let refused: Set<Backend> | undefined;
  let refusal: CircuitOpenError | undefined;
  let retryAfterMs = Number.POSITIVE_INFINITY;
  for (let i = 0; i <= upstream.backends.length; i++) {
    let backend: Backend;
    try {
      backend = upstream.pick(avoid);
    } catch (err) {
      into.error = err as SentinelError;
      return;
    }
    if (refused?.has(backend)) {
      // The balancer fell back to an avoided backend: none is left but those refused
      // and perhaps the one that just failed, which beats none.
      upstream.cancel(backend);
      if (avoid === refused) break;
      avoid = refused;
      continue;
    }
    const guard = resilience.host(backend.origin.key);
    try {
      into.ticket = resilience.admit(backend.origin.key, guard, first, now);
    } catch (err) {
      upstream.cancel(backend);
      refusal = err as CircuitOpenError;
      retryAfterMs = Math.min(retryAfterMs, refusal.retryAfterMs);
      refused ??= new Set();
      refused.add(backend);
      avoid = failed === undefined || refused.has(failed) ? refused : new Set(refused).add(failed);
      continue;
    }
    into.backend = backend;
    into.guard = guard;
    into.picked = true;
    return;
  }
  // The soonest any backend lets a probe through.
  into.error = new CircuitOpenError(upstream.name, refusal === undefined ? 0 : retryAfterMs, {
    cause: refusal,
  });
}

/**
 * Ends an open pick with the classifier's verdict on the backend: `none` cancels it (no
 * outcome to learn from).
 */
export function endPick(pick: BackendPick, verdict: Verdict['backend'], rttMs: number): void {
  pick.picked = false;
  if (verdict === 'none') pick.upstream!.cancel(pick.backend!);
  else pick.upstream!.record(pick.backend!, verdict === 'success', rttMs);
}

/**
 * Ends the pick of an attempt whose streamed body ended: with the body's own failure when
 * the backend caused it (cut off, stalled); otherwise, the caller cancelling it included,
 * with the status it answered with. A body that ended before the attempt read its result
 * leaves the verdict to the attempt: only the result has the round trip.
 */
export function endStreamPick(
  pick: BackendPick & {
    result: ExchangeResult | undefined;
    streamEnded: boolean;
    streamVerdict: Verdict['backend'];
  },
  exchange: Exchange,
  error: SentinelError | undefined,
): void {
  let judged = classify({ status: exchange.status, error, reused: exchange.reused });
  if (judged.fault !== 'host') judged = classify({ status: exchange.status });
  if (pick.result !== undefined) {
    endPick(pick, judged.backend, rttOf(pick.result));
  } else {
    pick.streamEnded = true;
    pick.streamVerdict = judged.backend;
  }
}

/** Adds checked upstream definitions to `pool`, all or none. */
export function addUpstreams(pool: ConnectionPool, definitions: readonly CheckedUpstream[]): void {
  const added: string[] = [];
  try {
    for (const { name, backends, options } of definitions) {
      pool.addUpstream(name, backends, options);
      added.push(name);
    }
  } catch (err) {
    for (const name of added) pool.removeUpstream(name);
    throw err;
  }
}
