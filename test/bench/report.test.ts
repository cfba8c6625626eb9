/**
 * The HTML bench report: a self-contained page (uPlot inlined, nothing fetched), its
 * embedded JSON reads back as the report, every text is escaped, and the mappings from
 * both benches' results put the right figures in the right charts and tables.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import vm from 'node:vm';
import { benchReport } from '../../bench/report/bench-report.js';
import { DATA_ID, escapeHtml, jsonForScript, renderReport } from '../../bench/report/html.js';
import type { Report } from '../../bench/report/model.js';
import { resilienceReport } from '../../bench/report/resilience-report.js';
import { loadAssets, REPORT_DIR, reportPath, writeReport } from '../../bench/report/write.js';
import { benchInput, resilienceInput } from './fixtures.js';

const assets = loadAssets();
const HOSTILE = '</script><script>alert(1)</script><!--';

function sample(): Report {
  return {
    title: 'Report <img src=x onerror=alert(1)>',
    meta: ['machine & "quotes"', HOSTILE],
    sections: [
      {
        title: 'c64-64b: <b>bold</b>',
        notes: ["a note with 'single quotes'"],
        charts: [
          {
            title: 'Requests per second',
            unit: 'req/s',
            digits: 0,
            categories: ['undici', HOSTILE, 'sentinel'],
            emphasis: [false, false, true],
            series: [{ label: 'req/s', values: [20_000, null, 42_000] }],
          },
          {
            title: 'Latency',
            unit: 'µs',
            digits: 0,
            categories: ['undici', 'sentinel'],
            series: [
              { label: 'p50', values: [1500, 1400] },
              { label: 'p99', values: [4500, 4200] },
            ],
          },
        ],
        tables: [
          {
            caption: 'ratios <i>',
            header: ['client', 'req/s', 'notes'],
            textColumns: [2],
            rows: [
              ['sentinel', '42,000', { text: 'met', verdict: 'pass' }],
              [HOSTILE, '—', { text: 'NOT MET & failed', verdict: 'fail' }],
            ],
          },
        ],
      },
    ],
  };
}

/** The text of the page's JSON block. */
function embedded(html: string): string {
  const open = `<script type="application/json" id="${DATA_ID}">`;
  const start = html.indexOf(open);
  assert.ok(start >= 0, 'the JSON block is there');
  const end = html.indexOf('</script>', start);
  return html.slice(start + open.length, end);
}

test('the page inlines uPlot, its CSS, its licence and the drawing script', () => {
  const html = renderReport(sample(), assets);
  assert.ok(html.startsWith('<!doctype html>'));
  assert.ok(assets.uplotJs.length > 30_000, 'the real uPlot build was read');
  assert.ok(html.includes(`<script>${assets.uplotJs}</script>`));
  assert.ok(html.includes(`<style>${assets.uplotCss}</style>`));
  assert.ok(html.includes(`<script>${assets.drawJs}</script>`));
  const comment = /<!--\nCharts drawn with uPlot ([\d.]+), inlined below\.\n([\s\S]*?)-->/.exec(
    html,
  );
  assert.ok(comment !== null, 'the licence notice is a comment');
  assert.equal(comment[1], assets.uplotVersion);
  assert.match(comment[2]!, /MIT License[\s\S]*Copyright \(c\) \d+ Leon Sorokin/);
  assert.match(
    comment[2]!,
    /The above copyright notice and this permission notice shall be included/,
  );
});

