/**
 * The example Anthropic client against the local mock: every method, both API versions
 * and auth schemes, the mapping of every error answer to `AnthropicApiError`, the retry
 * rules (retry-after, 529, x-should-retry, exhaustion), streaming (including an error
 * event mid-stream), conversations, and the demo end to end.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, it, type TestContext } from 'node:test';
import { AnthropicClient, type AnthropicClientOptions } from '../../examples/anthropic/client.js';
import { main } from '../../examples/anthropic/demo.js';
import { AnthropicApiError, isAnthropicApiError } from '../../examples/anthropic/errors.js';
import {
  type MockAnthropicServer,
  startMockAnthropicServer,
} from '../../examples/anthropic/mock-server.js';
import type { MessageResult } from '../../examples/anthropic/types.js';
import { HttpClient, isSentinelError } from '../../src/index.js';
import { MODEL, rejection } from './anthropic-helpers.js';

/** What the recording proxy saw of one request. */
interface Seen {
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

const HOP_BY_HOP = new Set([
  'host',
  'connection',
  'keep-alive',
  'content-length',
  'transfer-encoding',
  'content-encoding',
]);

/** A proxy in front of the mock that records every request it forwards. */
async function startRecorder(t: TestContext, target: string) {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ url: req.url ?? '', headers: req.headers, body });
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (!HOP_BY_HOP.has(name) && typeof value === 'string') headers[name] = value;
      }
      const upstream = await fetch(`${target}${req.url}`, { method: req.method, headers, body });
      const out: Record<string, string> = {};
      upstream.headers.forEach((value, name) => {
        if (!HOP_BY_HOP.has(name)) out[name] = value;
      });
      res.writeHead(upstream.status, out);
      res.end(Buffer.from(await upstream.arrayBuffer()));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const ASK = 'Hello there friend';

