/**
 * Hooks in every phase (ky's names), hook errors, and client.extend(): merged defaults,
 * shared pool and per-host state, independent close.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { afterEach, describe, it } from 'node:test';
import type { HttpClient } from '../../src/client/index.js';
import { InvalidRequestError, type SentinelError, TimeoutError } from '../../src/core/errors.js';
import {
  echo,
  echoed,
  Fixtures,
  readBody,
  rejectsWith,
  waitFor,
} from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

const FAST = { initialDelayMs: 1, maxDelayMs: 2 };

/** Answers `statuses[i]` to the i-th request, then 200 with the request's authorization. */
function sequence(statuses: number[]): http.RequestListener {
  let n = 0;
  return (req, res) => {
    const status = statuses[n++] ?? 200;
    res.statusCode = status;
    res.end(String(req.headers.authorization ?? ''));
  };
}

describe('beforeRequest', () => {
  it('runs before every attempt, and a header it sets goes out on that attempt', async () => {
    const server = await fx.server(sequence([503, 503]));
    const seen: string[] = [];
    let n = 0;
    const client = fx.client({
      retry: FAST,
      hooks: {
        beforeRequest: [
          (request) => {
            seen.push(`${request.method} ${request.url}`);
            request.headers.set('authorization', `Bearer token-${++n}`);
          },
        ],
      },
    });
    const res = await client.get(`${server.url}/x`);
    assert.equal(res.attempts, 3);
    assert.equal(res.text(), 'Bearer token-3', 'the third attempt carried the third token');
    assert.deepEqual(seen, Array(3).fill(`GET ${server.url}/x`));
  });

  it('runs on each redirect hop', async () => {
    const server = await fx.server((req, res) => {
      if (req.url === '/from') {
        res.writeHead(302, { location: '/to' });
        res.end();
      } else {
        echo(req, res);
      }
    });
    const urls: string[] = [];
    const client = fx.client({ hooks: { beforeRequest: [(r) => void urls.push(r.url)] } });
    const res = await client.get(`${server.url}/from`);
    assert.equal(echoed(res).url, '/to');
    assert.deepEqual(urls, [`${server.url}/from`, `${server.url}/to`]);
  });

  it('request hooks run after the client hooks', async () => {
    const server = await fx.server(echo);
    const order: string[] = [];
    const client = fx.client({ hooks: { beforeRequest: [() => void order.push('client')] } });
    await client.get(server.url, undefined, {
      hooks: { beforeRequest: [() => void order.push('request')] },
    });
    assert.deepEqual(order, ['client', 'request']);
  });

  it('a header a hook sets is checked like the caller own', async () => {
    const server = await fx.server(echo);
    const client = fx.client({
      hooks: { beforeRequest: [(r) => r.headers.set('transfer-encoding', 'chunked')] },
    });
    const err = await rejectsWith(client.get(server.url), 'SENTINEL_INVALID_REQUEST');
    assert.match(err.message, /transfer-encoding/i);
    assert.equal(server.requests, 0, 'nothing sent');
  });
});

describe('afterResponse', () => {
  it('sees the final response and may replace it (token refresh on 401)', async () => {
    const server = await fx.server((req, res) => {
      res.statusCode = req.headers.authorization === 'Bearer fresh' ? 200 : 401;
      res.end(res.statusCode === 200 ? 'welcome' : 'expired');
    });
    let refreshed = 0;
    const client: HttpClient = fx.client({
      hooks: {
        afterResponse: [
          async (response, request) => {
            if (response.status !== 401 || request.headers.has('x-refreshed')) return;
            refreshed++;
            return client.get(request.url, {
              authorization: 'Bearer fresh',
              'x-refreshed': '1',
            });
          },
        ],
      },
    });
    const res = await client.get(server.url, { authorization: 'Bearer stale' });
    assert.equal(res.status, 200);
    assert.equal(res.text(), 'welcome');
    assert.equal(refreshed, 1);
  });

  it('stream(): a replaced streamed response lets its connection go', async () => {
    const server = await fx.server((_req, res) => {
      res.statusCode = 401;
      res.end('x'.repeat(100_000));
    });
    const client = fx.client({ pool: { maxConnections: 1 } });
    const replacement = await fx.server((_req, res) => res.end('other'));
    const res = await client.stream({
      method: 'GET',
      url: server.url,
      hooks: { afterResponse: [() => client.get(replacement.url)] },
    });
    assert.equal(await res.text(), 'other');
    await waitFor(() => client.pool.stats().totals.active === 0, 'connections released');
  });
});

