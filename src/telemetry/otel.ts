/**
 * OpenTelemetry for one client family, by the HTTP client semantic conventions: a CLIENT
 * span per request sent (each retry, redirect hop and hedge its own, with
 * `http.request.resend_count`), under the caller's active context, with `traceparent`
 * injected by the global propagator; `http.client.request.duration`; and the library's
 * own `http_sentinel.*` counters. The stages call it at a few points, only when the
 * client has it: a client without OpenTelemetry holds none and pays nothing.
 */
import type {
  Attributes,
  Counter,
  Histogram,
  Meter,
  Span,
  TextMapSetter,
  Tracer,
} from '@opentelemetry/api';
import { InvalidRequestError } from '../core/errors.js';
import type { HeaderList } from '../core/headers.js';
import { bareHost } from '../pool/channels.js';
import type { ConnectionPool, Origin } from '../pool/index.js';
import { VERSION } from '../version.js';
import {
  DURATION_BUCKETS,
  ERROR_TYPE,
  fullUrl,
  hostAttributes,
  METHOD,
  methodOf,
  REFUSED_BY,
  RESEND_COUNT,
  SCOPE,
  SERVER_ADDRESS,
  SERVER_PORT,
  STATUS_CODE,
  setMethod,
  URL_FULL,
  URL_SCHEME,
  urlAttributes,
} from './attributes.js';
import { type BreakerStates, watch } from './observed.js';
import type { TelemetryOptions } from './options.js';
import { type Api, otelApi } from './otel-api.js';

/** @internal What the instrumentation reads of an attempt (the client's `Attempt`). */
export interface TracedAttempt {
  /** The attempt's span while it is open. */
  span: unknown;
  readonly hedge: boolean;
  readonly origin: Origin | undefined;
  readonly sent: boolean;
  /** Client clock, ms. */
  readonly sentAt: number;
  readonly endedAt: number;
  readonly result: { readonly status: number } | undefined;
  readonly error: { readonly code: string; readonly message: string } | undefined;
}

/** Writes a propagator's fields into a flat header list, replacing any of the same name. */
const HEADER_SETTER: TextMapSetter<HeaderList> = {
  set(carrier, key, value) {
    const name = key.toLowerCase();
    for (let i = carrier.length - 2; i >= 0; i -= 2) {
      if (carrier[i] === name) carrier.splice(i, 2);
    }
    carrier.push(name, value);
  },
};

/** @internal */
export class Otel {
  readonly #api: Api;
  readonly #tracer: Tracer | undefined;
  readonly #meter: Meter | undefined;
  readonly #duration: Histogram | undefined;
  readonly #retries: Counter | undefined;
  readonly #refused: Counter | undefined;
  readonly #hedges: Counter | undefined;
  readonly #shed: Counter | undefined;
  readonly #wait: Histogram | undefined;
  #unwatch: (() => void) | undefined;

