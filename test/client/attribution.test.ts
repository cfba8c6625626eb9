/**
 * Blame only the guilty: the host's breaker, health and budget hear only of what the host
 * did. Each test is a regression of a misfire seen under fault injection: our own queue,
 * the caller's faults, a broken endpoint or a half-working host cutting traffic to a host
 * that can serve it.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { afterEach, describe, it } from 'node:test';
import type { HttpClient } from '../../src/client/index.js';
import { ManualClock } from '../../src/core/clock.js';
import {
  InvalidRequestError,
  RequestBodyError,
  type SentinelError,
  type TimeoutError,
} from '../../src/core/errors.js';
import { Fixtures, readBody, rejectsWith, waitFor } from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

const FAST = { initialDelayMs: 1, maxDelayMs: 2 };

function hostKey(server: { port: number }): string {
  return `127.0.0.1:${server.port}`;
}

function breakerOf(client: HttpClient, server: { port: number }) {
  const host = client.stats().hosts[hostKey(server)];
  assert.ok(host?.breaker !== undefined, 'the host has a breaker');
  return host.breaker;
}

/** Answers by path: `/status/N` with N, anything else 200 after `delayMs`. */
function routes(delayMs = 0): http.RequestListener {
  return (req, res) => {
    const match = /^\/status\/(\d+)/.exec(req.url ?? '');
    if (match !== null) {
      res.statusCode = Number(match[1]);
      res.end();
      return;
    }
    if (delayMs === 0) res.end('ok');
    else setTimeout(() => res.end('ok'), delayMs);
  };
}

describe('a healthy host in a burst keeps its retries', () => {
  it('2,000 calls at once on 16 connections, every 50th answer a 503: all succeed', async () => {
    let n = 0;
    const server = await fx.server((_req, res) => {
      res.statusCode = ++n % 50 === 0 ? 503 : 200;
      res.end();
    });
    const client = fx.client({ pool: { maxConnections: 16 }, retry: FAST });
    const results = await Promise.allSettled(
      Array.from({ length: 2000 }, () => client.get(server.url)),
    );
    const statuses = results.map((r) => (r.status === 'fulfilled' ? r.value.status : -1));
    assert.equal(statuses.filter((s) => s !== 200).length, 0, 'every call succeeded');
    const { retry } = client.stats();
    assert.equal(retry.refusedByBudget, 0);
    assert.equal(retry.rejectedByBreaker, 0);
    assert.ok(retry.retries >= 39, `the 503s were retried (${retry.retries})`);
    assert.equal(breakerOf(client, server).state, 'closed');
  });
});

describe('our own queue is never the host fault', () => {
  it('calls that time out waiting for a connection leave the breaker and health untouched', async () => {
    const server = await fx.server(routes(50));
    const client = fx.client({
      pool: { maxConnections: 1 },
      timeout: 100,
      circuitBreaker: { consecutiveFailures: 1 },
    });
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => client.get(server.url)),
    );
    const failures = results.filter((r) => r.status === 'rejected');
    assert.ok(failures.length >= 5, `most calls ran out of time in the queue (${failures.length})`);
    for (const f of failures) {
      const err = (f as PromiseRejectedResult).reason as TimeoutError;
      assert.equal(err.code, 'SENTINEL_TIMEOUT');
      // In the queue: `acquire`. Sent with too little of the deadline left: `total`.
      assert.ok(err.phase === 'acquire' || err.phase === 'total', err.phase);
    }
    assert.ok(
      failures.some(
        (f) => ((f as PromiseRejectedResult).reason as TimeoutError).phase === 'acquire',
      ),
      'a deadline that ran out in our queue says so',
    );
    const breaker = breakerOf(client, server);
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.consecutiveFailures, 0);
    assert.equal(client.stats().hosts[hostKey(server)]!.health!.failures, 0);
    for (let i = 0; i < 5; i++) assert.equal((await client.get(server.url)).status, 200);
  });

  it('waiting for a connection is bounded by the call timeout, not a shorter pool default', async () => {
    const clock = new ManualClock();
    const held: http.ServerResponse[] = [];
    const server = await fx.server((_req, res) => {
      held.push(res);
    });
    const client = fx.client({ clock, pool: { maxConnections: 1 }, retry: false });
    const first = client.get(server.url);
    await waitFor(() => held.length === 1, 'the first request');
    const second = client.get(server.url);
    // Well past the old 5 s pool wait, well inside the 30 s call timeout.
    clock.advance(12_000);
    held[0]!.end('one');
    assert.equal((await first).text(), 'one');
    await waitFor(() => held.length === 2, 'the queued request to be sent');
    held[1]!.end('two');
    assert.equal((await second).text(), 'two');
  });

  it('an explicit pool connectionTimeoutMs still bounds the wait, as phase acquire', async () => {
    const held: http.ServerResponse[] = [];
    const server = await fx.server((_req, res) => {
      held.push(res);
    });
    const client = fx.client({
      pool: { maxConnections: 1, connectionTimeoutMs: 20 },
      retry: false,
      circuitBreaker: { consecutiveFailures: 1 },
    });
    const first = client.get(server.url);
    await waitFor(() => held.length === 1, 'the first request');
    const err = await rejectsWith<TimeoutError>(client.get(server.url), 'SENTINEL_TIMEOUT');
    assert.equal(err.phase, 'acquire');
    held[0]!.end('one');
    assert.equal((await first).status, 200);
    assert.equal(breakerOf(client, server).state, 'closed');
  });
});

