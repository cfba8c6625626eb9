export type {
  AttemptEvent,
  BreakerEvent,
  ClientEvent,
  RetryEvent,
  RetryRefusedEvent,
} from './events.js';
export { type ClientStats, HttpClient, type RequestInit } from './http-client.js';
export {
  type ClientOptions,
  type ClientUpstreamOptions,
  DEFAULT_REQUEST_OPTIONS,
  type RequestOptions,
} from './options.js';
export { CREDENTIAL_HEADERS, DEFAULT_REDIRECT_STRIP_HEADERS } from './redirect.js';
export type { HostResilienceStats, RetryStats } from './resilience.js';
export {
  HttpResponse,
  type ServerSentEvent,
  StreamingResponse,
  type Timings,
} from './response.js';