test('the page references nothing outside itself', () => {
  const html = renderReport(sample(), assets);
  const attributes = [...html.matchAll(/\b(src|href)\s*=\s*"([^"]*)"/gi)].map((m) => m[2]!);
  assert.ok(attributes.length > 0, 'the navigation links are found');
  for (const target of attributes) assert.match(target, /^#section-\d+$/);
  assert.doesNotMatch(html, /<link\b|@import|url\(\s*['"]?(https?:)?\/\//i);
  // Outside the library's banner and licence comments, no address appears at all.
  const own = html
    .replace(assets.uplotJs, '')
    .replace(/<!--\nCharts drawn with uPlot[\s\S]*?-->/, '');
  assert.doesNotMatch(own, /https?:\/\//);
  assert.equal([...html.matchAll(/<script\b/g)].length, 3, 'data, uPlot, drawing script');
});

test('the embedded JSON parses back to the report, and no text can close its block', () => {
  const report = sample();
  const html = renderReport(report, assets);
  const text = embedded(html);
  assert.doesNotMatch(text, /<\/script|<!--/i);
  assert.deepEqual(JSON.parse(text), report);
  for (const value of [HOSTILE, 'a\u2028b', { k: '</SCRIPT >' }, ['<', '>', '&']]) {
    const json = jsonForScript(value);
    assert.ok(!json.includes('<'));
    assert.deepEqual(JSON.parse(json), value);
  }
});

test('text in titles, notes, tables and meta is escaped', () => {
  assert.equal(
    escapeHtml(`<a href="x">'&'</a>`),
    '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;',
  );
  const html = renderReport(sample(), assets);
  const body = html.slice(0, html.indexOf(`<script type="application/json"`));
  assert.ok(!body.includes('<img src=x'));
  assert.ok(body.includes('<title>Report &lt;img src=x onerror=alert(1)&gt;</title>'));
  assert.ok(body.includes('<h2>c64-64b: &lt;b&gt;bold&lt;/b&gt;</h2>'));
  assert.ok(body.includes('<a href="#section-0">c64-64b: &lt;b&gt;bold&lt;/b&gt;</a>'));
  assert.ok(body.includes('<li>machine &amp; &quot;quotes&quot;</li>'));
  assert.ok(body.includes('<caption>ratios &lt;i&gt;</caption>'));
  assert.ok(body.includes('<td class="text fail">NOT MET &amp; failed</td>'));
  assert.ok(body.includes('<td class="text pass">met</td>'));
  assert.ok(body.includes(`<td>${escapeHtml(HOSTILE)}</td>`));
  assert.ok(!body.includes('<script>alert(1)'));
  assert.ok(body.includes('<div class="plot" data-chart="0-0"></div>'));
  assert.ok(body.includes('<div class="plot" data-chart="0-1"></div>'));
});

/** Runs the page's script against a stand-in DOM and uPlot; returns what it drew. */
function drawWith(report: Report): { opts: Record<string, unknown>; data: unknown[] }[] {
  const html = renderReport(report, assets);
  const plots = [...html.matchAll(/data-chart="(\d+-\d+)"/g)].map((m) => ({
    dataset: { chart: m[1]! },
    clientWidth: 600,
  }));
  const drawn: { opts: Record<string, unknown>; data: unknown[] }[] = [];
  function FakePlot(opts: Record<string, unknown>, data: unknown[]): object {
    // Plain copies: arrays made in the script's realm fail deepStrictEqual's prototype check.
    drawn.push({ opts, data: JSON.parse(JSON.stringify(data)) as unknown[] });
    return { setSize() {} };
  }
  FakePlot.paths = { bars: (o: unknown) => ({ bars: o }) };
  FakePlot.pxRatio = 1;
  const context = {
    uPlot: FakePlot,
    document: {
      getElementById: (id: string) => (id === DATA_ID ? { textContent: embedded(html) } : null),
      createElement: () => ({ getContext: () => ({ measureText: () => ({ width: 50 }) }) }),
      querySelectorAll: () => plots,
    },
    window: { addEventListener() {} },
    requestAnimationFrame: () => 0,
    cancelAnimationFrame() {},
  };
  vm.runInNewContext(assets.drawJs, context);
  return drawn;
}

test('the drawing script draws every chart from the embedded data', () => {
  const report = sample();
  const drawn = drawWith(report);
  assert.equal(drawn.length, 2);
  assert.deepEqual(drawn[0]!.data, [
    [0, 1, 2],
    [20_000, null, 42_000],
  ]);
  assert.deepEqual(drawn[1]!.data, [
    [0, 1],
    [1500, 1400],
    [4500, 4200],
  ]);
  const series = drawn[1]!.opts.series as { label?: string }[];
  assert.deepEqual(
    Array.from(series, (s) => s.label),
    [undefined, 'p50', 'p99'],
  );
  assert.equal((drawn[0]!.opts.legend as { show: boolean }).show, false);
  assert.equal((drawn[1]!.opts.legend as { show: boolean }).show, true);
});

test('bench results: charts per scenario, the ratio table, targets, memory and idle', () => {
  const report = benchReport(benchInput());
  assert.deepEqual(
    report.sections.map((s) => s.title),
    [
      'Targets',
      'c64-64b: concurrency 64, 64 B bodies',
      'buffered: one 8 MiB body',
      'stream: one 256 MiB streamed download',
      'Memory',
      'Idle connections',
    ],
  );
  const c64 = report.sections[1]!;
  assert.deepEqual(
    c64.charts.map((c) => c.title),
    ['Requests per second', 'CPU time per request', 'Latency percentiles'],
  );
  const [rps, cpu, latency] = c64.charts;
  assert.deepEqual(rps!.categories, [
    'undici request (Pool)',
    'undici Client.request',
    'sentinel client.get',
    'a-client<script>',
  ]);
  assert.deepEqual(rps!.emphasis, [false, false, true, false]);
  assert.deepEqual(rps!.series, [{ label: 'req/s', values: [20_000, 40_000, 42_000, null] }]);
  assert.deepEqual(cpu!.series[0]!.values, [46, 25, 23, null]);
  assert.deepEqual(
    latency!.series.map((s) => [s.label, s.values[2]]),
    [
      ['p50', 1400],
      ['p90', 2100],
      ['p99', 4200],
    ],
  );
  const table = c64.tables[0]!;
  assert.deepEqual(table.header.slice(0, 4), ['client', 'req/s', '× request', '× Client']);
  assert.deepEqual(table.rows[2]!.slice(0, 4), ['sentinel client.get', '42,000', '2.10x', '1.05x']);
  assert.deepEqual(table.rows[3]!.slice(1, 3), ['—', '—']);
  assert.equal(table.rows[3]!.at(-1), '1 run(s) failed: ECONNRESET & "<b>"');
  assert.deepEqual(report.sections[2]!.tables[0]!.header.slice(0, 4), [
    'client',
    'req/s',
    'MiB/s',
    '× request',
  ]);
  assert.deepEqual(report.sections[3]!.charts[0]!.series[0]!.values, [900, 1100]);
  assert.deepEqual(
    report.sections[0]!.tables[0]!.rows.map((r) => r[3]),
    [
      { text: 'met', verdict: 'pass' },
      { text: 'NOT MET', verdict: 'fail' },
      { text: 'n/a', verdict: 'none' },
    ],
  );
  assert.equal(report.sections[4]!.tables[0]!.rows.length, 2);
  assert.deepEqual(
    report.sections[5]!.tables[0]!.rows.map((r) => r[0]),
    ['undici Agent', 'failed: runner crashed'],
  );
  const html = renderReport(report, assets);
  assert.deepEqual(JSON.parse(embedded(html)), report);
  assert.ok(html.includes('a-client&lt;script&gt;'));
  assert.equal(drawWith(report).length, 3 + 3 + 2);
});

test('resilience results: success and amplification per scenario and client, then each scenario', () => {
  const report = resilienceReport(resilienceInput());
  assert.deepEqual(
    report.sections.map((s) => s.title),
    ['Scorecard', 'ten: 10 % transient 503', 'hedge: slow tail </script><b>'],
  );
  const [success, amplification] = report.sections[0]!.charts;
  assert.deepEqual(success!.categories, ['ten', 'hedge']);
  assert.equal(success!.max, 100);
  assert.deepEqual(success!.series, [
    { label: 'http-sentinel', values: [100, null] },
    { label: 'got 14', values: [90, null] },
    { label: 'http-sentinel, hedge 50 ms', values: [null, 100] },
  ]);
  assert.deepEqual(
    amplification!.series.map((s) => s.values),
    [
      [1.1, null],
      [2.5, null],
      [null, 1.1],
    ],
  );
  const scorecard = report.sections[0]!.tables[0]!;
  assert.deepEqual(scorecard.rows[1], [
    'ten',
    'got 14',
    '90.0 %',
    '2.50',
    '55',
    '95',
    '104',
    'SENTINEL_HTTP_STATUS ×10',
    { text: '', verdict: 'none' },
  ]);
  assert.deepEqual(scorecard.rows[2]!.at(-1), {
    text: 'FAIL: p99 1000 ms at 1.10 requests/call',
    verdict: 'fail',
  });
  const hedge = report.sections[2]!;
  assert.deepEqual(hedge.notes, ['http-sentinel target: p99 < 200 ms']);
  assert.deepEqual(
    hedge.charts[0]!.series.map((s) => [s.label, s.values]),
    [
      ['p50', [3]],
      ['p90', [1000]],
      ['p99', [1000]],
    ],
  );
  const html = renderReport(report, assets);
  assert.deepEqual(JSON.parse(embedded(html)), report);
  assert.ok(html.includes('<h2>hedge: slow tail &lt;/script&gt;&lt;b&gt;</h2>'));
  assert.ok(html.includes('<a href="#section-2">hedge</a>'));
  assert.equal(drawWith(report).length, 2 + 1 + 1);
});

const scratch = mkdtempSync(path.join(os.tmpdir(), 'sentinel-report-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

test('--report and --no-report choose the file, by default under .bench-results/', () => {
  assert.equal(reportPath({}, 'bench.html'), path.join(REPORT_DIR, 'bench.html'));
  assert.equal(reportPath({ 'no-report': true }, 'bench.html'), undefined);
  assert.equal(reportPath({ report: 'x/r.html' }, 'bench.html'), path.resolve('x/r.html'));
  assert.throws(() => reportPath({ report: 'r.html', 'no-report': true }, 'b.html'), /exclude/);
  assert.throws(() => reportPath({ report: '' }, 'b.html'), /file name/);
});

test('writeReport makes the directories and writes the page', () => {
  const file = path.join(scratch, 'deep', 'dir', 'resilience.html');
  assert.equal(writeReport(resilienceReport(resilienceInput()), file), file);
  const html = readFileSync(file, 'utf8');
  assert.ok(html.startsWith('<!doctype html>'));
  assert.ok(html.includes(assets.uplotJs));
  assert.ok(html.includes('<h1>http-sentinel resilience scorecard</h1>'));
});
