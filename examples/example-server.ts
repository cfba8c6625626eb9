/**
 * The embedded server of the everyday examples (`npm run examples`): echo, a small JSON
 * API with JSON error bodies, slow, large and failing routes, and a `/work` route that
 * reports which socket served it and how many requests the server was handling at once,
 * so examples can show connection reuse and pool limits from the server's side.
 *
 * Run directly (`tsx examples/example-server.ts`) it listens until stopped; forked with
 * an IPC channel (as `concurrency-bench.ts` does) it sends `{ url }` to its parent and
 * answers the message `'cpu'` with its `process.cpuUsage()`.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pathToFileURL } from 'node:url';

export interface ExampleServer {
  readonly url: string;
  /** Requests received so far. */
  readonly requests: number;
  close(): Promise<void>;
}

/** Error bodies of the JSON API, as in many real APIs: `{ error: { code, message } }`. */
export interface ApiErrorBody {
  error: { code: string; message: string; details?: Record<string, string> };
}

export interface User {
  id: number;
  name: string;
  email: string;
}

/** The token `/api` wants in `authorization: Bearer <token>`. */
export const API_TOKEN = 'example-token';

const SEED_USERS: readonly User[] = [
  { id: 1, name: 'Ada', email: 'ada@example.com' },
  { id: 2, name: 'Grace', email: 'grace@example.com' },
];

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(value));
}

function apiError(
  res: http.ServerResponse,
  status: number,
  code: string,
  message: string,
  details?: Record<string, string>,
): void {
  const body: ApiErrorBody = { error: { code, message, ...(details ? { details } : {}) } };
  sendJson(res, status, body);
}

/** Starts the server on 127.0.0.1 and an ephemeral port. */
export async function startExampleServer(): Promise<ExampleServer> {
  const sockets = new Set<Socket>();
  const socketIds = new WeakMap<Socket, number>();
  const timers = new Set<NodeJS.Timeout>();
  let nextSocket = 0;
  let inFlight = 0;
  let requests = 0;
  const users = new Map(SEED_USERS.map((u) => [u.id, { ...u }]));
  let nextUser = users.size + 1;

  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const api = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    path: string,
  ): Promise<void> => {
    if (req.headers.authorization !== `Bearer ${API_TOKEN}`) {
      apiError(res, 401, 'unauthenticated', 'missing or wrong bearer token');
      return;
    }
    const body = await readBody(req);
    const id = /^\/api\/users\/(\d+)$/.exec(path)?.[1];
    if (path === '/api/users' && req.method === 'GET') {
      sendJson(res, 200, [...users.values()]);
    } else if (path === '/api/users' && req.method === 'POST') {
      let input: Partial<User>;
      try {
        input = JSON.parse(body) as Partial<User>;
      } catch {
        apiError(res, 400, 'bad_json', 'the body is not JSON');
        return;
      }
      const details: Record<string, string> = {};
      if (typeof input.name !== 'string' || input.name === '') details.name = 'required';
      if (typeof input.email !== 'string' || !input.email.includes('@')) {
        details.email = 'must be an email address';
      }
      if (Object.keys(details).length > 0) {
        apiError(res, 422, 'validation_failed', 'the user is not valid', details);
        return;
      }
      const user: User = { id: nextUser++, name: input.name!, email: input.email! };
      users.set(user.id, user);
      res.setHeader('location', `/api/users/${user.id}`);
      sendJson(res, 201, user);
    } else if (id !== undefined && req.method === 'GET') {
      const user = users.get(Number(id));
      if (user === undefined) apiError(res, 404, 'not_found', `no user ${id}`);
      else sendJson(res, 200, user);
    } else {
      apiError(res, 405, 'method_not_allowed', `${req.method} ${path} is not supported`);
    }
  };

  const server = http.createServer((req, res) => {
    requests++;
    inFlight++;
    res.on('close', () => inFlight--);
    const url = new URL(req.url ?? '/', 'http://example');
    const path = url.pathname;
    const ms = Number(url.searchParams.get('ms') ?? 0);
    if (path === '/hello') {
      res.setHeader('content-type', 'text/plain');
      res.end('hello');
    } else if (path === '/echo') {
      readBody(req).then((body) => {
        res.setHeader('x-request-id', req.headers['x-request-id'] ?? 'none');
        sendJson(res, 200, {
          method: req.method,
          path,
          query: Object.fromEntries(url.searchParams),
          contentType: req.headers['content-type'] ?? null,
          userAgent: req.headers['user-agent'] ?? null,
          body,
        });
      }, res.destroy.bind(res));
    } else if (path === '/work') {
      // Which socket, and how many requests in progress (this one included).
      res.setHeader('x-connection', String(socketIds.get(req.socket) ?? 0));
      res.setHeader('x-in-flight', String(inFlight));
      later(ms, () => res.end('done'));
    } else if (path === '/slow') {
      later(ms || 2_000, () => res.end('finally'));
    } else if (path === '/large') {
      const bytes = Number(url.searchParams.get('bytes') ?? 1024 * 1024);
      res.setHeader('content-length', String(bytes));
      res.end(Buffer.alloc(bytes, 0x61));
    } else if (path.startsWith('/status/')) {
      const status = Number(path.slice('/status/'.length));
      apiError(res, status, `status_${status}`, `the server answered ${status}`);
    } else if (path === '/down') {
      apiError(res, 503, 'unavailable', 'down for maintenance');
    } else if (path.startsWith('/api/')) {
      api(req, res, path).catch(() => res.destroy());
    } else {
      apiError(res, 404, 'not_found', `no route ${path}`);
    }
  });
  server.on('connection', (socket: Socket) => {
    socketIds.set(socket, ++nextSocket);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Runs `fn` against `baseUrl`, or, when none is given, against an example server started
 * for the occasion and closed afterwards.
 */
export async function withExampleServer<T>(
  baseUrl: string | undefined,
  fn: (url: string) => Promise<T>,
): Promise<T> {
  if (baseUrl !== undefined) return fn(baseUrl);
  const server = await startExampleServer();
  try {
    return await fn(server.url);
  } finally {
    await server.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = await startExampleServer();
  if (process.send !== undefined) {
    process.send({ url: server.url });
    // Asked for its CPU time, it answers, so a benchmark can show what the server cost.
    process.on('message', (m) => {
      if (m === 'cpu') process.send?.({ cpu: process.cpuUsage() });
    });
    // The parent's `disconnect()` (or its exit) ends the server.
    process.on('disconnect', () => void server.close());
  } else {
    console.log(`example server at ${server.url} (Ctrl-C to stop)`);
    process.on('SIGINT', () => void server.close());
  }
}
