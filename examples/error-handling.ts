/**
 * Every error class the client throws, provoked on purpose against local servers, with
 * what to do about each. Match on `code` (stable, works across duplicate installs), not
 * on messages.
 *
 * `tsx examples/error-handling.ts` runs it against its own embedded server.
 */
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import {
  HttpClient,
  isSentinelError,
  type SentinelError,
  type SentinelErrorCode,
} from '../src/index.js';
import { withExampleServer } from './example-server.js';

/** One line of advice per code: what a caller should do when it sees it. */
export const ADVICE: Readonly<Record<SentinelErrorCode, string>> = {
  SENTINEL_TIMEOUT:
    'see `phase`: acquire = pool full (more connections, less load); connect/headers/attempt = slow host; total = call deadline spent',
  SENTINEL_CONNECTION:
    'transient: idempotent calls were retried already; if it lasts, check host, port, `errno`',
  SENTINEL_BODY_TOO_LARGE: 'raise maxBodySize for this call, or read the body with client.stream()',
  SENTINEL_INVALID_REQUEST: 'a bug in the caller (URL, header, option): fix the input, never retry',
  SENTINEL_ABORTED: 'we cancelled it ourselves: not a failure of the host, do not alert',
  SENTINEL_REQUEST_BODY:
    'our own body source failed (a file, a generator): fix it; the host is not blamed, nothing is retried',
  SENTINEL_CIRCUIT_OPEN:
    'nothing was sent, the host is failing: fail fast or use a fallback, try again after `retryAfterMs`',
  SENTINEL_HTTP_STATUS: 'the server answered: read `status` and `response` (4xx: fix the request)',
  SENTINEL_POOL_CLOSED: 'the client was used after close(): fix the shutdown order',
  SENTINEL_PROTOCOL: 'the peer does not speak HTTP (wrong port? broken proxy?): not retried, alert',
};

function facts(err: SentinelError): string {
  const out: string[] = [];
  if ('phase' in err) out.push(`phase=${String(err.phase)}`);
  if ('errno' in err && err.errno !== undefined) out.push(`errno=${String(err.errno)}`);
  if ('limit' in err) out.push(`limit=${String(err.limit)}`);
  if ('retryAfterMs' in err) out.push(`retryAfterMs=${Math.round(Number(err.retryAfterMs))}`);
  if ('status' in err) out.push(`status=${String(err.status)}`);
  out.push(`attempts=${err.attempts ?? '-'}`);
  return out.join(' ');
}

/**
 * Runs `fn`, which must fail with `expected`, and prints the error and the advice for its
 * code. Anything else fails the example: the library no longer does what this shows.
 */
async function provoke(
  expected: SentinelErrorCode,
  what: string,
  fn: () => Promise<unknown>,
): Promise<void> {
  let error: unknown;
  try {
    await fn();
  } catch (err) {
    error = err;
  }
  if (!isSentinelError(error) || error.code !== expected) {
    throw new Error(`${what}: expected ${expected}, got ${String(error ?? 'no error')}`, {
      cause: error,
    });
  }
  console.log(`${error.name.padEnd(19)} ${error.code.padEnd(24)} ${what}: ${facts(error)}`);
  console.log(`${''.padEnd(19)} -> ${ADVICE[error.code]}`);
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

/** Runs the example against `baseUrl`, or against an embedded server when none is given. */
export async function main(options: { baseUrl?: string } = {}): Promise<void> {
  await withExampleServer(options.baseUrl, async (baseUrl) => {
    await using client = new HttpClient({ baseUrl, retry: { initialDelayMs: 10 } });

    await provoke('SENTINEL_TIMEOUT', 'whole-call timeout 150 ms', () =>
      client.get('/slow?ms=1000', undefined, { timeout: 150 }),
    );
    {
      // One connection, held by a slow call: the next caller waits 100 ms in the queue.
      await using narrow = new HttpClient({
        baseUrl,
        retry: false,
        pool: { maxConnections: 1, connectionTimeoutMs: 100 },
      });
      const holder = narrow.get('/slow?ms=400');
      await provoke('SENTINEL_TIMEOUT', 'pool of 1 busy for 400 ms', () => narrow.get('/hello'));
      await holder;
    }

    const closed = net.createServer();
    const closedPort = await listen(closed);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await provoke('SENTINEL_CONNECTION', 'nothing listens on the port', () =>
      client.get(`http://127.0.0.1:${closedPort}/`),
    );

    await provoke('SENTINEL_BODY_TOO_LARGE', '2 MiB body, 64 KiB cap', () =>
      client.get('/large?bytes=2097152', undefined, { maxBodySize: 64 * 1024 }),
    );

    await provoke('SENTINEL_INVALID_REQUEST', 'CR LF in a header value', () =>
      client.get('/hello', { 'x-note': 'a\r\nx-injected: 1' }),
    );

    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('user left')), 50);
    await provoke('SENTINEL_ABORTED', 'signal aborted after 50 ms', () =>
      client.get('/slow?ms=1000', undefined, { signal: controller.signal }),
    );

    async function* upload(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('first part');
      throw new Error('disk read failed');
    }
    await provoke('SENTINEL_REQUEST_BODY', 'upload whose source fails', () =>
      client.post('/echo', { 'content-type': 'text/plain' }, upload()),
    );

    {
      await using guarded = new HttpClient({
        baseUrl,
        retry: false,
        circuitBreaker: { consecutiveFailures: 2, openDurationMs: 5_000 },
      });
      await guarded.get('/down'); // 503
      await guarded.get('/down'); // 503: two in a row, the breaker opens
      await provoke('SENTINEL_CIRCUIT_OPEN', 'third call after two 503s', () =>
        guarded.get('/down'),
      );
    }

    await provoke('SENTINEL_HTTP_STATUS', '404 with throwHttpErrors', () =>
      client.get('/status/404', undefined, { throwHttpErrors: true }),
    );

    const closedClient = new HttpClient({ baseUrl });
    await closedClient.close();
    await provoke('SENTINEL_POOL_CLOSED', 'call after close()', () => closedClient.get('/hello'));

    // A raw TCP server that answers every request with something that is not HTTP.
    const garbage = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => socket.end('SSH-2.0-OpenSSH_9.6\r\nnot http at all\r\n\r\n'));
    });
    const garbagePort = await listen(garbage);
    try {
      await provoke('SENTINEL_PROTOCOL', 'server sends garbage', () =>
        client.get(`http://127.0.0.1:${garbagePort}/`),
      );
    } finally {
      await new Promise<void>((resolve) => garbage.close(() => resolve()));
    }
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
