/**
 * A client of the Anthropic Messages API built on http-sentinel's `HttpClient`: messages,
 * conversations, streaming and token counting, with the API's own retry rules and typed
 * errors. It uses the library only through its public entry point.
 */
import {
  HttpClient,
  type HttpResponse,
  type RequestInit,
  type RetryConfig,
  type StreamingResponse,
} from '../../src/index.js';
import { Conversation, type ConversationOptions } from './conversation.js';
import { apiErrorFromResponse } from './errors.js';
import { MessageStream } from './message-stream.js';
import {
  type ApiVersion,
  type CallOptions,
  type CountTokensParams,
  type Message,
  type MessageCreateParams,
  type MessageResult,
  messageResult,
} from './types.js';

/** Options of an {@link AnthropicClient}. */
export interface AnthropicClientOptions {
  /** The API key. */
  apiKey: string;
  /**
   * Where the API is.
   * @default the `ANTHROPIC_BASE_URL` variable, else `https://api.anthropic.com`
   */
  baseUrl?: string;
  /**
   * `anthropic-version`. `2026-10-21` sends the key as `Authorization: Bearer`, `2023-06-01`
   * as `x-api-key`.
   * @default '2026-10-21'
   */
  apiVersion?: ApiVersion;
  /**
   * Deadline of each call in ms, retries included; for a stream, until its headers, and
   * then the longest wait for the next event.
   * @default 600000 (10 minutes, as the official SDK: long answers take time)
   */
  timeout?: number;
  /** Retries after the first attempt. @default 2 */
  maxRetries?: number;
  /**
   * First backoff delay in ms (full jitter, doubling, capped at 8 s), as the official SDK.
   * A `retry-after` header is a floor on it.
   * @default 500
   */
  initialRetryDelayMs?: number;
  /**
   * An `HttpClient` to share (its pool, breakers, budget); the caller closes it. The
   * client's retry rules are applied per request, so they hold on a shared client too.
   */
  client?: HttpClient;
}

/** Statuses the API documents as transient (529: overloaded). */
export const RETRY_STATUSES: readonly number[] = Object.freeze([
  408, 409, 429, 500, 502, 503, 504, 529,
]);

const DEFAULT_BASE_URL = 'https://api.anthropic.com';

/**
 * The Anthropic Messages API over http-sentinel.
 *
 * **Retries.** Every endpoint is a POST. Retrying one is what the official SDK does: a
 * Messages call changes no state, so a repeat costs tokens, never correctness. The client
 * therefore declares POST retryable in a retry override of its own requests (`methods:
 * ['POST']`) rather than sending an `Idempotency-Key` the API does not honour. It retries
 * 408, 409, 429, 5xx and 529, connection failures and attempt timeouts, waits at least
 * `retry-after`, and obeys `x-should-retry: true|false` over all of that. A stream is
 * retried only until its headers; once text has arrived, an error ends it.
 *
 * @example
 * ```ts
 * await using anthropic = new AnthropicClient({ apiKey: process.env.ANTHROPIC_API_KEY! });
 * const { text, usage } = await anthropic.sendMessage('claude-haiku-5-5', 'Hello', 200);
 * ```
 */
export class AnthropicClient {
  /** The HTTP client the requests go through (the caller's, or the client's own). */
  readonly http: HttpClient;
  /** The API version sent with every request. */
  readonly apiVersion: ApiVersion;
  readonly #ownsHttp: boolean;
  readonly #messagesUrl: string;
  readonly #countTokensUrl: string;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #retry: Partial<RetryConfig>;
  readonly #timeout: number;

