/**
 * What the library does to its own objects stays off their public surface: no member a
 * user could call by accident, no constructor that builds a half-made object.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { HttpClient, HttpResponse, StreamingResponse } from '../../src/index.js';
import { Connection, ConnectionPool } from '../../src/pool/index.js';
import { Route, startTestServer } from '../../src/testing/index.js';

/** The string-keyed names on an object and its prototype chain below Object. */
function names(value: object): string[] {
  const out: string[] = [];
  for (let o: object | null = value; o !== null && o !== Object.prototype; ) {
    out.push(...Object.getOwnPropertyNames(o));
    o = Object.getPrototypeOf(o) as object | null;
  }
  return out;
}

describe('internals are off the public classes', async () => {
  const server = await startTestServer();
  server.route('GET', '/data', { json: { ok: true } });
  after(() => server.close());

  test('constructors that only the library may call refuse anyone else', () => {
    for (const cls of [Connection, HttpResponse, StreamingResponse, Route]) {
      assert.throws(() => Reflect.construct(cls, ['GET', '/x']), TypeError, cls.name);
    }
  });

  test('a pooled connection shows no bookkeeping or exchange callbacks', async () => {
    const pool = new ConnectionPool();
    try {
      const conn = await pool.acquire(server.url);
      try {
        const seen = names(conn);
        for (const hidden of ['place', 'stats', 'exchange', 'exchangeEnded', 'abandon']) {
          assert.ok(!seen.includes(hidden), `${hidden} is reachable`);
        }
        assert.equal((await conn.request('GET', '/data')).status, 200);
      } finally {
        pool.release(conn);
      }
    } finally {
      await pool.close();
    }
  });

  test('a response and a client show only their documented members', async () => {
    await using client = new HttpClient({ baseUrl: server.url, retry: false });
    const res = await client.get('/data');
    assert.deepEqual(res.json(), { ok: true });
    assert.deepEqual(Object.getOwnPropertySymbols(client), []);
    assert.deepEqual(Object.getOwnPropertySymbols(HttpClient.prototype), [Symbol.asyncDispose]);
    assert.deepEqual(Object.getOwnPropertySymbols(Object.getPrototypeOf(res)), []);
  });
});
