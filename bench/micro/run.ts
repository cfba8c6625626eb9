/**
 * Runs a micro-benchmark of this directory compiled by the project's tsc, not through
 * the tsx loader (whose `__name` wrapper of every closure would distort the figures).
 *
 *   node --import tsx bench/micro/run.ts primitives [args…]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const [name = 'primitives', ...args] = process.argv.slice(2);
const out = path.join(os.tmpdir(), `http-sentinel-micro-${process.pid}`);
mkdirSync(out, { recursive: true });
writeFileSync(path.join(out, 'package.json'), '{"type":"module"}\n');
// Benchmarks may import src/, which resolves undici like the package does.
symlinkSync(path.join(ROOT, 'node_modules'), path.join(out, 'node_modules'), 'dir');
try {
  execFileSync(
    process.execPath,
    [
      path.join(ROOT, 'node_modules/typescript/bin/tsc'),
      path.join(ROOT, `bench/micro/${name}.ts`),
      '--ignoreConfig',
      '--rootDir',
      ROOT,
      '--outDir',
      out,
      '--target',
      'es2022',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--types',
      'node',
      '--skipLibCheck',
    ],
    { cwd: ROOT, stdio: 'inherit' },
  );
  const result = spawnSync(process.execPath, [path.join(out, `bench/micro/${name}.js`), ...args], {
    stdio: 'inherit',
  });
  process.exitCode = result.status ?? 1;
} finally {
  rmSync(out, { recursive: true, force: true });
}
