/**
 * Options of an upstream: the public shape, the defaults, and the one place they are
 * checked and normalised.
 */
import { InvalidRequestError } from '../../core/errors.js';
import { STRATEGIES, type Strategy } from './balancers/balancer.js';
import { type HealthCheckOptions, normalizeHealthCheck } from './health-checker.js';
import { normalizeOutlierDetection, type OutlierDetectionOptions } from './outlier.js';

/** Options of `pool.addUpstream(name, backends, options)`. All optional. */
export interface UpstreamOptions {
  /**
   * How a backend is chosen: `'p2c-ewma'` (two random choices, lower peak-EWMA latency ×
   * load wins), `'least-connections'` (fewest in-flight per weight) or `'round-robin'`
   * (smooth weighted).
   * @default 'p2c-ewma'
   */
  strategy: Strategy;
  /**
   * Active health checks; off unless given. `{}` turns them on with the defaults of
   * `DEFAULT_HEALTH_CHECK`.
   * @default undefined
   */
  healthCheck: Partial<HealthCheckOptions> | false | undefined;
  /**
   * Passive outlier ejection; on by default with the defaults of
   * `DEFAULT_OUTLIER_DETECTION`; `false` turns it off.
   * @default {}
   */
  outlierDetection: Partial<OutlierDetectionOptions> | false;
}

/** The validated form of {@link UpstreamOptions}; a feature that is off is `undefined`. */
export interface NormalizedUpstreamOptions {
  readonly strategy: Strategy;
  readonly healthCheck: Readonly<HealthCheckOptions> | undefined;
  readonly outlierDetection: Readonly<OutlierDetectionOptions> | undefined;
}

/** The defaults that the documentation's table mirrors. */
export const DEFAULT_UPSTREAM_OPTIONS: Readonly<UpstreamOptions> = Object.freeze({
  strategy: 'p2c-ewma',
  healthCheck: undefined,
  outlierDetection: Object.freeze({}),
});

/** Every option, so that adding one to the interface without handling it fails to compile. */
const KNOWN: { readonly [K in keyof UpstreamOptions]-?: true } = {
  strategy: true,
  healthCheck: true,
  outlierDetection: true,
};

/**
 * Checks `user` and fills in defaults; never mutates its input.
 * @throws {InvalidRequestError} naming the first invalid option
 */
export function normalizeUpstreamOptions(
  user: Partial<UpstreamOptions> = {},
): NormalizedUpstreamOptions {
  if (typeof user !== 'object' || user === null || Array.isArray(user)) {
    throw new InvalidRequestError('upstream options must be an object');
  }
  for (const key of Object.keys(user)) {
    if (!(key in KNOWN)) throw new InvalidRequestError(`unknown upstream option ${key}`);
  }
  const strategy = user.strategy ?? DEFAULT_UPSTREAM_OPTIONS.strategy;
  if (!(STRATEGIES as readonly unknown[]).includes(strategy)) {
    throw new InvalidRequestError(
      `strategy must be one of ${STRATEGIES.map((s) => `'${s}'`).join(', ')}, got ${JSON.stringify(String(strategy))}`,
    );
  }
  const healthCheck =
    user.healthCheck === undefined || user.healthCheck === false
      ? undefined
      : normalizeHealthCheck(user.healthCheck);
  const outlierDetection =
    user.outlierDetection === false
      ? undefined
      : normalizeOutlierDetection(user.outlierDetection ?? {});
  return Object.freeze({ strategy, healthCheck, outlierDetection });
}

/**
 * Labels of letters, digits, `-` and `_`, as a URL host is after the parser lower-cases
 * it, and not ending in an all-digit label: that is an IPv4 address (which an upstream
 * must not shadow) or no host at all.
 */
const UPSTREAM_NAME = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;
const NUMERIC_LAST_LABEL = /(^|\.)\d+$/;

/**
 * Checks an upstream's name and returns it lower-cased. Requests reach an upstream by
 * using its name as a URL host, so a name the URL parser would change (case aside) could
 * never be reached: `svc.1` is not a host at all, `0x10` becomes `0.0.0.16`.
 * @throws {InvalidRequestError} when `name` cannot be a URL host
 */
export function normalizeUpstreamName(name: unknown): string {
  const lower = typeof name === 'string' ? name.toLowerCase() : '';
  if (
    lower.length > 253 ||
    !UPSTREAM_NAME.test(lower) ||
    NUMERIC_LAST_LABEL.test(lower) ||
    urlHost(lower) !== lower
  ) {
    throw new InvalidRequestError(
      `upstream name must be a host name such as 'api-backends', got ${typeof name === 'string' ? JSON.stringify(name) : String(name)}`,
    );
  }
  return lower;
}

function urlHost(host: string): string | undefined {
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return undefined;
  }
}
