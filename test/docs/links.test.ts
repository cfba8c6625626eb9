/**
 * Every relative link of README.md and docs/*.md leads somewhere: the file exists and, when
 * the link has an anchor, that file has a heading whose GitHub id is the anchor. A section
 * renamed or moved to another page fails here instead of leaving a dead link behind.
 * Links to the web are not followed: the tests use no network.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';

const root = join(import.meta.dirname, '..', '..');

/** README.md and docs/*.md, relative to the root. */
function markdownFiles(): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

/** The lines of a Markdown text outside fenced code blocks, with their line numbers. */
function proseLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let fence: string | undefined;
  text.split('\n').forEach((line, i) => {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === undefined) {
      if (marker !== undefined) fence = marker;
      else out.push({ line: i + 1, text: line });
    } else if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) {
      if (line.trim() === marker) fence = undefined;
    }
  });
  return out;
}

/** A heading's id as GitHub makes it: lower case, punctuation dropped, spaces to `-`. */
export function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The ids of a Markdown text's headings; a repeated id gets `-1`, `-2`, … as on GitHub. */
function anchors(text: string): Set<string> {
  const ids = new Set<string>();
  const seen = new Map<string, number>();
  for (const { text: line } of proseLines(text)) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = slug(heading);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    ids.add(n === 0 ? base : `${base}-${n}`);
  }
  return ids;
}

/** The link targets of a Markdown text, outside code, with the line each is on. */
function links(text: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  for (const { line, text: raw } of proseLines(text)) {
    // A link written inside a code span is an example, not a link.
    const prose = raw.replace(/(`+)[^`]*?\1/g, '');
    for (const m of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      out.push({ line, target: m[1]! });
    }
  }
  return out;
}

test('slug makes the ids GitHub gives headings', () => {
  const cases: [string, string][] = [
    ['Quick start', 'quick-start'],
    ['Hooks and `extend()`', 'hooks-and-extend'],
    ['baseUrl is a prefix', 'baseurl-is-a-prefix'],
    [
      'What it does under failure: the resilience scorecard',
      'what-it-does-under-failure-the-resilience-scorecard',
    ],
    ["tough-cookie's defaults worth knowing", 'tough-cookies-defaults-worth-knowing'],
    [
      'Progress: `onDownloadProgress` and `onUploadProgress`',
      'progress-ondownloadprogress-and-onuploadprogress',
    ],
    ["`tracingChannel('http-sentinel:request')`", 'tracingchannelhttp-sentinelrequest'],
    [
      'The policies on their own: `http-sentinel/retry`',
      'the-policies-on-their-own-http-sentinelretry',
    ],
    ['Errors [and causes](x.md)', 'errors-and-causes'],
    ['snake_case and 2 words', 'snake_case-and-2-words'],
  ];
  for (const [heading, id] of cases) assert.equal(slug(heading), id, heading);
});

test('anchors skip code blocks and number repeated headings', () => {
  const ids = anchors('# A\n```sh\n# not a heading\n```\n## A\n### B ###\n');
  assert.deepEqual([...ids], ['a', 'a-1', 'b']);
});

test('links skip code spans and code blocks', () => {
  const found = links('[a](x.md) `[b](y.md)`\n```md\n[c](z.md)\n```\n[d](<w.md#top> "title")');
  assert.deepEqual(found, [
    { line: 1, target: 'x.md' },
    { line: 5, target: 'w.md#top' },
  ]);
});

test('every relative link in README.md and docs/*.md reaches a file and a heading', () => {
  const broken: string[] = [];
  const idsOf = new Map<string, Set<string>>();
  const ids = (file: string): Set<string> => {
    let found = idsOf.get(file);
    if (found === undefined) {
      found = anchors(readFileSync(join(root, file), 'utf8'));
      idsOf.set(file, found);
    }
    return found;
  };
  let checked = 0;
  let withAnchor = 0;
  for (const file of markdownFiles()) {
    for (const { line, target } of links(readFileSync(join(root, file), 'utf8'))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      checked++;
      const where = `${file}:${line}: ${target}`;
      const [path = '', anchor] = target.split('#', 2);
      const linked = path === '' ? file : relative(root, join(root, dirname(file), path));
      if (linked.startsWith('..') || !existsSync(join(root, linked))) {
        broken.push(`${where}: no such file`);
        continue;
      }
      if (anchor === undefined) continue;
      withAnchor++;
      if (!statSync(join(root, linked)).isFile() || !linked.endsWith('.md')) {
        broken.push(`${where}: an anchor in a file that is not Markdown`);
      } else if (!ids(linked).has(decodeURIComponent(anchor))) {
        broken.push(`${where}: no heading #${anchor} in ${linked}`);
      }
    }
  }
  assert.ok(checked >= 40 && withAnchor >= 20, `${checked} links, ${withAnchor} with anchors`);
  assert.deepEqual(broken, []);
});
