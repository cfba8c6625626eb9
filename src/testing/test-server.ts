/**
 * A real HTTP/1.1 server on 127.0.0.1 for users' own tests: routes, injected faults and
 * the log of what it received. Real sockets rather than a mock dispatcher, so what is
 * tested is what the client does on the wire: its retries, timeouts and breaker.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Fault, PartialBodyFault, RecordedRequest, Reply, ReplyInit, Step } from './route.js';
import { createRoute, nextStep, type Route } from './route.js';

/** Options of {@link startTestServer}; all optional. */
export interface TestServerOptions {
  /**
   * What a request no route matches gets.
   * @default `404` with a text body naming the method and path
   */
  fallback?: Step;
}

/** A running test server; see {@link startTestServer}. */
export interface TestServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string;
  readonly port: number;
  /** Every request received, in order of arrival, each logged once its body is read. */
  readonly requests: readonly RecordedRequest[];
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** TCP connections open now. */
  readonly openConnections: number;
  /**
   * The route for `method` (or `'*'` for any) and `path` (exact, query ignored), made on
   * first use and answering `200` until told otherwise. With `reply` given, it answers
   * every request with it; the returned {@link Route} takes a sequence, a delay or a fault.
   */
  route(method: string, path: string, reply?: Step): Route;
  /** Empties the request log; routes and their positions in their sequences are kept. */
  clearRequests(): void;
  /** Closes the server: destroys every socket (hung requests included) and pending timer. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a test server on 127.0.0.1 on a port the system picks.
 *
 * @example
 * ```ts
 * import { HttpClient } from 'http-sentinel';
 * import { startTestServer } from 'http-sentinel/testing';
 *
 * const server = await startTestServer();
 * server.route('GET', '/flaky').sequence([503, 503, { json: { ok: true } }]);
 * const client = new HttpClient({ baseUrl: server.url });
 * const res = await client.get('/flaky');
 * console.log(res.status, res.attempts, server.requests.length); // 200 3 3
 * await client.close();
 * await server.close();
 * ```
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const routes = new Map<string, Route>();
  const log: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let connections = 0;
  let closing: Promise<void> | undefined;
  const fallback = options.fallback;

  const server = http.createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    const time = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => {
      const target = req.url ?? '/';
      const query = target.indexOf('?');
      const request: RecordedRequest = {
        method: req.method ?? 'GET',
        url: target,
        path: query === -1 ? target : target.slice(0, query),
        headers: headersOf(req),
        body: Buffer.concat(chunks),
        time,
        index: log.length,
      };
      log.push(request);
      const route =
        routes.get(key(request.method, request.path)) ?? routes.get(key('*', request.path));
      const { step, delayMs } =
        (route === undefined ? undefined : nextStep(route)) ??
        ({
          step: fallback ?? { status: 404, body: `no route for ${request.method} ${request.path}` },
          delayMs: 0,
        } as const);
      answer(step, request, res, delayMs);
    });
  });
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // A client that resets mid-request is a case under test, not a server failure.
  server.on('clientError', (_err, socket) => socket.destroy());

  function later(ms: number, fn: () => void): void {
    if (ms <= 0) {
      fn();
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  }

  function answer(
    step: Step,
    request: RecordedRequest,
    res: http.ServerResponse,
    delayMs: number,
  ): void {
    if (typeof step !== 'function') {
      later(delayMs + delayOf(step), () => send(step, res));
      return;
    }
    Promise.resolve()
      .then(() => step(request))
      .then(
        (reply) => later(delayMs + delayOf(reply), () => send(reply, res)),
        (err: unknown) => send({ status: 500, body: `handler failed: ${String(err)}` }, res),
      );
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  const close = (): Promise<void> => {
    closing ??= (async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // The server reports closed as soon as it has let go of its sockets, a turn before
      // their handles are: wait for those too, so that nothing is left when this resolves.
      const gone = [...sockets].map(
        (socket) => new Promise<void>((resolve) => socket.once('close', () => resolve())),
      );
      for (const socket of sockets) socket.destroy();
      await Promise.all([closed, ...gone]);
    })();
    return closing;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests: log,
    get connections() {
      return connections;
    },
    get openConnections() {
      return sockets.size;
    },
    route(method, path, reply) {
      const k = key(method, path);
      let route = routes.get(k);
      if (route === undefined) {
        route = createRoute(method === '*' ? '*' : method.toUpperCase(), path);
        routes.set(k, route);
      }
      if (reply !== undefined) route.reply(reply);
      return route;
    },
    clearRequests() {
      log.length = 0;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function key(method: string, path: string): string {
  return `${method === '*' ? '*' : method.toUpperCase()} ${path}`;
}

function headersOf(req: http.IncomingMessage): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = value;
  }
  return out;
}

function isFault(reply: ReplyInit | Fault): reply is Fault {
  return 'fault' in reply;
}

function delayOf(reply: Reply): number {
  return typeof reply === 'object' && 'delayMs' in reply ? (reply.delayMs ?? 0) : 0;
}

function send(reply: Reply, res: http.ServerResponse): void {
  if (res.destroyed) return;
  if (typeof reply === 'number') reply = { status: reply };
  else if (typeof reply === 'string') reply = { body: reply };
  if (!isFault(reply)) {
    const status = reply.status ?? 200;
    const { body, type } = bodyOf(reply);
    res.writeHead(status, headersFor(reply, type, mayHaveBody(status) ? body.length : undefined));
    res.end(mayHaveBody(status) ? body : undefined);
    return;
  }
  switch (reply.fault) {
    case 'hang':
      return;
    case 'reset':
      res.socket?.resetAndDestroy();
      return;
    case 'reset-mid-body':
    case 'truncate':
      sendPart(reply, res);
      return;
    default: {
      const never: never = reply;
      throw new TypeError(`unknown fault ${JSON.stringify(never)}`);
    }
  }
}

function sendPart(reply: PartialBodyFault, res: http.ServerResponse): void {
  const body = Buffer.from(reply.body);
  const after = Math.max(0, Math.min(reply.after ?? Math.floor(body.length / 2), body.length - 1));
  const socket = res.socket;
  res.writeHead(reply.status ?? 200, headersFor(reply, undefined, body.length));
  res.flushHeaders();
  res.write(body.subarray(0, after), () => {
    // Once the bytes are in the kernel: the client reads the head and the part, then
    // meets the cut, rather than a reset that could overtake them.
    if (reply.fault === 'truncate') socket?.end();
    else setImmediate(() => socket?.resetAndDestroy());
  });
}

function mayHaveBody(status: number): boolean {
  return status >= 200 && status !== 204 && status !== 304;
}

function bodyOf(reply: ReplyInit): { body: Buffer; type: string | undefined } {
  if (reply.json !== undefined) {
    return { body: Buffer.from(JSON.stringify(reply.json)), type: 'application/json' };
  }
  if (reply.body === undefined) return { body: Buffer.alloc(0), type: undefined };
  if (typeof reply.body === 'string') {
    return { body: Buffer.from(reply.body), type: 'text/plain; charset=utf-8' };
  }
  return { body: Buffer.from(reply.body), type: undefined };
}

function headersFor(
  reply: Omit<ReplyInit, 'json' | 'body'>,
  type: string | undefined,
  length: number | undefined,
): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(reply.headers ?? {})) {
    headers[name.toLowerCase()] = value;
  }
  if (type !== undefined) headers['content-type'] ??= type;
  if (length !== undefined) headers['content-length'] ??= String(length);
  if (reply.retryAfter !== undefined) {
    headers['retry-after'] =
      reply.retryAfter instanceof Date
        ? reply.retryAfter.toUTCString()
        : String(Math.max(0, Math.ceil(reply.retryAfter)));
  }
  return headers;
}
