import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { HttpResponse, StreamingResponse } from '../../src/client/index.js';
import { echo, echoed, Fixtures } from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

describe('HttpClient verbs', () => {
  it('get, head, delete send the method with no body', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    const get = await client.get(`${server.url}/a?x=1`);
    assert.equal(echoed(get).method, 'GET');
    assert.equal(echoed(get).url, '/a?x=1');
    assert.equal(echoed(get).headers['content-length'], undefined);
    const del = await client.delete(`${server.url}/b`);
    assert.equal(echoed(del).method, 'DELETE');
    assert.equal(echoed(del).bytes.length, 0);
    const head = await client.head(`${server.url}/c`);
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(head.headers.get('content-type'), 'application/json');
  });

  it('post, put, patch send their body', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    for (const [verb, call] of [
      ['POST', client.post.bind(client)],
      ['PUT', client.put.bind(client)],
      ['PATCH', client.patch.bind(client)],
    ] as const) {
      const res = await call(`${server.url}/v`, { 'x-verb': verb }, `body of ${verb}`);
      const e = echoed(res);
      assert.equal(e.method, verb);
      assert.equal(e.text, `body of ${verb}`);
      assert.equal(e.headers['x-verb'], verb);
      assert.equal(e.headers['content-length'], String(`body of ${verb}`.length));
    }
  });

  it('post without a body sends content-length 0', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    const e = echoed(await client.post(`${server.url}/`));
    assert.equal(e.method, 'POST');
    assert.equal(e.bytes.length, 0);
  });

  it('request() takes any method, including lower case and OPTIONS', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    const res = await client.request({ method: 'options', url: `${server.url}/o` });
    assert.ok(res instanceof HttpResponse);
    assert.equal(echoed(res).method, 'OPTIONS');
    const put = await client.request({ method: 'PUT', url: new URL('/p', server.url), body: 'x' });
    assert.equal(echoed(put).method, 'PUT');
    assert.equal(echoed(put).text, 'x');
  });

  it('stream() resolves at headers with a streaming body', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    const res = await client.stream({ method: 'POST', url: `${server.url}/s`, body: 'streamed' });
    assert.ok(res instanceof StreamingResponse);
    assert.equal(res.status, 200);
    const e = (await res.json()) as { method: string; body: string };
    assert.equal(e.method, 'POST');
    assert.equal(Buffer.from(e.body, 'base64').toString(), 'streamed');
  });

  it('fills every HttpResponse field', async () => {
    const server = await fx.server((_req, res) => {
      res.statusCode = 201;
      res.statusMessage = 'Made It';
      res.setHeader('x-multi', ['a', 'b']);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ hello: 'world', n: 1 }));
    });
    const client = fx.client();
    const res = await client.get(`${server.url}/fields`);
    assert.equal(res.status, 201);
    assert.equal(res.statusText, 'Made It');
    assert.equal(res.ok, true);
    assert.ok(res.headers instanceof Headers);
    assert.equal(res.headers.get('X-Multi'), 'a, b');
    assert.ok(Buffer.isBuffer(res.body));
    assert.equal(res.url, `${server.url}/fields`);
    assert.equal(res.redirected, false);
    assert.equal(res.attempts, 1);
    for (const key of ['queued', 'connect', 'ttfb', 'total'] as const) {
      assert.equal(typeof res.timings[key], 'number', key);
      assert.ok(res.timings[key] >= 0, `${key} >= 0`);
    }
    assert.equal(res.text(), '{"hello":"world","n":1}');
    const body = res.json<{ hello: string; n: number }>();
    assert.deepEqual(body, { hello: 'world', n: 1 });
  });

  it('timings: connect is 0 on a reused socket', async () => {
    const server = await fx.server((_req, res) => res.end('t'));
    const client = fx.client();
    const first = await client.get(server.url);
    const second = await client.get(server.url);
    assert.ok(first.timings.connect >= 0);
    assert.equal(second.timings.connect, 0);
    assert.ok(second.timings.ttfb >= 0);
    assert.ok(second.timings.total >= second.timings.ttfb);
  });

  it('ok is false outside 2xx and the status is not thrown by default', async () => {
    const server = await fx.server((_req, res) => {
      res.statusCode = 404;
      res.end('missing');
    });
    const client = fx.client();
    const res = await client.get(server.url);
    assert.equal(res.status, 404);
    assert.equal(res.ok, false);
    assert.equal(res.text(), 'missing');
  });

  it('appends relative URLs to baseUrl, a prefix (see base-url.test.ts)', async () => {
    const server = await fx.server(echo);
    const client = fx.client({ baseUrl: `${server.url}/api/` });
    assert.equal(echoed(await client.get('items?x=1')).url, '/api/items?x=1');
    assert.equal(echoed(await client.get('/root')).url, '/api/root');
    // An absolute URL ignores baseUrl.
    assert.equal(echoed(await client.get(`${server.url}/abs`)).url, '/abs');
  });

  it('turns URL credentials into Basic auth and strips them from the URL', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    const url = new URL(server.url);
    url.username = 'us%40er';
    url.password = 'p:ss';
    url.pathname = '/secret';
    const res = await client.get(url.href);
    const e = echoed(res);
    const expected = `Basic ${Buffer.from('us@er:p:ss').toString('base64')}`;
    assert.equal(e.headers.authorization, expected);
    assert.equal(e.url, '/secret');
    assert.equal(res.url.includes('p%3Ass'), false);
  });

  it('an explicit authorization header wins over URL credentials', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    const url = new URL(server.url);
    url.username = 'u';
    url.password = 'p';
    const res = await client.get(url, { Authorization: 'Bearer t' });
    assert.equal(echoed(res).headers.authorization, 'Bearer t');
  });

  it('reuses one keep-alive socket for sequential calls of every verb', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    await client.get(server.url);
    await client.post(server.url, undefined, 'x');
    await client.put(server.url, undefined, 'y');
    await client.delete(server.url);
    await client.head(server.url);
    assert.equal(server.requests, 5);
    assert.equal(server.connections, 1);
  });
});
