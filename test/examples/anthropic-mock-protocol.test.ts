/**
 * The Anthropic mock's wire protocol as seen without the SDK: what the SDK
 * never sends (the 2023 version with x-api-key, malformed bodies, missing
 * headers), the exact SSE framing, and the pure functions behind the answers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  complete,
  estimateInputTokens,
  type MessagesRequest,
} from '../../examples/anthropic/mock-protocol.js';
import {
  type MockAnthropicServer,
  startMockAnthropicServer,
} from '../../examples/anthropic/mock-server.js';
import { HELLO, MODEL, raw } from './anthropic-helpers.js';

describe('Anthropic mock, raw protocol', () => {
  let mock: MockAnthropicServer;
  const valid = { model: MODEL, max_tokens: 10, messages: HELLO };

  before(async () => {
    mock = await startMockAnthropicServer();
  });
  after(() => mock.close());

  it('accepts x-api-key with version 2023-06-01, sampling parameters included', async () => {
    const { response, json } = await raw(mock, { ...valid, temperature: 0.2, top_p: 1, top_k: 3 });
    assert.equal(response.status, 200);
    assert.equal(json.content[0]?.text, 'Echo: Hello there friend');
  });

  it('answers 401 without a key and 400 without or with an unknown anthropic-version', async () => {
    const cases: { headers: Record<string, string>; status: number; type: string }[] = [
      { headers: { 'anthropic-version': '2023-06-01' }, status: 401, type: 'authentication_error' },
      { headers: { 'x-api-key': 'k' }, status: 400, type: 'invalid_request_error' },
      {
        headers: { authorization: 'Bearer k', 'anthropic-version': '2024-01-01' },
        status: 400,
        type: 'invalid_request_error',
      },
    ];
    for (const { headers, status, type } of cases) {
      const { response, json } = await raw(mock, valid, headers);
      assert.equal(response.status, status, JSON.stringify(headers));
      assert.equal(json.type, 'error');
      assert.equal(json.error.type, type);
      assert.equal(typeof json.error.message, 'string');
      assert.equal(json.request_id, response.headers.get('request-id'));
    }
  });

  it('rejects malformed requests with 400 invalid_request_error naming the field', async () => {
    const cases: [unknown, RegExp][] = [
      ['{"model": ', /parsing the body/],
      [[1, 2], /JSON object/],
      [{ ...valid, model: undefined }, /^model: Field required/],
      [{ ...valid, model: 42 }, /^model:/],
      [{ ...valid, max_tokens: undefined }, /^max_tokens: Field required/],
      [{ ...valid, max_tokens: 0 }, /^max_tokens:/],
      [{ ...valid, max_tokens: 1.5 }, /^max_tokens:/],
      [{ ...valid, messages: [] }, /^messages: at least one/],
      [{ ...valid, messages: 'hi' }, /^messages: Input should be a valid list/],
      [{ ...valid, messages: [{ role: 'system', content: 'x' }] }, /^messages\.0\.role/],
      [{ ...valid, messages: [{ role: 'assistant', content: 'x' }] }, /first message/],
      [{ ...valid, messages: [{ role: 'user', content: 7 }] }, /^messages\.0\.content/],
      [{ ...valid, messages: [{ role: 'user', content: [{ type: 'text' }] }] }, /content\.0\.text/],
      [{ ...valid, system: 3 }, /^system:/],
      [{ ...valid, stop_sequences: 'END' }, /^stop_sequences:/],
      [{ ...valid, stream: 'yes' }, /^stream:/],
      [{ ...valid, metadata: { user_id: 5 } }, /^metadata\.user_id/],
      [{ ...valid, temperature: 2 }, /^temperature:/],
    ];
    for (const [body, message] of cases) {
      const { response, json } = await raw(mock, body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(json.error.type, 'invalid_request_error');
      assert.match(json.error.message, message);
    }
  });

  it('accepts content blocks and answers from the last user message', async () => {
    const messages = [
      { role: 'user', content: 'first question' },
      { role: 'assistant', content: [{ type: 'text', text: 'an answer' }] },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'second ' },
          { type: 'text', text: 'question' },
        ],
      },
    ];
    const { response, json } = await raw(mock, { ...valid, messages, metadata: { user_id: 'u1' } });
    assert.equal(response.status, 200);
    assert.equal(json.content[0]?.text, 'Echo: second question');
  });

  it('answers 404 not_found_error for unknown paths and methods', async () => {
    const { response, json } = await raw(mock, valid, {}, '/v1/complete');
    assert.equal(response.status, 404);
    assert.equal(json.error.type, 'not_found_error');
    const get = await fetch(`${mock.url}/v1/messages`);
    assert.equal(get.status, 404);
    assert.equal(((await get.json()) as { error: { type: string } }).error.type, 'not_found_error');
  });

  it('counts every request it receives', async () => {
    const before = mock.requests;
    await raw(mock, valid);
    await raw(mock, valid, {});
    assert.equal(mock.requests - before, 2);
  });

  it('frames every event with an event: line, ping included', async () => {
    const sse = await fetch(`${mock.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({
        model: MODEL,
        max_tokens: 100,
        stream: true,
        messages: [{ role: 'user', content: 'Hi' }],
      }),
    });
    assert.match(sse.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.match(sse.headers.get('request-id') ?? '', /^req_/);
    const frames = (await sse.text()).trimEnd().split('\n\n');
    const names = frames.map((frame) => /^event: (\S+)\ndata: /.exec(frame)?.[1]);
    assert.deepEqual(names, [
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'ping',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    for (const frame of frames) {
      const data = JSON.parse(frame.slice(frame.indexOf('data: ') + 6)) as { type: string };
      assert.equal(data.type, /^event: (\S+)/.exec(frame)?.[1]);
    }
  });

  it('frames a mid-stream error as event: error after the first delta, then ends', async () => {
    mock.inject({ midStreamError: true });
    const sse = await fetch(`${mock.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: MODEL, max_tokens: 100, stream: true, messages: HELLO }),
    });
    assert.equal(sse.status, 200);
    const frames = (await sse.text()).trimEnd().split('\n\n');
    assert.deepEqual(
      frames.map((frame) => /^event: (\S+)/.exec(frame)?.[1]),
      ['message_start', 'content_block_start', 'content_block_delta', 'error'],
    );
    const last = frames.at(-1) ?? '';
    assert.deepEqual(JSON.parse(last.slice(last.indexOf('data: ') + 6)), {
      type: 'error',
      error: { type: 'overloaded_error', message: 'Overloaded' },
    });
  });
});

describe('Anthropic mock protocol functions', () => {
  const request = (content: string, extra: Partial<MessagesRequest> = {}): MessagesRequest => ({
    model: MODEL,
    max_tokens: 100,
    messages: [{ role: 'user', content }],
    ...extra,
  });

  it('stops like a model: max_tokens, stop sequences (even across pieces), end of answer', () => {
    const cases: [MessagesRequest, string, string, number][] = [
      [request('a b c'), 'Echo: a b c', 'end_turn', 4],
      [request('a b c', { max_tokens: 1 }), 'Echo: ', 'max_tokens', 1],
      [request('a b c', { max_tokens: 4 }), 'Echo: a b c', 'end_turn', 4],
      [request('a b c', { stop_sequences: ['b'] }), 'Echo: a ', 'stop_sequence', 3],
      [request('a b c', { stop_sequences: ['a b'] }), 'Echo: ', 'stop_sequence', 3],
      [request('ab', { stop_sequences: ['b', 'a'] }), 'Echo: ', 'stop_sequence', 2],
      [request('a b c', { stop_sequences: ['c'] }), 'E', 'stop_sequence', 1],
      [request('a b c', { stop_sequences: ['Echo'] }), '', 'stop_sequence', 1],
      [request('   '), 'Echo: (empty)', 'end_turn', 2],
    ];
    for (const [input, text, stopReason, outputTokens] of cases) {
      const result = complete(input);
      const label = JSON.stringify(input.stop_sequences ?? input.max_tokens);
      assert.equal(result.text, text, label);
      assert.equal(result.tokens.join(''), text, label);
      assert.equal(result.stopReason, stopReason, label);
      assert.equal(result.outputTokens, outputTokens, label);
    }
  });

  it('estimates input tokens as ceil(chars / 4) over system and every message', () => {
    assert.equal(estimateInputTokens(request('12345678')), 2);
    assert.equal(estimateInputTokens(request('123456789')), 3);
    assert.equal(estimateInputTokens(request('1234', { system: '1234' })), 2);
    assert.equal(estimateInputTokens(request('')), 1);
  });
});
