/**
 * `http-sentinel` as a function: parse the arguments, make one request with an
 * {@link HttpClient}, stream the body out, and return the exit code. Everything it
 * touches comes in through `io`, so tests run it in-process with captured streams.
 *
 * The body is always streamed (`client.stream()`): a download of any size goes to
 * stdout or `-o` chunk by chunk, paced by the output's backpressure, and `-i` can print
 * the head before the first body byte arrives. The request body is read into memory
 * first (a `-d @file` or stdin), which keeps it replayable, so retries can resend it.
 */
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import {
  type ClientOptions,
  HttpClient,
  isSentinelError,
  type Progress,
  type ProxyTable,
  proxyTableFromEnv,
  redactUrl,
  type StreamingResponse,
  TimeoutError,
} from '../index.js';
import {
  type BodySpec,
  checkJson,
  PROGRAM,
  parseArgs,
  type RequestCommand,
  USAGE,
  UsageError,
} from './args.js';
import { formatError, formatEvent, formatHead, headLines, ms, Sink } from './output.js';
import { ProgressBar } from './progress-bar.js';

/** Exit codes, curl's where curl has one. */
export const EXIT = {
  /** A response with status < 400. */
  OK: 0,
  /** Anything not listed below. */
  FAILURE: 1,
  /** Bad arguments, an unreadable `-d @file`, or `InvalidRequestError`. */
  USAGE: 2,
  /** `ConnectionError`: refused, reset, DNS failure (curl: "failed to connect"). */
  CONNECTION: 7,
  /** A response with status >= 400; the body is still printed (curl's `-f` code). */
  HTTP_ERROR: 22,
  /** `TimeoutError` (curl: "operation timed out"). */
  TIMEOUT: 28,
} as const;

/** The process's side of a run. `process` itself fits. */
export interface RunIO {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
  /** Read for proxy variables only (`http_proxy`, `https_proxy`, `all_proxy`, `no_proxy`). */
  env: Record<string, string | undefined>;
}

