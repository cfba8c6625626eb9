/**
 * Which http-sentinel the bench measures. By default the runner compiles `src/` with the
 * project's own `tsc` (tsconfig.build.json, the way the package is published) into a
 * temporary directory and every child imports that, so the figures are those of the
 * shipped JavaScript. `--source tsx` measures `src/` through the tsx loader instead,
 * whose esbuild transform adds a `__name(fn, "…")` call (an `Object.defineProperty`)
 * for every closure it creates: about 1–3 µs per request on our hot path.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type SentinelModule = typeof import('../src/index.js');
export type PoolModule = typeof import('../src/pool/index.js');

/** Environment variable naming the compiled `src/` directory the children import. */
export const BUILD_ENV = 'BENCH_SENTINEL_BUILD';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

function compiled(file: string): string | undefined {
  const dir = process.env[BUILD_ENV];
  return dir === undefined || dir === '' ? undefined : pathToFileURL(path.join(dir, file)).href;
}

export async function loadSentinel(): Promise<SentinelModule> {
  const url = compiled('index.js');
  return url === undefined
    ? await import('../src/index.js')
    : ((await import(url)) as SentinelModule);
}

export async function loadPool(): Promise<PoolModule> {
  const url = compiled('pool/index.js');
  return url === undefined
    ? await import('../src/pool/index.js')
    : ((await import(url)) as PoolModule);
}

/**
 * Compiles `src/` into a fresh temporary directory and returns the path of its `src/`.
 * The directory gets `{"type":"module"}` and a link to the project's node_modules, so
 * the output resolves `undici` exactly as the package does. Type errors elsewhere in a
 * tree under edit do not stop tsc from emitting; only a missing output is an error.
 */
export function buildSentinel(): { dir: string; cleanup(): void; warnings: string } {
  const out = path.join(os.tmpdir(), `http-sentinel-bench-${process.pid}`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'package.json'), '{"type":"module"}\n');
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(out, 'node_modules'), 'dir');
  let warnings = '';
  try {
    execFileSync(
      process.execPath,
      [
        path.join(ROOT, 'node_modules/typescript/bin/tsc'),
        '-p',
        path.join(ROOT, 'tsconfig.build.json'),
        '--outDir',
        out,
        '--declaration',
        'false',
        '--sourceMap',
        'false',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } catch (err) {
    const e = err as { stdout?: Buffer; message: string };
    warnings = (e.stdout?.toString() ?? e.message).trim();
  }
  const dir = path.join(out, 'src');
  if (!existsSync(path.join(dir, 'index.js'))) {
    rmSync(out, { recursive: true, force: true });
    throw new Error(`tsc produced no ${dir}/index.js:\n${warnings}`);
  }
  return { dir, cleanup: () => rmSync(out, { recursive: true, force: true }), warnings };
}
