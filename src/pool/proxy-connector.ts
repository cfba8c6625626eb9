/**
 * The socket of one connection made through a forward proxy. A plain-http target gets
 * the socket to the proxy itself (its requests then go in absolute form); an https
 * target gets a `CONNECT` tunnel with TLS to the target inside it, verified as if
 * connected directly.
 */
import http from 'node:http';
import net, { type Socket } from 'node:net';
import tls, { type ConnectionOptions as TlsOptions } from 'node:tls';
import type { buildConnector } from 'undici';
import { systemClock, type TimerHandle, unrefTimer } from '../core/clock.js';
import {
  ConnectionError,
  isSentinelError,
  ProtocolError,
  type SentinelError,
  TimeoutError,
} from '../core/errors.js';
import type { Origin } from './origin.js';
import type { ProxyEndpoint } from './proxy.js';

/** What a connection needs to go through a proxy. */
export class ProxyConnector {
  readonly proxy: ProxyEndpoint;
  readonly target: Origin;
  /**
   * For a plain-http target, what goes before each request's path (`http://host:port`)
   * to make the absolute form a proxy expects; undefined for a tunnel.
   */
  readonly absolutePrefix: string | undefined;
  /** Headers added to each absolute-form request: the proxy's credentials, if any. */
  readonly requestHeaders: readonly string[];
  readonly #tls: TlsOptions | undefined;
  readonly #timeoutMs: number;
  /** The handshake under way, so that a connection given up early closes its socket now. */
  #pending: { socket: Socket; fail(error: Error): void } | undefined;

  /**
   * @param tlsOptions - the pool's `tls`: verifies the target through a tunnel, and an
   *   `https:` proxy itself
   * @param timeoutMs - deadline of the whole handshake: proxy, `CONNECT` and TLS. The
   *   connection keeps its own exact deadline; this one only bounds a socket left
   *   behind, as undici's connector does
   */
  constructor(
    proxy: ProxyEndpoint,
    target: Origin,
    tlsOptions: TlsOptions | undefined,
    timeoutMs: number,
  ) {
    this.proxy = proxy;
    this.target = target;
    this.#tls = tlsOptions;
    this.#timeoutMs = timeoutMs;
    this.absolutePrefix = target.tls ? undefined : target.origin;
    this.requestHeaders =
      target.tls || proxy.authorization === undefined
        ? []
        : ['proxy-authorization', proxy.authorization];
  }

  /** Ends a handshake under way; its connect fails. */
  cancel(): void {
    this.#pending?.fail(new ConnectionError(`connection through ${this.proxy.url} given up`));
  }

  /** undici's connector: called for each socket the connection opens. */
  readonly connect: buildConnector.connector = (_options, callback) => {
    const socket = this.#dial();
    let secure: tls.TLSSocket | undefined;
    let timer: TimerHandle | undefined;
    let done = false;
    const finish = (error: Error | null): void => {
      if (done) return;
      done = true;
      this.#pending = undefined;
      if (timer !== undefined) systemClock.clearTimeout(timer);
      socket.removeListener('error', fail);
      secure?.removeListener('error', finish);
      if (error === null) {
        callback(null, secure ?? socket);
        return;
      }
      socket.on('error', () => {});
      socket.destroy();
      secure?.on('error', () => {}).destroy();
      callback(error, null);
    };
    // The proxy's side of the handshake; the target's TLS errors go to finish as they are.
    const fail = (error: Error): void => finish(this.#mapError(error));
    this.#pending = { socket, fail };
    socket.on('error', fail);
    if (Number.isFinite(this.#timeoutMs)) {
      timer = unrefTimer(
        systemClock,
        () => finish(new TimeoutError('connect', this.#timeoutMs)),
        this.#timeoutMs,
      );
    }
    socket.once(this.proxy.tls ? 'secureConnect' : 'connect', () => {
      if (done) return;
      if (!this.target.tls) {
        finish(null);
        return;
      }
      this.#tunnel(socket, (error) => {
        if (done) return;
        if (error !== null) {
          fail(error);
          return;
        }
        secure = this.#secure(socket);
        secure.on('error', finish);
        secure.once('secureConnect', () => finish(null));
      });
    });
  };

  /** The socket to the proxy: TCP, or TLS to an `https:` proxy. */
  #dial(): Socket {
    const { host, port } = this.proxy;
    const socket = this.proxy.tls
      ? tls.connect({
          ...this.#tls,
          host,
          port,
          servername: net.isIP(host) === 0 ? host : '',
          ALPNProtocols: ['http/1.1'],
        })
      : net.connect({ host, port });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    return socket;
  }

  /**
   * Sends `CONNECT host:port` with the proxy's credentials. Node's own HTTP client reads
   * the answer, so no HTTP parsing is done here; any status but 2xx refuses the tunnel.
   */
  #tunnel(socket: Socket, callback: (error: Error | null) => void): void {
    const authority = this.target.key;
    const headers: Record<string, string> = { host: authority };
    if (this.proxy.authorization !== undefined) {
      headers['proxy-authorization'] = this.proxy.authorization;
    }
    const request = http.request({
      method: 'CONNECT',
      path: authority,
      headers,
      setHost: false,
      createConnection: () => socket,
    });
    request.once('connect', (response: http.IncomingMessage, _socket: Socket, head: Buffer) => {
      const status = response.statusCode ?? 0;
      if (status < 200 || status > 299) {
        const reason = response.statusMessage ? ` ${response.statusMessage}` : '';
        callback(
          new ConnectionError(
            `proxy ${this.proxy.url} refused the tunnel to ${authority}: ${status}${reason}`,
            { beforeResponse: true },
          ),
        );
        return;
      }
      // Nothing may come before the target's TLS answer; whatever did belongs to it.
      if (head.length > 0) socket.unshift(head);
      callback(null);
    });
    request.once('error', (error) => callback(error));
    request.end();
  }

  /** TLS to the target over the tunnel, verified against the target's own name. */
  #secure(socket: Socket): tls.TLSSocket {
    const host = this.target.hostname.replace(/^\[|\]$/g, '');
    const servername = this.#tls?.servername ?? (net.isIP(host) === 0 ? host : undefined);
    return tls.connect({
      ...this.#tls,
      socket,
      host,
      ...(servername === undefined ? {} : { servername }),
      ALPNProtocols: ['http/1.1'],
    });
  }

  /** An error of the proxy's side of the handshake, saying it was the proxy's. */
  #mapError(error: Error): SentinelError {
    if (isSentinelError(error)) return error;
    const e = error as Error & { code?: unknown; syscall?: unknown };
    const code = typeof e.code === 'string' ? e.code : undefined;
    if (code?.startsWith('HPE_')) {
      return new ProtocolError(`proxy ${this.proxy.url} answered CONNECT with malformed HTTP`, {
        cause: error,
      });
    }
    return new ConnectionError(`proxy ${this.proxy.url}: ${e.message}`, {
      cause: error,
      errno: code,
      syscall: typeof e.syscall === 'string' ? e.syscall : undefined,
      beforeResponse: true,
    });
  }
}