/** The exit code for an error thrown by a run. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT.USAGE;
  if (isSentinelError(err)) {
    switch (err.code) {
      case 'SENTINEL_INVALID_REQUEST':
        return EXIT.USAGE;
      case 'SENTINEL_TIMEOUT':
        return EXIT.TIMEOUT;
      case 'SENTINEL_CONNECTION':
        return EXIT.CONNECTION;
      default:
        return EXIT.FAILURE;
    }
  }
  return EXIT.FAILURE;
}

/** The package's version, found through its own `exports` map. */
export function version(): string {
  try {
    const require = createRequire(import.meta.url);
    return (require('http-sentinel/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/**
 * Runs `http-sentinel` with `argv` (no `node`, no script name).
 * @returns the exit code; never throws
 */
export async function run(argv: readonly string[], io: RunIO): Promise<number> {
  const stderr = new Sink(io.stderr);
  try {
    const command = parseArgs(argv);
    if (command.kind === 'help' || command.kind === 'version') {
      const stdout = new Sink(io.stdout);
      await stdout.write(
        command.kind === 'help' ? USAGE : `${PROGRAM} ${version()} (node ${process.version})\n`,
      );
      await stdout.flush();
      return EXIT.OK;
    }
    return await request(command, io, stderr);
  } catch (err) {
    await report(stderr, err);
    return exitCodeOf(err);
  } finally {
    await stderr.flush().catch(() => {});
  }
}

async function report(stderr: Sink, err: unknown): Promise<void> {
  const hint = err instanceof UsageError ? `\nTry '${PROGRAM} --help'.` : '';
  await stderr.write(`${formatError(err)}${hint}\n`).catch(() => {});
}

/** Reads `-d`/`--json` parts into one Buffer: files and stdin are read whole. */
export async function readBody(spec: BodySpec, io: Pick<RunIO, 'stdin'>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const part of spec.parts) {
    switch (part.kind) {
      case 'text':
        parts.push(Buffer.from(part.text, 'utf8'));
        break;
      case 'file':
        try {
          parts.push(await readFile(part.path));
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? 'error';
          throw new UsageError(`cannot read ${part.path} (${code})`);
        }
        break;
      case 'stdin': {
        const chunks: Buffer[] = [];
        // Only here is stdin touched: `process.stdin` is created on first access.
        for await (const chunk of io.stdin) {
          chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
        }
        parts.push(Buffer.concat(chunks));
        break;
      }
    }
  }
  if (spec.type === 'json') {
    const body = parts[0] ?? Buffer.alloc(0);
    if (spec.parts[0]?.kind !== 'text') checkJson(body.toString('utf8'));
    return body;
  }
  // curl joins repeated -d with '&'.
  const joined: Buffer[] = [];
  for (const [i, part] of parts.entries()) {
    if (i > 0) joined.push(Buffer.from('&'));
    joined.push(part);
  }
  return Buffer.concat(joined);
}

/** The request headers: the user's, plus the defaults `-d`/`--json` imply unless set. */
export function requestHeaders(command: RequestCommand): [string, string][] {
  const headers = [...command.headers];
  const has = (name: string): boolean => headers.some(([n]) => n.toLowerCase() === name);
  if (command.body?.type === 'json') {
    if (!has('content-type')) headers.push(['content-type', 'application/json']);
    if (!has('accept')) headers.push(['accept', 'application/json']);
  } else if (command.body?.type === 'data' && !has('content-type')) {
    headers.push(['content-type', 'application/x-www-form-urlencoded']);
  }
  return headers;
}

/**
 * The client for one command. The circuit breaker, the retry budget and adaptive retry
 * are off: they protect a server from the calls of a long-lived client, while this
 * process makes one call, where they would only cut the `--retries` asked for short
 * (the throttle stops retries after the fourth failure in a row). Nothing caps the body
 * size: it is streamed, not buffered.
 */
export function clientOptions(
  command: RequestCommand,
  env: Record<string, string | undefined> = {},
): ClientOptions {
  const options: ClientOptions = {
    circuitBreaker: false,
    retryBudget: false,
    adaptive: false,
    // The largest the library accepts: the body is streamed, never held.
    maxBodySize: Number.MAX_SAFE_INTEGER,
    decompress: command.decompress,
  };
  if (command.retries !== undefined) {
    options.retry = command.retries === 0 ? false : { maxAttempts: command.retries + 1 };
  }
  if (command.timeoutMs !== undefined) options.timeout = command.timeoutMs;
  if (command.maxRedirects !== undefined) options.maxRedirects = command.maxRedirects;
  // The environment as curl reads it; a bad proxy URL there is a usage error.
  const proxy = proxyTableFromEnv(env);
  if (proxy.httpProxy !== undefined || proxy.httpsProxy !== undefined) options.proxy = proxy;
  return options;
}

/**
 * The progress line of `-o`, drawn through `sink` (so that it stays in order with the
 * other stderr lines) when `stream` is a terminal; undefined when it is not.
 */
function progressBar(stream: Writable, sink: Sink): ProgressBar | undefined {
  const tty = stream as Writable & { isTTY?: boolean; columns?: number };
  if (tty.isTTY !== true) return undefined;
  return new ProgressBar({
    isTTY: true,
    get columns() {
      return tty.columns;
    },
    write(text) {
      void sink.write(text).catch(() => {});
    },
  });
}

async function request(command: RequestCommand, io: RunIO, stderr: Sink): Promise<number> {
  const verbose = command.verbose;
  const trace = (line: string): Promise<void> =>
    verbose ? stderr.write(`${line}\n`) : Promise.resolve();

  const body = command.body === undefined ? undefined : await readBody(command.body, io);
  const headers = requestHeaders(command);
  const options = clientOptions(command, io.env);
  const client = new HttpClient(options);
  const unsubscribe = verbose
    ? client.onEvent((event) => {
        // Synchronous listener; the write is queued on stderr in order.
        void stderr.write(`${formatEvent(event)}\n`).catch(() => {});
      })
    : undefined;
  // --timeout bounds the whole transfer, as curl's --max-time does: the library's
  // `timeout` covers the call until headers, this timer the body after them.
  const transfer = new AbortController();
  let transferTimer: NodeJS.Timeout | undefined;
  let response: StreamingResponse | undefined;
  let file: Writable | undefined;
  // Only for -o, and only on a terminal: the body is not on the screen then.
  const bar = command.output === undefined ? undefined : progressBar(io.stderr, stderr);
  const started = performance.now();
  try {
    const proxy = options.proxy as ProxyTable | undefined;
    if (proxy !== undefined) {
      const { httpProxy, httpsProxy, noProxy } = proxy;
      const shown = (value: unknown): string => (value ? redactUrl(String(value)) : 'none');
      await trace(
        `* proxies from the environment: http ${shown(httpProxy)}, https ${shown(httpsProxy)}` +
          (noProxy ? `, not for ${noProxy}` : ''),
      );
    }
    await trace(`* ${command.method} ${redactUrl(command.url)}`);
    for (const [name, value] of headers) await trace(`> ${name}: ${value}`);

    response = await client.stream({
      method: command.method,
      url: command.url,
      headers,
      ...(body === undefined ? {} : { body }),
      ...(bar === undefined ? {} : { onDownloadProgress: (p: Progress) => bar.update(p) }),
      signal: transfer.signal,
    });
    const res = response;
    if (command.timeoutMs !== undefined) {
      const left = command.timeoutMs - (performance.now() - started);
      transferTimer = setTimeout(
        () => transfer.abort(new TimeoutError('total', command.timeoutMs!)),
        Math.max(0, left),
      );
    }

    const head = formatHead(res.status, res.statusText, res.headers);
    if (verbose) {
      for (const line of headLines(res.status, res.statusText, res.headers)) {
        await trace(`< ${line}`);
      }
      const t = res.timings;
      const attempts = `${res.attempts} attempt${res.attempts === 1 ? '' : 's'}`;
      const redirected = res.redirected ? ` (redirected to ${res.url})` : '';
      await trace(
        `* ${res.status} after ${attempts}${redirected}: queued ${ms(t.queued)}, ` +
          `connect ${ms(t.connect)}, ttfb ${ms(t.ttfb)}, headers at ${ms(t.total)}`,
      );
    }

    let out: Sink;
    if (command.output !== undefined) {
      file = createWriteStream(command.output);
      out = new Sink(file);
    } else {
      out = new Sink(io.stdout);
    }
    // `head` prints the head, as curl -I does: it is all a HEAD response has.
    if (command.include || command.method === 'HEAD') await out.write(head);
    let bytes = 0;
    // A stalled output (a paused pager) must not outlast --timeout either.
    const timedOut = new Promise<never>((_, reject) => {
      transfer.signal.addEventListener('abort', () => reject(transfer.signal.reason), {
        once: true,
      });
    });
    timedOut.catch(() => {});
    bar?.start();
    try {
      for await (const chunk of res.body) {
        bytes += chunk.length;
        await Promise.race([out.write(chunk), timedOut]);
      }
    } catch (err) {
      if (transfer.signal.aborted && transfer.signal.reason instanceof TimeoutError) {
        throw transfer.signal.reason;
      }
      throw err;
    }
    await out.flush();
    if (file !== undefined) {
      file.end();
      await finished(file);
      file = undefined;
    }
    bar?.finish();
    await trace(
      `* ${bytes} body bytes${command.output === undefined ? '' : ` to ${command.output}`}, done at ${ms(
        performance.now() - started,
      )}`,
    );
    return res.status >= 400 ? EXIT.HTTP_ERROR : EXIT.OK;
  } finally {
    bar?.clear();
    clearTimeout(transferTimer);
    response?.cancel();
    file?.destroy();
    unsubscribe?.();
    await client.close();
  }
}
