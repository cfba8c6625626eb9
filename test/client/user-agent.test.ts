/** The default `user-agent`: `http-sentinel/<version>`, overridable, removable with ''. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { afterEach, describe, it } from 'node:test';
import { VERSION } from '../../src/version.js';
import { echo, echoed, Fixtures } from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

describe('user-agent', () => {
  it('VERSION is the version in package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    assert.equal(VERSION, pkg.version);
  });

  it('is http-sentinel/<version> by default', async () => {
    const server = await fx.server(echo);
    const seen = echoed(await fx.client().get(server.url));
    assert.equal(seen.headers['user-agent'], `http-sentinel/${VERSION}`);
  });

  it('a client or request value replaces it; an empty one sends none', async () => {
    const server = await fx.server(echo);
    const client = fx.client({ headers: { 'user-agent': 'my-service/2.0' } });
    assert.equal(echoed(await client.get(server.url)).headers['user-agent'], 'my-service/2.0');
    const perRequest = await client.get(server.url, { 'User-Agent': 'job/1' });
    assert.equal(echoed(perRequest).headers['user-agent'], 'job/1');
    const none = await client.get(server.url, { 'user-agent': '' });
    assert.equal(echoed(none).headers['user-agent'], undefined);
    const silent = fx.client({ headers: { 'user-agent': '' } });
    assert.equal(echoed(await silent.get(server.url)).headers['user-agent'], undefined);
  });
});
