/**
 * The public side of the client's OpenTelemetry option. Structural types, so that the
 * shipped declarations do not need `@opentelemetry/api` (an optional peer dependency)
 * to compile; the SDK's providers fit them.
 */

/** The part of an OpenTelemetry `MeterProvider` the client uses. */
export interface MeterProviderLike {
  getMeter(name: string, version?: string, options?: object): unknown;
}

/** The part of an OpenTelemetry `TracerProvider` the client uses. */
export interface TracerProviderLike {
  getTracer(name: string, version?: string, options?: object): unknown;
}

/**
 * `ClientOptions.telemetry`: the OpenTelemetry providers to use instead of the global
 * ones. Needs `@opentelemetry/api` installed.
 */
export interface TelemetryOptions {
  /** @default the global `metrics.getMeterProvider()` */
  meterProvider?: MeterProviderLike;
  /** @default the global `trace.getTracerProvider()` */
  tracerProvider?: TracerProviderLike;
}
