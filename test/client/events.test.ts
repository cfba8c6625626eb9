import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { ClientEvent } from '../../src/client/events.js';
import { HttpClient } from '../../src/client/index.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer | undefined;
let client: HttpClient | undefined;

afterEach(async () => {
  await client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

/** A server answering `statuses` in turn, then 200. */
async function sequence(statuses: number[]): Promise<TestServer> {
  let i = 0;
  return startServer((_req, res) => {
    res.statusCode = statuses[i++] ?? 200;
    res.end(String(res.statusCode));
  });
}

describe('client.onEvent', () => {
  test('reports every attempt and every retry with its delay', async () => {
    server = await sequence([503, 502]);
    client = new HttpClient({ retry: { initialDelayMs: 1, jitter: 'none' }, adaptive: false });
    const events: ClientEvent[] = [];
    const off = client.onEvent((e) => events.push(e));
    const res = await client.get(`${server.url}/x`);
    assert.equal(res.status, 200);
    assert.deepEqual(
      events.map((e) =>
        e.type === 'attempt'
          ? `attempt ${e.attempt} ${e.status}`
          : e.type === 'retry'
            ? `retry ${e.attempt} ${e.delayMs}`
            : e.type,
      ),
      ['attempt 1 503', 'retry 1 1', 'attempt 2 502', 'retry 2 2', 'attempt 3 200'],
    );
    off();
    await client.get(`${server.url}/x`);
    assert.equal(events.length, 5, 'nothing after unsubscribing');
  });

  test('reports a retry refused by the budget', async () => {
    server = await sequence([503, 503, 503]);
    client = new HttpClient({
      retry: { initialDelayMs: 1 },
      adaptive: false,
      retryBudget: { percentCanRetry: 0.01, minRetriesPerSecond: 0 },
    });
    const events: ClientEvent[] = [];
    client.onEvent((e) => events.push(e));
    const res = await client.get(`${server.url}/x`);
    assert.equal(res.status, 503);
    assert.equal(res.attempts, 1);
    const refused = events.find((e) => e.type === 'retry-refused');
    assert.ok(refused !== undefined && refused.type === 'retry-refused');
    assert.equal(refused.by, 'budget');
    assert.equal(client.stats().retry.refusedByBudget, 1);
  });

  test('reports breaker transitions per host', async () => {
    server = await sequence([503, 503]);
    client = new HttpClient({ retry: false, circuitBreaker: { consecutiveFailures: 2 } });
    const events: ClientEvent[] = [];
    client.onEvent((e) => {
      if (e.type === 'breaker') events.push(e);
    });
    await client.get(`${server.url}/`);
    await client.get(`${server.url}/`);
    assert.deepEqual(events, [
      { type: 'breaker', host: `127.0.0.1:${server.port}`, from: 'closed', to: 'open' },
    ]);
  });

  test('an attempt is reported before the breaker transition it causes', async () => {
    server = await sequence([503, 503]);
    client = new HttpClient({ retry: false, circuitBreaker: { consecutiveFailures: 2 } });
    const events: string[] = [];
    client.onEvent((e) => {
      if (e.type === 'attempt') events.push(`attempt ${e.status}`);
      else if (e.type === 'breaker') events.push(`breaker ${e.from} -> ${e.to}`);
    });
    await client.get(`${server.url}/`);
    await client.get(`${server.url}/`);
    assert.deepEqual(events, ['attempt 503', 'attempt 503', 'breaker closed -> open']);
  });

  test('a listener that throws does not fail the request: it becomes a warning', async () => {
    server = await sequence([]);
    client = new HttpClient();
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w);
    };
    process.on('warning', onWarning);
    try {
      client.onEvent(() => {
        throw new Error('listener bug');
      });
      const res = await client.get(`${server.url}/`);
      assert.equal(res.status, 200);
      await new Promise((r) => setImmediate(r));
      assert.equal(warnings[0]?.message, 'listener bug');
    } finally {
      process.removeListener('warning', onWarning);
    }
  });
});
