/**
 * Shared by the Anthropic mock tests: the SDK client, raw requests and the
 * conversation they send.
 */
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import type { MockAnthropicServer } from '../../examples/anthropic/mock-server.js';

/** The model name every test asks for; the mock accepts any unless told otherwise. */
export const MODEL = 'claude-mock-1';
/** A one-turn conversation whose echo is four word-tokens long. */
export const HELLO = [{ role: 'user' as const, content: 'Hello there friend' }];

/** The official SDK pointed at the mock, without retries unless asked. */
export function sdk(
  mock: MockAnthropicServer,
  options: { apiKey?: string; maxRetries?: number } = {},
) {
  return new Anthropic({
    apiKey: options.apiKey ?? 'sk-test',
    baseURL: mock.url,
    maxRetries: options.maxRetries ?? 0,
  });
}

/** The fields of a JSON answer the raw tests read: an error or a message. */
export interface RawJson {
  type: string;
  error: { type: string; message: string };
  request_id: string;
  content: { type: string; text: string }[];
}

/** A raw request, for what the SDK never sends (old version, bad JSON, no key). */
export async function raw(
  mock: MockAnthropicServer,
  body: unknown,
  headers: Record<string, string> = { 'x-api-key': 'sk-test', 'anthropic-version': '2023-06-01' },
  path = '/v1/messages',
) {
  const response = await fetch(`${mock.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { response, text, json: JSON.parse(text) as RawJson };
}

/** The error a promise rejects with; fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected the call to fail');
}
