/**
 * Writing a report: the assets read from disk at report time (uPlot from node_modules,
 * the page's script beside this file), and the `--report FILE` / `--no-report` choice
 * shared by `npm run bench` and `npm run bench:resilience`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ReportAssets, renderReport } from './html.js';
import type { Report } from './model.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Where reports go unless `--report` says otherwise (git-ignored, beside the JSON results). */
export const REPORT_DIR = path.join(ROOT, '.bench-results');

/** The `parseArgs` options both benches accept. */
export const REPORT_OPTIONS = {
  report: { type: 'string' },
  'no-report': { type: 'boolean', default: false },
} as const;

/** The usage lines of those options. */
export function reportHelp(defaultName: string): string {
  return (
    `  --report <file>       write the HTML report there (default .bench-results/${defaultName})\n` +
    '  --no-report           no HTML report\n'
  );
}

/** The report's absolute path, or undefined with `--no-report`. */
export function reportPath(
  values: { report?: string | undefined; 'no-report'?: boolean | undefined },
  defaultName: string,
): string | undefined {
  if (values['no-report'] === true) {
    if (values.report !== undefined) throw new Error('--report and --no-report exclude each other');
    return undefined;
  }
  if (values.report === '') throw new Error('--report needs a file name');
  return path.resolve(values.report ?? path.join(REPORT_DIR, defaultName));
}

/** uPlot and the page's script, as the page inlines them. */
export function loadAssets(): ReportAssets {
  const require = createRequire(import.meta.url);
  const pkgFile = require.resolve('uplot/package.json');
  const dir = path.dirname(pkgFile);
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { version: string };
  return {
    uplotJs: readFileSync(path.join(dir, 'dist', 'uPlot.iife.min.js'), 'utf8'),
    uplotCss: readFileSync(path.join(dir, 'dist', 'uPlot.min.css'), 'utf8'),
    uplotLicense: readFileSync(path.join(dir, 'LICENSE'), 'utf8'),
    uplotVersion: pkg.version,
    drawJs: readFileSync(fileURLToPath(new URL('./charts.js', import.meta.url)), 'utf8'),
  };
}

/** Renders the report into `file` (directories made as needed); returns `file`. */
export function writeReport(report: Report, file: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, renderReport(report, loadAssets()));
  return file;
}

/** The path to print: relative to the working directory when inside it. */
export function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}
