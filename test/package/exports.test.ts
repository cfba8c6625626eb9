/**
 * The package as users get it: built by `tsc` into dist/, imported by its name through
 * the `exports` map, with type declarations beside every entry point.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

const root = join(import.meta.dirname, '..', '..');
const tsc = join(root, 'node_modules', '.bin', 'tsc');

interface Manifest {
  exports: Record<string, { types: string; default: string } | string>;
  files: string[];
}

const manifest = (): Manifest =>
  JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest;

/** Every file below `dir`, relative to it. */
function walk(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? walk(join(dir, entry.name), `${prefix}${entry.name}/`)
      : [`${prefix}${entry.name}`],
  );
}

/**
 * Imports a package specifier at run time. Through a variable, so the type check (which
 * runs before the build, on a clean clone without dist/) does not try to resolve it.
 */
// biome-ignore lint/suspicious/noExplicitAny: the built package is checked at run time
const load = (specifier: string): Promise<any> => import(specifier);

describe('package exports', () => {
  // Inside the package, so that its own name resolves through the exports map.
  const consumer = join(root, '.scratch', `package-consumer-${process.pid}`);

  before(() => {
    // From scratch, as `npm run build` does: tsc leaves behind files it no longer emits.
    rmSync(join(root, 'dist'), { recursive: true, force: true });
    execFileSync(tsc, ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'pipe' });
  });
  after(() => rmSync(consumer, { recursive: true, force: true }));

  test('the shipped declarations leave out @internal members and check on their own', () => {
    const declarations = walk(join(root, 'dist', 'src')).filter((f) => f.endsWith('.d.ts'));
    assert.ok(declarations.length > 10, `${declarations.length} declaration files`);
    for (const file of declarations) {
      const text = readFileSync(join(root, 'dist', 'src', file), 'utf8');
      assert.doesNotMatch(text, /@internal/, file);
    }
    const connection = readFileSync(join(root, 'dist', 'src', 'pool', 'connection.d.ts'), 'utf8');
    assert.doesNotMatch(
      connection,
      /\bplace\b|exchangeEnded|^\s+(exchange|abandon)\(|^\s+(readonly )?stats:/m,
      'internal Connection members',
    );
    for (const [file, name] of [
      [join('pool', 'connection.d.ts'), 'Connection'],
      [join('client', 'response.d.ts'), 'HttpResponse'],
      [join('testing', 'route.d.ts'), 'Route'],
    ] as const) {
      const text = readFileSync(join(root, 'dist', 'src', file), 'utf8');
      const body = text.slice(text.indexOf(`class ${name} `));
      assert.match(body, /private constructor\(\);/, `${name}'s constructor is private`);
    }

    // A user's project with skipLibCheck off: a stripped type that a public one still names
    // would fail here as "cannot find name".
    mkdirSync(consumer, { recursive: true });
    const entries = Object.keys(manifest().exports).filter((e) => e !== './package.json');
    writeFileSync(
      join(consumer, 'consumer.ts'),
      entries
        .map((entry, i) => `import * as m${i} from '${entry.replace(/^\./, 'http-sentinel')}';`)
        .concat(`export const all = [${entries.map((_, i) => `m${i}`).join(', ')}];`)
        .join('\n'),
    );
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2022',
          lib: ['es2023', 'esnext.disposable'],
          module: 'nodenext',
          moduleResolution: 'nodenext',
          types: ['node'],
          typeRoots: [join(root, 'node_modules', '@types')],
          strict: true,
          skipLibCheck: false,
          noEmit: true,
        },
        files: ['consumer.ts'],
      }),
    );
    try {
      execFileSync(tsc, ['-p', join(consumer, 'tsconfig.json')], { cwd: root, stdio: 'pipe' });
    } catch (err) {
      assert.fail(
        `the declarations do not type-check:\n${String((err as { stdout: unknown }).stdout)}`,
      );
    }
  });

  test('the tarball holds dist/src, README, docs, LICENSE: no source maps pointing at unshipped src', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const files = (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    // README links to docs/, so the pages ship with it.
    const docs = readdirSync(join(root, 'docs')).map((f) => `docs/${f}`);
    assert.deepEqual(
      files.filter((f) => !f.startsWith('dist/src/')).sort(),
      ['LICENSE', 'README.md', ...docs, 'package.json'].sort(),
    );
    assert.deepEqual(
      files.filter((f) => f.endsWith('.map')),
      [],
    );
    assert.ok(files.includes('dist/src/cli/http-sentinel.js'));
    for (const file of files.filter((f) => f.endsWith('.js'))) {
      const text = readFileSync(join(root, file), 'utf8');
      assert.doesNotMatch(text, /sourceMappingURL/, file);
    }
  });

  test('every entry point of the exports map resolves, with its declarations', () => {
    for (const [name, target] of Object.entries(manifest().exports)) {
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

  test("'http-sentinel/testing' serves real requests to the built client", async () => {
    const testing = await load('http-sentinel/testing');
    const main = await load('http-sentinel');
    assert.equal(typeof testing.ManualClock, 'function');
    assert.equal(main.ManualClock, testing.ManualClock, 'the root entry keeps the same class');
    const server = await testing.startTestServer();
    const client = new main.HttpClient({ baseUrl: server.url, retry: { initialDelayMs: 1 } });
    try {
      server.route('GET', '/flaky').sequence([503, 503, 'ok']);
      const res = await client.get('/flaky');
      assert.equal(res.text(), 'ok');
      assert.equal(res.attempts, 3);
      assert.equal(server.requests.length, 3);
    } finally {
      await client.close();
      await server.close();
    }
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
