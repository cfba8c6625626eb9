/**
 * A NATS JetStream client over HTTP, built on http-sentinel's `HttpClient`: publishes
 * (V-Omega envelopes with idempotent retries), streams, durable pull consumers, pulls,
 * and nats-server's own monitoring (`/healthz`, `/jsz`). It talks to the JSON gateway of
 * `gateway.ts` and uses the library only through its public entry point.
 */
import {
  HttpClient,
  type HttpResponse,
  isSentinelError,
  type RequestOptions,
  type RetryConfig,
} from '../../src/index.js';
import { gatewayErrorFrom } from './errors.js';
import {
  type ConsumerInfo,
  type ConsumerOptions,
  consumerBody,
  consumerInfoFrom,
  type HealthStatus,
  JetStreamMessage,
  type JetStreamStats,
  jetStreamStatsFrom,
  type PublishAck,
  type PulledView,
  type StreamInfo,
  type StreamOptions,
  streamBody,
  streamInfoFrom,
} from './types.js';
import { vomegaEnvelope, vomegaStreamName, vomegaSubject } from './vomega.js';

/** Options of a {@link NatsJetStreamClient}. */
export interface NatsJetStreamClientOptions {
  /** The gateway's base URL, e.g. `http://127.0.0.1:8080`. */
  gatewayUrl: string;
  /** nats-server's monitoring base URL (port 8222 by default), for `health()` and `jetStreamStats()`. */
  monitorUrl?: string;
  /** The V-Omega theater of every subject and stream name. @default 'azure' */
  theater?: string;
  /** An `HttpClient` to share (pool, breakers, budget); the caller closes it. */
  client?: HttpClient;
  /** Deadline of each call in ms, retries included (a pull adds its own wait). @default 10000 */
  timeout?: number;
  /** Attempts per publish, the first included. @default 5 */
  publishAttempts?: number;
}

/** What `publishVOmegaMessage` returns: JetStream's ack, and where the envelope went. */
export interface VOmegaPublishAck extends PublishAck {
  /** The envelope id, also the `Idempotency-Key` and JetStream msg id. */
  id: string;
  subject: string;
}

/** Options of one pull. */
export interface PullOptions {
  /**
   * `true`: the gateway acknowledges every message, and waits for JetStream to confirm,
   * before it answers (at-most-once: an answer lost on the way loses its messages).
   * `false`: nothing is acknowledged; the messages come back after the consumer's
   * `ack_wait` (there is no ack endpoint: use it to peek, not to process).
   * @default true
   */
  ack?: boolean;
}

const IDEMPOTENT_AND_POST = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE', 'POST'];
// Creating a stream or consumer with the same config answers the same: safe to repeat.
const CREATE_RETRY: Partial<RetryConfig> = Object.freeze({ methods: IDEMPOTENT_AND_POST });
const JSON_HEADERS = Object.freeze({ 'content-type': 'application/json' });
const BYTES_HEADERS = Object.freeze({ 'content-type': 'application/octet-stream' });

/**
 * JetStream through the HTTP gateway.
 *
 * **Publishing exactly once.** Every V-Omega publish carries an `Idempotency-Key` equal to
 * its envelope id; the gateway makes it the JetStream msg id, so JetStream stores a repeat
 * once (within the stream's duplicate window, 2 minutes by default) and answers
 * `duplicate: true`. With the key, http-sentinel retries the POST: after a connection
 * error (also one where the message was stored but the answer was lost, or cut off), a
 * timeout, a 5xx, and — added here — a malformed answer (`ProtocolError`), which the
 * library does not retry by default. A publish without a key (`publishMessage` without one) is
 * sent once.
 *
 * **Pulls** are never retried: the gateway acknowledges before it answers, so an answer
 * lost on the way means those messages are gone, and a silent retry would hide it.
 *
 * **The client's own HttpClient** (when none is passed) keeps up to 64 connections to the
 * gateway, all of them open between bursts (the pool's default keeps 10 idle, which makes
 * 64 concurrent publishers open and close sockets all the time), and lets its breaker open
 * only after 50 failures in a row rather than 10: a burst of lost answers from a gateway
 * that goes on storing every message is what idempotent publishing absorbs, not an
 * outage. The retry budget still caps retries at 20 % of recent calls.
 *
 * @example
 * ```ts
 * const nats = new NatsJetStreamClient({ gatewayUrl, monitorUrl });
 * await nats.createVOmegaStream('ai');
 * const ack = await nats.publishVOmegaMessage('ai', 'training', 'started', { job: 42 });
 * await nats.close();
 * ```
 */
