/**
 * `@opentelemetry/api`, an optional peer dependency, loaded on first need (the first
 * client constructed) and once per process. When it is not installed nothing is loaded,
 * nothing is thrown, and the client runs without OpenTelemetry. It is `require`d, which
 * gives the same copy an ESM user imports (the package has one CommonJS entry for both)
 * and, in any case, the API keeps its registrations on a global symbol shared by copies.
 */
import { createRequire } from 'node:module';
import type * as OtelApi from '@opentelemetry/api';

/** @internal */
export type Api = typeof OtelApi;

/** Undefined: not tried yet; null: not installed (or failed to load). */
let loaded: Api | null | undefined;

/** @internal The API, or undefined when it is not installed. */
export function otelApi(): Api | undefined {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)('@opentelemetry/api') as Api;
    } catch (err) {
      loaded = null;
      // Absent is the normal case; present but broken is worth a word.
      if ((err as { code?: unknown }).code !== 'MODULE_NOT_FOUND') {
        process.emitWarning(
          `@opentelemetry/api failed to load; telemetry is off: ${String(err)}`,
          'SentinelTelemetryWarning',
        );
      }
    }
  }
  return loaded ?? undefined;
}
