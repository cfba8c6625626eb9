/**
 * The clients under test. Each adapter is built for one target URL and `connections`
 * sockets, and every adapter gets the same number of connections and no pipelining.
 * `request(w)` runs one request for worker `w` and resolves with the body bytes, which
 * every adapter reads completely (into one Buffer or ArrayBuffer, as its users would).
 * Libraries are imported lazily so a child loads only the adapter it runs.
 */
import http from 'node:http';
import net from 'node:net';
import { loadPool, loadSentinel } from './sentinel.js';

/** Where the requests go. */
export interface Target {
  /** The full URL of every request. */
  url: string;
  /** `http://host:port`. */
  origin: string;
  /** Path and query. */
  path: string;
  hostname: string;
  port: number;
}

export function targetOf(url: string): Target {
  const u = new URL(url);
  return {
    url: u.href,
    origin: u.origin,
    path: u.pathname + u.search,
    hostname: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port),
  };
}

/** One client, ready to send. */
export interface Adapter {
  /** One request on behalf of worker `w`, body read in full; resolves with its size. */
  request(w: number): Promise<number>;
  /**
   * GETs `url` (same origin as the target) and reads the body chunk by chunk without
   * keeping it; resolves with the bytes read.
   */
  stream?(url: string): Promise<number>;
  close(): Promise<void>;
}

export interface AdapterSpec {
  /** What the tables print. */
  label: string;
  /** Only against the bench server (it relies on fixed-size canned responses). */
  localOnly?: boolean;
  create(target: Target, connections: number): Promise<Adapter>;
}

/** A huge limit for the streamed and large buffered bodies (the default is 10 MiB). */
const LARGE_LIMIT = 2 ** 31;

async function sentinelGet(target: Target, connections: number): Promise<Adapter> {
  const { HttpClient } = await loadSentinel();
  // The default stack: retries, circuit breaker, retry budget and adaptive retry on.
  const client = new HttpClient({ pool: { maxConnections: connections } });
  const url = target.url;
  return {
    async request() {
      const res = await client.get(url);
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      return res.body.length;
    },
    async stream(streamUrl) {
      const res = await client.stream({ method: 'GET', url: streamUrl, maxBodySize: LARGE_LIMIT });
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      let n = 0;
      for await (const chunk of res.body) n += chunk.length;
      return n;
    },
    close: () => client.close(),
  };
}

/** client.get with one `beforeRequest` hook that sets a header: what a hook costs. */
async function sentinelHook(target: Target, connections: number): Promise<Adapter> {
  const { HttpClient } = await loadSentinel();
  const client = new HttpClient({
    pool: { maxConnections: connections },
    hooks: { beforeRequest: [(request) => request.headers.set('x-request-id', 'bench')] },
  });
  const url = target.url;
  return {
    async request() {
      const res = await client.get(url);
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      return res.body.length;
    },
    async stream() {
      throw new Error('sentinel-hook measures buffered requests only');
    },
    close: () => client.close(),
  };
}

/**
 * client.get with OpenTelemetry on, as an application sets it up: the SDK registered
 * globally (AsyncLocalStorage context manager, W3C propagator), a meter provider with a
 * reader (collected never during a run: recording is the per-request cost) and a tracer
 * provider sampling every span into a batch processor whose exporter drops them.
 * `telemetry: false` gives the same process with the client's instrumentation off.
 */