describe('beforeRetry', () => {
  it('runs before each retry with the attempt about to be made', async () => {
    const server = await fx.server(sequence([503, 502]));
    const seen: [number, number | undefined, string | undefined][] = [];
    const client = fx.client({
      retry: FAST,
      hooks: {
        beforeRetry: [
          ({ attempt, response, error }) =>
            void seen.push([attempt, response?.status, error?.code]),
        ],
      },
    });
    const res = await client.get(server.url);
    assert.equal(res.attempts, 3);
    assert.deepEqual(seen, [
      [2, 503, undefined],
      [3, 502, undefined],
    ]);
  });

  it('sees the error of an attempt that failed', async () => {
    let n = 0;
    const server = await fx.server((req, res) => {
      if (++n === 1) req.socket.destroy();
      else res.end('ok');
    });
    const codes: (string | undefined)[] = [];
    const client = fx.client({
      retry: FAST,
      hooks: { beforeRetry: [({ error }) => void codes.push(error?.code)] },
    });
    assert.equal((await client.get(server.url)).status, 200);
    assert.deepEqual(codes, ['SENTINEL_CONNECTION']);
  });
});

describe('beforeError', () => {
  it('may enrich the error about to be thrown, or replace it', async () => {
    const server = await fx.server((_req, res) => {
      setTimeout(() => res.end(), 200);
    });
    const client = fx.client({
      timeout: 20,
      hooks: {
        beforeError: [
          (error) => {
            error.message = `[svc] ${error.message}`;
            return error;
          },
          (error) =>
            error instanceof TimeoutError
              ? new InvalidRequestError(`replaced: ${error.message}`, { cause: error })
              : error,
        ],
      },
    });
    const err = await rejectsWith(client.get(server.url), 'SENTINEL_INVALID_REQUEST');
    // The replacement was made from the labelled message: it names the request once.
    const prefix = `GET ${server.url}/: `;
    assert.equal(err.message, `replaced: [svc] ${prefix}total timeout after 20 ms`);
    assert.equal(err.url, `${server.url}/`);
    assert.equal(err.method, 'GET');
    assert.ok(err.cause instanceof TimeoutError);
    assert.equal(err.attempts, 1);
  });
});

describe('a hook that throws', () => {
  const boom = new Error('hook bug');
  const cases: [string, Record<string, unknown>][] = [
    ['beforeRequest', { beforeRequest: [() => Promise.reject(boom)] }],
    [
      'afterResponse',
      {
        afterResponse: [
          () => {
            throw boom;
          },
        ],
      },
    ],
    [
      'beforeRetry',
      {
        beforeRetry: [
          () => {
            throw boom;
          },
        ],
      },
    ],
    [
      'beforeError',
      {
        beforeError: [
          () => {
            throw boom;
          },
        ],
      },
    ],
  ];
  for (const [name, hooks] of cases) {
    it(`${name}: fails the call with the hook error as cause, nothing held, host not blamed`, async () => {
      const server = await fx.server(
        name === 'beforeError' ? (req) => req.socket.destroy() : sequence([503]),
      );
      const client = fx.client({
        retry: name === 'beforeError' ? false : FAST,
        circuitBreaker: { consecutiveFailures: 1 },
        hooks,
      });
      const err: SentinelError = await rejectsWith(
        client.get(server.url),
        'SENTINEL_INVALID_REQUEST',
      );
      assert.equal(err.cause, boom);
      assert.match(err.message, new RegExp(`hooks\\.${name} threw: hook bug`));
      assert.equal(client.pool.stats().totals.active, 0);
      if (name !== 'beforeError') {
        const host = client.stats().hosts[`127.0.0.1:${server.port}`];
        assert.notEqual(host?.breaker?.state, 'open');
      }
    });
  }

  it('a stream() whose afterResponse hook throws releases its connection', async () => {
    const server = await fx.server((_req, res) => res.end('y'.repeat(50_000)));
    const client = fx.client();
    await rejectsWith(
      client.stream({
        method: 'GET',
        url: server.url,
        hooks: {
          afterResponse: [
            () => {
              throw boom;
            },
          ],
        },
      }),
      'SENTINEL_INVALID_REQUEST',
    );
    await waitFor(() => client.pool.stats().totals.active === 0, 'connection released');
    await client.close();
  });

  it('hooks of the wrong shape are refused before any I/O', () => {
    assert.throws(() => fx.client({ hooks: { beforeRequest: 'x' } as never }), InvalidRequestError);
    assert.throws(() => fx.client({ hooks: { beforeRequests: [] } as never }), /unknown hook/);
    assert.throws(() => fx.client({ hooks: { beforeRetry: [1] } as never }), InvalidRequestError);
  });
});

