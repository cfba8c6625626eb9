/**
 * The demo's embedded server: healthy, slow, flaky, throttling, dead and large routes on
 * 127.0.0.1, so `npm run demo` needs no network.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DemoServer {
  readonly url: string;
  /** Requests the server has received, per path. */
  readonly hits: Map<string, number>;
  /** Make `/dead` answer again (true) or keep failing (false). */
  setDeadRecovered(recovered: boolean): void;
  close(): Promise<void>;
}

/** Starts the demo server on an ephemeral port. */
export async function startDemoServer(): Promise<DemoServer> {
  const hits = new Map<string, number>();
  let deadRecovered = false;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://demo');
    const path = url.pathname;
    const count = (hits.get(path) ?? 0) + 1;
    hits.set(path, count);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      switch (path) {
        case '/items':
          res.setHeader('content-type', 'application/json');
          res.end(
            JSON.stringify({
              method: req.method,
              body: body === '' ? undefined : JSON.parse(body),
            }),
          );
          return;
        case '/slow':
          setTimeout(() => res.end('finally'), 2_000).unref();
          return;
        case '/flaky':
          // Fails twice out of three.
          if (count % 3 !== 0) {
            res.statusCode = 503;
            res.end('try again');
          } else {
            res.end('ok');
          }
          return;
        case '/throttled':
          if (count % 2 === 1) {
            res.statusCode = 429;
            res.setHeader('retry-after', '1');
            res.end('slow down');
          } else {
            res.end('ok');
          }
          return;
        case '/dead':
          if (deadRecovered) {
            res.end('back');
          } else {
            res.statusCode = 503;
            res.end('down');
          }
          return;
        case '/large':
          res.setHeader('content-length', String(5 * 1024 * 1024));
          res.end(Buffer.alloc(5 * 1024 * 1024, 0x61));
          return;
        default:
          res.statusCode = 404;
          res.end('not found');
      }
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    setDeadRecovered(recovered) {
      deadRecovered = recovered;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