  /** @throws {TypeError} when an option is invalid */
  constructor(options: AnthropicClientOptions) {
    const { apiKey } = options ?? {};
    if (typeof apiKey !== 'string' || apiKey === '') {
      throw new TypeError('AnthropicClient: apiKey is required');
    }
    const apiVersion = options.apiVersion ?? '2026-10-21';
    if (apiVersion !== '2026-10-21' && apiVersion !== '2023-06-01') {
      throw new TypeError(`AnthropicClient: unsupported apiVersion ${String(apiVersion)}`);
    }
    const maxRetries = options.maxRetries ?? 2;
    if (!Number.isInteger(maxRetries) || maxRetries < 0) {
      throw new TypeError('AnthropicClient: maxRetries must be an integer >= 0');
    }
    const base = (options.baseUrl ?? process.env.ANTHROPIC_BASE_URL ?? DEFAULT_BASE_URL).replace(
      /\/+$/,
      '',
    );
    // Appended, not resolved, so a base URL with a path (a proxy's /anthropic) keeps it.
    this.#messagesUrl = new URL(`${base}/v1/messages`).href;
    this.#countTokensUrl = new URL(`${base}/v1/messages/count_tokens`).href;
    this.apiVersion = apiVersion;
    this.#headers = Object.freeze({
      ...(apiVersion === '2023-06-01'
        ? { 'x-api-key': apiKey }
        : { authorization: `Bearer ${apiKey}` }),
      'anthropic-version': apiVersion,
      'content-type': 'application/json',
      accept: 'application/json',
    });
    this.#timeout = options.timeout ?? 600_000;
    const initialDelayMs = options.initialRetryDelayMs ?? 500;
    // One object for the client's lifetime: the library builds its engine once per object.
    this.#retry = Object.freeze({
      maxAttempts: maxRetries + 1,
      initialDelayMs,
      maxDelayMs: Math.max(initialDelayMs, 8_000),
      methods: ['POST'],
      statusCodes: RETRY_STATUSES,
      shouldRetry: obeyShouldRetryHeader,
    });
    this.#ownsHttp = options.client === undefined;
    this.http = options.client ?? new HttpClient({ timeout: this.#timeout });
  }

  /**
   * One user message, one answer.
   * @throws {AnthropicApiError} for an error answer (after the retries it allows)
   */
  sendMessage(
    model: string,
    text: string,
    maxTokens: number,
    options?: CallOptions,
  ): Promise<MessageResult> {
    return this.createMessage(
      { model, max_tokens: maxTokens, messages: [{ role: 'user', content: text }] },
      options,
    );
  }

  /**
   * `POST /v1/messages` with any parameters the API takes (`stream` is set by
   * {@link streamMessage}, not here).
   * @throws {AnthropicApiError} for an error answer
   */
  async createMessage(params: MessageCreateParams, options?: CallOptions): Promise<MessageResult> {
    const res = await this.#post(this.#messagesUrl, { ...params, stream: false }, options);
    return messageResult(
      res.json<Message>(),
      res.headers.get('request-id') ?? undefined,
      res.attempts,
    );
  }

  /**
   * A streamed answer: iterate it for the text deltas, then `await finalMessage()` for
   * usage and stop reason. Nothing is sent until reading starts.
   * @example
   * ```ts
   * const stream = anthropic.streamMessage({ model, max_tokens: 300, messages });
   * for await (const text of stream) process.stdout.write(text);
   * console.log((await stream.finalMessage()).usage);
   * ```
   */
  streamMessage(params: MessageCreateParams, options?: CallOptions): MessageStream {
    return new MessageStream(() => this.#openStream({ ...params, stream: true }, options));
  }

  /**
   * The input tokens `params` would cost (`POST /v1/messages/count_tokens`).
   * @throws {AnthropicApiError} for an error answer
   */
  async countTokens(params: CountTokensParams, options?: CallOptions): Promise<number> {
    const res = await this.#post(this.#countTokensUrl, params, options);
    return res.json<{ input_tokens: number }>().input_tokens;
  }

  /** A conversation that keeps its history and sums its usage. */
  conversation(options: ConversationOptions): Conversation {
    return new Conversation((params) => this.createMessage(params), options);
  }

  /** Closes the HTTP client if this client made it. */
  async close(): Promise<void> {
    if (this.#ownsHttp) await this.http.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #init(url: string, body: unknown, options: CallOptions | undefined): RequestInit {
    return {
      method: 'POST',
      url,
      headers: this.#headers,
      body: JSON.stringify(body),
      retry: this.#retry,
      timeout: options?.timeout ?? this.#timeout,
      ...(options?.signal === undefined ? {} : { signal: options.signal }),
    };
  }

  async #post(url: string, body: unknown, options: CallOptions | undefined): Promise<HttpResponse> {
    const res = await this.http.request(this.#init(url, body, options));
    if (!res.ok) throw apiErrorFromResponse(res.status, res.headers, res.text(), res.attempts);
    return res;
  }

  async #openStream(
    body: MessageCreateParams,
    options: CallOptions | undefined,
  ): Promise<StreamingResponse> {
    const res = await this.http.stream({
      ...this.#init(this.#messagesUrl, body, options),
      headers: { ...this.#headers, accept: 'text/event-stream' },
    });
    if (!res.ok) {
      const text = await res.text();
      throw apiErrorFromResponse(res.status, res.headers, text, res.attempts);
    }
    return res;
  }
}

/**
 * `x-should-retry: true|false` overrides every other rule, as in the official SDK;
 * without it, the status and error lists decide.
 */
function obeyShouldRetryHeader(ctx: { headers?: Headers }): boolean | undefined {
  const header = ctx.headers?.get('x-should-retry');
  if (header === 'true') return true;
  if (header === 'false') return false;
  return undefined;
}
