/**
 * The demo outputs that README.md and docs/examples.md show are what the demos print now.
 * Each demo runs here and its output is compared line by line with the documented block,
 * once the parts that change from run to run (ports, times, latencies, random ids) are
 * masked on both sides. A demo whose output changes fails here until its page does too.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { main as anthropicDemo } from '../../examples/anthropic/demo.js';
import { main as demo } from '../../examples/demo.js';
import { main as natsDemo } from '../../examples/nats/demo.js';
import { main as retryDemo } from '../../examples/retry-demo.js';
import { captureConsole } from '../helpers/client-helpers.js';
import { natsSkip } from '../helpers/nats.js';

const root = join(import.meta.dirname, '..', '..');

/** The fenced block of `file` whose first line starts with `first`. */
function documented(file: string, first: string): string {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const fence = /^(`{3,})/.exec(lines[i]!)?.[1];
    if (fence === undefined) continue;
    const body: string[] = [];
    while (++i < lines.length && lines[i]!.trimEnd() !== fence) body.push(lines[i]!);
    if (body[0]?.startsWith(first)) return body.join('\n');
  }
  assert.fail(`${file} has no block starting with ${JSON.stringify(first)}`);
}

type Masks = readonly (readonly [RegExp, string])[];

const PORTS: Masks = [[/127\.0\.0\.1:\d+/g, '127.0.0.1:<port>']];

/** The lines of `text`, without line-end spaces or trailing blank lines, each mask applied. */
function masked(text: string, masks: Masks): string[] {
  let out = text
    .trimEnd()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
  for (const [pattern, replacement] of masks) out = out.replace(pattern, replacement);
  return out.split('\n');
}

function assertSameOutput(actual: string, doc: string, masks: Masks): void {
  assert.deepEqual(masked(actual, masks), masked(doc, masks));
}

test('the mask hides what changes between runs and nothing else', () => {
  const masks: Masks = [...PORTS, [/in \d+ ms$/gm, 'in <ms>']];
  assert.deepEqual(masked('at http://127.0.0.1:4012 in 308 ms  \nin 3 ms!\n\n', masks), [
    'at http://127.0.0.1:<port> in <ms>',
    'in 3 ms!',
  ]);
  assert.throws(() => assertSameOutput('a 1\nb', 'a 2\nb', masks));
  assert.throws(() => documented('README.md', 'no block starts like this'));
});

test('README: `npm run demo` prints what Try it shows', async () => {
  const out = await captureConsole(() => demo());
  assertSameOutput(out, documented('README.md', 'http-sentinel demo'), [
    ...PORTS,
    [/ in \d+ ms$/gm, ' in <ms>'],
    [/waited \d+ ms/g, 'waited <ms>'],
    [/p50 [\d.]+ ms, p90 [\d.]+ ms, p99 [\d.]+ ms/g, 'p50 <ms>, p90 <ms>, p99 <ms>'],
  ]);
});

test('docs/examples.md: `npm run retry-demo` prints the timeline shown', async () => {
  const out = await captureConsole(() => retryDemo());
  assertSameOutput(out, documented('docs/examples.md', 'Flaky route'), [
    ...PORTS,
    // The clock at each line, and the jittered delays (a server's Retry-After is kept).
    [/^ *\d+ ms {2}/gm, '  <t>  '],
    [/retry after \d+ ms$/gm, 'retry after <jitter>'],
    // On a loaded machine the budget's 10 s window can expire before the last calls.
    [
      /-> \d+ requests \([\d.]+x\): \d+ retries made, \d+ refused/g,
      '-> <n> requests (<x>): <n> retries made, <n> refused',
    ],
  ]);
});

test('docs/examples.md: the Anthropic demo prints what is shown, against its mock', async () => {
  let out = '';
  await anthropicDemo({ env: {}, write: (text) => (out += text) });
  assertSameOutput(out, documented('docs/examples.md', 'Anthropic Messages API client'), [
    ...PORTS,
    [/msg_mock_[0-9a-f]+/g, 'msg_mock_<id>'],
    [/req_mock_[0-9a-f]+/g, 'req_mock_<id>'],
    [/first after \d+ ms, all in \d+ ms/g, 'first after <ms>, all in <ms>'],
  ]);
});

test('docs/examples.md: the NATS demo prints the lines shown, and its figures add up', {
  skip: await natsSkip(),
}, async () => {
  const doc = documented('docs/examples.md', 'JetStream over HTTP');
  // The documented run has the defaults; the figures in it must agree with each other.
  const count = (pattern: RegExp): number => Number(pattern.exec(doc)?.[1]);
  const streams = [...doc.matchAll(/^ {2}VOMEGA_AZURE_\w+ +(\d+) +\d+ +\S+-worker/gm)];
  const published = count(/(\d+) published in/);
  assert.equal(count(/Publishing (\d+) envelopes/), published);
  assert.equal(count(/(\d+) pulled in/), published);
  assert.equal(count(/; (\d+) distinct envelope ids/), published);
  assert.equal(count(/3 streams, 3 consumers, (\d+) messages/), published);
  assert.equal(streams.length, 3);
  assert.equal(
    streams.reduce((sum, m) => sum + Number(m[1]), 0),
    published,
  );

  // A smaller run prints the same lines; every figure is masked, the words are not.
  let out = '';
  await natsDemo({ messages: 300, concurrency: 16, batch: 100, write: (s) => (out += s) });
  assertSameOutput(out, doc, [[/ *\b\d[\d.]*\b/g, ' <n>']]);
});
