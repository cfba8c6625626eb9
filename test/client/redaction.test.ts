/**
 * A password in a URL (`user:password@`) is sent as Basic auth and shown nowhere: not in
 * error messages or their causes, `res.url`, client events, stats or CLI output.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { inspect } from 'node:util';
import type { ClientEvent } from '../../src/client/index.js';
import { HttpClient } from '../../src/client/index.js';
import { isSentinelError } from '../../src/core/errors.js';
import { redactInvalidUrl, redactUrl } from '../../src/index.js';
import { sentinel } from '../cli/helpers.js';
import { echo, echoed, Fixtures } from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

const SECRET = 'SECRETPW';

/** Everything an error shows when logged: message, stack, fields and its cause chain. */
function shown(value: unknown): string {
  return inspect(value, { depth: 10, showHidden: true });
}

function assertHidden(text: string, where: string): void {
  assert.ok(!text.includes(SECRET), `${where} shows the password:\n${text}`);
}

async function thrown(call: () => Promise<unknown>): Promise<Error> {
  try {
    await call();
  } catch (err) {
    assert.ok(isSentinelError(err), String(err));
    return err;
  }
  assert.fail('expected a rejection');
}

describe('redactUrl', () => {
  it('replaces the userinfo, and only it', () => {
    assert.equal(redactUrl('https://u:p@h.example/a@b?c=@'), 'https://***@h.example/a@b?c=@');
    assert.equal(redactUrl('http:u:p@h'), 'http:***@h');
    assert.equal(redactUrl('http://h.example/a@b'), 'http://h.example/a@b');
    assert.equal(redactInvalidUrl('http://u:p#w@h:zz'), 'http://***@h:zz');
  });
});

describe('credentials in URLs are never shown', () => {
  it('in the messages of URLs refused before any I/O', async () => {
    const client = fx.client();
    const urls = [
      `ftp://user:${SECRET}@127.0.0.1/x`,
      `http://user:${SECRET}@127.0.0.1:99999/`,
      `http://user:${SECRET}#frag@127.0.0.1:zz/`,
      `http://user:${SECRET}@`,
      `file://user:${SECRET}@/etc/passwd`,
    ];
    for (const url of urls) {
      const err = await thrown(() => client.get(url));
      assert.equal((err as { code?: string }).code, 'SENTINEL_INVALID_REQUEST', url);
      assert.match(err.message, /\*\*\*@/, url);
      assertHidden(shown(err), url);
    }
  });

  it('in the message of an invalid baseUrl', () => {
    let caught: unknown;
    try {
      new HttpClient({ baseUrl: `http://user:${SECRET}@127.0.0.1:99999/` });
    } catch (err) {
      caught = err;
    }
    assert.ok(isSentinelError(caught));
    assertHidden(shown(caught), 'baseUrl error');
  });

  it('in res.url, after a redirect too, while the credentials are sent as Basic auth', async () => {
    const server = await fx.server(echo);
    const client = fx.client();
    const direct = await client.get(`${server.url.replace('//', `//user:${SECRET}@`)}/x`);
    assertHidden(direct.url, 'res.url');
    assert.equal(direct.url, `${server.url}/x`);
    assert.equal(
      echoed(direct).headers.authorization,
      `Basic ${Buffer.from(`user:${SECRET}`).toString('base64')}`,
    );

    const redirecting = await fx.server((_req, res) => {
      res.writeHead(302, { location: `${server.url.replace('//', `//user:${SECRET}@`)}/landed` });
      res.end();
    });
    const hopped = await client.get(redirecting.url);
    assertHidden(hopped.url, 'res.url after a redirect');
    assert.equal(hopped.url, `${server.url}/landed`);
  });

  it('in the error of an invalid redirect Location', async () => {
    const server = await fx.server((_req, res) => {
      res.writeHead(302, { location: `http://user:${SECRET}@127.0.0.1:99999/` });
      res.end();
    });
    const client = fx.client();
    const err = await thrown(() => client.get(server.url));
    assert.equal((err as { code?: string }).code, 'SENTINEL_PROTOCOL');
    assertHidden(shown(err), 'redirect error');
  });

  it('in client events, stats and an HttpStatusError', async () => {
    let hits = 0;
    const server = await fx.server((_req, res) => {
      res.writeHead(++hits === 1 ? 503 : 404);
      res.end();
    });
    const client = fx.client({ retry: { maxAttempts: 2, initialDelayMs: 1 } });
    const events: ClientEvent[] = [];
    client.onEvent((e) => events.push(e));
    const url = `${server.url.replace('//', `//user:${SECRET}@`)}/thing`;
    const err = await thrown(() => client.get(url, undefined, { throwHttpErrors: true }));
    assert.equal((err as { code?: string }).code, 'SENTINEL_HTTP_STATUS');
    assertHidden(shown(err), 'HttpStatusError');
    assert.ok(events.some((e) => e.type === 'retry'));
    assert.ok(events.length >= 3);
    assertHidden(shown(events), 'events');
    assertHidden(JSON.stringify(client.stats()), 'stats');
  });
});

describe('the CLI never prints credentials from the URL', () => {
  it('in a usage error', async () => {
    for (const url of [`ftp://user:${SECRET}@host/`, `http://user:${SECRET}@host:zz/`]) {
      const r = await sentinel(['get', url]);
      assert.notEqual(r.code, 0);
      assert.match(r.err, /\*\*\*@/);
      assertHidden(r.err + r.out, `CLI with ${url}`);
    }
  });

  it('in the verbose trace', async () => {
    const server = await fx.server(echo);
    const r = await sentinel(['get', `${server.url.replace('//', `//user:${SECRET}@`)}/x`, '-v']);
    assert.equal(r.code, 0);
    assert.match(r.err, /\* GET http:\/\/\*\*\*@127\.0\.0\.1/);
    assertHidden(r.err, 'CLI trace');
  });
});
