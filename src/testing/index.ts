/**
 * `http-sentinel/testing`: a real loopback server with routes, fault injection and a
 * request log for testing code that uses the client, and {@link ManualClock} to drive the
 * client's timers (backoff, breaker windows, idle eviction) without waiting.
 *
 * @example
 * ```ts
 * import { HttpClient } from 'http-sentinel';
 * import { startTestServer } from 'http-sentinel/testing';
 *
 * await using server = await startTestServer();
 * server.route('GET', '/items', { json: [1, 2, 3] });
 * await using client = new HttpClient({ baseUrl: server.url });
 * console.log((await client.get('/items')).json());
 * ```
 */
export { type Clock, ManualClock, type TimerHandle } from '../core/clock.js';
export {
  type Fault,
  fault,
  type Handler,
  type HangFault,
  type PartialBodyFault,
  type RecordedRequest,
  type Reply,
  type ReplyInit,
  type ResetFault,
  Route,
  type Step,
} from './route.js';
export { startTestServer, type TestServer, type TestServerOptions } from './test-server.js';