async function sentinelOtel(
  target: Target,
  connections: number,
  telemetry?: false,
): Promise<Adapter> {
  const [{ context, metrics, propagation, trace }, hooks, core, sdkMetrics, sdkTrace] =
    await Promise.all([
      import('@opentelemetry/api'),
      import('@opentelemetry/context-async-hooks'),
      import('@opentelemetry/core'),
      import('@opentelemetry/sdk-metrics'),
      import('@opentelemetry/sdk-trace-base'),
    ]);
  class Reader extends sdkMetrics.MetricReader {
    protected override onForceFlush(): Promise<void> {
      return Promise.resolve();
    }
    protected override onShutdown(): Promise<void> {
      return Promise.resolve();
    }
  }
  const meterProvider = new sdkMetrics.MeterProvider({ readers: [new Reader()] });
  const tracerProvider = new sdkTrace.BasicTracerProvider({
    spanProcessors: [
      new sdkTrace.BatchSpanProcessor({
        export: (_spans, done) => done({ code: core.ExportResultCode.SUCCESS }),
        shutdown: () => Promise.resolve(),
      }),
    ],
  });
  context.setGlobalContextManager(new hooks.AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new core.W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  const { HttpClient } = await loadSentinel();
  const client = new HttpClient({ pool: { maxConnections: connections }, telemetry });
  const url = target.url;
  return {
    async request() {
      const res = await client.get(url);
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      return res.body.length;
    },
    async stream() {
      throw new Error('sentinel-otel measures buffered requests only');
    },
    async close() {
      await client.close();
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

async function sentinelConn(target: Target, connections: number): Promise<Adapter> {
  const { ConnectionPool } = await loadPool();
  const pool = new ConnectionPool({ maxConnections: connections });
  const { origin, path } = target;
  const options = { maxBodySize: LARGE_LIMIT };
  return {
    async request() {
      const conn = await pool.acquire(origin);
      try {
        const res = await conn.request('GET', path, undefined, null, options);
        if (res.status !== 200) throw new Error(`status ${res.status}`);
        return res.body.length;
      } finally {
        pool.release(conn);
      }
    },
    close: () => pool.close(),
  };
}

async function undiciRequest(target: Target, connections: number): Promise<Adapter> {
  const { Pool, request } = await import('undici');
  const pool = new Pool(target.origin, { connections, pipelining: 1 });
  const url = target.url;
  return {
    async request() {
      const res = await request(url, { dispatcher: pool });
      const body = await res.body.arrayBuffer();
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
      return body.byteLength;
    },
    async stream(streamUrl) {
      const res = await request(streamUrl, { dispatcher: pool });
      let n = 0;
      for await (const chunk of res.body) n += (chunk as Buffer).length;
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
      return n;
    },
    close: () => pool.close(),
  };
}

/** Raw undici: one `Client` (one socket) per worker, `client.request` + `arrayBuffer`. */
async function undiciClient(target: Target, connections: number): Promise<Adapter> {
  const { Client } = await import('undici');
  const clients = Array.from(
    { length: connections },
    () => new Client(target.origin, { pipelining: 1 }),
  );
  const opts = { path: target.path, method: 'GET' as const };
  return {
    async request(w) {
      const res = await clients[w % connections]!.request(opts);
      const body = await res.body.arrayBuffer();
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
      return body.byteLength;
    },
    close: async () => {
      await Promise.all(clients.map((c) => c.close()));
    },
  };
}

/**
 * Raw undici: one `Client` per worker, `client.dispatch` with a handler that collects
 * the body into one Buffer. The handler uses the callback API (`onConnect`, `onHeaders`,
 * `onData`, `onComplete`, `onError`), which undici 7 runs without an adapter.
 */
async function undiciDispatch(target: Target, connections: number): Promise<Adapter> {
  const { Client } = await import('undici');
  type DispatchHandler = import('undici').Dispatcher.DispatchHandler;
  const clients = Array.from(
    { length: connections },
    () => new Client(target.origin, { pipelining: 1 }),
  );
  const opts = { path: target.path, method: 'GET' as const };
  const once = (client: InstanceType<typeof Client>): Promise<number> =>
    new Promise<number>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let length = 0;
      let status = 0;
      const handler = {
        onConnect() {},
        onHeaders(statusCode: number) {
          status = statusCode;
          return true;
        },
        onData(chunk: Buffer) {
          chunks.push(chunk);
          length += chunk.length;
          return true;
        },
        onComplete() {
          const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
          if (status !== 200) reject(new Error(`status ${status}`));
          else resolve(body.length);
        },
        onError(err: Error) {
          reject(err);
        },
      };
      client.dispatch(opts, handler as unknown as DispatchHandler);
    });
  return {
    request: (w) => once(clients[w % connections]!),
    close: async () => {
      await Promise.all(clients.map((c) => c.close()));
    },
  };
}

async function nodeHttp(target: Target, connections: number): Promise<Adapter> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const url = target.url;
  return {
    request: () =>
      new Promise<number>((resolve, reject) => {
        const req = http.get(url, { agent }, (res) => {
          const chunks: Buffer[] = [];
          let length = 0;
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            length += chunk.length;
          });
          res.on('end', () => {
            const body = Buffer.concat(chunks, length);
            if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
            else resolve(body.length);
          });
          res.on('error', reject);
        });
        req.on('error', reject);
      }),
    close: async () => agent.destroy(),
  };
}

/**
 * Node's global `fetch` (the undici bundled with Node) given an npm undici 7 `Agent`
 * with `connections` sockets per origin through its `dispatcher` option.
 */
async function nodeFetch(target: Target, connections: number): Promise<Adapter> {
  const { Agent } = await import('undici');
  const dispatcher = new Agent({ connections, pipelining: 1 });
  const url = target.url;
  const init = { dispatcher } as unknown as RequestInit;
  return {
    async request() {
      const res = await fetch(url, init);
      const body = await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      return body.byteLength;
    },
    close: () => dispatcher.close(),
  };
}

