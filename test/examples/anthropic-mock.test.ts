/**
 * The Anthropic mock must speak the real protocol: the official SDK is pointed
 * at it and has to parse every answer, map every error to its own classes and
 * run its own retry logic off the mock's headers.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import Anthropic, {
  APIConnectionTimeoutError,
  APIError,
  AuthenticationError,
  BadRequestError,
  ContentTooLargeError,
  InternalServerError,
  NotFoundError,
  OverloadedError,
  RateLimitError,
  ServiceUnavailableError,
} from '@anthropic-ai/sdk';
import {
  type MockAnthropicServer,
  startMockAnthropicServer,
} from '../../examples/anthropic/mock-server.js';
import { HELLO, MODEL, rejection, sdk } from './anthropic-helpers.js';

describe('Anthropic mock, through the official SDK', () => {
  let mock: MockAnthropicServer;
  let client: Anthropic;

  before(async () => {
    mock = await startMockAnthropicServer();
    client = sdk(mock);
  });
  afterEach(() => mock.clearFaults());
  after(() => mock.close());

  it('answers messages.create with a message the SDK parses', async () => {
    const { data, response, request_id } = await client.messages
      .create({ model: MODEL, max_tokens: 100, messages: HELLO })
      .withResponse();
    assert.match(data.id, /^msg_/);
    assert.equal(data.type, 'message');
    assert.equal(data.role, 'assistant');
    assert.equal(data.model, MODEL);
    assert.deepEqual(data.content, [{ type: 'text', text: 'Echo: Hello there friend' }]);
    assert.equal(data.stop_reason, 'end_turn');
    assert.equal(data.stop_sequence, null);
    assert.equal(data.usage.input_tokens, Math.ceil('Hello there friend'.length / 4));
    assert.equal(data.usage.output_tokens, 4);
    assert.equal(data.usage.cache_creation_input_tokens, 0);
    assert.equal(data.usage.cache_read_input_tokens, 0);
    assert.match(request_id ?? '', /^req_/);
    assert.equal(response.headers.get('request-id'), request_id);
    for (const kind of ['requests', 'tokens', 'input-tokens', 'output-tokens']) {
      const prefix = `anthropic-ratelimit-${kind}`;
      assert.ok(Number(response.headers.get(`${prefix}-limit`)) > 0, `${prefix}-limit`);
      assert.ok(Number(response.headers.get(`${prefix}-remaining`)) >= 0, `${prefix}-remaining`);
      assert.ok(!Number.isNaN(Date.parse(response.headers.get(`${prefix}-reset`) ?? '')));
    }
  });

  it('sends Authorization: Bearer and anthropic-version 2026-10-21, which the mock accepts', async () => {
    const seen: Headers[] = [];
    const spying = new Anthropic({
      apiKey: 'sk-spy',
      baseURL: mock.url,
      maxRetries: 0,
      fetch: (url, init) => {
        seen.push(new Headers(init?.headers));
        return fetch(url, init);
      },
    });
    await spying.messages.create({ model: MODEL, max_tokens: 5, messages: HELLO });
    const [headers] = seen;
    assert.equal(headers?.get('authorization'), 'Bearer sk-spy');
    assert.equal(headers?.get('x-api-key'), null);
    assert.equal(headers?.get('anthropic-version'), '2026-10-21');
  });

  it('truncates at max_tokens and stops at stop_sequences', async () => {
    const truncated = await client.messages.create({
      model: MODEL,
      max_tokens: 2,
      messages: HELLO,
    });
    assert.equal(truncated.stop_reason, 'max_tokens');
    assert.deepEqual(truncated.content, [{ type: 'text', text: 'Echo: Hello ' }]);
    assert.equal(truncated.usage.output_tokens, 2);

    const stopped = await client.messages.create({
      model: MODEL,
      max_tokens: 100,
      stop_sequences: ['never', 'o th'],
      messages: HELLO,
    });
    assert.equal(stopped.stop_reason, 'stop_sequence');
    assert.equal(stopped.stop_sequence, 'o th');
    assert.deepEqual(stopped.content, [{ type: 'text', text: 'Echo: Hell' }]);
  });

  it('streams with messages.stream(): event order, final text and usage', async () => {
    const stream = client.messages.stream({ model: MODEL, max_tokens: 100, messages: HELLO });
    const types: string[] = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
        text += event.delta.text;
      }
    }
    const final = await stream.finalMessage();
    assert.deepEqual(types, [
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    assert.equal(text, 'Echo: Hello there friend');
    assert.deepEqual(final.content, [{ type: 'text', text }]);
    assert.equal(final.stop_reason, 'end_turn');
    assert.equal(final.usage.output_tokens, 4);
    assert.equal(final.usage.input_tokens, 5);
  });

  it('streams with create({ stream: true }) and reports truncation in message_delta', async () => {
    const events = await client.messages.create({
      model: MODEL,
      max_tokens: 3,
      stream: true,
      messages: HELLO,
    });
    let text = '';
    let stopReason: string | null = null;
    let outputTokens = -1;
    for await (const event of events) {
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
        text += event.delta.text;
      } else if (event.type === 'message_delta') {
        stopReason = event.delta.stop_reason;
        outputTokens = event.usage.output_tokens;
      }
    }
    assert.equal(text, 'Echo: Hello there ');
    assert.equal(stopReason, 'max_tokens');
    assert.equal(outputTokens, 3);
  });

  it('counts tokens deterministically', async () => {
    const system = 'You are terse.';
    const result = await client.messages.countTokens({ model: MODEL, system, messages: HELLO });
    const chars = system.length + 'Hello there friend'.length;
    assert.deepEqual(result, { input_tokens: Math.ceil(chars / 4) });
    const message = await client.messages.create({
      model: MODEL,
      max_tokens: 10,
      system,
      messages: HELLO,
    });
    assert.equal(message.usage.input_tokens, result.input_tokens);
  });

  it('maps an injected 429 to RateLimitError with status, request id and retry-after', async () => {
    mock.inject({ status: 429, retryAfter: 7 });
    const error = await rejection(
      client.messages.create({ model: MODEL, max_tokens: 5, messages: HELLO }),
    );
    assert.ok(error instanceof RateLimitError);
    assert.equal(error.status, 429);
    assert.equal(error.type, 'rate_limit_error');
    assert.match(error.requestID ?? '', /^req_/);
    assert.equal(error.headers?.get('retry-after'), '7');
    assert.deepEqual(error.error, {
      type: 'error',
      error: {
        type: 'rate_limit_error',
        message: 'Number of requests has exceeded your rate limit',
      },
      request_id: error.requestID,
    });
  });

  it('maps injected 529, 500 and 503 to InternalServerError subclasses', async () => {
    const cases = [
      { status: 529, type: 'overloaded_error', cls: OverloadedError },
      { status: 500, type: 'api_error', cls: InternalServerError },
      { status: 503, type: 'api_error', cls: ServiceUnavailableError },
    ] as const;
    for (const { status, type, cls } of cases) {
      mock.inject({ status });
      const error = await rejection(
        client.messages.create({ model: MODEL, max_tokens: 5, messages: HELLO }),
      );
      assert.ok(error instanceof cls, `${status} -> ${cls.name}`);
      assert.ok(error instanceof InternalServerError);
      assert.equal(error.status, status);
      assert.equal(error.type, type);
      assert.match(error.requestID ?? '', /^req_/);
    }
  });

  it('lets the SDK retry a 429 after the retry-after it sends', async () => {
    const retrying = sdk(mock, { maxRetries: 2 });
    mock.inject({ status: 429, retryAfter: 1 });
    const before = mock.requests;
    const started = performance.now();
    const message = await retrying.messages.create({
      model: MODEL,
      max_tokens: 5,
      messages: HELLO,
    });
    const elapsed = performance.now() - started;
    assert.equal(message.content[0]?.type, 'text');
    assert.equal(mock.requests - before, 2);
    // The SDK's own first backoff is at most 500 ms; waiting a second proves it read the header.
    assert.ok(elapsed >= 950, `retried after ${elapsed.toFixed(0)} ms`);
  });

  it('lets the SDK retry 529 twice with tiny retry-after, and obeys x-should-retry: false', async () => {
    const retrying = sdk(mock, { maxRetries: 2 });
    mock.inject({ status: 529, retryAfter: 0.01, times: 2 });
    let before = mock.requests;
    await retrying.messages.create({ model: MODEL, max_tokens: 5, messages: HELLO });
    assert.equal(mock.requests - before, 3);

    mock.inject({ status: 503, retryAfter: 0.01, shouldRetry: 'false' });
    before = mock.requests;
    const error = await rejection(
      retrying.messages.create({ model: MODEL, max_tokens: 5, messages: HELLO }),
    );
    assert.ok(error instanceof ServiceUnavailableError);
    assert.equal(mock.requests - before, 1);
  });

  it('sends a mid-stream overloaded error that the SDK surfaces as an APIError', async () => {
    mock.inject({ midStreamError: true });
    const stream = client.messages.stream({ model: MODEL, max_tokens: 100, messages: HELLO });
    const deltas: string[] = [];
    stream.on('text', (delta) => deltas.push(delta));
    const error = await rejection(stream.finalMessage());
    assert.ok(error instanceof APIError);
    assert.equal(error.type, 'overloaded_error');
    assert.deepEqual(deltas, ['Echo: ']);
    // The fault is used up: the next stream completes.
    const final = await client.messages
      .stream({ model: MODEL, max_tokens: 100, messages: HELLO })
      .finalMessage();
    assert.equal(final.stop_reason, 'end_turn');
  });

  it('rejects a version-2026 request carrying temperature, top_p or top_k', async () => {
    for (const extra of [{ temperature: 0.5 }, { top_p: 0.9 }, { top_k: 5 }]) {
      const error = await rejection(
        client.messages.create({ model: MODEL, max_tokens: 5, messages: HELLO, ...extra }),
      );
      assert.ok(error instanceof BadRequestError);
      assert.equal(error.status, 400);
      assert.equal(error.type, 'invalid_request_error');
      assert.match(error.apiMessage ?? '', /not supported with anthropic-version 2026-10-21/);
    }
  });

  it('times out through a slow response (delayMs fault) without hanging the mock', async () => {
    const impatient = new Anthropic({
      apiKey: 'k',
      baseURL: mock.url,
      maxRetries: 0,
      timeout: 100,
    });
    mock.inject({ delayMs: 5_000 });
    const error = await rejection(
      impatient.messages.create({ model: MODEL, max_tokens: 5, messages: HELLO }),
    );
    assert.ok(error instanceof APIConnectionTimeoutError);
    const message = await client.messages.create({ model: MODEL, max_tokens: 5, messages: HELLO });
    assert.equal(message.stop_reason, 'end_turn');
  });
});

describe('Anthropic mock options', () => {
  it('accepts only the configured key (401 AuthenticationError otherwise)', async (t) => {
    const mock = await startMockAnthropicServer({ apiKey: 'sk-right' });
    t.after(() => mock.close());
    const ok = await sdk(mock, { apiKey: 'sk-right' }).messages.create({
      model: MODEL,
      max_tokens: 5,
      messages: HELLO,
    });
    assert.equal(ok.type, 'message');
    const error = await rejection(
      sdk(mock, { apiKey: 'sk-wrong' }).messages.create({
        model: MODEL,
        max_tokens: 5,
        messages: HELLO,
      }),
    );
    assert.ok(error instanceof AuthenticationError);
    assert.equal(error.status, 401);
    assert.equal(error.type, 'authentication_error');
    assert.match(error.requestID ?? '', /^req_/);
  });

  it('answers 413 request_too_large past maxBodyBytes', async (t) => {
    const mock = await startMockAnthropicServer({ maxBodyBytes: 1024 });
    t.after(() => mock.close());
    const error = await rejection(
      sdk(mock).messages.create({
        model: MODEL,
        max_tokens: 5,
        messages: [{ role: 'user', content: 'x'.repeat(4096) }],
      }),
    );
    assert.ok(error instanceof ContentTooLargeError);
    assert.equal(error.type, 'request_too_large');
  });

  it('answers 404 NotFoundError for a model outside `models`', async (t) => {
    const mock = await startMockAnthropicServer({ models: [MODEL] });
    t.after(() => mock.close());
    const error = await rejection(
      sdk(mock).messages.create({ model: 'claude-nope', max_tokens: 5, messages: HELLO }),
    );
    assert.ok(error instanceof NotFoundError);
    assert.equal(error.type, 'not_found_error');
  });

  it('paces streams with streamChunkDelayMs and closes promptly mid-stream', async () => {
    const mock = await startMockAnthropicServer({ streamChunkDelayMs: 40 });
    const stream = sdk(mock).messages.stream({ model: MODEL, max_tokens: 100, messages: HELLO });
    const finished = rejection(stream.finalMessage());
    const first = await new Promise<string>((resolve) => stream.once('text', resolve));
    assert.equal(first, 'Echo: ');
    const started = performance.now();
    await mock.close();
    assert.ok(performance.now() - started < 1_000);
    assert.ok((await finished) instanceof Error);
  });
});
