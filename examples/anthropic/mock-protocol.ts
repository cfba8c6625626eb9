/**
 * The wire protocol of the Anthropic Messages API as the local mock speaks it:
 * request validation, the error body, token estimates and the deterministic
 * answer. Pure functions only, so the server file holds nothing but I/O.
 */

/** API versions the mock accepts in the `anthropic-version` header. */
export const SUPPORTED_VERSIONS = ['2023-06-01', '2026-10-21'] as const;

/** One value of {@link SUPPORTED_VERSIONS}. */
export type ApiVersion = (typeof SUPPORTED_VERSIONS)[number];

/** Error `type`s of the real API, by the status that carries them. */
export type ApiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'timeout_error'
  | 'overloaded_error';

/** Why a message stopped, as reported in `stop_reason`. */
export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence';

/** A content block of a request message; only `text` blocks are inspected. */
export interface ContentBlock {
  type: string;
  text?: string;
  [key: string]: unknown;
}

/** One entry of `messages`. */
export interface InputMessage {
  role: 'user' | 'assistant';
  content: string | ContentBlock[];
}

/** The fields of a `count_tokens` request the mock reads. */
export interface CountTokensRequest {
  model: string;
  messages: InputMessage[];
  system?: string | ContentBlock[];
}

/** The fields of a `messages` request the mock reads. */
export interface MessagesRequest extends CountTokensRequest {
  max_tokens: number;
  stop_sequences?: string[];
  stream?: boolean;
}

/** Outcome of validating a request body: the typed request, or the 400 message. */
export type Validation<T> = { ok: true; value: T } | { ok: false; message: string };

/** The answer the mock model "generates" for one request. */
export interface Completion {
  /** The pieces the text is streamed in; each counts as one output token. */
  tokens: string[];
  text: string;
  /** Tokens "generated", including the one that produced a stop sequence. */
  outputTokens: number;
  stopReason: StopReason;
  stopSequence: string | null;
}

/** The JSON body of every error response, exactly as the real API shapes it. */
export function errorBody(type: ApiErrorType, message: string, requestId: string) {
  return { type: 'error', error: { type, message }, request_id: requestId };
}

