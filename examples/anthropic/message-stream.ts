/**
 * A streamed message: the text deltas as an async iterable, and the whole message
 * (usage, stop reason) once `message_stop` has arrived. Built on the library's
 * `StreamingResponse.events()`; the request is only sent when reading starts.
 */
import { ProtocolError, type ServerSentEvent, type StreamingResponse } from '../../src/index.js';
import { apiErrorFromEvent } from './errors.js';
import type { ContentBlock, Message, MessageResult, Usage } from './types.js';
import { messageResult } from './types.js';

/** Opens the HTTP stream; throws `AnthropicApiError` for a non-2xx answer. */
export type StreamOpener = () => Promise<StreamingResponse>;

/**
 * The text of a streamed answer, delta by delta, then the final message.
 *
 * - `for await (const text of stream)` sends the request and yields each `text_delta`.
 * - `await stream.finalMessage()` resolves with the complete {@link MessageResult} when
 *   `message_stop` arrives (reading the rest of the stream itself if nobody iterates).
 * - An `event: error` mid-stream throws an `AnthropicApiError` (status `undefined`) from
 *   the loop, and `finalMessage()` rejects with the same error.
 * - Leaving the loop early (`break`) cancels the response; `finalMessage()` then rejects.
 *
 * @example
 * ```ts
 * const stream = anthropic.streamMessage({ model, max_tokens: 200, messages });
 * for await (const text of stream) process.stdout.write(text);
 * const { usage, stopReason } = await stream.finalMessage();
 * ```
 */
export class MessageStream implements AsyncIterable<string> {
  readonly #open: StreamOpener;
  #started = false;
  #cancelled = false;
  #response: StreamingResponse | undefined;
  readonly #final: Promise<MessageResult>;
  #resolve!: (result: MessageResult) => void;
  #reject!: (error: unknown) => void;

  constructor(open: StreamOpener) {
    this.#open = open;
    this.#final = new Promise<MessageResult>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Whoever never asks for the final message must not get an unhandled rejection.
    this.#final.catch(() => {});
  }

  /** The `request-id` of the stream, once its headers have arrived. */
  get requestId(): string | undefined {
    return this.#response?.headers.get('request-id') ?? undefined;
  }

  [Symbol.asyncIterator](): AsyncIterator<string> {
    if (this.#started) throw new TypeError('a MessageStream can be read once');
    this.#started = true;
    return this.#read();
  }

  /** The complete message, after `message_stop`. Reads the stream if nobody else does. */
  async finalMessage(): Promise<MessageResult> {
    if (!this.#started) {
      for await (const _ of this) {
        // Draining: the deltas are in the final message too.
      }
    }
    return this.#final;
  }

  /**
   * Stops the stream (the connection is discarded); `finalMessage()` rejects. Before
   * reading has started, nothing will be sent.
   */
  cancel(): void {
    this.#cancelled = true;
    this.#response?.cancel();
    this.#reject(new Error('the stream was cancelled before message_stop'));
  }

  async *#read(): AsyncGenerator<string, void, undefined> {
    let finished = false;
    if (this.#cancelled) return;
    try {
      const response = await this.#open();
      this.#response = response;
      const state = new Accumulator(response.headers.get('request-id') ?? undefined);
      for await (const event of response.events()) {
        const text = state.apply(event);
        if (text !== undefined) yield text;
      }
      // The body ended: a stream cut before message_stop is truncated, not complete.
      this.#resolve(state.result(response.attempts));
      finished = true;
    } catch (error) {
      this.#reject(error);
      throw error;
    } finally {
      if (!finished) {
        this.#response?.cancel();
        this.#reject(new Error('the stream was cancelled before message_stop'));
      }
    }
  }
}

/** Rebuilds the message from its events, as the API documents them. */
class Accumulator {
  readonly #requestId: string | undefined;
  #message: Message | undefined;
  #blocks: ContentBlock[] = [];
  #usage: Usage = { input_tokens: 0, output_tokens: 0 };
  #stopped = false;

  constructor(requestId: string | undefined) {
    this.#requestId = requestId;
  }

  /** Takes one event; returns the text it adds, if any. */
  apply(event: ServerSentEvent): string | undefined {
    switch (event.event) {
      case 'message_start': {
        const { message } = parse<{ message: Message }>(event);
        this.#message = message;
        this.#usage = { ...message.usage };
        this.#blocks = [...message.content];
        return undefined;
      }
      case 'content_block_start': {
        const { index, content_block } = parse<{ index: number; content_block: ContentBlock }>(
          event,
        );
        this.#blocks[index] = { ...content_block };
        return undefined;
      }
      case 'content_block_delta': {
        const { index, delta } = parse<{ index: number; delta: { type: string; text?: string } }>(
          event,
        );
        if (delta.type !== 'text_delta' || typeof delta.text !== 'string') return undefined;
        const block = this.#blocks[index];
        if (block === undefined) throw new ProtocolError(`delta for unknown block ${index}`);
        block.text = (block.text ?? '') + delta.text;
        return delta.text;
      }
      case 'message_delta': {
        const { delta, usage } = parse<{
          delta: { stop_reason: Message['stop_reason']; stop_sequence: string | null };
          usage?: Partial<Usage>;
        }>(event);
        const message = this.#started();
        message.stop_reason = delta.stop_reason;
        message.stop_sequence = delta.stop_sequence;
        // The usage of message_delta is cumulative: it replaces, it does not add.
        this.#usage = { ...this.#usage, ...usage };
        return undefined;
      }
      case 'message_stop':
        this.#stopped = true;
        return undefined;
      case 'error':
        throw apiErrorFromEvent(event.data, this.#requestId);
      default:
        // ping, content_block_stop, and event types added after this was written.
        return undefined;
    }
  }

  result(attempts: number): MessageResult {
    if (!this.#stopped) throw new ProtocolError('the stream ended before message_stop');
    const message: Message = {
      ...this.#started(),
      content: this.#blocks,
      usage: this.#usage,
    };
    return messageResult(message, this.#requestId, attempts);
  }

  #started(): Message {
    if (this.#message === undefined) throw new ProtocolError('event before message_start');
    return this.#message;
  }
}

function parse<T>(event: ServerSentEvent): T {
  try {
    return JSON.parse(event.data) as T;
  } catch (cause) {
    throw new ProtocolError(`malformed ${event.event} event`, { cause });
  }
}
