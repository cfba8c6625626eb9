/**
 * A small forward proxy on 127.0.0.1, port 0, for proxy tests: absolute-form requests
 * are forwarded with `node:http`, `CONNECT` opens a TCP tunnel with `node:net`. It logs
 * what it received and can ask for credentials or refuse tunnels.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import net from 'node:net';

/** One request the proxy received. */
export interface ProxySeen {
  method: string;
  /** The request-target as sent: `http://host:port/path`, or `host:port` for CONNECT. */
  target: string;
  headers: http.IncomingHttpHeaders;
}

export interface ForwardProxy {
  readonly url: string;
  readonly port: number;
  /** Every request received, in order. */
  readonly seen: ProxySeen[];
  /** Sockets open right now, both sides. */
  readonly openSockets: number;
  close(): Promise<void>;
}

export interface ForwardProxyOptions {
  /** The `Proxy-Authorization` value required; anything else gets a 407. */
  authorization?: string;
  /** Status to answer every CONNECT with instead of opening the tunnel. */
  refuseConnect?: number;
  /** Key and certificate: the proxy speaks TLS itself (an `https:` proxy URL). */
  tls?: { key: string; cert: string };
}

/** `Basic` credentials as a proxy URL's userinfo turns into them. */
export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

export function startForwardProxy(options: ForwardProxyOptions = {}): Promise<ForwardProxy> {
  const sockets = new Set<Socket>();
  const seen: ProxySeen[] = [];
  const keep = (socket: Socket): Socket => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    return socket;
  };
  const authorized = (headers: http.IncomingHttpHeaders): boolean =>
    options.authorization === undefined || headers['proxy-authorization'] === options.authorization;

  const handler: http.RequestListener = (req, res) => {
    seen.push({ method: req.method ?? '', target: req.url ?? '', headers: req.headers });
    if (!authorized(req.headers)) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"' }).end();
      return;
    }
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('absolute-form request-target expected');
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: `${target.pathname}${target.search}`,
        headers,
        agent: false,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('socket', keep);
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  };
  const server =
    options.tls === undefined
      ? http.createServer(handler)
      : https.createServer(options.tls, handler);

  server.on('connect', (req: http.IncomingMessage, client: Socket, head: Buffer) => {
    keep(client);
    seen.push({ method: 'CONNECT', target: req.url ?? '', headers: req.headers });
    if (!authorized(req.headers)) {
      client.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\n' +
          'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n',
      );
      return;
    }
    if (options.refuseConnect !== undefined) {
      client.end(`HTTP/1.1 ${options.refuseConnect} Refused\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    const [host, port] = splitAuthority(req.url ?? '');
    const upstream = keep(net.connect(port, host));
    upstream.once('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  server.on('connection', keep);
  if (options.tls !== undefined) server.on('secureConnection', keep);

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      resolve({
        url: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
        port,
        seen,
        get openSockets() {
          return sockets.size;
        },
        close() {
          for (const socket of sockets) socket.destroy();
          return new Promise<void>((done) => server.close(() => done()));
        },
      });
    });
  });
}

function splitAuthority(authority: string): [string, number] {
  const url = new URL(`http://${authority}`);
  return [url.hostname.replace(/^\[|\]$/g, ''), Number(url.port || 443)];
}