describe('the caller faults are not the host', () => {
  it('POSTs whose body source throws fail with RequestBodyError; the host stays open', async () => {
    const server = await fx.server(async (req, res) => {
      await readBody(req).catch(() => undefined);
      res.end('ok');
    });
    const client = fx.client({ circuitBreaker: { consecutiveFailures: 1 } });
    for (let i = 0; i < 5; i++) {
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield Buffer.from('part');
        throw new Error('disk read failed');
      }
      const err = await rejectsWith<RequestBodyError>(
        client.post(server.url, undefined, failing()),
        'SENTINEL_REQUEST_BODY',
      );
      assert.ok(err instanceof RequestBodyError);
      assert.equal((err.cause as Error).message, 'disk read failed');
      assert.equal(err.attempts, 1, 'never retried');
    }
    const breaker = breakerOf(client, server);
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.consecutiveFailures, 0);
    assert.equal((await client.get(server.url)).status, 200);
    await waitFor(() => client.pool.stats().totals.active === 0, 'connections released');
  });

  it('caller aborts mid-flight do not count against the host', async () => {
    const server = await fx.server(routes(200));
    const client = fx.client({ circuitBreaker: { consecutiveFailures: 1 } });
    for (let i = 0; i < 3; i++) {
      const controller = new AbortController();
      const pending = client.get(server.url, undefined, { signal: controller.signal });
      setTimeout(() => controller.abort(), 10);
      await rejectsWith(pending, 'SENTINEL_ABORTED');
    }
    assert.equal(breakerOf(client, server).consecutiveFailures, 0);
    assert.equal(client.stats().hosts[hostKey(server)]!.health!.failures, 0);
    assert.equal((await client.get(server.url)).status, 200);
  });
});

describe('the breaker is for hosts that are down', () => {
  it('a broken endpoint (500) and a flapping one (503, retried) leave a healthy path open', async () => {
    const server = await fx.server(routes());
    const client = fx.client({ retry: FAST });
    for (let i = 0; i < 10; i++) {
      assert.equal((await client.get(`${server.url}/status/500`)).status, 500);
    }
    for (let i = 0; i < 3; i++) {
      assert.equal((await client.get(`${server.url}/status/503`)).status, 503);
    }
    assert.equal((await client.get(`${server.url}/get`)).status, 200);
    assert.equal(breakerOf(client, server).state, 'closed');
  });

  it('a 503 counts once per call, however many attempts it took', async () => {
    const server = await fx.server(routes());
    const client = fx.client({
      retry: { ...FAST, maxAttempts: 3 },
      circuitBreaker: { consecutiveFailures: 3 },
    });
    const res = await client.get(`${server.url}/status/503`);
    assert.equal(res.attempts, 3);
    assert.equal(breakerOf(client, server).consecutiveFailures, 1);
    await client.get(`${server.url}/status/503`);
    assert.equal(breakerOf(client, server).state, 'closed');
    await client.get(`${server.url}/status/503`);
    assert.equal(breakerOf(client, server).state, 'open', 'three calls answered 503: down');
  });

  it('a half-working host keeps the traffic it can serve', async () => {
    let n = 0;
    const server = await fx.server((_req, res) => {
      res.statusCode = ++n % 2 === 0 ? 503 : 200;
      res.end();
    });
    const client = fx.client({ pool: { maxConnections: 16 }, retry: FAST });
    const results = await Promise.allSettled(
      Array.from({ length: 600 }, () => client.get(server.url)),
    );
    const ok = results.filter((r) => r.status === 'fulfilled' && r.value.status === 200).length;
    const open = results.filter(
      (r) =>
        r.status === 'rejected' && (r.reason as SentinelError).code === 'SENTINEL_CIRCUIT_OPEN',
    ).length;
    assert.equal(open, 0, 'the breaker never cut the host off');
    assert.ok(ok >= 300, `at least half the calls succeed (${ok} of 600)`);
    // The budget's bound: 20 % of the calls plus its reserve of 100.
    assert.ok(n <= 600 + 0.2 * 600 + 100, `retries held by the budget: ${n} requests`);
  });

  it('a host that refuses connections is cut off after the run, with no traffic', async () => {
    const server = await fx.server((req) => {
      req.socket.destroy();
    });
    const client = fx.client({ retry: false });
    for (let i = 0; i < 10; i++) await rejectsWith(client.get(server.url), 'SENTINEL_CONNECTION');
    const before = server.requests;
    await rejectsWith(client.get(server.url), 'SENTINEL_CIRCUIT_OPEN');
    assert.equal(server.requests, before);
  });
});

