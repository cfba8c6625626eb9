/**
 * A local mock of the Anthropic Messages API that speaks the real protocol
 * (headers, error bodies, SSE event sequence), so examples and tests can run
 * offline and the official SDK can be pointed at it to prove it. Built on
 * `node:http` alone: it must not depend on the library it exercises.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ApiErrorType,
  type ApiVersion,
  complete,
  errorBody,
  errorTypeForStatus,
  estimateInputTokens,
  type MessagesRequest,
  messageBody,
  SUPPORTED_VERSIONS,
  validateCountTokens,
  validateMessages,
} from './mock-protocol.js';
import { RateLimiter, type RateLimits } from './mock-rate-limits.js';
import { writeMessageStream } from './mock-stream.js';

/** Options of {@link startMockAnthropicServer}; all optional. */
export interface MockAnthropicOptions {
  /** The only key accepted. @default undefined (any non-empty key is accepted) */
  apiKey?: string;
  /** Largest request body accepted before 413 request_too_large. @default 33554432 (32 MiB) */
  maxBodyBytes?: number;
  /** Delay before answering every request to an API route, to simulate a slow upstream. @default 0 */
  delayMs?: number;
  /** Pause between streamed `content_block_delta` events. @default 0 */
  streamChunkDelayMs?: number;
  /** Models that exist; any other gets 404 not_found_error. @default undefined (any model) */
  models?: readonly string[];
  /** Limits reported in the `anthropic-ratelimit-*` headers (never enforced). */
  rateLimits?: Partial<RateLimits>;
}

/** A status error answered instead of the next `times` requests. */
export interface StatusFault {
  status: 429 | 500 | 503 | 529;
  /** Seconds, sent as `retry-after`. */
  retryAfter?: number;
  /** Sent as `x-should-retry`, which the official SDK obeys over its own rules. */
  shouldRetry?: 'true' | 'false';
  /** @default 1 */
  times?: number;
}

/** The next `times` streams send an `event: error` (overloaded) after the first delta. */
export interface MidStreamFault {
  midStreamError: true;
  /** @default 1 */
  times?: number;
}

/** The next `times` requests wait `delayMs` before being answered. */
export interface DelayFault {
  delayMs: number;
  /** @default 1 */
  times?: number;
}

/** A fault for {@link MockAnthropicServer.inject}. */
export type MockFault = StatusFault | MidStreamFault | DelayFault;

