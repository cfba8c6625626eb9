/**
 * The shapes of the Anthropic Messages API that the example client sends and reads.
 * Request bodies keep the API's own snake_case names, so new fields pass straight
 * through and nothing is lost in translation; results add camelCase conveniences.
 */

/** API versions the client can send in `anthropic-version`. */
export type ApiVersion = '2023-06-01' | '2026-10-21';

/** A content block of a message. Only `text` blocks are read by the client. */
export interface ContentBlock {
  type: string;
  text?: string;
  [key: string]: unknown;
}

/** One entry of `messages`. */
export interface MessageParam {
  role: 'user' | 'assistant';
  content: string | ContentBlock[];
}

/**
 * The body of `POST /v1/messages`, as the API documents it. `temperature`, `top_p` and
 * `top_k` are refused (400) by API version `2026-10-21`.
 */
export interface MessageCreateParams {
  model: string;
  max_tokens: number;
  messages: MessageParam[];
  system?: string | ContentBlock[];
  stop_sequences?: string[];
  metadata?: { user_id?: string | null };
  temperature?: number;
  top_p?: number;
  top_k?: number;
  [key: string]: unknown;
}

/** The body of `POST /v1/messages/count_tokens`. */
export interface CountTokensParams {
  model: string;
  messages: MessageParam[];
  system?: string | ContentBlock[];
  [key: string]: unknown;
}

/** Why the model stopped. */
export type StopReason =
  | 'end_turn'
  | 'max_tokens'
  | 'stop_sequence'
  | 'tool_use'
  | 'pause_turn'
  | 'refusal';

/** Token usage exactly as the API reports it, so it can be compared with billing. */
export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

/** A `message` response body. */
export interface Message {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: ContentBlock[];
  stop_reason: StopReason | null;
  stop_sequence: string | null;
  usage: Usage;
}

/** What `createMessage`, `sendMessage` and a finished stream give back. */
export interface MessageResult {
  id: string;
  model: string;
  /** The text blocks of `content`, joined. */
  text: string;
  content: ContentBlock[];
  stopReason: StopReason | null;
  stopSequence: string | null;
  usage: Usage;
  /** The `request-id` response header: quote it to Anthropic support. */
  requestId: string | undefined;
  /** HTTP attempts made (1 = no retry). */
  attempts: number;
  /** The response body as received (for a stream: rebuilt from its events). */
  message: Message;
}

/** Options of one call. */
export interface CallOptions {
  /** Ends the call with the library's `AbortError`. */
  signal?: AbortSignal;
  /** Deadline of this call in ms, retries included. @default the client's */
  timeout?: number;
}

/** The text blocks of a message, joined. */
export function textOf(content: readonly ContentBlock[]): string {
  let text = '';
  for (const block of content) if (block.type === 'text') text += block.text ?? '';
  return text;
}

/** The result callers get for a whole message, streamed or not. */
export function messageResult(
  message: Message,
  requestId: string | undefined,
  attempts: number,
): MessageResult {
  return {
    id: message.id,
    model: message.model,
    text: textOf(message.content),
    content: message.content,
    stopReason: message.stop_reason,
    stopSequence: message.stop_sequence,
    usage: message.usage,
    requestId,
    attempts,
    message,
  };
}

/** A zeroed usage counter. */
export function emptyUsage(): Required<{ [K in keyof Usage]: number }> {
  return {
    input_tokens: 0,
    output_tokens: 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  };
}