describe('low traffic keeps its retries', () => {
  it('keyed POSTs answered 503, 503, 201 each succeed on their third attempt', async () => {
    const seen = new Map<string, number>();
    const server = await fx.server((req, res) => {
      const key = String(req.headers['idempotency-key']);
      const count = (seen.get(key) ?? 0) + 1;
      seen.set(key, count);
      res.statusCode = count < 3 ? 503 : 201;
      res.end();
    });
    const client = fx.client({ retry: FAST });
    for (let i = 0; i < 20; i++) {
      const res = await client.post(server.url, undefined, 'x', { idempotencyKey: true });
      assert.equal(res.status, 201, `call ${i}`);
      assert.equal(res.attempts, 3, `call ${i}`);
    }
    assert.equal(client.stats().retry.refusedByBudget, 0);
  });
});

describe('a hung attempt is retried within the call deadline', () => {
  it('with only timeout set, the default attempt deadline cuts the hang and retries', async () => {
    let n = 0;
    const hung: http.ServerResponse[] = [];
    const server = await fx.server((_req, res) => {
      if (++n === 1) hung.push(res);
      else res.end('second');
    });
    const client = fx.client({ timeout: 3000, retry: FAST });
    const res = await client.get(server.url);
    assert.equal(res.text(), 'second');
    assert.equal(res.attempts, 2);
    for (const r of hung) r.destroy();
  });
});

describe('a retry decision that throws', () => {
  const boom = new Error('bug in shouldRetry');
  const shouldRetry = (): boolean => {
    throw boom;
  };

  it('fails a buffered call with the error as cause, nothing checked out', async () => {
    const server = await fx.server(routes());
    const client = fx.client({ retry: { shouldRetry } });
    const err = await rejectsWith(
      client.get(`${server.url}/status/503`),
      'SENTINEL_INVALID_REQUEST',
    );
    assert.ok(err instanceof InvalidRequestError);
    assert.equal(err.cause, boom);
    assert.equal(client.pool.stats().totals.active, 0);
    await client.close();
  });

  it('fails a stream() call the same way, releasing its connection so close() settles', async () => {
    const server = await fx.server(routes());
    const client = fx.client({ retry: { shouldRetry } });
    const err = await rejectsWith(
      client.stream({ method: 'GET', url: `${server.url}/status/503` }),
      'SENTINEL_INVALID_REQUEST',
    );
    assert.equal(err.cause, boom);
    await waitFor(() => client.pool.stats().totals.active === 0, 'connection released');
    await client.close();
  });
});

describe('guards refuse bad settings before any I/O', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    [
      'a typo in circuitBreaker',
      { circuitBreaker: { consecutiveFailure: 3 } },
      /consecutiveFailure/,
    ],
    ['a typo in retryBudget', { retryBudget: { percentCanRetries: 1 } }, /percentCanRetries/],
    ['a typo in adaptive', { adaptive: { minRequest: 1 } }, /minRequest/],
    ['a typo in retry', { retry: { maxAttempt: 5 } }, /maxAttempt/],
    ['the removed token rule', { adaptive: { maxTokens: 10 } }, /maxTokens/],
    [
      'failureRateThreshold over 1',
      { circuitBreaker: { failureRateThreshold: 2 } },
      /failureRateThreshold/,
    ],
    [
      'consecutiveFailures 0',
      { circuitBreaker: { consecutiveFailures: 0 } },
      /consecutiveFailures/,
    ],
    ['halfOpenProbes 0', { circuitBreaker: { halfOpenProbes: 0 } }, /halfOpenProbes/],
    ['openDurationMs negative', { circuitBreaker: { openDurationMs: -1 } }, /openDurationMs/],
    ['percentCanRetry negative', { retryBudget: { percentCanRetry: -0.1 } }, /percentCanRetry/],
    [
      'minRetriesPerSecond NaN',
      { retryBudget: { minRetriesPerSecond: Number.NaN } },
      /minRetriesPerSecond/,
    ],
    ['ttlMs 0', { retryBudget: { ttlMs: 0 } }, /ttlMs/],
    ['k below 1', { adaptive: { k: 0.5 } }, /\bk\b/],
    [
      'shedFirstAttempts not boolean',
      { adaptive: { shedFirstAttempts: 'yes' } },
      /shedFirstAttempts/,
    ],
    ['attemptTimeout 0', { attemptTimeout: 0 }, /attemptTimeout/],
  ];
  for (const [name, options, message] of cases) {
    it(name, () => {
      assert.throws(
        () => fx.client(options),
        (err: unknown) => err instanceof InvalidRequestError && message.test(err.message),
      );
    });
  }
});
