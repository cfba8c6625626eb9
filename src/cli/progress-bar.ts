/**
 * The progress line `-o` draws on stderr while a body downloads, when stderr is a
 * terminal (nothing at all otherwise: a log or a pipe gets no carriage returns). With a
 * known size it shows the percentage, a bar and the bytes; without one, the bytes and
 * the rate. The line is redrawn in place at most every {@link REDRAW_MS}, and ended
 * with a newline when the download completes, or erased when it fails.
 *
 * The formatting is a pure function ({@link progressLine}); the class only decides
 * when to draw, on an injected output and clock, so both are tested without a terminal.
 */
import type { Progress } from '../index.js';

/** Where the line goes: a terminal's `isTTY` and `columns`, and a way to write. */
export interface ProgressOutput {
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
  write(text: string): void;
}

/** The fewest ms between two redraws (the final one is always drawn). */
export const REDRAW_MS = 100;
/** Width assumed when the terminal does not say. */
const DEFAULT_COLUMNS = 80;
/** Erase from the cursor to the end of the line. */
const ERASE = '\x1b[K';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `512 B`, `1.5 KiB`, `12.0 MiB`. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/**
 * One progress line, at most `columns - 1` characters (the last column would wrap on
 * some terminals).
 *
 * @param known - whether the download's size is known (its first event had a total)
 * @param elapsedMs - since the download started, for the rate
 */
export function progressLine(
  progress: Progress,
  known: boolean,
  elapsedMs: number,
  columns: number,
): string {
  const { percent, transferredBytes, totalBytes } = progress;
  const width = Math.max(columns, 20) - 1;
  const rate =
    elapsedMs > 0 ? `  ${formatBytes(Math.round((transferredBytes * 1000) / elapsedMs))}/s` : '';
  if (!known) return fit(formatBytes(transferredBytes), rate, width);
  const pct = `${(Math.floor(percent * 1000) / 10).toFixed(1)}%`.padStart(6);
  const bytes = `${formatBytes(transferredBytes)} / ${formatBytes(totalBytes)}`;
  // Whatever room the figures leave, with brackets and spaces, goes to the bar.
  const barWidth = width - pct.length - bytes.length - rate.length - 4;
  if (barWidth < 10) return fit(`${pct} ${bytes}`, rate, width);
  const filled = Math.round(percent * barWidth);
  return `${pct} [${'#'.repeat(filled)}${' '.repeat(barWidth - filled)}] ${bytes}${rate}`;
}

/** `text` and `extra` when both fit in `width`, else `text` alone, cut if need be. */
function fit(text: string, extra: string, width: number): string {
  if (text.length + extra.length <= width) return text + extra;
  return text.length > width ? text.slice(0, width) : text;
}

/** Draws the progress of one download on `out`, if `out` is a terminal. */
export class ProgressBar {
  readonly #out: ProgressOutput;
  readonly #now: () => number;
  readonly #enabled: boolean;
  #startedAt: number | undefined;
  #known = false;
  #last: Progress | undefined;
  #drawnAt = Number.NEGATIVE_INFINITY;
  /** The event last drawn. */
  #drawn: Progress | undefined;
  #started = false;
  #done = false;

  /** @param now - ms clock; a test passes its own */
  constructor(out: ProgressOutput, now: () => number = () => performance.now()) {
    this.#out = out;
    this.#now = now;
    this.#enabled = out.isTTY === true;
  }

  /** Whether anything will be drawn (stderr is a terminal). */
  get enabled(): boolean {
    return this.#enabled;
  }

  /**
   * Draws from now on: events before this are counted but not drawn, so that the line
   * comes after whatever the command prints first (`-v`'s response head).
   */
  start(): void {
    this.#started = true;
    this.#draw(false);
  }

  /** An event of the download (`onDownloadProgress`). */
  update(progress: Progress): void {
    if (!this.#enabled || this.#done) return;
    const now = this.#now();
    if (this.#startedAt === undefined) {
      this.#startedAt = now;
      this.#known = progress.totalBytes > 0;
    }
    this.#last = progress;
    if (progress.percent === 1) this.#draw(true);
    else if (now - this.#drawnAt >= REDRAW_MS) this.#draw(false);
  }

  /** The download completed: the last line stays, with a newline after it. */
  finish(): void {
    if (!this.#enabled || this.#done) return;
    if (this.#drawn !== this.#last) this.#draw(true);
    this.#done = true;
    if (this.#drawn !== undefined) this.#out.write('\n');
  }

  /** The download failed: the line is erased, so that the error starts a clean one. */
  clear(): void {
    if (!this.#enabled || this.#done) return;
    this.#done = true;
    if (this.#drawn !== undefined) this.#out.write(`\r${ERASE}`);
  }

  #draw(force: boolean): void {
    const progress = this.#last;
    if (!this.#started || progress === undefined) return;
    const now = this.#now();
    if (!force && now - this.#drawnAt < REDRAW_MS) return;
    this.#drawnAt = now;
    this.#drawn = progress;
    const columns = this.#out.columns ?? DEFAULT_COLUMNS;
    const line = progressLine(progress, this.#known, now - this.#startedAt!, columns);
    this.#out.write(`\r${line}${ERASE}`);
  }
}
