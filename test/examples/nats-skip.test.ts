/**
 * Without `nats-server`, the NATS tests are skipped on a developer's machine with one line
 * saying how to install it, and fail in CI, where they must run.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { NATS_SKIP_REASON, natsSkip } from '../helpers/nats.js';

const root = join(import.meta.dirname, '..', '..');
const MISSING = '/nonexistent/nats-server';

describe('natsSkip', () => {
  test('skips with the install line when the binary is missing and CI is not set', async () => {
    assert.equal(await natsSkip({ NATS_SERVER_BIN: MISSING }), NATS_SKIP_REASON);
    assert.equal(await natsSkip({ NATS_SERVER_BIN: MISSING, CI: '' }), NATS_SKIP_REASON);
    assert.equal(await natsSkip({ NATS_SERVER_BIN: MISSING, CI: 'false' }), NATS_SKIP_REASON);
    assert.match(NATS_SKIP_REASON, /apt-get install -y nats-server/);
  });

  test('runs in CI even when the binary is missing, so that the run fails', async () => {
    assert.equal(await natsSkip({ NATS_SERVER_BIN: MISSING, CI: 'true' }), false);
    assert.equal(await natsSkip({ NATS_SERVER_BIN: MISSING, CI: '1' }), false);
  });

  test('runs when the binary is there', async () => {
    assert.equal(await natsSkip({ NATS_SERVER_BIN: process.execPath }), false);
  });
});

describe('a NATS test file as the test runner runs it, without nats-server', () => {
  /** Runs one NATS test file in its own test runner; resolves whatever its exit code. */
  async function runFile(env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, NATS_SERVER_BIN: MISSING, ...env };
    // Set by the runner for its own children: the nested runner would report to us in v8.
    delete childEnv.NODE_TEST_CONTEXT;
    if (env.CI === undefined) delete childEnv.CI;
    const args = [
      '--import',
      'tsx',
      '--test',
      '--test-reporter=spec',
      join('test', 'examples', 'nats-lifecycle.test.ts'),
    ];
    try {
      const { stdout } = await promisify(execFile)(process.execPath, args, {
        cwd: root,
        env: childEnv,
      });
      return { code: 0, out: stdout };
    } catch (err) {
      const e = err as { code: unknown; stdout: string; stderr: string };
      if (typeof e.code !== 'number') throw err;
      return { code: e.code, out: e.stdout + e.stderr };
    }
  }

  test('outside CI: passes, one skip line with the install command, nothing run', async () => {
    const r = await runFile({});
    assert.equal(r.code, 0, r.out);
    const lines = r.out.split('\n').filter((line) => line.includes('apt-get install'));
    assert.equal(lines.length, 1, r.out);
    assert.match(
      lines[0]!,
      /^﹣ .* # nats-server is not installed: apt-get install -y nats-server/,
    );
    assert.match(r.out, /ℹ pass 0\n/);
  });

  test('in CI: fails, naming the install command', async () => {
    const r = await runFile({ CI: 'true' });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /nats-server not found .* apt-get install -y nats-server/);
  });
});
