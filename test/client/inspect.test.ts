/**
 * `console.log(err)` and `console.log(res)` print what a person needs: what failed,
 * where and why; the response's status, URL, attempts, timings, header names and body
 * size. Never a body, a header's value, internal state or a secret.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { inspect } from 'node:util';
import {
  AbortError,
  type ConnectionError,
  HttpStatusError,
  TimeoutError,
} from '../../src/core/errors.js';
import { Fixtures, rejectsWith } from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

const SECRET = 'SECRETPW';

/** The lines of `util.inspect(value)` before the stack frames. */
function head(value: unknown): string[] {
  const lines = inspect(value).split('\n');
  const frames = lines.findIndex((l) => /^\s+at /.test(l));
  return frames === -1 ? lines : lines.slice(0, frames);
}

describe('util.inspect of an error', () => {
  it('name, code, message, the request, attempts, own fields, the cause in one line', async () => {
    const server = await fx.server((req) => req.socket.destroy());
    const client = fx.client({ retry: { maxAttempts: 2, initialDelayMs: 1 }, adaptive: false });
    const url = `${server.url}/x?token=${SECRET}`;
    const err = await rejectsWith<ConnectionError>(client.get(url), 'SENTINEL_CONNECTION');
    const shown = `${server.url}/x?token=***`;
    const lines = head(err);
    assert.equal(lines[0], `ConnectionError [SENTINEL_CONNECTION]: ${err.message}`);
    assert.ok(lines[0]!.includes(`GET ${shown}: `), lines[0]);
    assert.equal(
      lines[1],
      `  method: 'GET', url: '${shown}', host: '127.0.0.1:${server.port}', attempts: 2`,
    );
    assert.ok(lines[2]!.startsWith('  '), lines[2]);
    assert.ok(lines[2]!.includes(`beforeResponse: ${err.beforeResponse}`), lines[2]);
    if (err.errno !== undefined) assert.ok(lines[2]!.includes(`errno: '${err.errno}'`), lines[2]);
    assert.equal(lines.length, err.cause === undefined ? 3 : 4);
    if (err.cause !== undefined) assert.match(lines[3]!, /^ {2}cause: \w+/);
    const all = inspect(err);
    assert.ok(!all.includes(SECRET), all);
    assert.match(all, /\n {4}at /, 'the stack frames follow');
  });

  it("a timeout's phase and deadline; an HttpStatusError's response in one line", () => {
    const timeout = new TimeoutError('attempt', 250, { cause: new Error('socket idle') });
    assert.deepEqual(head(timeout), [
      'TimeoutError [SENTINEL_TIMEOUT]: attempt timeout after 250 ms',
      "  phase: 'attempt', timeoutMs: 250",
      '  cause: Error: socket idle',
    ]);
    const status = new HttpStatusError({ status: 503, statusText: 'Busy', url: 'http://h/' });
    assert.deepEqual(head(status), [
      'HttpStatusError [SENTINEL_HTTP_STATUS]: HTTP 503 Busy',
      '  status: 503, response: Object 503 Busy',
    ]);
    const abort = new AbortError('user left');
    assert.deepEqual(head(abort), [
      'AbortError [SENTINEL_ABORTED]: the request was aborted',
      "  reason: 'user left'",
      "  cause: 'user left'",
    ]);
  });

  it('nested past the depth: one line', () => {
    const err = new TimeoutError('total', 10);
    assert.equal(inspect({ a: { b: err } }, { depth: 0 }), '{ a: [Object] }');
    assert.equal(inspect({ a: err }, { depth: -1 }), '[Object]');
    assert.equal(
      inspect({ a: { b: err } }, { depth: 1, breakLength: Number.POSITIVE_INFINITY }),
      '{ a: { b: [TimeoutError [SENTINEL_TIMEOUT]: total timeout after 10 ms] } }',
    );
  });
});

describe('util.inspect of a response', () => {
  it('HttpResponse: status, URL without secrets, attempts, timings, header names, body size', async () => {
    const server = await fx.server((_req, res) => {
      res.writeHead(201, 'Made', {
        'content-type': 'application/json',
        'x-session-token': SECRET,
      });
      res.end(JSON.stringify({ secret: SECRET }));
    });
    const client = fx.client();
    const res = await client.post(`${server.url}/items?api_key=${SECRET}`, undefined, 'x');
    const text = inspect(res);
    const lines = text.split('\n');
    assert.equal(lines[0], 'HttpResponse 201 Made {');
    assert.equal(lines[1], `  url: '${server.url}/items?api_key=***',`);
    assert.equal(lines[2], '  redirected: false, attempts: 1,');
    assert.match(
      lines[3]!,
      /^ {2}timings: queued \d+(\.\d)? ms, connect \d+(\.\d)? ms, ttfb \d+(\.\d)? ms, total \d+(\.\d)? ms,$/,
    );
    assert.match(lines[4]!, /^ {2}headers: \d+ \(content-type, x-session-token, .*\),$/);
    assert.equal(lines[5], "  contentType: 'application/json',");
    assert.equal(lines[6], `  body: ${res.body.length} bytes`);
    assert.equal(lines[7], '}');
    assert.ok(!text.includes(SECRET), text);
    assert.ok(!text.includes('#'), 'no private state');
  });

  it('StreamingResponse: the body is described, never read', async () => {
    const server = await fx.server((_req, res) => {
      res.setHeader('content-length', '5');
      res.end('hello');
    });
    const client = fx.client();
    await using res = await client.stream({ method: 'GET', url: server.url });
    assert.match(inspect(res), /^StreamingResponse 200 OK \{\n/);
    assert.match(inspect(res), /\n {2}body: streamed, not read \(5 bytes expected\)\n\}$/);
    assert.equal(await res.text(), 'hello', 'inspect left the body to the caller');
    assert.match(inspect(res), /body: streamed, read \(5 bytes expected\)/);
    assert.equal(inspect({ res }, { depth: 0 }), '{ res: [StreamingResponse 200 OK] }');
  });
});

describe('JSON of an error and a response', () => {
  it('JSON.stringify(err) and of a response hide secret query values and never hold the body', async () => {
    const server = await fx.server((_req, res) => {
      res.statusCode = 404;
      res.end('body-text');
    });
    const client = fx.client({ throwHttpErrors: true, retry: false });
    const url = `${server.url}/x?api_key=${SECRET}&page=1`;
    const err = await rejectsWith(client.get(url), 'SENTINEL_HTTP_STATUS');
    const json = JSON.stringify(err);
    assert.ok(!json.includes(SECRET), json);
    assert.ok(!json.includes('body-text'), json);
    const parsed = JSON.parse(json) as { url: string; response: { url: string; status: number } };
    assert.equal(parsed.url, `${server.url}/x?api_key=***&page=1`);
    assert.equal(parsed.response.url, `${server.url}/x?api_key=***&page=1`);
    assert.equal(parsed.response.status, 404);
    const streamed = await client.stream({ method: 'GET', url, throwHttpErrors: false });
    const streamedJson = JSON.stringify(streamed);
    await streamed.text();
    assert.ok(!streamedJson.includes(SECRET), streamedJson);
    assert.equal((JSON.parse(streamedJson) as { status: number }).status, 404);
  });
});
