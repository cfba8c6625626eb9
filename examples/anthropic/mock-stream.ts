/**
 * The streamed form of a mock answer: the exact SSE event sequence of the real
 * Messages API, each event with its `event:` line (the official SDK ignores
 * events without one).
 */
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Completion, type MessageBody, sseFrame, usage } from './mock-protocol.js';

/** How {@link writeMessageStream} misbehaves or slows down. */
export interface StreamBehaviour {
  /** Pause before each `content_block_delta`, in ms. */
  chunkDelayMs: number;
  /** End the stream with `event: error` (overloaded_error) right after the first delta. */
  midStreamError: boolean;
  /** Aborts the pauses when the client goes away. */
  signal: AbortSignal;
}

/**
 * Writes message_start, content_block_start, one content_block_delta per token,
 * ping, content_block_stop, message_delta and message_stop, then ends `res`.
 */
export async function writeMessageStream(
  res: ServerResponse,
  message: MessageBody,
  completion: Completion,
  behaviour: StreamBehaviour,
): Promise<void> {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
  });
  // Like the real API, the opening usage reports the input in full but only a
  // token of output; the final count comes with message_delta.
  const opening = {
    ...message,
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: usage(message.usage.input_tokens, Math.min(1, completion.outputTokens)),
  };
  res.write(sseFrame('message_start', { type: 'message_start', message: opening }));
  res.write(
    sseFrame('content_block_start', {
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'text', text: '' },
    }),
  );
  for (const text of completion.tokens) {
    if (behaviour.chunkDelayMs > 0) {
      await sleep(behaviour.chunkDelayMs, undefined, { signal: behaviour.signal });
    }
    res.write(
      sseFrame('content_block_delta', {
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'text_delta', text },
      }),
    );
    if (behaviour.midStreamError) break;
  }
  // An answer cut to nothing by a stop sequence has no delta to fail after; fail anyway.
  if (behaviour.midStreamError) {
    const error = { type: 'overloaded_error', message: 'Overloaded' };
    res.end(sseFrame('error', { type: 'error', error }));
    return;
  }
  res.write(sseFrame('ping', { type: 'ping' }));
  res.write(sseFrame('content_block_stop', { type: 'content_block_stop', index: 0 }));
  res.write(
    sseFrame('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: completion.stopReason, stop_sequence: completion.stopSequence },
      usage: { output_tokens: completion.outputTokens },
    }),
  );
  res.end(sseFrame('message_stop', { type: 'message_stop' }));
}