describe('client.extend()', () => {
  it('merges headers by name, appends hooks, overrides options', async () => {
    const server = await fx.server(echo);
    const order: string[] = [];
    const parent = fx.client({
      baseUrl: server.url,
      headers: { 'x-team': 'core', 'x-env': 'dev' },
      hooks: { beforeRequest: [() => void order.push('parent')] },
    });
    const child = parent.extend({
      headers: { 'x-env': 'prod', 'x-child': '1' },
      hooks: { beforeRequest: [() => void order.push('child')] },
      timeout: 5000,
    });
    const seen = echoed(await child.get('/a'));
    assert.equal(seen.url, '/a', 'the baseUrl came along');
    assert.equal(seen.headers['x-team'], 'core');
    assert.equal(seen.headers['x-env'], 'prod');
    assert.equal(seen.headers['x-child'], '1');
    assert.deepEqual(order, ['parent', 'child']);
    const fromParent = echoed(await parent.get('/b'));
    assert.equal(fromParent.headers['x-env'], 'dev', 'the parent is unchanged');
    assert.equal(fromParent.headers['x-child'], undefined);
  });

  it('shares the pool and the per-host breakers', async () => {
    const server = await fx.server((req) => req.socket.destroy());
    const parent = fx.client({ retry: false, circuitBreaker: { consecutiveFailures: 2 } });
    const child = parent.extend({ headers: { 'x-child': '1' } });
    assert.equal(child.pool, parent.pool);
    await rejectsWith(parent.get(server.url), 'SENTINEL_CONNECTION');
    await rejectsWith(child.get(server.url), 'SENTINEL_CONNECTION');
    // The run of two spans both clients: the host is down for the family.
    await rejectsWith(parent.get(server.url), 'SENTINEL_CIRCUIT_OPEN');
    await rejectsWith(child.get(server.url), 'SENTINEL_CIRCUIT_OPEN');
  });

  it('a child may have its own retry settings', async () => {
    const server = await fx.server(sequence([503, 503, 503, 503]));
    const parent = fx.client({ retry: { ...FAST, maxAttempts: 2 } });
    const child = parent.extend({ retry: { ...FAST, maxAttempts: 5 } });
    assert.equal((await parent.get(server.url)).attempts, 2);
    const res = await child.get(server.url);
    assert.equal(res.status, 200);
    assert.equal(res.attempts, 3);
  });

  it('closing the child leaves the parent working', async () => {
    const server = await fx.server(async (req, res) => {
      await readBody(req);
      res.end('ok');
    });
    const parent = fx.client();
    const child = parent.extend({ headers: { 'x-child': '1' } });
    assert.equal((await child.get(server.url)).status, 200);
    await child.close();
    await rejectsWith(child.get(server.url), 'SENTINEL_POOL_CLOSED');
    assert.equal((await parent.get(server.url)).status, 200);
  });

  it('refuses to change what it shares', () => {
    const parent = fx.client();
    for (const option of [
      'pool',
      'circuitBreaker',
      'retryBudget',
      'adaptive',
      'upstreams',
      'clock',
    ]) {
      assert.throws(
        () => parent.extend({ [option]: {} }),
        (err: unknown) => err instanceof InvalidRequestError && err.message.includes(option),
        option,
      );
    }
  });
});
