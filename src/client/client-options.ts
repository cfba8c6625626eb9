/**
 * The options of an {@link HttpClient} as a whole: its defaults for every request, and
 * what only a client has (the pool, the guards, the base URL, telemetry).
 */

import type { Clock } from '../core/clock.js';
import type { HeadersInit } from '../core/headers.js';
import type {
  BackendSpec,
  ConnectionPool,
  PoolConfig,
  ProxyOption,
  UpstreamOptions,
} from '../pool/index.js';
import type {
  CircuitBreakerConfig,
  HostHealthConfig,
  RetryBudgetConfig,
  RetryConfig,
  RetryEngine,
} from '../retry/index.js';
import type { TelemetryOptions } from '../telemetry/options.js';
import type { CookieJarLike } from './cookies.js';
import type { OptionName } from './option-names.js';
import type { RequestOptions } from './options.js';

/** `ClientOptions.adaptive`: the host health settings, and whether to shed first attempts. */
export interface AdaptiveOptions extends Partial<HostHealthConfig> {
  /**
   * Shed a share of first attempts too (SRE client-side throttling), not only retries,
   * when a host accepts fewer requests than it is sent.
   * @default false
   */
  shedFirstAttempts?: boolean;
}

/**
 * One upstream of `ClientOptions.upstreams`: its backends and the options of
 * `pool.addUpstream`.
 */
export interface ClientUpstreamOptions extends Partial<UpstreamOptions> {
  /** Origins such as `'http://10.0.0.1:8080'`, or `{ origin, weight }`. */
  backends: readonly BackendSpec[];
}

