/**
 * The demo's embedded server: healthy, slow, flaky, throttling, dead and large routes on
 * 127.0.0.1, so `npm run demo` needs no network. Built on `http-sentinel/testing`.
 */
import { startTestServer } from '../src/testing/index.js';

export interface DemoServer {
  readonly url: string;
  /** Requests the server has received for `path`. */
  hits(path: string): number;
  /** Make `/dead` answer again (true) or keep failing (false). */
  setDeadRecovered(recovered: boolean): void;
  close(): Promise<void>;
}

const LARGE = Buffer.alloc(5 * 1024 * 1024, 0x61);

/** Starts the demo server on an ephemeral port. */
export async function startDemoServer(): Promise<DemoServer> {
  const server = await startTestServer({ fallback: { status: 404, body: 'not found' } });
  let deadRecovered = false;
  server.route('*', '/items', (req) => ({
    json: {
      method: req.method,
      body: req.body.length === 0 ? undefined : JSON.parse(req.body.toString('utf8')),
    },
  }));
  server.route('*', '/slow', { body: 'finally', delayMs: 2_000 });
  const flaky = server.route('*', '/flaky');
  // Fails twice out of three.
  flaky.reply(() => (flaky.hits % 3 === 0 ? 'ok' : { status: 503, body: 'try again' }));
  const throttled = server.route('*', '/throttled');
  throttled.reply(() =>
    throttled.hits % 2 === 1 ? { status: 429, retryAfter: 1, body: 'slow down' } : 'ok',
  );
  server.route('*', '/dead', () => (deadRecovered ? 'back' : { status: 503, body: 'down' }));
  server.route('*', '/large', { body: LARGE });
  return {
    url: server.url,
    hits: (path) => server.route('*', path).hits,
    setDeadRecovered(recovered) {
      deadRecovered = recovered;
    },
    close: () => server.close(),
  };
}
