/**
 * What an HTML bench report shows, independent of which bench produced it: sections of
 * bar charts and tables. The whole object is embedded in the page as JSON, and the page's
 * script draws the charts from it, so it holds only plain data (no NaN: a missing figure
 * is `null`).
 */

/** A report: a title, lines describing the run, and its sections. */
export interface Report {
  title: string;
  /** Machine, versions, settings: one line each, shown under the title. */
  meta: string[];
  sections: ReportSection[];
}

export interface ReportSection {
  title: string;
  /** A short name for the page's table of contents (default: the title). */
  short?: string;
  /** Lines of explanation shown before the charts. */
  notes: string[];
  charts: BarChart[];
  tables: ReportTable[];
}

/**
 * Horizontal bars, one group per category (a client), one bar per series in each group
 * (one series: req/s; three: p50, p90, p99).
 */
export interface BarChart {
  title: string;
  /** The value axis' label, with its unit. */
  unit: string;
  categories: string[];
  series: BarSeries[];
  /** Decimals of the value printed at the end of each bar. */
  digits: number;
  /** A fixed upper end of the value axis (100 for a percentage), else from the data. */
  max?: number;
  /** The series are steps of one measure (percentiles): drawn in shades of one hue. */
  ordered?: boolean;
  /** Categories drawn in the accent colour (http-sentinel's), one flag per category. */
  emphasis?: boolean[];
}

export interface BarSeries {
  label: string;
  /** One per category; `null` where there is no figure. */
  values: (number | null)[];
}

/** A cell with a verdict is coloured by it. */
export type Cell = string | { text: string; verdict: 'pass' | 'fail' | 'none' };

/** A table: the first column left-aligned, the others right-aligned, like the console's. */
export interface ReportTable {
  caption: string;
  header: string[];
  rows: Cell[][];
  /** Columns (0-based) of free text, left-aligned too. */
  textColumns?: number[];
}

/** A figure as the report keeps it: non-finite numbers become `null`. */
export function figure(n: number | undefined): number | null {
  return n !== undefined && Number.isFinite(n) ? n : null;
}
