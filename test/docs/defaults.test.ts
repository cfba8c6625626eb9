/**
 * The option tables of the docs mirror the `DEFAULT_*` constants the code runs on: every
 * option of a constant has a row, every row is an option, and the default a row shows is the
 * constant's value. A default changed in the code, or an option added without a row, fails
 * here rather than leaving the page out of date.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  DEFAULT_REDACT_QUERY_PARAMS,
  DEFAULT_REDIRECT_STRIP_HEADERS,
  DEFAULT_REQUEST_OPTIONS,
} from '../../src/index.js';
import {
  DEFAULT_HEALTH_CHECK,
  DEFAULT_OUTLIER_DETECTION,
  DEFAULT_POOL_CONFIG,
} from '../../src/pool/index.js';
import {
  DEFAULT_CIRCUIT_BREAKER_CONFIG,
  DEFAULT_HOST_HEALTH_CONFIG,
  DEFAULT_RETRY_BUDGET_CONFIG,
  DEFAULT_RETRY_CONFIG,
} from '../../src/retry/index.js';

const root = join(import.meta.dirname, '..', '..');
const read = (file: string): string => readFileSync(join(root, file), 'utf8');

/** The first table after the line holding `marker`: option name -> its default cell. */
function tableAfter(file: string, marker: string): Map<string, string> {
  const lines = read(file).split('\n');
  const at = lines.findIndex((line) => line.includes(marker));
  assert.ok(at >= 0, `${file} has no line with ${marker}`);
  let i = at + 1;
  while (i < lines.length && !lines[i]!.startsWith('|')) i++;
  const header = cells(lines[i] ?? '');
  assert.deepEqual(header.slice(0, 2), ['option', 'default'], `${file}: the table after ${marker}`);
  const rows = new Map<string, string>();
  for (i += 2; i < lines.length && lines[i]!.startsWith('|'); i++) {
    const [option = '', value = ''] = cells(lines[i]!);
    rows.set(option.replace(/`/g, ''), value);
  }
  return rows;
}

/** The cells of a table row; `\|` inside a cell is a pipe, not a border. */
function cells(row: string): string[] {
  return row
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());
}

const UNITS: Readonly<Record<string, number>> = { ms: 1, KiB: 1024, MiB: 1024 * 1024 };

/** The value a default cell shows: `10_000`, 30 000 ms, 10 MiB, `'full'`, `[408, 425]`, —. */
export function shown(cell: string): unknown {
  const text = cell.replace(/`/g, '').trim();
  if (text === '—' || text === 'off' || text === 'undefined' || text === 'see below') {
    return undefined;
  }
  if (text === 'Infinity') return Number.POSITIVE_INFINITY;
  if (text === 'true' || text === 'false') return text === 'true';
  const number = /^(\d[\d _]*(?:\.\d+)?)(?: (ms|KiB|MiB))?$/.exec(text);
  if (number) return Number(number[1]!.replace(/[ _]/g, '')) * UNITS[number[2] ?? 'ms']!;
  if (/^'[^']*'$/.test(text)) return text.slice(1, -1);
  if (text.startsWith('[')) return JSON.parse(text.replace(/'/g, '"'));
  return text;
}

/** Plain data only: a clock, or another object with behaviour, has a row but no literal. */
function isData(value: unknown): boolean {
  if (typeof value === 'function') return false;
  if (typeof value !== 'object' || value === null) return true;
  return Object.values(value).every(isData);
}

function assertMirrors(
  file: string,
  marker: string,
  constant: Readonly<object>,
  options: { extraRows?: boolean } = {},
): void {
  const rows = tableAfter(file, marker);
  for (const [key, value] of Object.entries(constant)) {
    assert.ok(rows.has(key), `${file}: no row for ${key}`);
    if (!isData(value)) continue;
    assert.deepEqual(shown(rows.get(key)!), value, `${file}: the default of ${key}`);
  }
  if (options.extraRows !== true) {
    const extra = [...rows.keys()].filter((key) => !(key in constant));
    assert.deepEqual(extra, [], `${file}: rows that are not options`);
  }
}

/** The backquoted names after `marker` up to the end of its sentence. */
function listAfter(file: string, marker: string): string[] {
  const text = read(file).replace(/\s+/g, ' ');
  const at = text.indexOf(marker);
  assert.ok(at >= 0, `${file} has no ${marker}`);
  const sentence = text.slice(at + marker.length).split(/\.\s/, 1)[0]!;
  return [...sentence.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
}

test('a default cell reads as the value it shows', () => {
  assert.equal(shown('`10_000`'), 10_000);
  assert.equal(shown('30 000 ms'), 30_000);
  assert.equal(shown('10 MiB'), 10 * 1024 * 1024);
  assert.equal(shown('`0.2`'), 0.2);
  assert.equal(shown("`'full'`"), 'full');
  assert.equal(shown('`false`'), false);
  assert.equal(shown('`Infinity`'), Number.POSITIVE_INFINITY);
  assert.equal(shown('—'), undefined);
  assert.deepEqual(shown("`['GET', 'HEAD']`"), ['GET', 'HEAD']);
  assert.deepEqual(shown('`[408, 425]`'), [408, 425]);
  assert.equal(shown('client'), 'client');
});

describe('the option tables mirror the defaults', () => {
  test('docs/client.md: request options', () => {
    assertMirrors('docs/client.md', '`DEFAULT_REQUEST_OPTIONS`', DEFAULT_REQUEST_OPTIONS, {
      extraRows: true, // signal, retry, json, hooks…: options with no default
    });
  });
  test('docs/resilience.md: retry, breaker, budget, host health', () => {
    assertMirrors('docs/resilience.md', '`DEFAULT_RETRY_CONFIG`', DEFAULT_RETRY_CONFIG);
    assertMirrors(
      'docs/resilience.md',
      '`DEFAULT_CIRCUIT_BREAKER_CONFIG`',
      DEFAULT_CIRCUIT_BREAKER_CONFIG,
    );
    assertMirrors(
      'docs/resilience.md',
      '`DEFAULT_RETRY_BUDGET_CONFIG`',
      DEFAULT_RETRY_BUDGET_CONFIG,
    );
    assertMirrors('docs/resilience.md', '`DEFAULT_HOST_HEALTH_CONFIG`', DEFAULT_HOST_HEALTH_CONFIG);
  });
  test('docs/pool.md: pool, outlier detection, health checks', () => {
    assertMirrors('docs/pool.md', '`DEFAULT_POOL_CONFIG`', DEFAULT_POOL_CONFIG);
    assertMirrors('docs/pool.md', '`DEFAULT_OUTLIER_DETECTION`', DEFAULT_OUTLIER_DETECTION);
    assertMirrors('docs/pool.md', '`DEFAULT_HEALTH_CHECK`', DEFAULT_HEALTH_CHECK);
  });
});

describe('the lists the docs spell out are the defaults', () => {
  test('docs/security.md: the headers a cross-origin redirect drops', () => {
    assert.deepEqual(
      listAfter('docs/security.md', 'by default `DEFAULT_REDIRECT_STRIP_HEADERS`:'),
      [...DEFAULT_REDIRECT_STRIP_HEADERS],
    );
  });
  test('docs/errors.md: the secret query parameters', () => {
    assert.deepEqual(listAfter('docs/errors.md', '`DEFAULT_REDACT_QUERY_PARAMS` ='), [
      ...DEFAULT_REDACT_QUERY_PARAMS,
    ]);
  });
});
