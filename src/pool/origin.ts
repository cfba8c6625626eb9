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

/**
 * Parses `acquire`'s arguments: `('host', port)`, `('http://host:port')`, or a URL.
 * Port 443 without a scheme means TLS.
 */
export function parseOrigin(hostOrOrigin: string | URL, port?: number): Origin {
  if (port !== undefined) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new InvalidRequestError(`invalid port ${String(port)}`);
    }
    if (
      typeof hostOrOrigin !== 'string' ||
      hostOrOrigin.length === 0 ||
      /[/\s]/.test(hostOrOrigin)
    ) {
      throw new InvalidRequestError(`invalid host ${String(hostOrOrigin)}`);
    }
    return build(port === 443 ? 'https:' : 'http:', hostOrOrigin.toLowerCase(), port);
  }
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
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(text, origin);
  return origin;
}
