export type {
  MeterProviderLike,
  TelemetryOptions,
  TracerProviderLike,
} from '../telemetry/options.js';
export type {
  BreakerStateMessage,
  RequestChannelInfo,
  RequestEndMessage,
  RequestErrorMessage,
  RequestStartMessage,
  RequestTraceContext,
  RetryMessage,
} from './channels.js';
export type { CookieJarLike } from './cookies.js';
export type {
  AttemptEvent,
  BreakerEvent,
  ClientEvent,
  RetryEvent,
  RetryRefusedEvent,
} from './events.js';
export type { AnyResponse, HookRequest, Hooks, RetryHookContext } from './hooks.js';
export { type ClientStats, HttpClient, type RequestInit } from './http-client.js';
export type { OptionName } from './option-names.js';
export {
  type AdaptiveOptions,
  type ClientOptions,
  type ClientUpstreamOptions,
  DEFAULT_REQUEST_OPTIONS,
  type HedgeOptions,
  type RequestOptions,
} from './options.js';
export type { SearchParamsInit } from './prepare.js';
export type { Progress, ProgressCallback } from './progress.js';
export { CREDENTIAL_HEADERS, DEFAULT_REDIRECT_STRIP_HEADERS } from './redirect.js';
export type { HostResilienceStats, RetryStats } from './resilience.js';
export {
  HttpResponse,
  type ServerSentEvent,
  StreamingResponse,
  type Timings,
} from './response.js';
