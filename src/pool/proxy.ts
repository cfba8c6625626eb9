/**
 * Proxy settings: which forward proxy, if any, a connection to an origin goes through.
 * The user's `proxy` option (a URL, `'env'`, or a table) is resolved once, when the pool
 * is made; {@link proxyFor} is then a pure lookup per new connection.
 */
import { BlockList, isIP } from 'node:net';
import { InvalidRequestError } from '../core/errors.js';
import { redactInvalidUrl } from '../core/redact.js';
import type { Origin } from './origin.js';

/**
 * Proxies per target scheme, with the hosts that bypass them: the shape of undici's
 * `EnvHttpProxyAgent` options.
 */
export interface ProxyTable {
  /** Proxy for `http:` targets. Unset: `http:` targets are reached directly. */
  httpProxy?: string | URL | undefined;
  /** Proxy for `https:` targets, through `CONNECT` tunnels. Unset: reached directly. */
  httpsProxy?: string | URL | undefined;
  /**
   * Targets reached directly, in `NO_PROXY` syntax: a list separated by commas or
   * spaces of host names (`example.com` and `.example.com` both match the host and its
   * subdomains), `host:port`, IP addresses, CIDR ranges (`10.0.0.0/8`), or `*` for all.
   */
  noProxy?: string | undefined;
}

/**
 * The `proxy` option: one proxy URL for every target (`http://user:pass@proxy:3128`),
 * `'env'` for the `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` environment variables, or a
 * {@link ProxyTable}.
 */
export type ProxyOption = 'env' | (string & {}) | URL | ProxyTable;

/** @internal One proxy, parsed. */
export interface ProxyEndpoint {
  /** `http://host:port`: the proxy as errors show it, never with credentials. */
  readonly url: string;
  /** Host name or IP, without IPv6 brackets: what `net.connect` takes. */
  readonly host: string;
  readonly port: number;
  /** True for an `https:` proxy: TLS to the proxy itself. */
  readonly tls: boolean;
  /** `Basic ...` from the URL's userinfo, for `Proxy-Authorization`; undefined without. */
  readonly authorization: string | undefined;
}

/** @internal A resolved `proxy` option. */
export interface ResolvedProxy {
  readonly http: ProxyEndpoint | undefined;
  readonly https: ProxyEndpoint | undefined;
  readonly noProxy: NoProxy;
}

/** @internal `NO_PROXY`, parsed. */
export interface NoProxy {
  /** `*`: nothing is proxied. */
  readonly all: boolean;
  /** Host names and IPs (lower case, IPv6 without brackets), each with a port or 0 for any. */
  readonly hosts: readonly { readonly host: string; readonly port: number }[];
  /** CIDR ranges; undefined when there are none. */
  readonly ranges: BlockList | undefined;
}

/**
 * Reads a proxy variable the way curl does: the lower-case name wins over the upper-case
 * one, and an empty value counts as unset.
 */
function variable(env: Readonly<Record<string, string | undefined>>, name: string): string {
  const lower = env[name.toLowerCase()];
  if (lower !== undefined && lower.trim() !== '') return lower.trim();
  return env[name.toUpperCase()]?.trim() ?? '';
}

/**
 * The {@link ProxyTable} an environment describes: what `proxy: 'env'` reads from
 * `process.env`, for callers that hold their environment elsewhere. As in curl, Go and
 * Python, a target scheme without its own variable falls back to `ALL_PROXY`, not to
 * the other scheme's proxy (undici's `EnvHttpProxyAgent` sends `https:` through
 * `HTTP_PROXY` too).
 *
 * @example
 * ```ts
 * proxyTableFromEnv({ https_proxy: 'http://proxy:3128', NO_PROXY: '.internal' });
 * // { httpProxy: undefined, httpsProxy: 'http://proxy:3128', noProxy: '.internal' }
 * ```
 */
export function proxyTableFromEnv(env: Readonly<Record<string, string | undefined>>): ProxyTable {
  const all = variable(env, 'all_proxy');
  return {
    httpProxy: variable(env, 'http_proxy') || all || undefined,
    httpsProxy: variable(env, 'https_proxy') || all || undefined,
    noProxy: variable(env, 'no_proxy'),
  };
}

/**
 * @internal Checks and resolves a `proxy` option. `'env'` reads `env` now (by default
 * `process.env`): later changes to the environment do not apply to a pool already made.
 *
 * @throws {InvalidRequestError} a proxy URL that does not parse or is not `http:`/`https:`
 */
