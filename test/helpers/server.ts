/**
 * Test servers on 127.0.0.1, port 0, that track their sockets so tests can assert on
 * connection reuse and limits, and close everything they opened.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestServer {
  readonly url: string;
  readonly port: number;
  readonly server: http.Server;
  /** Sockets accepted so far. */
  readonly connections: number;
  /** Sockets open right now. */
  readonly openSockets: number;
  /** The most sockets open at once. */
  readonly peakSockets: number;
  /** Requests received so far. */
  readonly requests: number;
  close(): Promise<void>;
}

function track(server: http.Server | net.Server, scheme: string): Promise<TestServer> {
  const sockets = new Set<Socket>();
  let connections = 0;
  let peak = 0;
  let requests = 0;
  server.on(scheme === 'https' ? 'secureConnection' : 'connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    peak = Math.max(peak, sockets.size);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('request', () => requests++);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      resolve({
        url: `${scheme}://127.0.0.1:${port}`,
        port,
        server: server as http.Server,
        get connections() {
          return connections;
        },
        get openSockets() {
          return sockets.size;
        },
        get peakSockets() {
          return peak;
        },
        get requests() {
          return requests;
        },
        close() {
          for (const s of sockets) s.destroy();
          return new Promise<void>((done) => server.close(() => done()));
        },
      });
    });
  });
}

/** A `node:http` server with `handler`. */
export function startServer(
  handler: http.RequestListener,
  options: http.ServerOptions = {},
): Promise<TestServer> {
  return track(http.createServer(options, handler), 'http');
}

/** A raw TCP server, for responses no HTTP server would send. */
export function startRawServer(onSocket: (socket: Socket) => void): Promise<TestServer> {
  return track(net.createServer(onSocket), 'http');
}

export interface Certificate {
  key: string;
  cert: string;
}

let cached: Certificate | undefined;

/** A self-signed certificate for 127.0.0.1 and localhost, made once per process with openssl. */
export function selfSignedCertificate(): Certificate {
  if (cached !== undefined) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'ignore' },
    );
    cached = {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A `node:https` server with a self-signed certificate. */
export function startTlsServer(
  handler: http.RequestListener,
): Promise<TestServer & { cert: string }> {
  const cert = selfSignedCertificate();
  return track(https.createServer({ key: cert.key, cert: cert.cert }, handler), 'https').then((s) =>
    Object.assign(s, { cert: cert.cert }),
  );
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
