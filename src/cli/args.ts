/**
 * The command line of `http-sentinel`, parsed with `node:util` `parseArgs` into a typed
 * {@link Command}. Pure: no I/O here (files named by `-d @file` are read by `run`), so
 * every accepted and refused argument list can be table-tested.
 */
import { parseArgs as parseNodeArgs } from 'node:util';
import { redactInvalidUrl, redactUrl } from '../index.js';

/** The verbs, lower case as typed; the method is the upper-case form. */
export const VERBS = ['get', 'head', 'delete', 'post', 'put', 'patch'] as const;
export type Verb = (typeof VERBS)[number];

/** Where one part of the request body comes from. */
export type BodySource =
  | { kind: 'text'; text: string }
  | { kind: 'file'; path: string }
  | { kind: 'stdin' };

/** The request body: `-d` parts (joined with `&`, as curl does) or one `--json` document. */
export interface BodySpec {
  type: 'data' | 'json';
  parts: BodySource[];
}

/** A request to make. */
export interface RequestCommand {
  kind: 'request';
  method: 'GET' | 'HEAD' | 'DELETE' | 'POST' | 'PUT' | 'PATCH';
  /** Absolute http(s) URL; `http://` is assumed when the scheme is missing, as curl does. */
  url: string;
  /** In the order given; names as typed. */
  headers: [string, string][];
  body: BodySpec | undefined;
  /** Retries after the first attempt; `undefined` keeps the library's default (2). */
  retries: number | undefined;
  /** Deadline of the whole transfer in ms; `undefined` keeps the library's defaults. */
  timeoutMs: number | undefined;
  /** `-i`: status line and headers before the body. */
  include: boolean;
  /** `-o`: write the body (and, with `-i`, the headers) to this file. */
  output: string | undefined;
  maxRedirects: number | undefined;
  decompress: boolean;
  verbose: boolean;
}

/** What the command line asks for. */
export type Command = RequestCommand | { kind: 'help' } | { kind: 'version' };

/** Bad arguments: exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'usage';
}

/** Longest timer Node can hold (2^31 - 1 ms): the library's ceiling for a timeout. */
const MAX_TIMEOUT_MS = 2_147_483_647;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)?$/;

/**
 * `500ms`, `5s`, `1.5s`, `2m`, `1h`, or a plain number of milliseconds.
 * @throws {UsageError} for anything else, zero, or more than 2^31 - 1 ms
 */
export function parseDuration(text: string, option = '--timeout'): number {
  const match = DURATION.exec(text.trim());
  if (match === null) {
    throw new UsageError(
      `${option} takes a duration such as 500ms, 5s, 2m or a number of ms, got ${JSON.stringify(text)}`,
    );
  }
  const ms = Number(match[1]) * UNIT_MS[match[2] ?? 'ms']!;
  if (ms <= 0) throw new UsageError(`${option} must be more than 0, got ${JSON.stringify(text)}`);
  if (ms > MAX_TIMEOUT_MS) {
    throw new UsageError(
      `${option} must be at most ${MAX_TIMEOUT_MS} ms, got ${JSON.stringify(text)}`,
    );
  }
  return ms;
}

/** A non-negative integer option value. @throws {UsageError} */
export function parseCount(text: string, option: string): number {
  const value = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value)) {
    throw new UsageError(`${option} takes a whole number >= 0, got ${JSON.stringify(text)}`);
  }
  return value;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FORBIDDEN_IN_VALUE = /[\r\n\0]/;

/**
 * `Name: value`, split at the first colon; surrounding blanks of the value are dropped
 * (an empty value is allowed).
 * @throws {UsageError} without a colon, with an empty or invalid name, or CR/LF/NUL in the value
 */
export function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(':');
  if (colon < 0) {
    throw new UsageError(`-H takes 'Name: value', got ${JSON.stringify(text)} (no colon)`);
  }
  const name = text.slice(0, colon).trim();
  const value = text.slice(colon + 1).trim();
  if (!TOKEN.test(name)) {
    throw new UsageError(
      `-H: invalid header name ${JSON.stringify(name)} in ${JSON.stringify(text)}`,
    );
  }
  if (FORBIDDEN_IN_VALUE.test(value)) {
    throw new UsageError(`-H: the value of ${name} contains CR, LF or NUL`);
  }
  return [name, value];
}

/** `-d`/`--json` argument: `@path` is a file, `-` is stdin, anything else the text itself. */
export function parseBodySource(text: string): BodySource {
  if (text === '-') return { kind: 'stdin' };
  if (text.startsWith('@')) {
    const path = text.slice(1);
    if (path === '') throw new UsageError('-d @file needs a file name after @');
    return path === '-' ? { kind: 'stdin' } : { kind: 'file', path };
  }
  return { kind: 'text', text };
}

/** Checks that `text` is JSON. @throws {UsageError} */
export function checkJson(text: string, where = '--json'): void {
  try {
    JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${where} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * The URL as the library will get it: `http://` is assumed without a scheme (curl's
 * rule), and only http and https are accepted.
 * @throws {UsageError}
 */
export function normalizeUrl(text: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`invalid URL ${JSON.stringify(redactInvalidUrl(text))}`);
  }
  const shown = JSON.stringify(redactUrl(text));
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`unsupported protocol ${url.protocol} in ${shown}`);
  }
  if (url.hostname === '') throw new UsageError(`URL has no host: ${shown}`);
  return url.href;
}

