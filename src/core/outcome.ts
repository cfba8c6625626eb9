/**
 * The one outcome classifier: for every way an attempt can end, whose fault it is and what
 * each consumer does with it. The circuit breaker, host health, the retry budget, upstream
 * backends, the retry policy and the pool's statistics all read their verdict here and
 * nowhere else, so they can never disagree about a 429, a queue deadline or an abort.
 *
 * Pure: it reads the error's stable `code` (never its message) and the status.
 */
import { isSentinelError } from './errors.js';

/** What happened to an attempt, in one word: the rows of {@link VERDICTS}. */
export type OutcomeKind =
  /** A response below 400 (a redirect included). */
  | 'ok'
  /** 4xx other than 429: the host answered; the request was wrong or refused. */
  | 'client-error'
  /** 429: the host is alive and asks for less traffic. */
  | 'throttled'
  /** 5xx other than 502/503/504: the host is up, this endpoint is broken. */
  | 'server-error'
  /** 502, 503, 504: the host (or what stands in front of it) cannot serve. */
  | 'unavailable'
  /** No connection: refused, reset before the response, DNS, TLS. */
  | 'connect-failed'
  /** The TCP or TLS handshake did not finish within `connectTimeout`. */
  | 'connect-timeout'
  /** A kept-alive socket the server had closed while idle failed before any response. */
  | 'stale-socket'
  /** The connection broke after the response had begun (a cut-off body). */
  | 'connection-lost'
  /** The attempt's own deadline (headers, body or attempt) ran out on the wire. */
  | 'timeout'
  /** The whole call's deadline ran out while the request was on the wire. */
  | 'deadline'
  /** The response was not valid HTTP. */
  | 'protocol'
  /** The attempt never reached the wire: our queue, our deadline or a close ended it. */
  | 'not-sent'
  /** The caller's signal. */
  | 'caller-abort'
  /** The caller's request body source failed. */
  | 'caller-body'
  /** The request or an option was invalid. */
  | 'invalid'
  /** The response body passed our `maxBodySize`. */
  | 'body-too-large'
  /** An open breaker kept the attempt from being sent. */
  | 'circuit-open'
  /** The pool or client was closed. */
  | 'closed'
  /** An error that is not http-sentinel's: the caller's own work in `execute()`. */
  | 'foreign';

/** Whose doing an outcome is. */
export type Fault = 'host' | 'caller' | 'client' | 'none';

/** What every consumer does with one kind of outcome. */
export interface Verdict {
  readonly kind: OutcomeKind;
  readonly fault: Fault;
  /**
   * Circuit breaker: `down` extends a run of host-down failures, `alive` ends it (the
   * host answered), `none` says nothing.
   */
  readonly breaker: 'down' | 'alive' | 'none';
  /** Host health and shedding (SRE accepts): served, refused, or not recorded. */
  readonly health: 'served' | 'refused' | 'none';
  /** Upstream backend (balancer latency, outlier ejection): a result or nothing. */
  readonly backend: 'success' | 'failure' | 'none';
  /**
   * Retry policy by default: `status` when the status is in `statusCodes`, `phase` when
   * the timeout phase is in `timeoutPhases`, `errno` unless the system error is permanent.
   */
  readonly retry: 'status' | 'phase' | 'errno' | 'never';
  /** The pool's per-host request counters. */
  readonly stats: 'succeeded' | 'failed' | 'none';
}

function verdict(
  kind: OutcomeKind,
  fault: Fault,
  breaker: Verdict['breaker'],
  health: Verdict['health'],
  backend: Verdict['backend'],
  retry: Verdict['retry'],
  stats: Verdict['stats'],
): Verdict {
  return Object.freeze({ kind, fault, breaker, health, backend, retry, stats });
}

/**
 * The table. A host is charged (`down`, `refused`, `failure`) only for what it did; our
 * own queue, deadline, limits and the caller's doing are `none` everywhere.
 */
