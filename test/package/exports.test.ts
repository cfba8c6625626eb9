/**
 * The package as users get it: built by `tsc` into dist/, imported by its name through
 * the `exports` map, with type declarations beside every entry point.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';

const root = join(import.meta.dirname, '..', '..');

/**
 * Imports a package specifier at run time. Through a variable, so the type check (which
 * runs before the build, on a clean clone without dist/) does not try to resolve it.
 */
// biome-ignore lint/suspicious/noExplicitAny: the built package is checked at run time
const load = (specifier: string): Promise<any> => import(specifier);

describe('package exports', () => {
  before(() => {
    execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], {
      cwd: root,
      stdio: 'pipe',
    });
  });

  test('every entry point of the exports map resolves, with its declarations', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      exports: Record<string, { types: string; default: string } | string>;
    };
    for (const [name, target] of Object.entries(pkg.exports)) {
      if (typeof target === 'string') continue;
      assert.ok(existsSync(join(root, target.default)), `${name}: ${target.default}`);
      assert.ok(existsSync(join(root, target.types)), `${name}: ${target.types}`);
    }
  });

  test("'http-sentinel' exports the client, the errors and the resilience classes", async () => {
    const main = await load('http-sentinel');
    for (const name of [
      'HttpClient',
      'HttpResponse',
      'StreamingResponse',
      'ConnectionPool',
      'RetryEngine',
      'CircuitBreaker',
      'RetryBudget',
      'SentinelError',
      'TimeoutError',
      'ConnectionError',
      'ProtocolError',
      'BodyTooLargeError',
      'CircuitOpenError',
      'PoolClosedError',
      'InvalidRequestError',
      'AbortError',
      'HttpStatusError',
      'isSentinelError',
    ]) {
      assert.equal(typeof (main as Record<string, unknown>)[name], 'function', name);
    }
    const client = new main.HttpClient();
    await client.close();
  });

  test("'http-sentinel/pool' and 'http-sentinel/retry' export their classes", async () => {
    const pool = await load('http-sentinel/pool');
    assert.equal(typeof pool.ConnectionPool, 'function');
    assert.equal(typeof pool.Connection, 'function');
    const retry = await load('http-sentinel/retry');
    assert.equal(typeof retry.RetryEngine, 'function');
    assert.equal(typeof retry.CircuitBreaker, 'function');
    assert.equal(typeof retry.RetryBudget, 'function');
    assert.equal(new retry.RetryEngine({ jitter: 'none' }).calculateDelay(1), 200);
  });

  test('errors from two copies are recognised by isSentinelError, not instanceof alone', async () => {
    const built = await load('http-sentinel');
    const source = await import('../../src/index.js');
    const err = new built.TimeoutError('total', 5);
    assert.equal(err instanceof source.TimeoutError, false, 'different copies');
    assert.equal(source.isSentinelError(err), true);
    assert.equal(err.code, 'SENTINEL_TIMEOUT');
  });
});