const OPTIONS = {
  header: { type: 'string', short: 'H', multiple: true },
  data: { type: 'string', short: 'd', multiple: true },
  json: { type: 'string' },
  retries: { type: 'string' },
  timeout: { type: 'string' },
  include: { type: 'boolean', short: 'i' },
  output: { type: 'string', short: 'o' },
  'max-redirects': { type: 'string' },
  'no-decompress': { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

/**
 * Parses `argv` (without `node` and the script).
 * @throws {UsageError} naming what is wrong
 */
export function parseArgs(argv: readonly string[]): Command {
  const { values, positionals } = parseRaw(argv);
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };

  if (positionals.length === 0) throw new UsageError('missing the URL');
  // Like curl and HTTPie, a URL alone is a GET, or a POST when a body is given.
  if (positionals.length === 1 && /^https?:\/\//i.test(positionals[0]!)) {
    positionals.unshift(values.data !== undefined || values.json !== undefined ? 'post' : 'get');
  }
  const verb = positionals[0]!.toLowerCase();
  if (!(VERBS as readonly string[]).includes(verb)) {
    throw new UsageError(
      `unknown verb ${JSON.stringify(positionals[0])}: use one of ${VERBS.join(', ')}, or give a URL alone for GET`,
    );
  }
  if (positionals.length < 2) throw new UsageError(`${verb} needs a URL`);
  if (positionals.length > 2) {
    throw new UsageError(`one URL only; unexpected ${JSON.stringify(positionals[2])}`);
  }
  const url = normalizeUrl(positionals[1]!);

  const headers = (values.header ?? []).map(parseHeader);

  let body: BodySpec | undefined;
  if (values.data !== undefined && values.json !== undefined) {
    throw new UsageError('-d and --json cannot be used together');
  }
  if (values.data !== undefined) {
    body = { type: 'data', parts: values.data.map(parseBodySource) };
  } else if (values.json !== undefined) {
    const source = parseBodySource(values.json);
    if (source.kind === 'text') checkJson(source.text);
    body = { type: 'json', parts: [source] };
  }
  if (body !== undefined && (verb === 'get' || verb === 'head')) {
    throw new UsageError(`${verb} sends no body: use post, put, patch or delete with -d or --json`);
  }
  if (body !== undefined && body.parts.filter((p) => p.kind === 'stdin').length > 1) {
    throw new UsageError('stdin (-) can be read only once');
  }

  return {
    kind: 'request',
    method: verb.toUpperCase() as RequestCommand['method'],
    url,
    headers,
    body,
    retries: values.retries === undefined ? undefined : parseCount(values.retries, '--retries'),
    timeoutMs: values.timeout === undefined ? undefined : parseDuration(values.timeout),
    include: values.include === true,
    output: values.output === undefined ? undefined : nonEmpty(values.output, '-o'),
    maxRedirects:
      values['max-redirects'] === undefined
        ? undefined
        : parseCount(values['max-redirects'], '--max-redirects'),
    decompress: values['no-decompress'] !== true,
    verbose: values.verbose === true,
  };
}

function parseRaw(argv: readonly string[]) {
  try {
    return parseNodeArgs({
      args: [...argv],
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    // Node's messages run on with advice about \`--\`; the first sentence is the point.
    const message = (err as Error).message;
    const end = message.search(/\.\s/);
    throw new UsageError(end < 0 ? message : message.slice(0, end));
  }
}

function nonEmpty(text: string, option: string): string {
  if (text === '') throw new UsageError(`${option} needs a file name`);
  return text;
}

/**
 * The command's name: package.json's `bin` key, and the prefix of every line it prints
 * about itself, so messages name what the user typed.
 */
export const PROGRAM = 'http-sentinel';

/** The text of `http-sentinel --help`. */
export const USAGE = `Usage: ${PROGRAM} [verb] <url> [options]

Verbs: get, head, delete, post, put, patch. Without one, an http(s):// URL is a
GET, or a POST with -d or --json (as curl does).

Options:
  -H, --header 'Name: value'  add a request header (repeatable)
  -d, --data <text>           request body; @file reads a file, - reads stdin;
                              repeated -d are joined with '&'; sent as-is, with
                              content-type application/x-www-form-urlencoded
                              unless -H sets one (as curl does)
      --json <json>           JSON body (checked), also @file or -; sets
                              content-type and accept to application/json
      --retries <n>           retries after the first attempt (default 2; 0 = none);
                              POST and PATCH are never retried
      --timeout <duration>    deadline of the whole transfer: 500ms, 5s, 2m, or ms
  -i, --include               print the status line and headers before the body
  -o, --output <file>         write the body to <file> instead of stdout, with a
                              progress line on stderr when it is a terminal
      --max-redirects <n>     redirects to follow (default 10; 0 = none)
      --no-decompress         do not ask for or decode compressed bodies
  -v, --verbose               attempts, retries, headers and timings on stderr
  -h, --help                  this text
  -V, --version               the version

Exit codes:
  0   response with status < 400
  22  response with status >= 400 (the body is still printed)
  2   usage error (bad arguments, invalid request)
  28  timeout
  7   connection failed (refused, reset, DNS)
  1   anything else
`;
