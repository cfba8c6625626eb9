/**
 * An HTTP gateway in front of NATS JetStream, for the bridge example: there is
 * no standard HTTP API for JetStream, so this one speaks JSON over `node:http`
 * and talks to a real nats-server through the official clients. It must not
 * depend on the library it exists to exercise.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import {
  consumerConfigFrom,
  consumerView,
  HttpError,
  isPublishSubject,
  isValidName,
  messageView,
  pullRequestFrom,
  streamConfigFrom,
  streamView,
  toHttpError,
} from './gateway-protocol.js';

/** Options of {@link startGateway}. */
export interface GatewayOptions {
  /** Where nats-server (with JetStream enabled) listens, e.g. `nats://127.0.0.1:4222`. */
  natsUrl: string;
  /** HTTP port. @default 0 (chosen by the OS) */
  port?: number;
  /** HTTP address. @default '127.0.0.1' */
  host?: string;
  /** Largest request body accepted before 413. @default 1048576 (NATS's default max_payload) */
  maxBodyBytes?: number;
}

/** A running gateway; see {@link startGateway}. */
export interface Gateway {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  /**
   * Fault switch for tests: the next `n` publishes are performed (the message
   * is stored) and then the HTTP socket is destroyed without an answer, as if
   * the response were lost on the way back. A client that retries with the
   * same `Idempotency-Key` must end up with the message stored once.
   */
  dropResponsesAfterPublish(n: number): void;
  /** Stops listening, cuts open HTTP connections and closes the NATS connection. */
  close(): Promise<void>;
}

type Route =
  | { name: 'healthz' }
  | { name: 'publish'; subject: string }
  | { name: 'streams' }
  | { name: 'stream'; stream: string }
  | { name: 'consumers'; stream: string }
  | { name: 'consumer'; stream: string; consumer: string }
  | { name: 'pull'; stream: string; consumer: string };

const METHODS: Readonly<Record<Route['name'], readonly string[]>> = {
  healthz: ['GET'],
  publish: ['POST'],
  streams: ['POST'],
  stream: ['GET', 'DELETE'],
  consumers: ['POST'],
  consumer: ['GET', 'DELETE'],
  pull: ['POST'],
};

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const PUBLISH_PREFIX = '/v1/jetstream/publish/';

/**
 * Connects to NATS, checks JetStream is available and starts the HTTP gateway.
 *
 * Endpoints (JSON in and out; JetStream durations in nanoseconds):
 * `GET /healthz`; `POST /v1/jetstream/publish/{subject}` (raw body, optional
 * `Idempotency-Key` used as the JetStream msgID); `POST /v1/jetstream/streams`;
 * `GET|DELETE /v1/jetstream/streams/{name}`; `POST …/streams/{s}/consumers`;
 * `GET|DELETE …/consumers/{c}`; `POST …/consumers/{c}/pull`.
 *
 * @throws when NATS cannot be reached or JetStream is not enabled.
 * @example
 * ```ts
 * const gateway = await startGateway({ natsUrl: nats.url });
 * await fetch(`${gateway.url}/v1/jetstream/publish/orders.created`, { method: 'POST', body: '{}' });
 * await gateway.close();
 * ```
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const nc = await connect({ servers: options.natsUrl, name: 'http-sentinel-jetstream-gateway' });
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc);
  } catch (error) {
    await nc.close();
    throw error;
  }
  const js = jetstream(nc);
  let drops = 0;

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const failure = toHttpError(error);
      if (res.headersSent) res.destroy();
      else sendJson(res, failure.status, failure.toJSON(), failure.headers);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, maxBodyBytes);
    const route = routeOf(req);
    const method = req.method ?? 'GET';
    if (!METHODS[route.name].includes(method)) {
      const allow = METHODS[route.name].join(', ');
      throw new HttpError(405, 'method_not_allowed', `use ${allow}`, undefined, { allow });
    }
    switch (route.name) {
      case 'healthz':
        return sendJson(res, 200, { status: 'ok', rtt_ms: await roundTrip() });
      case 'publish':
        return publish(req, res, route.subject, body);
      case 'streams': {
        // JetStream's create is idempotent: an identical config answers with the existing
        // stream, also 201 (2.9's did_create is true either way, so the two can't be told apart).
        const info = await jsm.streams.add(streamConfigFrom(parseJson(body)));
        return sendJson(res, 201, streamView(info));
      }
      case 'stream':
        if (method === 'DELETE') {
          return sendJson(res, 200, { deleted: await jsm.streams.delete(route.stream) });
        }
        return sendJson(res, 200, streamView(await jsm.streams.info(route.stream)));
      case 'consumers': {
        const config = consumerConfigFrom(parseJson(body));
        return sendJson(res, 201, consumerView(await jsm.consumers.add(route.stream, config)));
      }
      case 'consumer':
        if (method === 'DELETE') {
          const deleted = await jsm.consumers.delete(route.stream, route.consumer);
          return sendJson(res, 200, { deleted });
        }
        return sendJson(
          res,
          200,
          consumerView(await jsm.consumers.info(route.stream, route.consumer)),
        );
      case 'pull':
        return pull(js, res, route.stream, route.consumer, body);
      default: {
        const never: never = route;
        throw new Error(`unhandled route ${JSON.stringify(never)}`);
      }
    }
  }

  async function roundTrip(): Promise<number> {
    try {
      return await nc.rtt();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new HttpError(503, 'nats_unavailable', message);
    }
  }

  async function publish(req: IncomingMessage, res: ServerResponse, subject: string, body: Buffer) {
    if (!isPublishSubject(subject)) {
      throw new HttpError(400, 'invalid_subject', `cannot publish to ${JSON.stringify(subject)}`);
    }
    const maxPayload = nc.info?.max_payload;
    if (maxPayload !== undefined && body.length > maxPayload) {
      throw new HttpError(413, 'payload_too_large', `the server's max_payload is ${maxPayload}`);
    }
    const header = req.headers['idempotency-key'];
    const key = Array.isArray(header) ? header.join(', ') : header;
    if (key !== undefined && key.trim() === '') {
      throw new HttpError(400, 'invalid_request', 'Idempotency-Key must not be empty');
    }
    const ack = await js.publish(subject, body, key === undefined ? undefined : { msgID: key });
    if (drops > 0) {
      drops -= 1;
      req.socket.destroy();
      return;
    }
    sendJson(res, 200, { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  }).catch(async (error: unknown) => {
    await nc.close();
    throw error;
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${host}:${port}`,
    port,
    dropResponsesAfterPublish(n) {
      if (!Number.isInteger(n) || n < 0) {
        throw new TypeError(`n must be an integer >= 0, got ${String(n)}`);
      }
      drops = n;
    },
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await nc.close();
      })();
      return closing;
    },
  };
}

/**
 * Pulls up to `batch` messages, waiting at most `max_wait`. With `ack` (the
 * default) every message is acknowledged, and the ack confirmed by the server,
 * before the answer is sent: at-most-once delivery over HTTP, simple for
 * callers. With `ack: false` they stay pending and come back after `ack_wait`.
 * A client that leaves mid-pull gets nothing acknowledged: what was fetched is
 * nak'ed for immediate redelivery.
 */
