/**
 * The benchmark server: a minimal `node:net` keep-alive HTTP/1.1 server with canned
 * responses, in its own process, so that it is never the bottleneck.
 *
 * It parses just enough to route and count: request heads are split on "\r\n\r\n" and
 * only the request line is read. GET only, no request bodies. Routes:
 *
 * - `GET /bytes/<n>`  — a canned response with an n-byte body (n <= 64 MiB), built once
 *   and written with one `socket.write`.
 * - `GET /stream/<n>` — an n-byte body written from one reused 256 KiB buffer, waiting
 *   for `drain` whenever the socket asks it to (backpressure).
 *
 * Run standalone: `node --import tsx bench/server.ts [--port 8080]`. Forked by
 * `bench/run.ts`, it answers IPC commands: `reset`, `stats`, `listen-many`,
 * `close-many`, and exits when its parent goes away.
 */
import net from 'node:net';
import { parseArgs } from 'node:util';

/** Counters since the last `reset`. */
export interface ServerStats {
  /** Connections accepted. */
  opened: number;
  /** Connections open now. */
  open: number;
  /** Requests answered. */
  requests: number;
  /** Reads that carried more than one request head (pipelining). */
  pipelined: number;
  /** Most requests carried by one connection accepted since the reset. */
  maxPerConnection: number;
  /** Requests that were not `GET` to a known route. */
  rejected: number;
  /** CPU time of the server process, µs. */
  cpu: number;
}

/** IPC messages from the parent. */
export type ServerCommand =
  | { cmd: 'reset'; id: number }
  | { cmd: 'stats'; id: number }
  | { cmd: 'listen-many'; id: number; count: number }
  | { cmd: 'close-many'; id: number };

const HOST = '127.0.0.1';
const HEAD_END = Buffer.from('\r\n\r\n');
const MAX_CANNED = 64 * 1024 * 1024;
const STREAM_CHUNK = Buffer.alloc(256 * 1024, 0x78);

const stats: ServerStats = {
  opened: 0,
  open: 0,
  requests: 0,
  pipelined: 0,
  maxPerConnection: 0,
  rejected: 0,
  cpu: 0,
};
let cpuAtReset = process.cpuUsage();

const canned = new Map<string, Buffer>();

function head(status: string, length: number, close = false): string {
  return (
    `HTTP/1.1 ${status}\r\ncontent-type: application/octet-stream\r\n` +
    `content-length: ${length}\r\n${close ? 'connection: close\r\n' : ''}\r\n`
  );
}

const NOT_FOUND = Buffer.from(`${head('404 Not Found', 9)}not found`);
const NOT_ALLOWED = Buffer.from(`${head('405 Method Not Allowed', 8, true)}GET only`);

function cannedFor(path: string, size: number): Buffer {
  let response = canned.get(path);
  if (response === undefined) {
    const h = Buffer.from(head('200 OK', size), 'latin1');
    response = Buffer.alloc(h.length + size, 0x78);
    h.copy(response);
    canned.set(path, response);
  }
  return response;
}

/** One accepted socket: its request count and, while streaming, the requests waiting. */
class Conn {
  requests = 0;
  streaming = false;
  readonly queue: string[] = [];
  pending: Buffer | undefined;
  constructor(readonly socket: net.Socket) {}
}

const sockets = new Set<net.Socket>();

function onConnection(socket: net.Socket): void {
  stats.opened++;
  stats.open++;
  sockets.add(socket);
  socket.setNoDelay(true);
  const conn = new Conn(socket);
  socket.on('data', (chunk: Buffer) => onData(conn, chunk));
  socket.on('error', () => {});
  socket.on('close', () => {
    stats.open--;
    sockets.delete(socket);
  });
}

function onData(conn: Conn, chunk: Buffer): void {
  const buf = conn.pending === undefined ? chunk : Buffer.concat([conn.pending, chunk]);
  let start = 0;
  let heads = 0;
  for (;;) {
    const end = buf.indexOf(HEAD_END, start);
    if (end === -1) break;
    heads++;
    const lineEnd = buf.indexOf(13, start);
    const line = buf.toString('latin1', start, lineEnd);
    start = end + 4;
    const sp1 = line.indexOf(' ');
    const sp2 = line.indexOf(' ', sp1 + 1);
    if (line.slice(0, sp1) !== 'GET') {
      stats.rejected++;
      conn.socket.end(NOT_ALLOWED);
      return;
    }
    const path = line.slice(sp1 + 1, sp2);
    if (conn.streaming) conn.queue.push(path);
    else serve(conn, path);
  }
  conn.pending = start < buf.length ? Buffer.from(buf.subarray(start)) : undefined;
  if (heads > 1) stats.pipelined++;
}

