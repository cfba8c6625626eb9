/**
 * The scorecard's pieces: a local server whose behaviour each scenario sets, and the three
 * clients under test behind one small interface — http-sentinel with its defaults, got 14
 * with its defaults, and undici's RetryAgent with its defaults.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import got, { type Got } from 'got';
import { Agent, RetryAgent, request } from 'undici';
import { HttpClient, isSentinelError } from '../../src/index.js';

/** How one call ended. */
export interface Outcome {
  /** A 2xx answer. */
  ok: boolean;
  status?: number;
  /** An error's code (or `status N` for a non-2xx answer). */
  code?: string;
  /** When it started, ms since the scenario began. */
  startedAt: number;
  ms: number;
  /** Requests it sent, when the client says. */
  attempts?: number;
}

/** One call as the scenarios describe it. */
export interface CallSpec {
  path: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** A fresh body for each call (an async generator is one-shot). */
  body?: () => string | AsyncIterable<Uint8Array>;
  signal?: AbortSignal;
}

/** What a scenario may set for a client, beyond its defaults. */
export interface ClientSpec {
  timeoutMs?: number;
  maxConnections?: number;
  /** http-sentinel only. */
  hedge?: { delayMs: number };
}

export interface BenchClient {
  readonly name: string;
  call(spec: CallSpec, t0: number): Promise<Outcome>;
  close(): Promise<void>;
  /** The http-sentinel client, for its stats. */
  readonly sentinel?: HttpClient;
}

export type ClientFactory = (baseUrl: string, spec: ClientSpec) => BenchClient;

function outcomeOf(startedAt: number, t0: number, status: number, attempts?: number): Outcome {
  const ok = status >= 200 && status < 300;
  return {
    ok,
    status,
    code: ok ? undefined : `status ${status}`,
    startedAt: startedAt - t0,
    ms: performance.now() - startedAt,
    ...(attempts === undefined ? {} : { attempts }),
  };
}

function failureOf(startedAt: number, t0: number, err: unknown): Outcome {
  const e = err as { code?: unknown; name?: unknown; statusCode?: unknown; attempts?: unknown };
  const code =
    typeof e.statusCode === 'number'
      ? `status ${e.statusCode}`
      : typeof e.code === 'string'
        ? e.code
        : String(e.name ?? 'Error');
  return {
    ok: false,
    code,
    startedAt: startedAt - t0,
    ms: performance.now() - startedAt,
    ...(isSentinelError(err) && typeof e.attempts === 'number' ? { attempts: e.attempts } : {}),
  };
}

export const sentinelDefaults: ClientFactory = (baseUrl, spec) => {
  const client = new HttpClient({
    baseUrl,
    ...(spec.timeoutMs === undefined ? {} : { timeout: spec.timeoutMs }),
    ...(spec.maxConnections === undefined ? {} : { pool: { maxConnections: spec.maxConnections } }),
    ...(spec.hedge === undefined ? {} : { hedge: spec.hedge }),
  });
  return {
    name:
      spec.hedge === undefined ? 'http-sentinel' : `http-sentinel, hedge ${spec.hedge.delayMs} ms`,
    sentinel: client,
    async call(c, t0) {
      const started = performance.now();
      try {
        const res = await client.request({
          method: c.method ?? 'GET',
          url: c.path,
          headers: c.headers,
          body: c.body?.(),
          signal: c.signal,
        });
        return outcomeOf(started, t0, res.status, res.attempts);
      } catch (err) {
        return failureOf(started, t0, err);
      }
    },
    close: () => client.close(),
  };
};

export const gotDefaults: ClientFactory = (baseUrl, spec) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.maxConnections ?? Infinity });
  const instance: Got = got.extend({
    prefixUrl: baseUrl,
    throwHttpErrors: false,
    agent: { http: agent },
    ...(spec.timeoutMs === undefined ? {} : { timeout: { request: spec.timeoutMs } }),
  });
  return {
    name: 'got 14',
    async call(c, t0) {
      const started = performance.now();
      try {
        const res = await instance(c.path.replace(/^\//, ''), {
          method: c.method ?? 'GET',
          headers: c.headers,
          body: c.body?.() as string | undefined,
          signal: c.signal,
        });
        return outcomeOf(started, t0, res.statusCode, res.retryCount + 1);
      } catch (err) {
        return failureOf(started, t0, err);
      }
    },
    async close() {
      agent.destroy();
    },
  };
};

export const undiciRetryAgent: ClientFactory = (baseUrl, spec) => {
  const agent = new RetryAgent(new Agent({ connections: spec.maxConnections ?? null }));
  return {
    name: 'undici RetryAgent',
    async call(c, t0) {
      const started = performance.now();
      const signal =
        spec.timeoutMs === undefined
          ? c.signal
          : c.signal === undefined
            ? AbortSignal.timeout(spec.timeoutMs)
            : AbortSignal.any([c.signal, AbortSignal.timeout(spec.timeoutMs)]);
      try {
        const res = await request(`${baseUrl}${c.path}`, {
          dispatcher: agent,
          method: c.method ?? 'GET',
          headers: c.headers,
          body: c.body?.() as string | undefined,
          signal,
        });
        await res.body.dump();
        return outcomeOf(started, t0, res.statusCode);
      } catch (err) {
        return failureOf(started, t0, err);
      }
    },
    close: () => agent.close(),
  };
};

export const CLIENTS: readonly ClientFactory[] = [sentinelDefaults, gotDefaults, undiciRetryAgent];

/** A request as the server saw it. */
export interface Seen {
  /** ms since the server's clock was last reset. */
  at: number;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** The scenario's server: its handler is swapped per scenario; every request is logged. */
export class FaultServer {
  readonly #server: http.Server;
  readonly #sockets = new Set<Socket>();
  #handler: http.RequestListener = (_req, res) => res.end('ok');
  #t0 = performance.now();
  seen: Seen[] = [];
  url = '';

  constructor() {
    this.#server = http.createServer((req, res) => {
      this.seen.push({
        at: performance.now() - this.#t0,
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
      });
      this.#handler(req, res);
    });
    this.#server.keepAliveTimeout = 60_000;
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** A new behaviour and an empty log; `now()` counts from here. */
  reset(handler: http.RequestListener): void {
    this.#handler = handler;
    this.seen = [];
    this.#t0 = performance.now();
  }

  now(): number {
    return performance.now() - this.#t0;
  }

  /** Drops every connection (hung requests included) between clients. */
  dropConnections(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}

/** A deterministic draw, so every client meets the same pattern of faults. */
export function draws(seed = 1): () => number {
  let s = seed;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/** Runs `calls` calls with `concurrency` workers. */
export async function drive<T>(
  calls: number,
  concurrency: number,
  call: (i: number) => Promise<T>,
): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, calls) }, async () => {
      while (next < calls) {
        const i = next++;
        out[i] = await call(i);
      }
    }),
  );
  return out;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