/** The error `type` the real API pairs with an HTTP status. */
export function errorTypeForStatus(status: number): ApiErrorType {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 504:
      return 'timeout_error';
    case 529:
      return 'overloaded_error';
    default:
      return 'api_error';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type Check = string | undefined;

function checkBlocks(path: string, blocks: unknown[]): Check {
  for (const [i, block] of blocks.entries()) {
    if (!isRecord(block) || typeof block.type !== 'string') {
      return `${path}.${i}.type: Field required`;
    }
    if (block.type === 'text' && typeof block.text !== 'string') {
      return `${path}.${i}.text: Input should be a valid string`;
    }
  }
  return undefined;
}

function checkMessages(messages: unknown): Check {
  if (messages === undefined) return 'messages: Field required';
  if (!Array.isArray(messages)) return 'messages: Input should be a valid list';
  if (messages.length === 0) return 'messages: at least one message is required';
  for (const [i, message] of messages.entries()) {
    if (!isRecord(message)) return `messages.${i}: Input should be a valid dictionary`;
    if (message.role !== 'user' && message.role !== 'assistant') {
      return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    }
    const { content } = message;
    if (Array.isArray(content)) {
      if (content.length === 0) return `messages.${i}.content: at least one block is required`;
      const blockError = checkBlocks(`messages.${i}.content`, content);
      if (blockError) return blockError;
    } else if (typeof content !== 'string') {
      return `messages.${i}.content: Input should be a valid string or list of content blocks`;
    }
  }
  if ((messages[0] as InputMessage).role !== 'user') {
    return 'messages: first message must use the "user" role';
  }
  return undefined;
}

function checkSystem(system: unknown): Check {
  if (system === undefined || typeof system === 'string') return undefined;
  if (Array.isArray(system)) return checkBlocks('system', system);
  return 'system: Input should be a valid string or list of text blocks';
}

function checkSampling(body: Record<string, unknown>, version: ApiVersion): Check {
  const present = (['temperature', 'top_p', 'top_k'] as const).filter(
    (key) => body[key] !== undefined,
  );
  if (version === '2026-10-21') {
    const [first] = present;
    return first === undefined
      ? undefined
      : `${first}: not supported with anthropic-version 2026-10-21`;
  }
  const { temperature, top_p, top_k } = body;
  if (temperature !== undefined && !(typeof temperature === 'number' && inUnit(temperature))) {
    return 'temperature: Input should be a number between 0 and 1';
  }
  if (top_p !== undefined && !(typeof top_p === 'number' && inUnit(top_p))) {
    return 'top_p: Input should be a number between 0 and 1';
  }
  if (top_k !== undefined && !(Number.isInteger(top_k) && (top_k as number) > 0)) {
    return 'top_k: Input should be a positive integer';
  }
  return undefined;
}

function inUnit(value: number): boolean {
  return value >= 0 && value <= 1;
}

function checkCommon(body: Record<string, unknown>): Check {
  if (body.model === undefined) return 'model: Field required';
  if (typeof body.model !== 'string' || body.model === '') {
    return 'model: Input should be a non-empty string';
  }
  return checkMessages(body.messages) ?? checkSystem(body.system);
}

/** Validates a `POST /v1/messages/count_tokens` body. */
export function validateCountTokens(body: unknown): Validation<CountTokensRequest> {
  if (!isRecord(body)) return { ok: false, message: 'body: Input should be a JSON object' };
  const message = checkCommon(body);
  return message
    ? { ok: false, message }
    : { ok: true, value: body as unknown as CountTokensRequest };
}

/** Validates a `POST /v1/messages` body under the given API version. */
export function validateMessages(body: unknown, version: ApiVersion): Validation<MessagesRequest> {
  if (!isRecord(body)) return { ok: false, message: 'body: Input should be a JSON object' };
  const message =
    checkCommon(body) ??
    checkMaxTokens(body.max_tokens) ??
    checkStopSequences(body.stop_sequences) ??
    checkOptionalTypes(body) ??
    checkSampling(body, version);
  return message ? { ok: false, message } : { ok: true, value: body as unknown as MessagesRequest };
}

function checkMaxTokens(maxTokens: unknown): Check {
  if (maxTokens === undefined) return 'max_tokens: Field required';
  if (!Number.isInteger(maxTokens) || (maxTokens as number) < 1) {
    return 'max_tokens: Input should be a positive integer';
  }
  return undefined;
}

function checkStopSequences(stopSequences: unknown): Check {
  if (stopSequences === undefined) return undefined;
  if (
    !Array.isArray(stopSequences) ||
    !stopSequences.every((s) => typeof s === 'string' && s !== '')
  ) {
    return 'stop_sequences: Input should be a list of non-empty strings';
  }
  return undefined;
}

function checkOptionalTypes(body: Record<string, unknown>): Check {
  if (body.stream !== undefined && typeof body.stream !== 'boolean') {
    return 'stream: Input should be a valid boolean';
  }
  if (body.metadata !== undefined) {
    if (!isRecord(body.metadata)) return 'metadata: Input should be a valid dictionary';
    const userId = body.metadata.user_id;
    if (userId !== undefined && userId !== null && typeof userId !== 'string') {
      return 'metadata.user_id: Input should be a valid string';
    }
  }
  return undefined;
}

function textOf(content: string | ContentBlock[]): string {
  if (typeof content === 'string') return content;
  return content.map((block) => (block.type === 'text' ? block.text : '')).join('');
}

/**
 * A deterministic token estimate, ceil(characters / 4), over the system prompt
 * and every message; non-text blocks count by their JSON length so images and
 * tool results still cost something.
 */
export function estimateInputTokens(request: CountTokensRequest): number {
  let chars = request.system === undefined ? 0 : sizeOf(request.system);
  for (const message of request.messages) chars += sizeOf(message.content);
  return Math.max(1, Math.ceil(chars / 4));
}

function sizeOf(content: string | ContentBlock[]): number {
  if (typeof content === 'string') return content.length;
  return content.reduce(
    (sum, block) =>
      sum + (block.type === 'text' ? (block.text ?? '').length : JSON.stringify(block).length),
    0,
  );
}

/** The text the mock answers with: an echo of the last user message. */
export function answerFor(request: CountTokensRequest): string {
  const lastUser = request.messages.findLast((message) => message.role === 'user');
  const said = lastUser === undefined ? '' : textOf(lastUser.content).trim();
  return `Echo: ${said === '' ? '(empty)' : said}`;
}

/**
 * "Generates" the answer one word-token at a time, stopping like a model does:
 * at the first stop sequence produced (which is not part of the text), or at
 * `max_tokens`, or at the end of the answer.
 */
export function complete(request: MessagesRequest): Completion {
  const pieces = answerFor(request).match(/\S+\s*/g) ?? [];
  const stops = request.stop_sequences ?? [];
  const tokens: string[] = [];
  let text = '';
  for (const piece of pieces) {
    if (tokens.length === request.max_tokens) {
      return {
        tokens,
        text,
        outputTokens: tokens.length,
        stopReason: 'max_tokens',
        stopSequence: null,
      };
    }
    const found = firstStop(text + piece, stops, text.length);
    if (found) {
      const outputTokens = tokens.length + 1;
      tokens.push(piece);
      const kept = cutTokens(tokens, found.index);
      return {
        tokens: kept,
        text: kept.join(''),
        outputTokens,
        stopReason: 'stop_sequence',
        stopSequence: found.stop,
      };
    }
    tokens.push(piece);
    text += piece;
  }
  return { tokens, text, outputTokens: tokens.length, stopReason: 'end_turn', stopSequence: null };
}

// A stop sequence may begin in an earlier piece, so the cut can reach back across pieces.
function cutTokens(tokens: string[], length: number): string[] {
  const kept: string[] = [];
  let used = 0;
  for (const token of tokens) {
    if (used >= length) break;
    const part = token.slice(0, length - used);
    kept.push(part);
    used += part.length;
  }
  return kept;
}

// Only matches ending in the newest piece count: earlier text was already checked,
// so a stop sequence straddling two pieces is still found exactly once.
function firstStop(
  text: string,
  stops: string[],
  checkedUpTo: number,
): { index: number; stop: string } | undefined {
  let best: { index: number; stop: string } | undefined;
  for (const stop of stops) {
    const from = Math.max(0, checkedUpTo - stop.length + 1);
    const index = text.indexOf(stop, from);
    if (index !== -1 && (best === undefined || index < best.index)) best = { index, stop };
  }
  return best;
}

/** The `usage` object of a message, with the cache counters the mock never uses. */
export function usage(inputTokens: number, outputTokens: number) {
  return {
    input_tokens: inputTokens,
    output_tokens: outputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  };
}

/** A complete (non-streamed) `message` response body. */
export function messageBody(
  id: string,
  request: MessagesRequest,
  inputTokens: number,
  completion: Completion,
) {
  return {
    id,
    type: 'message' as const,
    role: 'assistant' as const,
    model: request.model,
    content: [{ type: 'text' as const, text: completion.text }],
    stop_reason: completion.stopReason,
    stop_sequence: completion.stopSequence,
    usage: usage(inputTokens, completion.outputTokens),
  };
}

/** A `message` response body, as {@link messageBody} builds it. */
export type MessageBody = ReturnType<typeof messageBody>;

/** One Server-Sent Event with its `event:` line, as the real stream frames it. */
export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
