/**
 * A report as one self-contained HTML file: the charting library (uPlot) and the page's
 * drawing script are inlined, the figures are embedded as JSON, and the tables are plain
 * HTML, so the file opens offline, from disk, and its tables read even with scripts off.
 * Pure: the assets come in as strings (`assets.ts` reads them).
 */
import type { Cell, Report, ReportSection, ReportTable } from './model.js';

/** The inlined code and its notice, read at report time. */
export interface ReportAssets {
  /** uPlot's IIFE build (defines the global `uPlot`). */
  uplotJs: string;
  uplotCss: string;
  /** uPlot's LICENSE, kept in the page as a comment. */
  uplotLicense: string;
  uplotVersion: string;
  /** The page's own script: reads the embedded JSON and draws the charts. */
  drawJs: string;
}

/** The id of the `<script type="application/json">` element that holds the report. */
export const DATA_ID = 'report-data';

/** Text for element content and attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * JSON for a `<script type="application/json">` block. Every `<` becomes `\u003c`, which
 * JSON.parse reads back as `<`, so no `</script` or `<!--` in the data can end or
 * confuse the block.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** Inline script or style text that cannot close its element early. */
function inlineSafe(code: string, element: 'script' | 'style'): string {
  return code.replace(new RegExp(`</(${element})`, 'gi'), '<\\/$1');
}

/** Text inside `<!-- … -->`, which must not contain `--`. */
function commentSafe(text: string): string {
  return text.replace(/--/g, '- -');
}

const PAGE_CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2330;
  margin: 0 auto; padding: 16px 24px 48px; max-width: 1280px; background: #fff; }
h1 { font-size: 22px; margin: 8px 0 4px; }
h2 { font-size: 18px; margin: 32px 0 6px; padding-top: 12px; border-top: 1px solid #dde1e8; }
ul.meta { list-style: none; padding: 0; margin: 0 0 8px; color: #4a5263; font-size: 13px; }
nav { font-size: 13px; margin: 8px 0; }
nav a { margin-right: 12px; white-space: nowrap; }
p.note { margin: 2px 0; color: #4a5263; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(540px, 1fr)); gap: 8px 24px;
  margin: 10px 0; }
figure.chart { margin: 0; min-width: 0; }
figure.chart figcaption { font-weight: 600; margin: 6px 0 2px; }
table { border-collapse: collapse; margin: 12px 0; font-size: 13px; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e6e9ef; text-align: right; vertical-align: top; }
th { background: #f3f5f8; white-space: nowrap; }
th:first-child, td:first-child, .text { text-align: left; }
td:first-child { white-space: nowrap; }
td.pass { color: #1b6e2a; font-weight: 600; }
td.fail { color: #b3261e; font-weight: 600; }
td.none { color: #6b7280; }
.noscript { color: #b3261e; }
`;

function cellHtml(cell: Cell, text: boolean): string {
  const align = text ? ' class="text"' : '';
  if (typeof cell === 'string') return `<td${align}>${escapeHtml(cell)}</td>`;
  const classes = text ? `text ${cell.verdict}` : cell.verdict;
  return `<td class="${classes}">${escapeHtml(cell.text)}</td>`;
}

function tableHtml(table: ReportTable): string {
  const text = new Set(table.textColumns ?? []);
  const head = table.header
    .map((h, i) => `<th${text.has(i) ? ' class="text"' : ''}>${escapeHtml(h)}</th>`)
    .join('');
  const rows = table.rows
    .map((row) => `<tr>${row.map((c, i) => cellHtml(c, text.has(i))).join('')}</tr>`)
    .join('\n');
  const caption = table.caption === '' ? '' : `<caption>${escapeHtml(table.caption)}</caption>`;
  return `<table>${caption}<thead><tr>${head}</tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

function sectionHtml(section: ReportSection, s: number): string {
  const notes = section.notes.map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('\n');
  const charts = section.charts
    .map(
      (chart, c) =>
        `<figure class="chart"><figcaption>${escapeHtml(chart.title)}</figcaption>` +
        `<div class="plot" data-chart="${s}-${c}"></div></figure>`,
    )
    .join('\n');
  return [
    `<section id="section-${s}">`,
    `<h2>${escapeHtml(section.title)}</h2>`,
    notes,
    charts === '' ? '' : `<div class="charts">\n${charts}\n</div>`,
    ...section.tables.map(tableHtml),
    '</section>',
  ]
    .filter((part) => part !== '')
    .join('\n');
}

/** The whole page. */
export function renderReport(report: Report, assets: ReportAssets): string {
  const nav = report.sections
    .map(
      (section, s) => `<a href="#section-${s}">${escapeHtml(section.short ?? section.title)}</a>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(report.title)}</title>
<!--
Charts drawn with uPlot ${commentSafe(assets.uplotVersion)}, inlined below.
${commentSafe(assets.uplotLicense.trim())}
-->
<style>${inlineSafe(assets.uplotCss, 'style')}</style>
<style>${PAGE_CSS}</style>
</head>
<body>
<header>
<h1>${escapeHtml(report.title)}</h1>
<ul class="meta">
${report.meta.map((line) => `<li>${escapeHtml(line)}</li>`).join('\n')}
</ul>
<nav>${nav}</nav>
<noscript><p class="noscript">The charts need JavaScript; the tables hold every figure.</p></noscript>
</header>
${report.sections.map(sectionHtml).join('\n')}
<script type="application/json" id="${DATA_ID}">${jsonForScript(report)}</script>
<script>${inlineSafe(assets.uplotJs, 'script')}</script>
<script>${inlineSafe(assets.drawJs, 'script')}</script>
</body>
</html>
`;
}
