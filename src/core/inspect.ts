/**
 * How errors and responses print in `console.log` and `util.inspect`: what a person
 * reading a log needs (what failed, where, why), never internal state or a body.
 */
import { type InspectOptions, inspect } from 'node:util';

/** The key Node's `util.inspect` looks for. */
export const INSPECT: typeof inspect.custom = inspect.custom;

/** The options `util.inspect` hands a custom inspector. */
export interface InspectContext extends InspectOptions {
  stylize(text: string, style: string): string;
}

/** Milliseconds for people: one decimal below 10 ms, whole numbers above. */
export function formatMs(value: number): string {
  if (!Number.isFinite(value)) return `${value} ms`;
  return Math.abs(value) < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`;
}

/** One value on one line, in the caller's colours; objects shallow. */
export function oneLine(value: unknown, options: InspectContext | undefined): string {
  return inspect(value, {
    colors: options?.colors ?? false,
    depth: 0,
    breakLength: Number.POSITIVE_INFINITY,
    compact: true,
    maxStringLength: 500,
  });
}

/**
 * A short form of a value that may be an error or a response: an error as its name, code
 * and message; anything with a `status` as its class, status and reason; else one line.
 */
export function summarize(value: unknown, options: InspectContext | undefined): string {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    const tag = typeof code === 'string' ? ` [${code}]` : '';
    return `${value.name}${tag}: ${value.message}`;
  }
  if (typeof value === 'object' && value !== null && typeof (value as Status).status === 'number') {
    const { status, statusText } = value as Status;
    const name = value.constructor?.name ?? 'Response';
    return `${name} ${status}${statusText ? ` ${statusText}` : ''}`;
  }
  return oneLine(value, options);
}

interface Status {
  status: number;
  statusText?: string;
}

/** `name: value` pairs on one line, values summarized; undefined values left out. */
export function fieldLine(
  fields: ReadonlyArray<readonly [string, unknown]>,
  options: InspectContext | undefined,
): string {
  const parts: string[] = [];
  for (const [name, value] of fields) {
    if (value === undefined) continue;
    parts.push(`${name}: ${summarize(value, options)}`);
  }
  return parts.join(', ');
}

/**
 * The stack frames of `error` (the lines after its message), or '' when it has none.
 * The message may span lines, so the frames are found by their `at` prefix.
 */
export function stackFrames(error: Error): string {
  const stack = error.stack;
  if (typeof stack !== 'string') return '';
  const at = stack.indexOf('\n    at ');
  return at === -1 ? '' : stack.slice(at + 1);
}