function serve(conn: Conn, path: string): void {
  stats.requests++;
  conn.requests++;
  if (conn.requests > stats.maxPerConnection) stats.maxPerConnection = conn.requests;
  const slash = path.indexOf('/', 1);
  const route = slash === -1 ? path : path.slice(0, slash);
  const size = slash === -1 ? Number.NaN : Number(path.slice(slash + 1));
  if (route === '/bytes' && Number.isInteger(size) && size >= 0 && size <= MAX_CANNED) {
    conn.socket.write(cannedFor(path, size));
  } else if (route === '/stream' && Number.isSafeInteger(size) && size >= 0) {
    stream(conn, size);
  } else {
    stats.rejected++;
    conn.socket.write(NOT_FOUND);
  }
}

/** Writes `size` bytes from the reused chunk, honouring backpressure. */
function stream(conn: Conn, size: number): void {
  const socket = conn.socket;
  conn.streaming = true;
  let remaining = size;
  const pump = (): void => {
    while (remaining > 0) {
      if (socket.destroyed) return;
      const n = Math.min(remaining, STREAM_CHUNK.length);
      remaining -= n;
      const ok = socket.write(
        n === STREAM_CHUNK.length ? STREAM_CHUNK : STREAM_CHUNK.subarray(0, n),
      );
      if (!ok) {
        socket.once('drain', pump);
        return;
      }
    }
    conn.streaming = false;
    const next = conn.queue.shift();
    if (next !== undefined) serve(conn, next);
  };
  socket.write(head('200 OK', size), 'latin1');
  pump();
}

/** Starts the main listener; resolves with its port. */
export function listen(port: number): Promise<net.Server> {
  const server = net.createServer({ noDelay: true }, onConnection);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: HOST, port, backlog: 4096 }, () => resolve(server));
  });
}

/** The extra listeners of `listen-many`, one port each, on 127.0.0.1. */
const extra: net.Server[] = [];
const extraSockets = new Set<net.Socket>();

async function listenMany(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const server = net.createServer({ noDelay: true }, (socket) => {
      extraSockets.add(socket);
      socket.on('close', () => extraSockets.delete(socket));
      onConnection(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: HOST, port: 0, backlog: 1024 }, () => resolve());
    });
    extra.push(server);
    ports.push((server.address() as net.AddressInfo).port);
  }
  return ports;
}

function closeMany(): void {
  for (const server of extra.splice(0)) server.close();
  for (const socket of extraSockets) socket.destroy();
  extraSockets.clear();
}

function reset(): void {
  stats.opened = 0;
  stats.requests = 0;
  stats.pipelined = 0;
  stats.maxPerConnection = 0;
  stats.rejected = 0;
  cpuAtReset = process.cpuUsage();
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { port: { type: 'string', default: '0' } },
    strict: true,
  });
  const server = await listen(Number(values.port));
  const port = (server.address() as net.AddressInfo).port;
  const send = process.send?.bind(process);
  if (send === undefined) {
    console.log(`bench server listening on http://${HOST}:${port}`);
    console.log('routes: GET /bytes/<n>, GET /stream/<n>');
    return;
  }
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: ServerCommand) => {
    void (async () => {
      switch (message.cmd) {
        case 'reset':
          reset();
          send({ id: message.id, ok: true });
          break;
        case 'stats':
          {
            const cpu = process.cpuUsage(cpuAtReset);
            send({ id: message.id, stats: { ...stats, cpu: cpu.user + cpu.system } });
          }
          break;
        case 'listen-many':
          send({ id: message.id, ports: await listenMany(message.count) });
          break;
        case 'close-many':
          closeMany();
          send({ id: message.id, ok: true });
          break;
      }
    })().catch((err: unknown) => send({ id: message.id, error: String(err) }));
  });
  send({ ready: true, port });
}

process.on('SIGTERM', () => {
  for (const socket of sockets) socket.destroy();
  process.exit(0);
});

await main();
