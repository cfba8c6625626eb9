/**
 * Header normalisation: every accepted input shape becomes one flat, validated list of
 * `[name, value, …]` with lower-case names, which is what goes on the wire. Bad names and
 * values with CR, LF, NUL or other control characters are refused before any I/O (header
 * injection), by the same rule the transport applies, so nothing it would refuse gets as
 * far as a connection.
 */
import { InvalidRequestError } from './errors.js';

/** A header's value, or its values in order. Numbers are refused: `String()` them first. */
export type HeaderValue = string | readonly string[];

/**
 * Headers as a plain object; `undefined` values are left out. `Reserved` names are
 * refused by the type (the client passes its option names: see `OptionName`).
 */
export type HeaderRecord<Reserved extends string = never> = {
  readonly [name: string]: HeaderValue | undefined;
} & { readonly [K in Reserved]?: never };

/**
 * Header shapes accepted: a plain object, an iterable of `[name, value]` pairs (a `Map`,
 * an array), a WHATWG `Headers`, or `{ name, value }[]`.
 */
export type HeadersInit<Reserved extends string = never> =
  | HeaderRecord<Reserved>
  | Iterable<readonly [string, string]>
  | Headers
  | ReadonlyArray<{ readonly name: string; readonly value: string }>;

/**
 * Called for each entry of a plain-object `HeadersInit` before it is checked, with the
 * `context` given to {@link normalizeHeaders}; throws to refuse the entry. The client
 * refuses option names here, where only a plain object can carry them by mistake.
 */
export type HeaderEntryGuard = (name: string, value: unknown, context: string) => void;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 9110 field-value octets: HTAB, visible ASCII, obs-text. Anything else is refused. */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const INJECTION = /[\r\n\0]/;

/** Flat list of lower-case names and values: `[name, value, name, value, …]`. */
export type HeaderList = string[];

function checkName(name: unknown): string {
  if (typeof name !== 'string' || !TOKEN.test(name)) {
    throw new InvalidRequestError(`invalid header name ${JSON.stringify(name)}`);
  }
  return name.toLowerCase();
}

function checkValue(name: string, value: unknown): string {
  if (typeof value !== 'string') {
    // A number would be sent as its decimal text; refusing it too keeps every value
    // explicit, and catches options (`timeout: 200`) put where headers go.
    throw new InvalidRequestError(
      `header ${name} must be a string, got ${value === null ? 'null' : typeof value}`,
    );
  }
  const text = value;
  if (BAD_VALUE.test(text)) {
    throw new InvalidRequestError(
      INJECTION.test(text)
        ? `header ${name} contains CR, LF or NUL`
        : `header ${name} contains a control character or a character beyond Latin-1 (encode it first)`,
    );
  }
  return text.trim();
}

function push(list: HeaderList, name: unknown, value: unknown): void {
  const lower = checkName(name);
  if (Array.isArray(value)) {
    for (const v of value) list.push(lower, checkValue(lower, v));
  } else if (value !== undefined) {
    list.push(lower, checkValue(lower, value));
  }
}

/**
 * Validates `init` and flattens it. `undefined`/`null` give an empty list. `guard` sees
 * each entry of a plain object first (see {@link HeaderEntryGuard}).
 */
export function normalizeHeaders(
  init: HeadersInit | null | undefined,
  guard?: HeaderEntryGuard,
  context = '',
): HeaderList {
  const list: HeaderList = [];
  if (init === undefined || init === null) return list;
  if (typeof init !== 'object') {
    throw new InvalidRequestError('headers must be an object, an iterable of pairs or a Headers');
  }
  if (init instanceof Headers) {
    // WHATWG allows control characters that the wire does not: check the values.
    for (const [name, value] of init) list.push(name, checkValue(name, value));
    return list;
  }
  if (Array.isArray(init)) {
    for (const entry of init as unknown[]) {
      if (Array.isArray(entry)) {
        if (entry.length !== 2) throw new InvalidRequestError('a header pair must have two items');
        push(list, entry[0], entry[1]);
      } else if (typeof entry === 'object' && entry !== null && 'name' in entry) {
        const { name, value } = entry as { name: unknown; value: unknown };
        push(list, name, value);
      } else {
        throw new InvalidRequestError('a header entry must be [name, value] or { name, value }');
      }
    }
    return list;
  }
  if (Symbol.iterator in init) {
    for (const entry of init as Iterable<unknown>) {
      if (!Array.isArray(entry) || entry.length !== 2) {
        throw new InvalidRequestError('a header pair must be [name, value]');
      }
      push(list, entry[0], entry[1]);
    }
    return list;
  }
  const record = init as Record<string, unknown>;
  if (guard === undefined) {
    for (const name of Object.keys(record)) push(list, name, record[name]);
  } else {
    for (const name of Object.keys(record)) {
      guard(name, record[name], context);
      push(list, name, record[name]);
    }
  }
  return list;
}

/** Index of `name` (lower case) in `list`, or -1. */
export function findHeader(list: HeaderList, name: string): number {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return i;
  return -1;
}

/**
 * `base` overlaid by `override`: a name present in `override` replaces every value of
 * that name in `base`. Returns `base` itself when there is nothing to merge, so the
 * common case allocates nothing; callers must treat the result as read-only.
 */
export function mergeHeaders(base: HeaderList, override: HeaderList): HeaderList {
  if (override.length === 0) return base;
  if (base.length === 0) return override;
  const out: HeaderList = [];
  for (let i = 0; i < base.length; i += 2) {
    if (findHeader(override, base[i]!) === -1) out.push(base[i]!, base[i + 1]!);
  }
  for (let i = 0; i < override.length; i++) out.push(override[i]!);
  return out;
}

/** `list` without the names in `names` (lower case). */
export function withoutHeaders(list: HeaderList, names: readonly string[]): HeaderList {
  const out: HeaderList = [];
  for (let i = 0; i < list.length; i += 2) {
    if (!names.includes(list[i]!)) out.push(list[i]!, list[i + 1]!);
  }
  return out;
}

/** A WHATWG `Headers` from undici's raw `[name, value, …]` buffers. */
export function headersFromRaw(raw: ReadonlyArray<Buffer | string>): Headers {
  const headers = new Headers();
  for (let i = 0; i < raw.length; i += 2) {
    try {
      headers.append(raw[i]!.toString('latin1'), raw[i + 1]!.toString('latin1'));
    } catch {
      // A header the WHATWG rules reject (e.g. a stray byte) is dropped rather than
      // failing the whole response; the body and status are still valid.
    }
  }
  return headers;
}

/** The first value of `name` (lower case) in raw headers, without building `Headers`. */
export function rawHeader(raw: ReadonlyArray<Buffer | string>, name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length === name.length && key.toString('latin1').toLowerCase() === name) {
      return raw[i + 1]!.toString('latin1');
    }
  }
  return undefined;
}
