/**
 * The `http-sentinel` bin as users get it: the package compiled by `tsc -p
 * tsconfig.build.json`, and the file package.json's `bin` names run as a real process
 * against a loopback server.
 *
 * The build goes to a private out dir (same layout as dist/, inside the package so that
 * `undici` and the package's own name resolve), not to dist/ itself: test/package
 * rebuilds dist/ at the same time, and tsc rewrites files in place (truncate, then
 * write), so one build could hand the other's reader a half-written file.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { PROGRAM } from '../../src/cli/args.js';
import { type Server, startServer } from './helpers.js';

const root = join(import.meta.dirname, '..', '..');
const outDir = join(root, '.scratch', `cli-bin-test-${process.pid}`);
const exec = promisify(execFile);

let server: Server;
let bin: string;

before(async () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    bin: Record<string, string>;
  };
  // The bin is named after the package so that `npx http-sentinel` outside a project
  // resolves to this package, not to an unrelated one called `sentinel`.
  assert.deepEqual(pkg.bin, { 'http-sentinel': './dist/src/cli/http-sentinel.js' });
  assert.equal(PROGRAM, 'http-sentinel');
  bin = join(outDir, pkg.bin[PROGRAM]!.replace(/^\.\/dist\//, ''));
  try {
    await exec(
      join(root, 'node_modules', '.bin', 'tsc'),
      ['-p', 'tsconfig.build.json', '--outDir', outDir],
      { cwd: root },
    );
  } catch (err) {
    const { stdout, stderr } = err as { stdout: string; stderr: string };
    throw new Error(`the build failed:\n${stdout}${stderr}`);
  }
  server = await startServer((req, res) => {
    res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'text/plain' });
    res.end(`${req.method} ${req.url}\n`);
  });
});

after(async () => {
  await server?.close();
  rmSync(outDir, { recursive: true, force: true });
});

/** Runs the built bin; resolves with its exit code and output, whatever the code. */
async function sentinel(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [bin, ...args], {
      cwd: root,
      timeout: 10_000,
    });
    return { code: 0, out: stdout, err: stderr };
  } catch (err) {
    const e = err as { code: unknown; stdout: string; stderr: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, out: e.stdout, err: e.stderr };
  }
}

test('the built entry starts with the shebang', () => {
  const entry = readFileSync(bin, 'utf8');
  assert.ok(entry.startsWith('#!/usr/bin/env node\n'), entry.slice(0, 40));
});

test('http-sentinel get <url> as a process: body on stdout, exit 0', async () => {
  const r = await sentinel('get', `${server.url}/hello`);
  assert.deepEqual(r, { code: 0, out: 'GET /hello\n', err: '' });
});

test('as a process: exit 22 on a 404 with the body, 2 on bad arguments, --version', async () => {
  assert.deepEqual(await sentinel('get', `${server.url}/missing`), {
    code: 22,
    out: 'GET /missing\n',
    err: '',
  });
  const bad = await sentinel('fetch');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /^http-sentinel: usage: unknown verb "fetch"/);
  const version = await sentinel('--version');
  assert.equal(version.code, 0);
  assert.match(version.out, /^http-sentinel \d+\.\d+\.\d+ \(node v/);
});