async function gotAdapter(target: Target, connections: number): Promise<Adapter> {
  const { default: got } = await import('got');
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const client = got.extend({ agent: { http: agent } });
  const url = target.url;
  return {
    async request() {
      const res = await client.get(url, { responseType: 'buffer' });
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
      return res.body.length;
    },
    close: async () => agent.destroy(),
  };
}

async function axiosAdapter(target: Target, connections: number): Promise<Adapter> {
  const { default: axios } = await import('axios');
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const client = axios.create({ httpAgent: agent, responseType: 'arraybuffer' });
  const url = target.url;
  return {
    async request() {
      const res = await client.get<Buffer>(url);
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      return res.data.length;
    },
    close: async () => agent.destroy(),
  };
}

/**
 * The floor: one socket per worker that writes a fixed request and counts response
 * bytes. It parses only the first response's head (for its length) and nothing after,
 * so it needs responses of one fixed size: the bench server's canned routes.
 */
async function rawSocket(target: Target, connections: number): Promise<Adapter> {
  const request = Buffer.from(
    `GET ${target.path} HTTP/1.1\r\nhost: ${target.hostname}:${target.port}\r\n\r\n`,
    'latin1',
  );
  let responseSize = 0;
  let bodySize = 0;
  interface Slot {
    socket: net.Socket;
    received: number;
    head: Buffer[];
    resolve: ((n: number) => void) | undefined;
    reject: ((e: Error) => void) | undefined;
  }
  const open = (): Promise<Slot> =>
    new Promise((resolve, reject) => {
      const socket = net.connect({ host: target.hostname, port: target.port, noDelay: true });
      const slot: Slot = { socket, received: 0, head: [], resolve: undefined, reject: undefined };
      socket.once('connect', () => resolve(slot));
      socket.on('error', (err) => {
        reject(err);
        slot.reject?.(err);
      });
      socket.on('data', (chunk: Buffer) => {
        slot.received += chunk.length;
        if (responseSize === 0) {
          slot.head.push(chunk);
          const all = Buffer.concat(slot.head);
          const end = all.indexOf('\r\n\r\n');
          if (end === -1) return;
          const m = /content-length:\s*(\d+)/i.exec(all.toString('latin1', 0, end));
          if (m === null) {
            slot.reject?.(new Error('raw-socket needs a content-length'));
            return;
          }
          bodySize = Number(m[1]);
          responseSize = end + 4 + bodySize;
          slot.head = [];
        }
        if (slot.received >= responseSize) {
          slot.received -= responseSize;
          const done = slot.resolve!;
          slot.resolve = undefined;
          done(bodySize);
        }
      });
    });
  const slots = await Promise.all(Array.from({ length: connections }, open));
  return {
    request: (w) =>
      new Promise<number>((resolve, reject) => {
        const slot = slots[w % connections]!;
        slot.resolve = resolve;
        slot.reject = reject;
        slot.socket.write(request);
      }),
    close: async () => {
      for (const s of slots) s.socket.destroy();
    },
  };
}

/** Every adapter, by the name used on the command line and in the results. */
export const ADAPTERS: Record<string, AdapterSpec> = {
  'raw-socket': { label: 'socket loop (floor)', localOnly: true, create: rawSocket },
  'undici-dispatch': { label: 'undici Client.dispatch', create: undiciDispatch },
  'undici-client': { label: 'undici Client.request', create: undiciClient },
  'undici-request': { label: 'undici request (Pool)', create: undiciRequest },
  'sentinel-get': { label: 'sentinel client.get', create: sentinelGet },
  'sentinel-conn': { label: 'sentinel conn.request', create: sentinelConn },
  'sentinel-hook': { label: 'sentinel get + 1 hook', create: sentinelHook },
  'sentinel-otel': { label: 'sentinel get + OTel SDK', create: (t, c) => sentinelOtel(t, c) },
  'sentinel-otel-off': {
    label: 'sentinel get, SDK, telemetry off',
    create: (t, c) => sentinelOtel(t, c, false),
  },
  'sentinel-stream': { label: 'sentinel client.stream', create: sentinelGet },
  'undici-stream': { label: 'undici request stream', create: undiciRequest },
  'node-http': { label: 'node:http Agent', create: nodeHttp },
  fetch: { label: 'fetch (undici Agent)', create: nodeFetch },
  got: { label: 'got 14', create: gotAdapter },
  axios: { label: 'axios 1', create: axiosAdapter },
};
