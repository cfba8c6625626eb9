/**
 * Origins: the key under which connections, limits and statistics are kept.
 */
import { InvalidRequestError } from '../core/errors.js';

/** A parsed origin. */
export interface Origin {
  /** `http://host:port`, the form undici connects to (default ports omitted). */
  readonly origin: string;
  /** `host:port` with the port always present: the key of {@link HostStats}. */
  readonly key: string;
  readonly hostname: string;
  readonly port: number;
  readonly tls: boolean;
}

const cache = new Map<string, Origin>();
const CACHE_LIMIT = 1024;

function build(protocol: string, hostname: string, port: number): Origin {
  const tls = protocol === 'https:';
  const defaultPort = tls ? 443 : 80;
  const host = hostname.includes(':') && !hostname.startsWith('[') ? `[${hostname}]` : hostname;
  return {
    origin: `${protocol}//${host}${port === defaultPort ? '' : `:${port}`}`,
    key: `${host}:${port}`,
    hostname: host,
    port,
    tls,
  };
}

/** The origin string of the same host and port under the other scheme. */
export function otherSchemeOf(origin: Origin): string {
  const tls = !origin.tls;
  const defaultPort = tls ? 443 : 80;
  return `${tls ? 'https:' : 'http:'}//${origin.hostname}${origin.port === defaultPort ? '' : `:${origin.port}`}`;
}

/** Characters that would make `host` more than a host name once put into a URL. */
const NOT_A_HOST = /[/?#@\\\s\0]|^$/;

/**
 * Parses `acquire`'s arguments: `('host', port)`, `('http://host:port')`, or a URL.
 * Port 443 without a scheme means TLS.
 */
export function parseOrigin(hostOrOrigin: string | URL, port?: number): Origin {
  if (port !== undefined) return parseHostPort(hostOrOrigin, port);
  const text = typeof hostOrOrigin === 'string' ? hostOrOrigin : hostOrOrigin.origin;
  const hit = cache.get(text);
  if (hit !== undefined) return hit;
  let url: URL;
  try {
    url = typeof hostOrOrigin === 'string' ? new URL(hostOrOrigin) : hostOrOrigin;
  } catch (cause) {
    throw new InvalidRequestError(`invalid origin ${JSON.stringify(text)}`, { cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidRequestError(
      `unsupported protocol ${url.protocol} in ${JSON.stringify(text)}`,
    );
  }
  const origin = build(
    url.protocol,
    url.hostname,
    url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port),
  );
  remember(text, origin);
  return origin;
}

function parseHostPort(host: unknown, port: number): Origin {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidRequestError(`invalid port ${String(port)}`);
  }
  if (typeof host !== 'string' || NOT_A_HOST.test(host)) {
    throw new InvalidRequestError(`invalid host ${JSON.stringify(String(host))}`);
  }
  // A space cannot occur in a valid host, so this key never collides with an origin.
  const cacheKey = `${host} ${port}`;
  const hit = cache.get(cacheKey);
  if (hit !== undefined) return hit;
  // The WHATWG URL parser is the judge of what a host is, and normalises it the way
  // undici will (lower case, punycode, IPv6 brackets), so the key matches the origin
  // form. Without this check, `host?x` or `user@host` reached undici, which threw its
  // own unwrapped error, or connected somewhere other than the key says.
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  let url: URL;
  try {
    url = new URL(`http://${bracketed}:${port}`);
  } catch (cause) {
    throw new InvalidRequestError(`invalid host ${JSON.stringify(host)}`, { cause });
  }
  const origin = build(port === 443 ? 'https:' : 'http:', url.hostname, port);
  remember(cacheKey, origin);
  return origin;
}

function remember(key: string, origin: Origin): void {
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, origin);
}