export const VERDICTS: Readonly<Record<OutcomeKind, Verdict>> = Object.freeze({
  ok: verdict('ok', 'none', 'alive', 'served', 'success', 'status', 'succeeded'),
  'client-error': verdict(
    'client-error',
    'caller',
    'alive',
    'served',
    'success',
    'status',
    'succeeded',
  ),
  throttled: verdict('throttled', 'host', 'alive', 'refused', 'none', 'status', 'succeeded'),
  'server-error': verdict(
    'server-error',
    'host',
    'alive',
    'refused',
    'failure',
    'status',
    'failed',
  ),
  unavailable: verdict('unavailable', 'host', 'down', 'refused', 'failure', 'status', 'failed'),
  'connect-failed': verdict(
    'connect-failed',
    'host',
    'down',
    'refused',
    'failure',
    'errno',
    'failed',
  ),
  'connect-timeout': verdict(
    'connect-timeout',
    'host',
    'down',
    'refused',
    'failure',
    'phase',
    'failed',
  ),
  'stale-socket': verdict('stale-socket', 'none', 'none', 'none', 'none', 'errno', 'none'),
  'connection-lost': verdict(
    'connection-lost',
    'host',
    'down',
    'refused',
    'failure',
    'errno',
    'failed',
  ),
  timeout: verdict('timeout', 'host', 'down', 'refused', 'failure', 'phase', 'failed'),
  deadline: verdict('deadline', 'caller', 'none', 'none', 'none', 'never', 'none'),
  protocol: verdict('protocol', 'host', 'none', 'refused', 'failure', 'never', 'failed'),
  'not-sent': verdict('not-sent', 'client', 'none', 'none', 'none', 'phase', 'none'),
  'caller-abort': verdict('caller-abort', 'caller', 'none', 'none', 'none', 'never', 'none'),
  'caller-body': verdict('caller-body', 'caller', 'none', 'none', 'none', 'never', 'none'),
  invalid: verdict('invalid', 'caller', 'none', 'none', 'none', 'never', 'none'),
  'body-too-large': verdict('body-too-large', 'client', 'none', 'none', 'none', 'never', 'none'),
  'circuit-open': verdict('circuit-open', 'client', 'none', 'none', 'none', 'never', 'none'),
  closed: verdict('closed', 'client', 'none', 'none', 'none', 'never', 'none'),
  foreign: verdict('foreign', 'host', 'down', 'refused', 'failure', 'errno', 'failed'),
});

/** How an attempt ended, as far as the classifier needs to know. */
export interface AttemptEnd {
  /** The response status, when one arrived. */
  readonly status?: number | undefined;
  /** The error the attempt ended with, if any. */
  readonly error?: unknown;
  /**
   * Whether the request reached the wire (it held a connection and was dispatched).
   * An attempt that never did is nobody's fault but ours. Default true.
   */
  readonly sent?: boolean | undefined;
  /** Whether it went out on a kept-alive socket (tells a stale socket from a dead host). */
  readonly reused?: boolean | undefined;
}

/** The kind of a status: see {@link OutcomeKind}. */
export function statusKind(status: number): OutcomeKind {
  if (status < 400) return 'ok';
  if (status < 500) return status === 429 ? 'throttled' : 'client-error';
  return status === 502 || status === 503 || status === 504 ? 'unavailable' : 'server-error';
}

/** The kind of outcome of one attempt (see {@link VERDICTS} for what each kind means). */
export function outcomeKind(end: AttemptEnd): OutcomeKind {
  const { error } = end;
  if (error === undefined) return end.status === undefined ? 'ok' : statusKind(end.status);
  if (!isSentinelError(error)) {
    return (error as { name?: unknown } | null)?.name === 'AbortError' ? 'caller-abort' : 'foreign';
  }
  switch (error.code) {
    case 'SENTINEL_ABORTED':
      return 'caller-abort';
    case 'SENTINEL_REQUEST_BODY':
      return 'caller-body';
    case 'SENTINEL_INVALID_REQUEST':
      return 'invalid';
    case 'SENTINEL_BODY_TOO_LARGE':
      return 'body-too-large';
    case 'SENTINEL_CIRCUIT_OPEN':
      return 'circuit-open';
    case 'SENTINEL_POOL_CLOSED':
      return 'closed';
    default:
      break;
  }
  // Beyond this point only the host could have caused it, and only if it heard of it.
  if (end.sent === false) return 'not-sent';
  switch (error.code) {
    case 'SENTINEL_HTTP_STATUS':
      return statusKind(error.status);
    case 'SENTINEL_TIMEOUT': {
      const phase = error.phase;
      if (phase === 'acquire') return 'not-sent';
      return phase === 'total' ? 'deadline' : phase === 'connect' ? 'connect-timeout' : 'timeout';
    }
    case 'SENTINEL_CONNECTION': {
      if (!error.beforeResponse) return 'connection-lost';
      return end.reused === true ? 'stale-socket' : 'connect-failed';
    }
    case 'SENTINEL_PROTOCOL':
      return 'protocol';
    default: {
      const unreachable: never = error;
      return unreachable;
    }
  }
}

/** The verdict on one attempt: what every consumer does with it. */
export function classify(end: AttemptEnd): Verdict {
  return VERDICTS[outcomeKind(end)];
}