export class NatsJetStreamClient {
  /** The HTTP client the calls go through (the caller's, or the client's own). */
  readonly http: HttpClient;
  /** The theater of every V-Omega subject and stream. */
  readonly theater: string;
  readonly #ownsHttp: boolean;
  readonly #gateway: string;
  readonly #monitor: string | undefined;
  readonly #timeout: number;
  readonly #publishRetry: Partial<RetryConfig>;

  /** @throws {TypeError} when an option is invalid */
  constructor(options: NatsJetStreamClientOptions) {
    const { gatewayUrl } = options ?? {};
    if (typeof gatewayUrl !== 'string' || gatewayUrl === '') {
      throw new TypeError('NatsJetStreamClient: gatewayUrl is required');
    }
    this.#gateway = new URL(gatewayUrl).href.replace(/\/+$/, '');
    this.#monitor =
      options.monitorUrl === undefined
        ? undefined
        : new URL(options.monitorUrl).href.replace(/\/+$/, '');
    this.theater = options.theater ?? 'azure';
    vomegaStreamName(this.theater, 'check'); // validates the theater now, not on first use
    this.#timeout = options.timeout ?? 10_000;
    const attempts = options.publishAttempts ?? 5;
    if (!Number.isInteger(attempts) || attempts < 1) {
      throw new TypeError('NatsJetStreamClient: publishAttempts must be an integer >= 1');
    }
    // One object for the client's lifetime: the library builds its engine once per object.
    this.#publishRetry = Object.freeze({
      maxAttempts: attempts,
      initialDelayMs: 20,
      maxDelayMs: 1_000,
      shouldRetry: retryMalformedAnswerWithKey,
    });
    this.#ownsHttp = options.client === undefined;
    this.http =
      options.client ??
      new HttpClient({
        timeout: this.#timeout,
        pool: { maxConnections: 64, maxIdleConnections: 64 },
        circuitBreaker: { consecutiveFailures: 50 },
      });
  }

  /**
   * Publishes `body` as is to `subject`. With `idempotencyKey`, retried and stored once
   * per key; without, sent once.
   * @throws {NatsGatewayError} e.g. 404 `no_stream_for_subject`, 400 `invalid_subject`
   */
  async publishMessage(
    subject: string,
    body: string | Uint8Array,
    options: { idempotencyKey?: string; signal?: AbortSignal } = {},
  ): Promise<PublishAck> {
    const headers = typeof body === 'string' ? JSON_HEADERS : BYTES_HEADERS;
    const key = options.idempotencyKey;
    const res = await this.#call(
      'POST',
      `${this.#gateway}/v1/jetstream/publish/${encodeURIComponent(subject)}`,
      body,
      key === undefined
        ? { retry: false, signal: options.signal }
        : { idempotencyKey: key, retry: this.#publishRetry, signal: options.signal },
      headers,
    );
    const ack = res.json<Omit<PublishAck, 'attempts'>>();
    return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate, attempts: res.attempts };
  }

  /**
   * Publishes a V-Omega envelope `{id, timestamp, theater, domain, application, action,
   * payload}` to `vomega.{theater}.{domain}.{application}.{action}`, with the envelope id
   * as `Idempotency-Key`: retried until stored, stored once. Pass `id` to publish an
   * envelope again (it is then de-duplicated against the first).
   * @throws {TypeError} for an invalid domain, application or action
   * @throws {NatsGatewayError} e.g. 404 `no_stream_for_subject` before `createVOmegaStream`
   */
  async publishVOmegaMessage<T>(
    domain: string,
    application: string,
    action: string,
    payload: T,
    options: { id?: string; signal?: AbortSignal } = {},
  ): Promise<VOmegaPublishAck> {
    const subject = vomegaSubject(this.theater, domain, application, action);
    const envelope = vomegaEnvelope(this.theater, domain, application, action, payload, options.id);
    const ack = await this.publishMessage(subject, JSON.stringify(envelope), {
      idempotencyKey: envelope.id,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    return { ...ack, id: envelope.id, subject };
  }

  /**
   * Creates a stream (or answers the existing one when the config is the same).
   * @throws {NatsGatewayError} 409 `stream_name_in_use` / `subjects_overlap`, 400 for a bad config
   */
  async createStream(
    name: string,
    subjects: readonly string[],
    options: StreamOptions = {},
  ): Promise<StreamInfo> {
    const res = await this.#call(
      'POST',
      `${this.#gateway}/v1/jetstream/streams`,
      JSON.stringify(streamBody(name, subjects, options)),
      { retry: CREATE_RETRY },
    );
    return streamInfoFrom(res.json());
  }

  /** The stream of a domain: `VOMEGA_{THEATER}_{DOMAIN}` capturing `vomega.{theater}.{domain}.>`. */
  createVOmegaStream(domain: string, options: StreamOptions = {}): Promise<StreamInfo> {
    return this.createStream(
      vomegaStreamName(this.theater, domain),
      [vomegaSubject(this.theater, domain)],
      options,
    );
  }

  /** @throws {NatsGatewayError} 404 `stream_not_found` */
  async getStreamInfo(name: string): Promise<StreamInfo> {
    const res = await this.#call('GET', `${this.#gateway}/v1/jetstream/streams/${seg(name)}`);
    return streamInfoFrom(res.json());
  }

  /** @throws {NatsGatewayError} 404 `stream_not_found` */
  async deleteStream(name: string): Promise<boolean> {
    const res = await this.#call('DELETE', `${this.#gateway}/v1/jetstream/streams/${seg(name)}`);
    return res.json<{ deleted: boolean }>().deleted;
  }

  /**
   * Creates a durable pull consumer (explicit acks unless told otherwise), or updates an
   * existing one where JetStream allows.
   * @throws {NatsGatewayError} 404 `stream_not_found`, 400 for a bad config
   */
  async createConsumer(
    stream: string,
    durable: string,
    options: ConsumerOptions = {},
  ): Promise<ConsumerInfo> {
    const res = await this.#call(
      'POST',
      `${this.#gateway}/v1/jetstream/streams/${seg(stream)}/consumers`,
      JSON.stringify(consumerBody(durable, options)),
      { retry: CREATE_RETRY },
    );
    return consumerInfoFrom(res.json());
  }

  /**
   * A durable consumer on a domain's stream; narrow it to one application with
   * `filterSubject: vomegaSubject(theater, domain, 'training')`.
   */
  createVOmegaConsumer(
    domain: string,
    durable: string,
    options: ConsumerOptions = {},
  ): Promise<ConsumerInfo> {
    return this.createConsumer(vomegaStreamName(this.theater, domain), durable, options);
  }

  /** @throws {NatsGatewayError} 404 `stream_not_found` / `consumer_not_found` */
  async getConsumerInfo(stream: string, durable: string): Promise<ConsumerInfo> {
    const res = await this.#call(
      'GET',
      `${this.#gateway}/v1/jetstream/streams/${seg(stream)}/consumers/${seg(durable)}`,
    );
    return consumerInfoFrom(res.json());
  }

  /** @throws {NatsGatewayError} 404 `stream_not_found` / `consumer_not_found` */
  async deleteConsumer(stream: string, durable: string): Promise<boolean> {
    const res = await this.#call(
      'DELETE',
      `${this.#gateway}/v1/jetstream/streams/${seg(stream)}/consumers/${seg(durable)}`,
    );
    return res.json<{ deleted: boolean }>().deleted;
  }

  /**
   * Up to `batch` (1–1000) messages, waiting at most `timeoutMs` for them (the gateway
   * waits at least 1 s when fewer are available). By default the gateway has acknowledged
   * them before answering; see {@link PullOptions.ack}. Never retried (see the class doc).
   * @throws {NatsGatewayError} 404 `consumer_not_found`, 400 for a bad batch
   */
  async pullMessages(
    stream: string,
    consumer: string,
    batch: number,
    timeoutMs: number,
    options: PullOptions = {},
  ): Promise<JetStreamMessage[]> {
    const body = { batch, max_wait: Math.round(timeoutMs * 1_000_000), ack: options.ack ?? true };
    const res = await this.#call(
      'POST',
      `${this.#gateway}/v1/jetstream/streams/${seg(stream)}/consumers/${seg(consumer)}/pull`,
      JSON.stringify(body),
      { retry: false, timeout: Math.max(timeoutMs, 1_000) + this.#timeout },
    );
    return res.json<{ messages: PulledView[] }>().messages.map((m) => new JetStreamMessage(m));
  }

  /** nats-server's `/healthz`: `ok` false (not an error) when the server says it is unwell. */
  async health(): Promise<HealthStatus> {
    const res = await this.http.get(`${this.#monitorUrl()}/healthz`, undefined, {
      timeout: this.#timeout,
    });
    let body: { status?: unknown; error?: unknown } = {};
    try {
      body = res.json();
    } catch {
      // An unparsable answer still has a status code.
    }
    const status = typeof body.status === 'string' ? body.status : `http_${res.status}`;
    return {
      ok: res.status === 200 && status === 'ok',
      status,
      error: typeof body.error === 'string' ? body.error : undefined,
    };
  }

  /**
   * Streams (messages, bytes) and consumers (num_pending, num_ack_pending) from
   * nats-server's `/jsz?streams=true&consumers=true`.
   * @throws {NatsGatewayError} (`source: 'monitor'`) for a non-2xx answer
   */
  async jetStreamStats(): Promise<JetStreamStats> {
    const res = await this.http.get(
      `${this.#monitorUrl()}/jsz?streams=true&consumers=true`,
      { accept: 'application/json' },
      { timeout: this.#timeout },
    );
    if (!res.ok) throw gatewayErrorFrom(res.status, res.text(), res.attempts, 'monitor');
    return jetStreamStatsFrom(res.json());
  }

  /** Closes the HTTP client if this client made it. */
  async close(): Promise<void> {
    if (this.#ownsHttp) await this.http.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #monitorUrl(): string {
    if (this.#monitor === undefined) {
      throw new TypeError('NatsJetStreamClient: monitorUrl is needed for monitoring');
    }
    return this.#monitor;
  }

  async #call(
    method: string,
    url: string,
    body?: string | Uint8Array,
    options: RequestOptions = {},
    headers: Readonly<Record<string, string>> = JSON_HEADERS,
  ): Promise<HttpResponse> {
    const res = await this.http.request({
      method,
      url,
      headers: body === undefined ? undefined : headers,
      body,
      timeout: this.#timeout,
      ...stripUndefined(options),
    });
    if (!res.ok) throw gatewayErrorFrom(res.status, res.text(), res.attempts);
    return res;
  }
}

/**
 * With an `Idempotency-Key`, a malformed answer is retried like a lost or cut-off one:
 * the key makes the repeat harmless. Everything else is left to the default rules.
 */
function retryMalformedAnswerWithKey(ctx: {
  idempotencyKey?: boolean;
  error?: unknown;
}): boolean | undefined {
  return ctx.idempotencyKey === true &&
    isSentinelError(ctx.error) &&
    ctx.error.code === 'SENTINEL_PROTOCOL'
    ? true
    : undefined;
}

function seg(name: string): string {
  return encodeURIComponent(name);
}

function stripUndefined<T extends object>(options: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) out[key as keyof T] = value as T[keyof T];
  }
  return out;
}
