/**
 * Helpers for the CLI tests: loopback servers that close every socket they opened, and
 * `run()` with captured stdout/stderr.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { run } from '../../src/cli/run.js';

export interface Server {
  url: string;
  /** Requests received so far. */
  readonly requests: number;
  close(): Promise<void>;
}

/** A `node:http` server on 127.0.0.1, port 0. */
export function startServer(handler: http.RequestListener): Promise<Server> {
  const server = http.createServer(handler);
  const sockets = new Set<Socket>();
  let requests = 0;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('request', () => requests++);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        get requests() {
          return requests;
        },
        close() {
          for (const socket of sockets) socket.destroy();
          return new Promise<void>((done) => server.close(() => done()));
        },
      });
    });
  });
}

/** Reads a request body. */
export async function bodyOf(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A writable that keeps what it is given; `delayMs` makes it a slow consumer. */
export class Capture extends Writable {
  readonly chunks: Buffer[] = [];
  /** How many writes were refused (returned false), i.e. times the writer had to wait. */
  refused = 0;

  constructor(options: { highWaterMark?: number; delayMs?: number } = {}) {
    const delayMs = options.delayMs ?? 0;
    super({
      highWaterMark: options.highWaterMark ?? 16 * 1024,
      write: (chunk: Buffer, _encoding, callback) => {
        this.chunks.push(chunk);
        if (delayMs > 0) setTimeout(callback, delayMs);
        else callback();
      },
    });
  }

  override write(chunk: unknown, ...rest: unknown[]): boolean {
    // biome-ignore lint/suspicious/noExplicitAny: forwarding Writable's overloads
    const ok = (super.write as any)(chunk, ...rest) as boolean;
    if (!ok) this.refused++;
    return ok;
  }

  get buffer(): Buffer {
    return Buffer.concat(this.chunks);
  }

  get text(): string {
    return this.buffer.toString('utf8');
  }
}

export interface Result {
  code: number;
  stdout: Buffer;
  out: string;
  err: string;
}

/** `run(argv)` with captured output; `stdin` is what `-d -` reads. */
export async function sentinel(
  argv: string[],
  options: {
    stdin?: string | Buffer;
    env?: Record<string, string>;
    stdout?: Capture;
    /** A terminal stands in here as a Capture with `isTTY` and `columns`. */
    stderr?: Capture;
  } = {},
): Promise<Result> {
  const stdout = options.stdout ?? new Capture();
  const stderr = options.stderr ?? new Capture();
  const stdin = Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]);
  const code = await run(argv, { stdout, stderr, stdin, env: options.env ?? {} });
  return { code, stdout: stdout.buffer, out: stdout.text, err: stderr.text };
}
