/**
 * A multi-turn conversation: the Messages API is stateless, so every turn sends the whole
 * history; this keeps it, and the token usage summed over the turns.
 */
import type { ContentBlock, MessageCreateParams, MessageParam, MessageResult } from './types.js';
import { emptyUsage } from './types.js';

/** Settings of a {@link Conversation}, fixed for all its turns. */
export interface ConversationOptions {
  model: string;
  /** The system prompt, sent with every turn. */
  system?: string;
  /** `max_tokens` of every answer. @default 1024 */
  maxTokens?: number;
}

/** Cumulative usage of a conversation: every field summed over its turns. */
export type ConversationUsage = ReturnType<typeof emptyUsage>;

/** How a conversation reaches the API (the client's `createMessage`). */
export type CreateMessage = (params: MessageCreateParams) => Promise<MessageResult>;

/**
 * History and usage of one conversation. Turns run one at a time: a `send()` made while
 * another is in flight waits for it, so the history stays in order. A failed turn leaves
 * the history as it was.
 *
 * @example
 * ```ts
 * const chat = anthropic.conversation({ model, system: 'Be brief.', maxTokens: 200 });
 * await chat.send('Hello');
 * await chat.send('And again');
 * console.log(chat.history.length, chat.usage.input_tokens);
 * ```
 */
export class Conversation {
  readonly #create: CreateMessage;
  readonly #options: Required<Pick<ConversationOptions, 'model' | 'maxTokens'>> &
    Pick<ConversationOptions, 'system'>;
  #history: readonly MessageParam[] = [];
  #usage: ConversationUsage = emptyUsage();
  #turns = 0;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(create: CreateMessage, options: ConversationOptions) {
    if (typeof options?.model !== 'string' || options.model === '') {
      throw new TypeError('conversation: model is required');
    }
    this.#create = create;
    this.#options = {
      model: options.model,
      maxTokens: options.maxTokens ?? 1024,
      system: options.system,
    };
  }

  /** The turns so far, user and assistant alternating (a frozen array). */
  get history(): readonly MessageParam[] {
    return this.#history;
  }

  /** Tokens used by all turns so far (a copy). */
  get usage(): ConversationUsage {
    return { ...this.#usage };
  }

  /** Completed turns. */
  get turns(): number {
    return this.#turns;
  }

  /** Sends `text` as the next user turn, with the history; returns the answer. */
  send(text: string): Promise<MessageResult> {
    const turn = this.#queue.then(() => this.#send(text));
    this.#queue = turn.catch(() => {});
    return turn;
  }

  async #send(text: string): Promise<MessageResult> {
    const messages: MessageParam[] = [...this.#history, { role: 'user', content: text }];
    const { model, maxTokens, system } = this.#options;
    const result = await this.#create({
      model,
      max_tokens: maxTokens,
      messages,
      ...(system === undefined ? {} : { system }),
    });
    const content: ContentBlock[] = result.content.map((block) => ({ ...block }));
    this.#history = Object.freeze([...messages, { role: 'assistant', content }]);
    const usage = this.#usage;
    usage.input_tokens += result.usage.input_tokens;
    usage.output_tokens += result.usage.output_tokens;
    usage.cache_creation_input_tokens += result.usage.cache_creation_input_tokens ?? 0;
    usage.cache_read_input_tokens += result.usage.cache_read_input_tokens ?? 0;
    this.#turns += 1;
    return result;
  }
}
