/**
 * The `-o` progress line: its text (a pure function), and when it is drawn, redrawn,
 * finished and erased, on a fake terminal with a fake clock.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  formatBytes,
  ProgressBar,
  type ProgressOutput,
  progressLine,
  REDRAW_MS,
} from '../../src/cli/progress-bar.js';

/** A terminal that keeps what is written, with a clock the test moves. */
function terminal(columns: number | undefined = 60, isTTY = true) {
  const writes: string[] = [];
  let now = 1_000;
  const out: ProgressOutput = { isTTY, columns, write: (text) => writes.push(text) };
  return {
    writes,
    bar: new ProgressBar(out, () => now),
    advance(ms: number) {
      now += ms;
    },
  };
}

const at = (transferredBytes: number, totalBytes: number, percent: number) => ({
  percent,
  transferredBytes,
  totalBytes,
});

describe('progressLine', () => {
  test('bytes in binary units', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(12 * 1024 * 1024), '12.0 MiB');
    assert.equal(formatBytes(3 * 1024 ** 4), '3.0 TiB');
  });

  test('a known size: percent, a bar filling the width, bytes and rate', () => {
    const line = progressLine(at(512 * 1024, 1024 * 1024, 0.5), true, 1000, 60);
    assert.equal(line.length, 59);
    assert.match(line, /^ 50\.0% \[#+ +\] 512\.0 KiB \/ 1\.0 MiB {2}512\.0 KiB\/s$/);
    const bar = /\[(.*)\]/.exec(line)![1]!;
    assert.equal(bar.replaceAll(' ', '').length, Math.round(bar.length / 2));
    const done = progressLine(at(1024 * 1024, 1024 * 1024, 1), true, 2000, 60);
    assert.match(done, /^100\.0% \[#+\] 1\.0 MiB \/ 1\.0 MiB/);
  });

  test('percent is never rounded up to 100 before the end', () => {
    assert.match(progressLine(at(999, 1000, 0.999), true, 0, 80), /^ 99\.9% /);
  });

  test('an unknown size: bytes and rate only', () => {
    assert.equal(progressLine(at(2048, 2048, 0), false, 2000, 60), '2.0 KiB  1.0 KiB/s');
    assert.equal(progressLine(at(10, 10, 0), false, 0, 60), '10 B');
  });

  test('a narrow terminal drops the bar, then the rate, then cuts the line', () => {
    const p = at(500, 1000, 0.5);
    assert.equal(progressLine(p, true, 1000, 40), ' 50.0% 500 B / 1000 B  500 B/s');
    assert.equal(progressLine(p, true, 1000, 25), ' 50.0% 500 B / 1000 B');
    assert.equal(progressLine(p, true, 1000, 5), ' 50.0% 500 B / 1000', 'a 20-column floor');
    assert.equal(progressLine(at(5e9, 5e9, 0), false, 0, 5), '4.7 GiB');
    for (const columns of [20, 40, 60, 80, 120, 200]) {
      const line = progressLine(at(123456, 987654, 0.125), true, 777, columns);
      assert.ok(line.length <= columns - 1, `${columns}: ${line}`);
    }
  });
});

describe('ProgressBar', () => {
  test('nothing at all when the output is not a terminal', () => {
    const { writes, bar } = terminal(80, false);
    assert.equal(bar.enabled, false);
    bar.start();
    bar.update(at(0, 100, 0));
    bar.update(at(100, 100, 1));
    bar.finish();
    bar.clear();
    assert.deepEqual(writes, []);
  });

  test('draws from start(), redraws at most every REDRAW_MS, ends the line', () => {
    const t = terminal(60);
    // A function, so that one assertion on the count does not narrow the next.
    const drawn = (): number => t.writes.length;
    t.bar.update(at(0, 1000, 0));
    assert.equal(drawn(), 0, 'not before start()');
    t.bar.start();
    assert.equal(drawn(), 1);
    assert.match(t.writes[0]!, /^\r {2}0\.0% \[ +\] 0 B \/ 1000 B/);
    t.advance(REDRAW_MS / 2);
    t.bar.update(at(100, 1000, 0.1));
    assert.equal(drawn(), 1, 'too soon to redraw');
    t.advance(REDRAW_MS / 2);
    t.bar.update(at(200, 1000, 0.2));
    assert.equal(drawn(), 2);
    assert.match(t.writes[1]!, /^\r 20\.0% /);
    assert.ok(t.writes[1]!.endsWith('\x1b[K'), 'erases what a longer line left');
    t.advance(1);
    t.bar.update(at(1000, 1000, 1));
    assert.equal(drawn(), 3, 'the last event is always drawn');
    assert.match(t.writes[2]!, /^\r100\.0% \[#+\] 1000 B \/ 1000 B/);
    t.bar.finish();
    assert.deepEqual(t.writes.slice(3), ['\n'], 'the final line stays, then a newline');
    t.bar.clear();
    assert.equal(drawn(), 4, 'nothing after finish()');
  });

  test('an unknown size shows bytes and rate; finish() draws the last state once', () => {
    const t = terminal(undefined);
    t.bar.update(at(0, 0, 0));
    t.bar.start();
    t.advance(1000);
    t.bar.update(at(4096, 4096, 0));
    assert.equal(t.writes.at(-1), '\r4.0 KiB  4.0 KiB/s\x1b[K');
    t.advance(50);
    t.bar.update(at(8192, 8192, 0));
    t.bar.finish();
    assert.deepEqual(t.writes.slice(-2), ['\r8.0 KiB  7.6 KiB/s\x1b[K', '\n']);
  });

  test('a failed download erases the line', () => {
    const t = terminal(60);
    t.bar.start();
    t.bar.update(at(0, 100, 0));
    t.bar.clear();
    assert.equal(t.writes.at(-1), '\r\x1b[K');
    t.bar.finish();
    assert.equal(t.writes.at(-1), '\r\x1b[K', 'nothing after clear()');
  });

  test('no line, no newline: a download with no events draws nothing', () => {
    const t = terminal(60);
    t.bar.start();
    t.bar.finish();
    assert.deepEqual(t.writes, []);
  });
});