export function resolveProxy(
  option: ProxyOption,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ResolvedProxy {
  if (option === 'env') return resolveTable(proxyTableFromEnv(env), 'environment');
  if (typeof option === 'string' || option instanceof URL) {
    const endpoint = parseProxyUrl(option, 'proxy');
    return { http: endpoint, https: endpoint, noProxy: NO_BYPASS };
  }
  if (typeof option !== 'object' || option === null || Array.isArray(option)) {
    throw new InvalidRequestError(
      "proxy must be a URL, 'env', or { httpProxy, httpsProxy, noProxy }",
    );
  }
  for (const key of Object.keys(option)) {
    if (key !== 'httpProxy' && key !== 'httpsProxy' && key !== 'noProxy') {
      throw new InvalidRequestError(`unknown proxy option ${key}`);
    }
  }
  return resolveTable(option, 'proxy');
}

function resolveTable(table: ProxyTable, where: string): ResolvedProxy {
  const { httpProxy, httpsProxy, noProxy } = table;
  if (noProxy !== undefined && typeof noProxy !== 'string') {
    throw new InvalidRequestError('proxy.noProxy must be a string');
  }
  const http = empty(httpProxy) ? undefined : parseProxyUrl(httpProxy!, `${where}.httpProxy`);
  const https = empty(httpsProxy) ? undefined : parseProxyUrl(httpsProxy!, `${where}.httpsProxy`);
  return { http, https, noProxy: parseNoProxy(noProxy ?? '') };
}

function empty(value: string | URL | undefined): boolean {
  return value === undefined || (typeof value === 'string' && value.trim() === '');
}

/**
 * @internal Parses one proxy URL. A value without a scheme (`proxy:3128`, common in environment
 * variables) is taken as `http://`, as curl does; the port defaults to the scheme's.
 *
 * @throws {InvalidRequestError} naming `name`, with any credentials redacted
 */
export function parseProxyUrl(value: string | URL, name: string): ProxyEndpoint {
  let url: URL;
  if (value instanceof URL) {
    url = value;
  } else {
    if (typeof value !== 'string') {
      throw new InvalidRequestError(`${name} must be a URL string`);
    }
    const text = value.trim();
    try {
      url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
    } catch {
      // Without the cause: it quotes the input, credentials and all.
      throw new InvalidRequestError(
        `${name} is not a valid URL: ${JSON.stringify(redactInvalidUrl(text))}`,
      );
    }
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidRequestError(
      `${name} has an unsupported scheme ${url.protocol} (http: and https: proxies are supported)`,
    );
  }
  if (url.hostname === '') {
    throw new InvalidRequestError(`${name} has no host`);
  }
  const tls = url.protocol === 'https:';
  const port = url.port === '' ? (tls ? 443 : 80) : Number(url.port);
  let authorization: string | undefined;
  if (url.username !== '' || url.password !== '') {
    let credentials: string;
    try {
      credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    } catch {
      throw new InvalidRequestError(`${name} has badly escaped credentials`);
    }
    authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }
  return {
    url: `${url.protocol}//${url.host}`,
    host: unbracket(url.hostname),
    port,
    tls,
    authorization,
  };
}

const NO_BYPASS: NoProxy = Object.freeze({ all: false, hosts: [], ranges: undefined });

/**
 * @internal Parses a `NO_PROXY` value. Entries that are none of the forms it knows are ignored, as
 * curl ignores them.
 */
export function parseNoProxy(value: string): NoProxy {
  const hosts: { host: string; port: number }[] = [];
  let ranges: BlockList | undefined;
  let all = false;
  for (const raw of value.split(/[\s,]+/)) {
    if (raw === '') continue;
    if (raw === '*') {
      all = true;
      continue;
    }
    const slash = raw.indexOf('/');
    if (slash !== -1) {
      const address = unbracket(raw.slice(0, slash));
      const prefix = Number(raw.slice(slash + 1));
      const family = isIP(address);
      if (family === 0 || !Number.isInteger(prefix) || prefix < 0) continue;
      if (prefix > (family === 4 ? 32 : 128)) continue;
      ranges ??= new BlockList();
      ranges.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
      continue;
    }
    let host = raw;
    let port = 0;
    // `[::1]:8080`, `host:8080`; a bare IPv6 address has colons but no port.
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(raw);
    const withPort = /^([^:]+):(\d+)$/.exec(raw);
    if (bracketed !== null) {
      host = bracketed[1]!;
      port = bracketed[2] === undefined ? 0 : Number(bracketed[2]);
    } else if (withPort !== null) {
      host = withPort[1]!;
      port = Number(withPort[2]);
    }
    host = canonicalHost(host.replace(/^\*?\./, '').replace(/\.$/, ''));
    if (host !== '') hosts.push({ host, port });
  }
  if (!all && hosts.length === 0 && ranges === undefined) return NO_BYPASS;
  return { all, hosts, ranges };
}

/**
 * @internal True when a connection to `hostname:port` goes direct under `noProxy`. Names match
 * themselves and their subdomains (`example.com` matches `api.example.com`, not
 * `badexample.com`); IP addresses match only themselves or their range. No name is
 * resolved: `NO_PROXY=127.0.0.1` does not cover `localhost`.
 */
export function bypassesProxy(noProxy: NoProxy, hostname: string, port: number): boolean {
  if (noProxy.all) return true;
  const host = canonicalHost(unbracket(hostname));
  const family = isIP(host);
  if (family !== 0 && noProxy.ranges?.check(host, family === 4 ? 'ipv4' : 'ipv6') === true) {
    return true;
  }
  for (const entry of noProxy.hosts) {
    if (entry.port !== 0 && entry.port !== port) continue;
    if (host === entry.host) return true;
    if (family === 0 && host.endsWith(`.${entry.host}`)) return true;
  }
  return false;
}

/** @internal The proxy a new connection to `origin` goes through, or undefined for none. */
export function proxyFor(proxy: ResolvedProxy, origin: Origin): ProxyEndpoint | undefined {
  const endpoint = origin.tls ? proxy.https : proxy.http;
  if (endpoint === undefined) return undefined;
  return bypassesProxy(proxy.noProxy, origin.hostname, origin.port) ? undefined : endpoint;
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * A host in the form the URL parser gives it (lower case, punycode, IPv4 and IPv6
 * normalised), so `NO_PROXY` entries compare equal to origins' host names.
 */
function canonicalHost(host: string): string {
  const lower = host.toLowerCase().replace(/\.$/, '');
  if (lower === '') return '';
  try {
    return unbracket(new URL(`http://${isIP(lower) === 6 ? `[${lower}]` : lower}/`).hostname);
  } catch {
    return lower;
  }
}
