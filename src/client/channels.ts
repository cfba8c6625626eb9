/**
 * The client's `diagnostics_channel` channels, for APM agents and any code that wants to
 * watch every client in the process without holding them: a call's start, end and
 * error, retries, breaker transitions, and `tracingChannel('http-sentinel:request')`
 * around each call. Nothing is built for a channel without subscribers. The pool's own
 * channels are in `pool/channels.ts`.
 */
import dc from 'node:diagnostics_channel';
import type { SentinelError } from '../core/errors.js';
import { redactQueryParams, redactUrl } from '../core/redact.js';
import type { BreakerEvent, RetryEvent, RetryRefusedEvent } from './events.js';
import type { AnyResponse } from './hooks.js';

/**
 * The call a `http-sentinel:request:*` message is about: the same object in its start
 * message and in its end or error message, so a subscriber can pair them.
 */
export interface RequestChannelInfo {
  /** Upper-case method. */
  readonly method: string;
  /** The resolved target URL (never with credentials). */
  readonly url: string;
  /** `client.stream()` rather than a buffered call. */
  readonly stream: boolean;
}

/** Message of `http-sentinel:request:start`: a call passed its checks and begins. */
export interface RequestStartMessage {
  readonly request: RequestChannelInfo;
}

/**
 * Message of `http-sentinel:request:end`: the call's response is handed to the caller
 * (for a stream: at its headers), whatever its status.
 */
export interface RequestEndMessage {
  readonly request: RequestChannelInfo;
  readonly response: AnyResponse;
  /** From the call's start, retries and redirects included, in ms (the client's clock). */
  readonly durationMs: number;
}

/** Message of `http-sentinel:request:error`: the call ends with this error. */
export interface RequestErrorMessage {
  readonly request: RequestChannelInfo;
  readonly error: SentinelError;
  readonly durationMs: number;
}

/** Message of `http-sentinel:retry`: a retry is scheduled, or the budget refused one. */
export type RetryMessage = RetryEvent | RetryRefusedEvent;

/** Message of `http-sentinel:breaker:state`: a host's circuit breaker changed state. */
export type BreakerStateMessage = BreakerEvent;

/**
 * The context object of `tracingChannel('http-sentinel:request')`, one per call: its
 * `start`, `end`, `asyncStart`, `asyncEnd` and `error` events all carry it; Node sets
 * `result` or `error` on it when the call settles.
 */
export interface RequestTraceContext {
  /** The method as given. */
  readonly method: string;
  /** The URL as given (relative to `baseUrl` if so), credentials redacted. */
  readonly url: string;
  readonly stream: boolean;
  result?: AnyResponse;
  error?: unknown;
}

/** @internal */
export const requestStartChannel = dc.channel('http-sentinel:request:start');
/** @internal */
export const requestEndChannel = dc.channel('http-sentinel:request:end');
/** @internal */
export const requestErrorChannel = dc.channel('http-sentinel:request:error');
/** @internal */
export const retryChannel = dc.channel('http-sentinel:retry');
/** @internal */
export const breakerChannel = dc.channel('http-sentinel:breaker:state');
/** @internal */
export const requestTracing = dc.tracingChannel<unknown, RequestTraceContext>(
  'http-sentinel:request',
);

/**
 * Whether `tracingChannel('http-sentinel:request')` has subscribers. The tracing
 * channel's own getter, where Node has it; else its five channels asked one by one.
 */
export const tracingWatched: () => boolean =
  typeof (requestTracing as { hasSubscribers?: unknown }).hasSubscribers === 'boolean'
    ? () => requestTracing.hasSubscribers
    : () =>
        requestTracing.start.hasSubscribers ||
        requestTracing.end.hasSubscribers ||
        requestTracing.asyncStart.hasSubscribers ||
        requestTracing.asyncEnd.hasSubscribers ||
        requestTracing.error.hasSubscribers;

/** Runs a call under the tracing channel (the caller checked for subscribers). */
export function traceCall<T extends AnyResponse>(
  method: string,
  url: string | URL,
  stream: boolean,
  redact: ReadonlySet<string>,
  run: () => Promise<T>,
): Promise<T> {
  const context: RequestTraceContext = {
    method,
    url: redactQueryParams(redactUrl(typeof url === 'string' ? url : String(url)), redact),
    stream,
  };
  return requestTracing.tracePromise(run, context);
}

/**
 * Publishes a call's start when any `request:*` channel has subscribers, and returns what
 * its end or error message will carry; undefined (and nothing published for this call,
 * ever) otherwise, so that every start seen is followed by one end or error.
 */
export function callStarted(
  method: string,
  href: string,
  stream: boolean,
  redact: ReadonlySet<string>,
): RequestChannelInfo | undefined {
  if (
    !requestStartChannel.hasSubscribers &&
    !requestEndChannel.hasSubscribers &&
    !requestErrorChannel.hasSubscribers
  ) {
    return undefined;
  }
  const request: RequestChannelInfo = { method, url: redactQueryParams(href, redact), stream };
  if (requestStartChannel.hasSubscribers) {
    const message: RequestStartMessage = { request };
    requestStartChannel.publish(message);
  }
  return request;
}

/** Publishes the end of a call that {@link callStarted} reported. */
export function callEnded(
  request: RequestChannelInfo,
  response: AnyResponse,
  durationMs: number,
): void {
  if (!requestEndChannel.hasSubscribers) return;
  const message: RequestEndMessage = { request, response, durationMs };
  requestEndChannel.publish(message);
}

/** Publishes the error of a call that {@link callStarted} reported. */
export function callFailed(
  request: RequestChannelInfo,
  error: SentinelError,
  durationMs: number,
): void {
  if (!requestErrorChannel.hasSubscribers) return;
  const message: RequestErrorMessage = { request, error, durationMs };
  requestErrorChannel.publish(message);
}
