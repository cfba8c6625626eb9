/**
 * `npm run example:anthropic`: the Anthropic client in three short demos — one message, a
 * three-turn conversation and a streamed answer — with token usage per call and in total.
 * With `ANTHROPIC_API_KEY` set it talks to the real API (or to `ANTHROPIC_BASE_URL`);
 * without, it starts the local mock and says so.
 */
import { pathToFileURL } from 'node:url';
import { isSentinelError } from '../../src/index.js';
import { AnthropicClient } from './client.js';
import { isAnthropicApiError } from './errors.js';
import { startMockAnthropicServer } from './mock-server.js';
import type { MessageResult, Usage } from './types.js';

/** Options of {@link main}, for tests; the script itself uses the defaults. */
export interface DemoOptions {
  /** Where `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL` and `ANTHROPIC_MODEL` are read. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** Output. @default process.stdout.write */
  write?: (text: string) => void;
  /** Pause of the mock between streamed words, so streaming shows. @default 40 */
  streamChunkDelayMs?: number;
}

/** What the demo did, for tests. */
export interface DemoSummary {
  mode: 'api' | 'mock';
  calls: number;
  inputTokens: number;
  outputTokens: number;
  conversationMessages: number;
  streamedDeltas: number;
}

const SYSTEM = 'You are a concise assistant. Answer in one or two sentences.';
const DEFAULT_MODEL = 'claude-haiku-5-5';

/** Runs the three demos; returns what they did. */
export async function main(options: DemoOptions = {}): Promise<DemoSummary> {
  const env = options.env ?? process.env;
  const write = options.write ?? ((text: string) => void process.stdout.write(text));
  const say = (text = '') => write(`${text}\n`);
  const apiKey = env.ANTHROPIC_API_KEY;
  const mock =
    apiKey === undefined || apiKey === ''
      ? await startMockAnthropicServer({ streamChunkDelayMs: options.streamChunkDelayMs ?? 40 })
      : undefined;
  const baseUrl = mock?.url ?? env.ANTHROPIC_BASE_URL ?? 'https://api.anthropic.com';
  const model = env.ANTHROPIC_MODEL ?? DEFAULT_MODEL;
  const anthropic = new AnthropicClient({ apiKey: apiKey || 'sk-mock', baseUrl });
  const summary: DemoSummary = {
    mode: mock === undefined ? 'api' : 'mock',
    calls: 0,
    inputTokens: 0,
    outputTokens: 0,
    conversationMessages: 0,
    streamedDeltas: 0,
  };
  const count = (usage: Usage) => {
    summary.calls += 1;
    summary.inputTokens += usage.input_tokens;
    summary.outputTokens += usage.output_tokens;
  };

  say('Anthropic Messages API client on http-sentinel');
  say(
    mock === undefined
      ? `  ANTHROPIC_API_KEY is set: talking to ${baseUrl}`
      : `  ANTHROPIC_API_KEY is not set: talking to the local mock at ${baseUrl}\n` +
          '  (it answers "Echo: <your message>", one token per word)',
  );
  say(`  model ${model}, anthropic-version ${anthropic.apiVersion}`);
  try {
    say('\n1. One message');
    const question = 'What does a circuit breaker do in an HTTP client?';
    const counted = await anthropic.countTokens({
      model,
      messages: [{ role: 'user', content: question }],
    });
    const one = await anthropic.sendMessage(model, question, 200);
    count(one.usage);
    say(`  > ${question}`);
    say(`  < ${one.text}`);
    say(`  count_tokens said ${counted} input tokens; ${usageLine(one)}`);
    say(`  ${one.id}, request-id ${one.requestId ?? '-'}`);

    say('\n2. A conversation (3 turns, the whole history sent each time)');
    const chat = anthropic.conversation({ model, system: SYSTEM, maxTokens: 200 });
    for (const text of [
      'Name one reason to retry an HTTP request.',
      'And one reason not to?',
      'Summarise both in five words.',
    ]) {
      const reply = await chat.send(text);
      count(reply.usage);
      say(`  turn ${chat.turns} > ${text}`);
      say(`         < ${reply.text}`);
      say(`         ${usageLine(reply)}`);
    }
    const total = chat.usage;
    summary.conversationMessages = chat.history.length;
    say(
      `  history: ${chat.history.length} messages; conversation total: ` +
        `${total.input_tokens} in + ${total.output_tokens} out = ` +
        `${total.input_tokens + total.output_tokens} tokens`,
    );

    say('\n3. A streamed answer');
    const prompt = 'Explain exponential backoff with jitter, briefly.';
    say(`  > ${prompt}`);
    write('  < ');
    const started = Date.now();
    let firstDeltaMs: number | undefined;
    const stream = anthropic.streamMessage({
      model,
      max_tokens: 300,
      system: SYSTEM,
      messages: [{ role: 'user', content: prompt }],
    });
    for await (const text of stream) {
      firstDeltaMs ??= Date.now() - started;
      summary.streamedDeltas += 1;
      write(text);
    }
    const final = await stream.finalMessage();
    count(final.usage);
    say();
    say(
      `  ${summary.streamedDeltas} text deltas, first after ${firstDeltaMs ?? '-'} ms, ` +
        `all in ${Date.now() - started} ms; ${usageLine(final)}`,
    );

    say(
      `\nTotal: ${summary.calls} messages, ${summary.inputTokens} input + ` +
        `${summary.outputTokens} output = ${summary.inputTokens + summary.outputTokens} tokens`,
    );
    return summary;
  } finally {
    await anthropic.close();
    await mock?.close();
  }
}

function usageLine(result: MessageResult): string {
  const { input_tokens, output_tokens } = result.usage;
  const retries = result.attempts > 1 ? `, ${result.attempts - 1} retries` : '';
  return `stop ${result.stopReason}, tokens ${input_tokens} in / ${output_tokens} out${retries}`;
}

function describe(error: unknown): string {
  if (isAnthropicApiError(error)) {
    return `${error.type} (HTTP ${error.status ?? 'stream'}): ${error.message} [request-id ${error.requestId ?? '-'}]`;
  }
  if (isSentinelError(error)) return `${error.name} (${error.code}): ${error.message}`;
  return String(error);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(`\nThe demo failed: ${describe(error)}`);
    process.exitCode = 1;
  });
}