  constructor(api: Api, tracer: Tracer | undefined, meter: Meter | undefined) {
    this.#api = api;
    this.#tracer = tracer;
    this.#meter = meter;
    if (meter === undefined) return;
    this.#duration = meter.createHistogram('http.client.request.duration', {
      description: 'Duration of HTTP client requests.',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    this.#retries = meter.createCounter('http_sentinel.retries', {
      description:
        'Retries made: attempts after the first that policy, budget and deadline allowed.',
      unit: '{retry}',
    });
    this.#refused = meter.createCounter('http_sentinel.retries.refused', {
      description: 'Retries the policy allowed but the retry budget refused.',
      unit: '{retry}',
    });
    this.#hedges = meter.createCounter('http_sentinel.hedges', {
      description: 'Hedged requests sent while the first request of an attempt had no answer.',
      unit: '{request}',
    });
    this.#shed = meter.createCounter('http_sentinel.shed', {
      description: 'First attempts shed locally by adaptive throttling (never sent).',
      unit: '{request}',
    });
    this.#wait = meter.createHistogram('http_sentinel.pool.wait.duration', {
      description: "Time requests waited in the pool's queue for a connection.",
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
  }

  /** Whether spans are made (a tracer other than the API's no-op is in use). */
  get tracing(): boolean {
    return this.#tracer !== undefined;
  }

  /**
   * Observes the family's pool and breakers (`http.client.open_connections`,
   * `http_sentinel.breaker.state`, `http.client.connection.duration`) until {@link close}.
   */
  watch(pool: ConnectionPool, owner: object, breakers: BreakerStates): void {
    if (this.#meter !== undefined && this.#unwatch === undefined) {
      this.#unwatch = watch(this.#meter, pool, owner, breakers);
    }
  }

  /** Stops observing; spans and counters of calls still running go on. */
  close(): void {
    this.#unwatch?.();
    this.#unwatch = undefined;
  }

  /**
   * A request of `att` goes on the wire: its span starts (on the attempt's first send,
   * not on a resend on a fresh connection, which stays in it) under the caller's active
   * context, and the headers to send come back with the span's context injected.
   *
   * @param resendCount - requests of the call sent before this attempt (retries,
   *   redirect hops, hedges)
   * @param resend - the same attempt sent again (stale kept-alive socket)
   */
  sending(
    att: TracedAttempt,
    method: string,
    href: string,
    headers: HeaderList,
    resendCount: number,
    resend: boolean,
    redact?: ReadonlySet<string>,
  ): HeaderList {
    const origin = att.origin!;
    if (att.hedge && !resend) this.#hedges?.add(1, this.#hostAttributes(method, origin));
    const tracer = this.#tracer;
    if (tracer === undefined) return headers;
    const api = this.#api;
    const parent = api.context.active();
    let span = att.span as Span | undefined;
    if (span === undefined) {
      const attributes: Attributes = {
        [SERVER_ADDRESS]: bareHost(origin.hostname),
        [SERVER_PORT]: origin.port,
        [URL_FULL]: fullUrl(href, redact),
        [URL_SCHEME]: origin.tls ? 'https' : 'http',
      };
      setMethod(attributes, method);
      if (resendCount > 0) attributes[RESEND_COUNT] = resendCount;
      const known = methodOf(method);
      span = tracer.startSpan(
        known === '_OTHER' ? 'HTTP' : known,
        { kind: api.SpanKind.CLIENT, attributes },
        parent,
      );
      att.span = span;
    }
    const carrier = headers.slice();
    api.propagation.inject(api.trace.setSpan(parent, span), carrier, HEADER_SETTER);
    return carrier;
  }

  /**
   * An attempt ended (a stream: at its headers). For one that was sent: its span ends
   * with the status or the error, and its duration is recorded.
   */
  ended(att: TracedAttempt, method: string): void {
    const span = att.span as Span | undefined;
    if (span === undefined && (this.#duration === undefined || !att.sent)) return;
    att.span = undefined;
    const origin = att.origin!;
    const status = att.result?.status;
    const error = att.error;
    const errorType =
      error !== undefined
        ? error.code
        : status !== undefined && status >= 400
          ? String(status)
          : undefined;
    if (span !== undefined) {
      if (status !== undefined) span.setAttribute(STATUS_CODE, status);
      if (errorType !== undefined) {
        span.setAttribute(ERROR_TYPE, errorType);
        span.setStatus({ code: this.#api.SpanStatusCode.ERROR, message: error?.message });
      }
      span.end();
    }
    if (this.#duration === undefined) return;
    const attributes = this.#hostAttributes(method, origin);
    attributes[URL_SCHEME] = origin.tls ? 'https' : 'http';
    if (status !== undefined) attributes[STATUS_CODE] = status;
    if (errorType !== undefined) attributes[ERROR_TYPE] = errorType;
    this.#duration.record((att.endedAt - att.sentAt) / 1000, attributes);
  }

  /** A retry was scheduled (`refusedBy` undefined) or refused. */
  retry(method: string, url: string, refusedBy: string | undefined): void {
    const attributes = urlAttributes(url);
    attributes[METHOD] = methodOf(method);
    if (refusedBy === undefined) {
      this.#retries?.add(1, attributes);
    } else {
      attributes[REFUSED_BY] = refusedBy;
      this.#refused?.add(1, attributes);
    }
  }

  /** Adaptive throttling shed a first attempt to host `key` (`host:port`). */
  shed(key: string): void {
    this.#shed?.add(1, hostAttributes(key));
  }

  /** A request waited `ms` in the pool's queue; `error` when it got no connection. */
  waited(origin: Origin, ms: number, error: { readonly code: string } | undefined): void {
    if (this.#wait === undefined) return;
    const attributes: Attributes = {
      [SERVER_ADDRESS]: bareHost(origin.hostname),
      [SERVER_PORT]: origin.port,
      [URL_SCHEME]: origin.tls ? 'https' : 'http',
    };
    if (error !== undefined) attributes[ERROR_TYPE] = error.code;
    this.#wait.record(ms / 1000, attributes);
  }

  #hostAttributes(method: string, origin: Origin): Attributes {
    const attributes: Attributes = {
      [SERVER_ADDRESS]: bareHost(origin.hostname),
      [SERVER_PORT]: origin.port,
    };
    setMethod(attributes, method);
    return attributes;
  }
}

/**
 * @internal The client's OpenTelemetry, or undefined when there is none to use: `false`; the API
 * not installed; or neither a tracer nor a meter beyond the API's no-ops (no SDK
 * registered, no provider given). Decided once, when the client is made: register the
 * SDK before creating clients, as OpenTelemetry asks of every instrumentation.
 *
 * @throws {InvalidRequestError} a malformed `telemetry` option, or providers given
 *   without `@opentelemetry/api` installed
 */
export function createOtel(option: TelemetryOptions | false | undefined): Otel | undefined {
  if (option === false) return undefined;
  if (option !== undefined) checkOption(option);
  const api = otelApi();
  if (api === undefined) {
    if (option?.meterProvider !== undefined || option?.tracerProvider !== undefined) {
      throw new InvalidRequestError('telemetry providers need @opentelemetry/api installed');
    }
    return undefined;
  }
  const meterProvider = option?.meterProvider ?? api.metrics.getMeterProvider();
  let meter = meterProvider.getMeter(SCOPE, VERSION) as Meter | undefined;
  if (meter === api.createNoopMeter()) meter = undefined;
  const tracerProvider = option?.tracerProvider ?? api.trace.getTracerProvider();
  let tracer = tracerProvider.getTracer(SCOPE, VERSION) as Tracer | undefined;
  // The global provider's stand-in while no SDK is registered.
  if (tracer instanceof api.ProxyTracer) tracer = undefined;
  if (meter === undefined && tracer === undefined) return undefined;
  return new Otel(api, tracer, meter);
}

function checkOption(option: unknown): void {
  if (typeof option !== 'object' || option === null) {
    throw new InvalidRequestError('telemetry must be { meterProvider?, tracerProvider? } or false');
  }
  const { meterProvider, tracerProvider, ...rest } = option as TelemetryOptions;
  for (const key of Object.keys(rest)) {
    throw new InvalidRequestError(`unknown telemetry option ${JSON.stringify(key)}`);
  }
  if (meterProvider !== undefined && typeof meterProvider.getMeter !== 'function') {
    throw new InvalidRequestError('telemetry.meterProvider must have getMeter()');
  }
  if (tracerProvider !== undefined && typeof tracerProvider.getTracer !== 'function') {
    throw new InvalidRequestError('telemetry.tracerProvider must have getTracer()');
  }
}