async function pull(
  js: JetStreamClient,
  res: ServerResponse,
  stream: string,
  name: string,
  body: Buffer,
): Promise<void> {
  const request = pullRequestFrom(parseJson(body));
  const consumer = await js.consumers.get(stream, name);
  const { config } = await consumer.info(true);
  const batch = await consumer.fetch({ max_messages: request.batch, expires: request.expiresMs });
  const stop = () => batch.stop();
  res.once('close', stop);
  const messages: JsMsg[] = [];
  try {
    for await (const msg of batch) messages.push(msg);
  } finally {
    res.off('close', stop);
  }
  if (res.destroyed) {
    if (config.ack_policy !== 'none') for (const msg of messages) msg.nak();
    return;
  }
  if (request.ack && config.ack_policy !== 'none') {
    await Promise.all(messages.map((msg) => msg.ackAck()));
  }
  sendJson(res, 200, { messages: messages.map(messageView) });
}

function routeOf(req: IncomingMessage): Route {
  const { pathname } = new URL(req.url ?? '/', 'http://gateway.invalid');
  const notFound = () => new HttpError(404, 'not_found', `no route for ${pathname}`);
  if (pathname === '/healthz') return { name: 'healthz' };
  if (pathname.startsWith(PUBLISH_PREFIX)) {
    return { name: 'publish', subject: decode(pathname.slice(PUBLISH_PREFIX.length)) };
  }
  const parts = pathname.split('/').slice(1).map(decode);
  if (parts[0] !== 'v1' || parts[1] !== 'jetstream' || parts[2] !== 'streams') throw notFound();
  const [stream, consumers, consumer, action] = parts.slice(3);
  if (parts.length === 3) return { name: 'streams' };
  for (const part of [stream, consumer]) {
    if (part !== undefined && !isValidName(part)) throw notFound();
  }
  if (stream === undefined) throw notFound();
  if (parts.length === 4) return { name: 'stream', stream };
  if (consumers !== 'consumers') throw notFound();
  if (parts.length === 5) return { name: 'consumers', stream };
  if (consumer === undefined) throw notFound();
  if (parts.length === 6) return { name: 'consumer', stream, consumer };
  if (parts.length === 7 && action === 'pull') return { name: 'pull', stream, consumer };
  throw notFound();
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'invalid_path', `malformed percent-encoding in ${segment}`);
  }
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'invalid_json', 'the body is not valid JSON');
  }
}

// The whole body is consumed even past the limit, so the client finishes
// sending and reads the 413 instead of failing on a reset socket.
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  }
  if (size > limit) {
    throw new HttpError(413, 'payload_too_large', `the body exceeds ${limit} bytes`);
  }
  return Buffer.concat(chunks);
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (res.destroyed) return;
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}
