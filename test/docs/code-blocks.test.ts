/**
 * Every ```ts block of README.md and docs/*.md is type-checked against the sources, so no
 * example in the docs can rot. A block is a module of its own that imports the package by
 * its published names (mapped to src/ here). A block that continues an earlier one gets
 * the names it uses from an HTML comment on the line before its fence, which Markdown does
 * not show: `<!-- ts-prelude: declare const client: HttpClient; -->`. A block that is
 * deliberately not code (a signature overview) is fenced ```ts fragment: skipped, and counted.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';

const root = join(import.meta.dirname, '..', '..');
const work = join(root, '.scratch', `docs-blocks-${process.pid}`);

interface Block {
  /** `README.md:32`: the file and the line of the opening fence. */
  where: string;
  info: string;
  /** Declarations from a `ts-prelude` comment, checked with the block but not shown. */
  prelude: string;
  code: string;
}

/** The fenced code blocks of a Markdown text, with the line each opens on. */
function codeBlocks(file: string, text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})(.*)$/.exec(lines[i]!);
    if (open === null) continue;
    const fence = open[1]!;
    const start = i;
    const body: string[] = [];
    const prelude = /^<!-- ts-prelude: (.*) -->$/.exec(lines[start - 1] ?? '')?.[1] ?? '';
    while (++i < lines.length && lines[i]!.trimEnd() !== fence) body.push(lines[i]!);
    blocks.push({
      where: `${file}:${start + 1}`,
      info: open[2]!.trim(),
      prelude,
      code: body.join('\n'),
    });
  }
  return blocks;
}

function markdownFiles(): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

after(() => rmSync(work, { recursive: true, force: true }));

test('the fence parser finds blocks, their info strings and lines', () => {
  const blocks = codeBlocks(
    'x.md',
    'a\n```ts\nconst a = 1;\n```\n<!-- ts-prelude: declare const b: 1; -->\n```ts fragment\nb\n```\n````md\n```\n````',
  );
  assert.deepEqual(
    blocks.map((b) => [b.where, b.info, b.prelude, b.code]),
    [
      ['x.md:2', 'ts', '', 'const a = 1;'],
      ['x.md:6', 'ts fragment', 'declare const b: 1;', 'b'],
      ['x.md:9', 'md', '', '```'],
    ],
  );
});

test('every ts block in README.md and docs/*.md type-checks', async (t) => {
  const checked: Block[] = [];
  const fragments: Block[] = [];
  for (const file of markdownFiles()) {
    for (const block of codeBlocks(file, readFileSync(join(root, file), 'utf8'))) {
      const [lang, ...flags] = block.info.split(/\s+/);
      if (lang !== 'ts' && lang !== 'typescript') continue;
      (flags.includes('fragment') ? fragments : checked).push(block);
    }
  }
  assert.ok(checked.length >= 5, `${checked.length} blocks checked`);

  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const names = checked.map((block, i) => {
    const name = `block-${String(i).padStart(3, '0')}.ts`;
    // `export {}` makes each block a module: top-level await, and no names shared. The
    // prelude shares the block's first line, so that error lines map back to the Markdown.
    writeFileSync(join(work, name), `${block.prelude} ${block.code}\nexport {};\n`);
    return name;
  });
  const src = (path: string) => [join(root, 'src', path)];
  writeFileSync(
    join(work, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'es2022',
        lib: ['es2023', 'esnext.disposable'],
        module: 'nodenext',
        moduleResolution: 'nodenext',
        types: ['node'],
        typeRoots: [join(root, 'node_modules', '@types')],
        strict: true,
        skipLibCheck: true,
        noEmit: true,
        paths: {
          'http-sentinel': src('index.ts'),
          'http-sentinel/retry': src('retry/index.ts'),
          'http-sentinel/pool': src('pool/index.ts'),
          'http-sentinel/testing': src('testing/index.ts'),
        },
      },
      files: names,
    }),
  );

  let output = '';
  try {
    await promisify(execFile)(join(root, 'node_modules', '.bin', 'tsc'), ['-p', work], {
      cwd: root,
    });
  } catch (err) {
    output = String((err as { stdout?: string }).stdout ?? err);
  }
  // Errors name the temp file: put the Markdown file and line back.
  const report = output.replace(/\S*block-(\d{3})\.ts\((\d+),(\d+)\)/g, (_m, i, line, col) => {
    const block = checked[Number(i)]!;
    const [file, open] = block.where.split(':');
    return `${file}:${Number(open) + Number(line)}:${col}`;
  });
  t.diagnostic(`${checked.length} blocks type-checked, ${fragments.length} fragments skipped`);
  for (const block of fragments) t.diagnostic(`fragment, not checked: ${block.where}`);
  assert.equal(report, '', report);
});
