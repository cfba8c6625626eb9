/**
 * Without `@opentelemetry/api` installed (an optional peer dependency) the client works
 * as ever: nothing is thrown, nothing of OpenTelemetry is loaded, no trace context is
 * sent. Run in a child process whose `require` cannot find the package.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

it('without @opentelemetry/api the client runs, loads none of it, and says so when asked for it', async () => {
  const { stdout, stderr } = await run(
    process.execPath,
    [
      '--require',
      fileURLToPath(new URL('./hide-otel.cjs', import.meta.url)),
      '--import',
      'tsx',
      fileURLToPath(new URL('./no-otel-child.ts', import.meta.url)),
    ],
    { cwd: fileURLToPath(new URL('../../', import.meta.url)) },
  );
  assert.equal(stderr, '', 'no warning either');
  const seen = JSON.parse(stdout.trim()) as Record<string, unknown>;
  assert.deepEqual(seen, {
    hidden: true,
    status: 200,
    text: 'ok',
    // JSON's null for the one request's missing traceparent.
    headers: [null],
    refused: 'SENTINEL_INVALID_REQUEST',
    loaded: [],
  });
});