/** A running mock; see {@link startMockAnthropicServer}. */
export interface MockAnthropicServer {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`: the SDK's `baseURL`. */
  readonly url: string;
  readonly port: number;
  /** Requests received so far, whatever their outcome. */
  readonly requests: number;
  /** Queues a fault; faults of the same kind apply in the order injected. */
  inject(fault: MockFault): void;
  /** Drops every queued fault. */
  clearFaults(): void;
  /** Stops listening and cuts open connections (including streams in progress). */
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;

const ROUTES: Readonly<Record<string, 'messages' | 'count_tokens'>> = {
  '/v1/messages': 'messages',
  '/v1/messages/count_tokens': 'count_tokens',
};

interface Queued<T> {
  fault: T;
  left: number;
}

/** Thrown inside a handler to answer with an API error. */
class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly type: ApiErrorType = errorTypeForStatus(status),
  ) {
    super(message);
  }
}

/**
 * Starts the mock on 127.0.0.1, on a port chosen by the OS.
 *
 * @example
 * ```ts
 * const mock = await startMockAnthropicServer();
 * const client = new Anthropic({ apiKey: 'test', baseURL: mock.url, maxRetries: 0 });
 * mock.inject({ status: 529, retryAfter: 0 });
 * await mock.close();
 * ```
 */
export async function startMockAnthropicServer(
  options: MockAnthropicOptions = {},
): Promise<MockAnthropicServer> {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const limiter = new RateLimiter(options.rateLimits);
  const statusFaults: Queued<StatusFault>[] = [];
  const streamFaults: Queued<MidStreamFault>[] = [];
  const delayFaults: Queued<DelayFault>[] = [];
  let requests = 0;

  const server = createServer((req, res) => {
    requests += 1;
    const requestId = newId('req_');
    res.setHeader('request-id', requestId);
    const aborted = new AbortController();
    res.once('close', () => aborted.abort());
    handle(req, res, aborted.signal).catch((error: unknown) => {
      if (aborted.signal.aborted) return;
      if (error instanceof ApiFailure) {
        sendError(res, requestId, error);
      } else if (res.headersSent) {
        res.destroy();
      } else {
        sendError(res, requestId, new ApiFailure(500, 'Internal server error'));
      }
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse, signal: AbortSignal) {
    const route = req.method === 'POST' ? ROUTES[pathOf(req)] : undefined;
    const raw = await readBody(req, maxBodyBytes);
    if (route === undefined) {
      throw new ApiFailure(404, `Not found: ${req.method ?? 'GET'} ${pathOf(req)}`);
    }
    for (const [name, value] of Object.entries(limiter.headers())) res.setHeader(name, value);
    if (raw === undefined) {
      throw new ApiFailure(413, `Request exceeds the maximum size of ${maxBodyBytes} bytes`);
    }
    const wait = (options.delayMs ?? 0) + (take(delayFaults)?.delayMs ?? 0);
    if (wait > 0) await sleep(wait, undefined, { signal });
    authenticate(req, options.apiKey);
    const version = versionOf(req);
    const fault = take(statusFaults);
    if (fault) throw statusFailure(fault);
    const body = parseJson(raw);

    if (route === 'count_tokens') {
      const checked = validateCountTokens(body);
      if (!checked.ok) throw new ApiFailure(400, checked.message);
      checkModel(checked.value.model, options.models);
      sendJson(res, 200, { input_tokens: estimateInputTokens(checked.value) });
      return;
    }
    const checked = validateMessages(body, version);
    if (!checked.ok) throw new ApiFailure(400, checked.message);
    checkModel(checked.value.model, options.models);
    const { message, completion } = answer(checked.value);
    if (checked.value.stream === true) {
      await writeMessageStream(res, message, completion, {
        chunkDelayMs: options.streamChunkDelayMs ?? 0,
        midStreamError: take(streamFaults) !== undefined,
        signal,
      });
    } else {
      sendJson(res, 200, message);
    }
  }

  function answer(request: MessagesRequest) {
    const completion = complete(request);
    const inputTokens = estimateInputTokens(request);
    limiter.record(inputTokens, completion.outputTokens);
    return { completion, message: messageBody(newId('msg_'), request, inputTokens, completion) };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get requests() {
      return requests;
    },
    inject(fault) {
      const times = fault.times ?? 1;
      if (!Number.isInteger(times) || times < 1) {
        throw new TypeError(`fault.times must be a positive integer, got ${String(times)}`);
      }
      if ('status' in fault) statusFaults.push({ fault, left: times });
      else if ('midStreamError' in fault) streamFaults.push({ fault, left: times });
      else delayFaults.push({ fault, left: times });
    },
    clearFaults() {
      statusFaults.length = 0;
      streamFaults.length = 0;
      delayFaults.length = 0;
    },
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function take<T>(queue: Queued<T>[]): T | undefined {
  const head = queue[0];
  if (head === undefined) return undefined;
  head.left -= 1;
  if (head.left === 0) queue.shift();
  return head.fault;
}

function statusFailure(fault: StatusFault): ApiFailure {
  const headers: Record<string, string> = {};
  if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
  if (fault.shouldRetry !== undefined) headers['x-should-retry'] = fault.shouldRetry;
  const messages: Record<StatusFault['status'], string> = {
    429: 'Number of requests has exceeded your rate limit',
    500: 'Internal server error',
    503: 'Service unavailable',
    529: 'Overloaded',
  };
  return new ApiFailure(fault.status, messages[fault.status], headers);
}

function authenticate(req: IncomingMessage, expected: string | undefined): void {
  const headerKey = req.headers['x-api-key'];
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const key = typeof headerKey === 'string' && headerKey !== '' ? headerKey : bearer;
  if (key === undefined) {
    throw new ApiFailure(401, 'x-api-key or Authorization: Bearer header is required');
  }
  if (expected !== undefined && key !== expected) throw new ApiFailure(401, 'invalid x-api-key');
}

function versionOf(req: IncomingMessage): ApiVersion {
  const version = req.headers['anthropic-version'];
  if (version === undefined) throw new ApiFailure(400, 'anthropic-version: header is required');
  const supported = SUPPORTED_VERSIONS.find((v) => v === version);
  if (supported === undefined) {
    throw new ApiFailure(400, `anthropic-version: unsupported version ${JSON.stringify(version)}`);
  }
  return supported;
}

function checkModel(model: string, models: readonly string[] | undefined): void {
  if (models !== undefined && !models.includes(model)) {
    throw new ApiFailure(404, `model: ${model}`);
  }
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ApiFailure(400, 'There was an error parsing the body of your request as JSON');
  }
}

function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? '/', 'http://mock.invalid').pathname;
}

function newId(prefix: string): string {
  return `${prefix}mock_${randomBytes(12).toString('hex')}`;
}

// The whole body is always consumed, even past the limit, so that the client
// finishes sending and reads the 413 instead of failing on a reset socket.
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  }
  return size > limit ? undefined : Buffer.concat(chunks);
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { ...headers, 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, requestId: string, failure: ApiFailure): void {
  sendJson(
    res,
    failure.status,
    errorBody(failure.type, failure.message, requestId),
    failure.headers,
  );
}