describe('AnthropicClient against the mock', () => {
  let mock: MockAnthropicServer;

  before(async () => {
    mock = await startMockAnthropicServer();
  });
  afterEach(() => mock.clearFaults());
  after(() => mock.close());

  /** A client of the mock (or of `baseUrl`) with short backoff, closed after the test. */
  function make(t: TestContext, options: Partial<AnthropicClientOptions> = {}): AnthropicClient {
    const client = new AnthropicClient({
      apiKey: 'sk-test',
      baseUrl: mock.url,
      initialRetryDelayMs: 5,
      ...options,
    });
    t.after(() => client.close());
    return client;
  }

  async function apiError(promise: Promise<unknown>): Promise<AnthropicApiError> {
    const error = await rejection(promise);
    assert.ok(isAnthropicApiError(error), `expected AnthropicApiError, got ${String(error)}`);
    assert.ok(error instanceof AnthropicApiError);
    assert.equal(error.name, 'AnthropicApiError');
    assert.equal(error.code, 'ANTHROPIC_API_ERROR');
    return error;
  }

  describe('messages', () => {
    it('sendMessage returns the text, content, usage, stop reason, ids and model', async (t) => {
      const result = await make(t).sendMessage(MODEL, ASK, 100);
      assert.equal(result.text, `Echo: ${ASK}`);
      assert.deepEqual(result.content, [{ type: 'text', text: `Echo: ${ASK}` }]);
      assert.equal(result.stopReason, 'end_turn');
      assert.equal(result.stopSequence, null);
      assert.equal(result.usage.input_tokens, Math.ceil(ASK.length / 4));
      assert.equal(result.usage.output_tokens, 4);
      assert.match(result.id, /^msg_/);
      assert.equal(result.model, MODEL);
      assert.match(result.requestId ?? '', /^req_/);
      assert.equal(result.attempts, 1);
      assert.equal(result.message.type, 'message');
      assert.equal(result.message.id, result.id);
    });

    it('createMessage passes every parameter: system, stop_sequences, max_tokens', async (t) => {
      const client = make(t);
      const stopped = await client.createMessage({
        model: MODEL,
        max_tokens: 100,
        system: 'Be brief.',
        stop_sequences: ['there'],
        messages: [{ role: 'user', content: ASK }],
      });
      assert.equal(stopped.stopReason, 'stop_sequence');
      assert.equal(stopped.stopSequence, 'there');
      assert.equal(stopped.text, 'Echo: Hello ');
      assert.equal(stopped.usage.input_tokens, Math.ceil(('Be brief.'.length + ASK.length) / 4));

      const cut = await client.createMessage({
        model: MODEL,
        max_tokens: 2,
        messages: [{ role: 'user', content: ASK }],
      });
      assert.equal(cut.stopReason, 'max_tokens');
      assert.equal(cut.text, 'Echo: Hello ');
      assert.equal(cut.usage.output_tokens, 2);
    });

    it('countTokens returns the input tokens the same message is billed', async (t) => {
      const client = make(t);
      const params = {
        model: MODEL,
        system: 'You are terse.',
        messages: [
          { role: 'user' as const, content: 'first question here' },
          { role: 'assistant' as const, content: 'an answer' },
          { role: 'user' as const, content: ASK },
        ],
      };
      const counted = await client.countTokens(params);
      assert.equal(
        counted,
        Math.ceil(['You are terse.', 'first question here', 'an answer', ASK].join('').length / 4),
      );
      const sent = await client.createMessage({ ...params, max_tokens: 50 });
      assert.equal(sent.usage.input_tokens, counted);
    });
  });

  describe('versions, auth and the request body', () => {
    it('defaults to 2026-10-21 with Authorization: Bearer and a JSON.stringify body', async (t) => {
      const recorder = await startRecorder(t, mock.url);
      const client = make(t, { apiKey: 'sk-bearer', baseUrl: recorder.url });
      assert.equal(client.apiVersion, '2026-10-21');
      const tricky = 'quote " backslash \\ newline \n unicode ✓';
      const result = await client.sendMessage(MODEL, tricky, 50);
      assert.equal(result.text, `Echo: ${tricky.trim()}`);
      const [request] = recorder.seen;
      assert.equal(request?.url, '/v1/messages');
      assert.equal(request?.headers.authorization, 'Bearer sk-bearer');
      assert.equal(request?.headers['x-api-key'], undefined);
      assert.equal(request?.headers['anthropic-version'], '2026-10-21');
      assert.equal(request?.headers['content-type'], 'application/json');
      assert.deepEqual(JSON.parse(request?.body ?? ''), {
        model: MODEL,
        max_tokens: 50,
        messages: [{ role: 'user', content: tricky }],
        stream: false,
      });
    });

    it('sends x-api-key with 2023-06-01, where sampling parameters are accepted', async (t) => {
      const recorder = await startRecorder(t, mock.url);
      const client = make(t, {
        apiKey: 'sk-legacy',
        apiVersion: '2023-06-01',
        baseUrl: recorder.url,
      });
      const params = {
        model: MODEL,
        max_tokens: 20,
        temperature: 0.5,
        messages: [{ role: 'user' as const, content: ASK }],
      };
      const result = await client.createMessage(params);
      assert.equal(result.text, `Echo: ${ASK}`);
      const [request] = recorder.seen;
      assert.equal(request?.headers['x-api-key'], 'sk-legacy');
      assert.equal(request?.headers.authorization, undefined);
      assert.equal(request?.headers['anthropic-version'], '2023-06-01');

      // The same body under 2026-10-21 is refused: the version header really is what the mock reads.
      const current = make(t, { baseUrl: recorder.url });
      const error = await apiError(current.createMessage(params));
      assert.equal(error.status, 400);
      assert.equal(error.type, 'invalid_request_error');
      assert.match(error.message, /temperature/);
    });

    it('reads ANTHROPIC_BASE_URL when no baseUrl is given, and keeps a base path', async (t) => {
      const recorder = await startRecorder(t, mock.url);
      const saved = process.env.ANTHROPIC_BASE_URL;
      process.env.ANTHROPIC_BASE_URL = `${recorder.url}/`;
      t.after(() => {
        if (saved === undefined) delete process.env.ANTHROPIC_BASE_URL;
        else process.env.ANTHROPIC_BASE_URL = saved;
      });
      const client = new AnthropicClient({ apiKey: 'sk-env' });
      t.after(() => client.close());
      assert.equal(
        await client.countTokens({ model: MODEL, messages: [{ role: 'user', content: 'abcd' }] }),
        1,
      );
      assert.equal(recorder.seen[0]?.url, '/v1/messages/count_tokens');

      const prefixed = make(t, { baseUrl: `${recorder.url}/gateway/` });
      const error = await apiError(prefixed.sendMessage(MODEL, ASK, 10));
      assert.equal(recorder.seen[1]?.url, '/gateway/v1/messages');
      assert.equal(error.status, 404);
      assert.equal(error.type, 'not_found_error');
    });

    it('refuses bad options at construction', () => {
      assert.throws(() => new AnthropicClient({ apiKey: '' }), TypeError);
      assert.throws(
        () => new AnthropicClient({ apiKey: 'k', apiVersion: '2020-01-01' as '2023-06-01' }),
        TypeError,
      );
      assert.throws(() => new AnthropicClient({ apiKey: 'k', maxRetries: -1 }), TypeError);
    });
  });

  describe('error answers', () => {
    it('401 authentication_error with the request id, not retried', async (t) => {
      const strict = await startMockAnthropicServer({ apiKey: 'sk-right' });
      t.after(() => strict.close());
      const error = await apiError(
        make(t, { apiKey: 'sk-wrong', baseUrl: strict.url }).sendMessage(MODEL, ASK, 10),
      );
      assert.equal(error.status, 401);
      assert.equal(error.type, 'authentication_error');
      assert.match(error.requestId ?? '', /^req_/);
      assert.equal(error.attempts, 1);
      assert.equal(strict.requests, 1);
    });

    it('400 invalid_request_error with the API message', async (t) => {
      const error = await apiError(make(t).sendMessage(MODEL, ASK, 0));
      assert.equal(error.status, 400);
      assert.equal(error.type, 'invalid_request_error');
      assert.match(error.message, /max_tokens/);
      assert.match(error.requestId ?? '', /^req_/);
    });

    it('404 not_found_error for an unknown model', async (t) => {
      const picky = await startMockAnthropicServer({ models: ['claude-known'] });
      t.after(() => picky.close());
      const client = make(t, { baseUrl: picky.url });
      const error = await apiError(client.sendMessage('claude-unknown', ASK, 10));
      assert.equal(error.status, 404);
      assert.equal(error.type, 'not_found_error');
      assert.match(error.message, /claude-unknown/);
      assert.equal((await client.sendMessage('claude-known', ASK, 10)).model, 'claude-known');
    });

    it('413 request_too_large, not retried', async (t) => {
      const small = await startMockAnthropicServer({ maxBodyBytes: 1024 });
      t.after(() => small.close());
      const error = await apiError(
        make(t, { baseUrl: small.url }).sendMessage(MODEL, 'x'.repeat(4096), 10),
      );
      assert.equal(error.status, 413);
      assert.equal(error.type, 'request_too_large');
      assert.equal(error.attempts, 1);
      assert.equal(small.requests, 1);
    });

    it('transport failures stay http-sentinel errors (a deadline here)', async (t) => {
      mock.inject({ delayMs: 2_000 });
      const error = await rejection(
        make(t, { maxRetries: 0 }).sendMessage(MODEL, ASK, 10, { timeout: 150 }),
      );
      assert.ok(isSentinelError(error));
      assert.equal(error.code, 'SENTINEL_TIMEOUT');
      assert.ok(!isAnthropicApiError(error));
    });
  });

  describe('retries', () => {
    it('429: waits the retry-after, then succeeds', async (t) => {
      const before = mock.requests;
      mock.inject({ status: 429, retryAfter: 1 });
      const started = Date.now();
      const result = await make(t).sendMessage(MODEL, ASK, 10);
      const elapsed = Date.now() - started;
      assert.equal(result.attempts, 2);
      assert.equal(mock.requests - before, 2);
      assert.ok(elapsed >= 950, `retried after ${elapsed} ms, before the 1 s retry-after`);
      assert.ok(elapsed < 3_000, `took ${elapsed} ms`);
    });

    it('429 with a retry-after beyond the limit is returned at once, with the wait asked', async (t) => {
      mock.inject({ status: 429, retryAfter: 120 });
      const started = Date.now();
      const error = await apiError(make(t).sendMessage(MODEL, ASK, 10));
      assert.ok(Date.now() - started < 1_000);
      assert.equal(error.status, 429);
      assert.equal(error.type, 'rate_limit_error');
      assert.equal(error.retryAfterMs, 120_000);
      assert.equal(error.attempts, 1);
    });

    it('529 overloaded is retried (not in the library default list)', async (t) => {
      const before = mock.requests;
      mock.inject({ status: 529, times: 2 });
      const result = await make(t).sendMessage(MODEL, ASK, 10);
      assert.equal(result.text, `Echo: ${ASK}`);
      assert.equal(result.attempts, 3);
      assert.equal(mock.requests - before, 3);
    });

    it('x-should-retry: false stops a retry the status would allow', async (t) => {
      const before = mock.requests;
      mock.inject({ status: 529, shouldRetry: 'false', times: 3 });
      const error = await apiError(make(t).sendMessage(MODEL, ASK, 10));
      assert.equal(error.status, 529);
      assert.equal(error.type, 'overloaded_error');
      assert.equal(error.attempts, 1);
      assert.equal(mock.requests - before, 1);
    });

    it('x-should-retry: true retries a status that is never retried otherwise (400)', async (t) => {
      // The mock only injects retryable statuses; this server answers 400 + x-should-retry once.
      let calls = 0;
      const server = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          calls += 1;
          if (calls === 1) {
            res.writeHead(400, { 'content-type': 'application/json', 'x-should-retry': 'true' });
            res.end(
              JSON.stringify({
                type: 'error',
                error: { type: 'invalid_request_error', message: 'try again' },
              }),
            );
            return;
          }
          res.writeHead(200, { 'content-type': 'application/json', 'request-id': 'req_second' });
          res.end(
            JSON.stringify({
              id: 'msg_second',
              type: 'message',
              role: 'assistant',
              model: MODEL,
              content: [{ type: 'text', text: 'second time lucky' }],
              stop_reason: 'end_turn',
              stop_sequence: null,
              usage: { input_tokens: 1, output_tokens: 3 },
            }),
          );
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      t.after(
        () =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      );
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const result = await make(t, { baseUrl: url }).sendMessage(MODEL, ASK, 10);
      assert.equal(result.text, 'second time lucky');
      assert.equal(result.requestId, 'req_second');
      assert.equal(result.attempts, 2);
      assert.equal(calls, 2);
    });

    it('500 until retries run out: a typed error with status, type and request id', async (t) => {
      const before = mock.requests;
      mock.inject({ status: 500, times: 3 });
      const error = await apiError(make(t, { maxRetries: 2 }).sendMessage(MODEL, ASK, 10));
      assert.equal(error.status, 500);
      assert.equal(error.type, 'api_error');
      assert.match(error.requestId ?? '', /^req_/);
      assert.equal(error.attempts, 3);
      assert.equal(mock.requests - before, 3);
    });

    it('maxRetries: 0 makes one attempt', async (t) => {
      mock.inject({ status: 529 });
      const error = await apiError(make(t, { maxRetries: 0 }).sendMessage(MODEL, ASK, 10));
      assert.equal(error.attempts, 1);
    });
  });

  describe('streaming', () => {
    it('yields the text deltas, then the final message with usage and stop reason', async (t) => {
      const stream = make(t).streamMessage({
        model: MODEL,
        max_tokens: 100,
        messages: [{ role: 'user', content: ASK }],
      });
      const deltas: string[] = [];
      for await (const text of stream) deltas.push(text);
      assert.deepEqual(deltas, ['Echo: ', 'Hello ', 'there ', 'friend']);
      const final = await stream.finalMessage();
      assert.equal(final.text, deltas.join(''));
      assert.deepEqual(final.content, [{ type: 'text', text: `Echo: ${ASK}` }]);
      assert.equal(final.stopReason, 'end_turn');
      assert.equal(final.usage.input_tokens, Math.ceil(ASK.length / 4));
      assert.equal(final.usage.output_tokens, 4);
      assert.match(final.id, /^msg_/);
      assert.match(final.requestId ?? '', /^req_/);
      assert.equal(final.requestId, stream.requestId);
      assert.throws(() => stream[Symbol.asyncIterator](), TypeError);
    });

    it('an event: error mid-stream throws a typed error from the loop and finalMessage', async (t) => {
      mock.inject({ midStreamError: true });
      const stream = make(t).streamMessage({
        model: MODEL,
        max_tokens: 100,
        messages: [{ role: 'user', content: ASK }],
      });
      const deltas: string[] = [];
      const error = await rejection(
        (async () => {
          for await (const text of stream) deltas.push(text);
        })(),
      );
      assert.ok(isAnthropicApiError(error));
      assert.equal(error.type, 'overloaded_error');
      assert.equal(error.status, undefined);
      assert.match(error.requestId ?? '', /^req_/);
      assert.deepEqual(deltas, ['Echo: ']);
      assert.equal(await rejection(stream.finalMessage()), error);
    });

    it('finalMessage alone reads the whole stream; a 529 before headers is retried', async (t) => {
      mock.inject({ status: 529 });
      const stream = make(t).streamMessage({
        model: MODEL,
        max_tokens: 2,
        messages: [{ role: 'user', content: ASK }],
      });
      const final = await stream.finalMessage();
      assert.equal(final.text, 'Echo: Hello ');
      assert.equal(final.stopReason, 'max_tokens');
      assert.equal(final.usage.output_tokens, 2);
      assert.equal(final.attempts, 2);
    });

    it('an error answer to a stream request is a typed error at the first read', async (t) => {
      const strict = await startMockAnthropicServer({ apiKey: 'sk-right' });
      t.after(() => strict.close());
      const stream = make(t, { baseUrl: strict.url }).streamMessage({
        model: MODEL,
        max_tokens: 10,
        messages: [{ role: 'user', content: ASK }],
      });
      const error = await apiError(stream.finalMessage());
      assert.equal(error.status, 401);
      assert.equal(error.type, 'authentication_error');
    });

    it('leaving the loop early cancels the stream and rejects finalMessage', async (t) => {
      const slow = await startMockAnthropicServer({ streamChunkDelayMs: 20 });
      t.after(() => slow.close());
      const client = make(t, { baseUrl: slow.url });
      const stream = client.streamMessage({
        model: MODEL,
        max_tokens: 100,
        messages: [{ role: 'user', content: 'one two three four five six seven' }],
      });
      for await (const text of stream) {
        assert.equal(text, 'Echo: ');
        break;
      }
      await assert.rejects(stream.finalMessage(), /cancelled before message_stop/);
      // Cancelled before reading: nothing is sent.
      const requests = slow.requests;
      const unread = client.streamMessage({
        model: MODEL,
        max_tokens: 5,
        messages: [{ role: 'user', content: ASK }],
      });
      unread.cancel();
      await assert.rejects(unread.finalMessage(), /cancelled before message_stop/);
      assert.equal(slow.requests, requests);
      // The client is still usable.
      assert.equal((await client.sendMessage(MODEL, ASK, 10)).text, `Echo: ${ASK}`);
    });
  });

  describe('conversations', () => {
    it('keeps the history, sends it every turn and sums the usage', async (t) => {
      const recorder = await startRecorder(t, mock.url);
      const chat = make(t, { baseUrl: recorder.url }).conversation({
        model: MODEL,
        system: 'Be brief.',
        maxTokens: 100,
      });
      const replies: MessageResult[] = [];
      for (const text of ['first turn', 'second turn here', 'third'])
        replies.push(await chat.send(text));
      assert.deepEqual(
        replies.map((r) => r.text),
        ['Echo: first turn', 'Echo: second turn here', 'Echo: third'],
      );
      assert.equal(chat.turns, 3);
      assert.deepEqual(
        chat.history.map((m) => [
          m.role,
          typeof m.content === 'string' ? m.content : m.content[0]?.text,
        ]),
        [
          ['user', 'first turn'],
          ['assistant', 'Echo: first turn'],
          ['user', 'second turn here'],
          ['assistant', 'Echo: second turn here'],
          ['user', 'third'],
          ['assistant', 'Echo: third'],
        ],
      );
      const sum = (key: 'input_tokens' | 'output_tokens') =>
        replies.reduce((total, r) => total + r.usage[key], 0);
      assert.equal(chat.usage.input_tokens, sum('input_tokens'));
      assert.equal(chat.usage.output_tokens, sum('output_tokens'));
      assert.ok(replies[2]!.usage.input_tokens > replies[0]!.usage.input_tokens);

      const third = JSON.parse(recorder.seen[2]?.body ?? '{}');
      assert.equal(third.system, 'Be brief.');
      assert.equal(third.max_tokens, 100);
      assert.equal(third.messages.length, 5);
      assert.deepEqual(third.messages[4], { role: 'user', content: 'third' });
    });

    it('a failed turn leaves the history and usage as they were; turns stay in order', async (t) => {
      const chat = make(t).conversation({ model: MODEL });
      await chat.send('one');
      const usage = chat.usage;
      mock.inject({ status: 529, shouldRetry: 'false' });
      const error = await apiError(chat.send('lost'));
      assert.equal(error.status, 529);
      assert.equal(chat.history.length, 2);
      assert.deepEqual(chat.usage, usage);
      // Sent together, the turns still run one after the other.
      const [a, b] = await Promise.all([chat.send('two'), chat.send('three')]);
      assert.equal(a.text, 'Echo: two');
      assert.equal(b.text, 'Echo: three');
      assert.deepEqual(
        chat.history.filter((m) => m.role === 'user').map((m) => m.content),
        ['one', 'two', 'three'],
      );
      assert.equal(chat.turns, 3);
    });
  });

  it('shares an HttpClient when given one, and leaves it open', async (t) => {
    const http = new HttpClient();
    t.after(() => http.close());
    const client = new AnthropicClient({ apiKey: 'k', baseUrl: mock.url, client: http });
    assert.equal(client.http, http);
    await client.sendMessage(MODEL, ASK, 10);
    await client.close();
    const res = await http.request({ method: 'POST', url: `${mock.url}/nope`, body: '' });
    assert.equal(res.status, 404);
  });

  it('the demo runs end to end against the mock', async () => {
    let out = '';
    const summary = await main({ env: {}, write: (text) => (out += text), streamChunkDelayMs: 0 });
    assert.equal(summary.mode, 'mock');
    assert.equal(summary.calls, 5);
    assert.equal(summary.conversationMessages, 6);
    assert.equal(summary.streamedDeltas, 7);
    assert.ok(summary.inputTokens > 0 && summary.outputTokens > 0);
    assert.match(out, /ANTHROPIC_API_KEY is not set: talking to the local mock/);
    assert.match(out, /1\. One message/);
    assert.match(out, /turn 3 > Summarise both in five words\./);
    assert.match(out, /< Echo: Explain exponential backoff with jitter, briefly\./);
    assert.match(
      out,
      new RegExp(
        `Total: 5 messages, ${summary.inputTokens} input \\+ ${summary.outputTokens} output`,
      ),
    );
  });
});