/** Options of a {@link HttpClient}. */
export interface ClientOptions
  extends Omit<RequestOptions, 'signal' | 'idempotencyKey' | 'retry' | 'json' | 'searchParams'> {
  /**
   * A prefix for request URLs that are not absolute (ky's `prefixUrl`): its path is kept,
   * with one `/` between it and the request's path whatever slashes either has. A URL with
   * a scheme (`https://…`) or a `URL` object is used as it is; `..` may not climb out of
   * the base's path. No query or fragment: give those with each request.
   * @example
   * ```ts
   * const api = new HttpClient({ baseUrl: 'https://api.example.com/v1' });
   * await api.get('/users/1'); // https://api.example.com/v1/users/1, as is 'users/1'
   * ```
   */
  baseUrl?: string | URL;
  /**
   * Sent with every request; a request's own headers override by name. A plain object's
   * keys must not be option names (see {@link OptionName}).
   */
  headers?: HeadersInit<OptionName>;
  /**
   * Headers dropped, besides `authorization`, `cookie` and `proxy-authorization` (always
   * dropped), when a redirect leads to another origin. Giving a list replaces the
   * default one; `[]` drops only those three.
   * @default DEFAULT_REDIRECT_STRIP_HEADERS: x-api-key, api-key, x-auth-token,
   *   x-access-token, x-refresh-token, x-session-token, x-csrf-token, x-xsrf-token,
   *   x-amz-security-token, x-goog-api-key, ocp-apim-subscription-key, x-functions-key,
   *   x-vault-token, private-token
   * @example
   * ```ts
   * new HttpClient({ redirectStripHeaders: [...DEFAULT_REDIRECT_STRIP_HEADERS, 'x-tenant-key'] });
   * ```
   */
  redirectStripHeaders?: readonly string[];
  /**
   * A cookie jar (got's option): a `tough-cookie` `CookieJar`, or an object with its
   * `getCookieString(url)` and `setCookie(cookie, url)`. Every response's `Set-Cookie`
   * (redirects, error statuses and retried attempts included) is stored in it, and every
   * attempt and redirect hop sends the cookies the jar gives for its URL, merged with a
   * `cookie` header of the request's own (the request's value wins for a name in both).
   * The jar decides scope and expiry; a cookie it refuses is dropped, as browsers do. A
   * jar that fails fails the call with `InvalidRequestError`. `extend()` children inherit
   * it unless they give their own.
   * @example
   * ```ts
   * import { CookieJar } from 'tough-cookie';
   * const client = new HttpClient({ cookieJar: new CookieJar() });
   * ```
   */
  cookieJar?: CookieJarLike;
  /**
   * Query parameters whose values an error's `url` and message show as `***` (names
   * compared case-insensitively). Giving a list replaces the default one; `[]` hides none.
   * Credentials in the URL's userinfo are never shown, whatever this says.
   * @default DEFAULT_REDACT_QUERY_PARAMS: api_key, access_token, token, key, signature,
   *   sig, password, secret, client_secret, x-amz-signature and others (docs/errors.md)
   * @example
   * ```ts
   * new HttpClient({ redactQueryParams: [...DEFAULT_REDACT_QUERY_PARAMS, 'session'] });
   * ```
   */
  redactQueryParams?: readonly string[];
  /** A pool to share, or options for the client's own. */
  pool?: ConnectionPool | Partial<PoolConfig>;
  /**
   * A forward proxy for the client's own pool (`PoolConfig.proxy`): a URL such as
   * `http://user:pass@proxy:3128`, `'env'` for `http_proxy`/`https_proxy`/`all_proxy`/
   * `no_proxy` (lower case first, as curl reads them), or
   * `{ httpProxy, httpsProxy, noProxy }`. `http:` requests go to the proxy in absolute
   * form, `https:` ones through a `CONNECT` tunnel with TLS to the target; credentials
   * go to the proxy only. A shared `pool` takes its proxy in its own config.
   * @default undefined (direct connections)
   * @example
   * ```ts
   * new HttpClient({ proxy: 'env' });
   * new HttpClient({ proxy: { httpsProxy: 'http://proxy:3128', noProxy: 'localhost,.internal' } });
   * ```
   */
  proxy?: ProxyOption;
  /** Retry settings, an engine to share, or `false` for none. @default 3 attempts */
  retry?: Partial<RetryConfig> | RetryEngine | false;
  /** Per-host circuit breaker settings, or `false` for none. @default on */
  circuitBreaker?: Partial<CircuitBreakerConfig> | false;
  /**
   * Client-wide retry budget (Finagle): retries as a share of recent requests with a
   * floor, or `false` for none.
   * @default { percentCanRetry: 0.2, minRetriesPerSecond: 10, ttlMs: 10000 }
   */
  retryBudget?: Partial<RetryBudgetConfig> | false;
  /**
   * Per-host adaptive retry (gRPC-style throttling of retries and SRE-style accept
   * ratio), or `false` for none.
   * @default on, without shedding first attempts
   */
  adaptive?: AdaptiveOptions | false;
  /** Source of time and randomness; tests pass a fake one. */
  clock?: Clock;
  /**
   * Named sets of backends, added to the client's pool with `pool.addUpstream`: a
   * request to `http://<name>/path` goes to the backend the upstream's balancer picks.
   * All are checked before any is added, so a bad one fails the constructor before a
   * health check is sent. Added to a shared `pool` too (a name it already has is an
   * error), and removed from it again by `client.close()`.
   * @example
   * ```ts
   * const client = new HttpClient({
   *   upstreams: { api: { backends: ['http://10.0.0.1:8080', 'http://10.0.0.2:8080'] } },
   * });
   * await client.get('http://api/users');
   * ```
   */
  upstreams?: Record<string, ClientUpstreamOptions>;
  /**
   * OpenTelemetry providers to use instead of the global ones, or `false` for no
   * OpenTelemetry. Used only when `@opentelemetry/api` is installed (an optional peer
   * dependency), and decided when the client is made: register the SDK first. Spans
   * and metrics follow the HTTP client semantic conventions (README, Observability).
   * @default the global providers, when an SDK has registered them
   * @example
   * ```ts
   * new HttpClient({ telemetry: { meterProvider, tracerProvider } });
   * ```
   */
  telemetry?: TelemetryOptions | false;
}
