/**
 * Load amplification under failure: against a local server that fails X % of requests
 * (503), how many requests reach the server per client call, and how many calls succeed,
 * for http-sentinel with its defaults, with the budget and adaptive retry off, with the
 * breaker off too, and got's default retry — same server, same run.
 *
 *   node --import tsx bench/amplification.ts [--calls 3000] [--concurrency 16]
 *
 * Retry delays are shortened to 1 ms for every client alike, so a run takes seconds; the
 * policies (what is retried, how often) are each client's own defaults.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import got from 'got';
import { type ClientOptions, HttpClient } from '../src/index.js';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '16' },
  },
});
const CALLS = Number(values.calls);
const CONCURRENCY = Number(values.concurrency);

interface Row {
  client: string;
  failurePct: number;
  successRate: number;
  amplification: number;
}

/** A server failing `failurePct` % of requests, deterministically spread. */
async function startServer(): Promise<{
  url: string;
  requests: () => number;
  setFailure(p: number): void;
  close(): Promise<void>;
}> {
  let requests = 0;
  let failure = 0;
  let seed = 1;
  const random = (): number => {
    // xorshift: the same failure pattern for every client.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const server = http.createServer((_req, res) => {
    requests++;
    if (random() * 100 < failure) {
      res.statusCode = 503;
      res.end('unavailable');
    } else {
      res.end('ok');
    }
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    setFailure(p) {
      failure = p;
      requests = 0;
      seed = 1;
    },
    close() {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

async function drive(call: () => Promise<boolean>): Promise<number> {
  let next = 0;
  let ok = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < CALLS) {
        next++;
        if (await call()) ok++;
      }
    }),
  );
  return ok;
}

async function sentinel(url: string, options: ClientOptions): Promise<number> {
  const client = new HttpClient({ ...options, retry: { initialDelayMs: 1, maxDelayMs: 1 } });
  try {
    return await drive(async () => {
      try {
        return (await client.get(`${url}/`)).ok;
      } catch {
        return false;
      }
    });
  } finally {
    await client.close();
  }
}

async function gotDefault(url: string): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  // got's default policy (2 retries of GET on 503), with its delays shortened alike.
  const instance = got.extend({
    agent: { http: agent },
    retry: { calculateDelay: ({ computedValue }) => (computedValue === 0 ? 0 : 1) },
  });
  try {
    return await drive(async () => {
      try {
        const res = await instance.get(`${url}/`, { throwHttpErrors: false });
        return res.statusCode < 400;
      } catch {
        return false;
      }
    });
  } finally {
    agent.destroy();
  }
}

const CLIENTS: Array<[string, (url: string) => Promise<number>]> = [
  ['http-sentinel (defaults)', (url) => sentinel(url, {})],
  ['http-sentinel, breaker off', (url) => sentinel(url, { circuitBreaker: false })],
  [
    'http-sentinel, budget only (breaker+adaptive off)',
    (url) => sentinel(url, { circuitBreaker: false, adaptive: false }),
  ],
  [
    'http-sentinel, budget+adaptive off',
    (url) => sentinel(url, { retryBudget: false, adaptive: false }),
  ],
  [
    'http-sentinel, budget+adaptive+breaker off',
    (url) => sentinel(url, { retryBudget: false, adaptive: false, circuitBreaker: false }),
  ],
  ['got 14 (default retry)', gotDefault],
];

async function main(): Promise<void> {
  const server = await startServer();
  const rows: Row[] = [];
  try {
    for (const failurePct of [10, 50, 100]) {
      for (const [name, run] of CLIENTS) {
        server.setFailure(failurePct);
        const ok = await run(server.url);
        rows.push({
          client: name,
          failurePct,
          successRate: ok / CALLS,
          amplification: server.requests() / CALLS,
        });
      }
    }
  } finally {
    await server.close();
  }
  console.log(
    `Load amplification: ${CALLS} GET calls, ${CONCURRENCY} concurrent, Node ${process.version}\n`,
  );
  console.log('| failing | client | success rate | server requests / call |');
  console.log('| --: | --- | --: | --: |');
  for (const r of rows) {
    console.log(
      `| ${r.failurePct} % | ${r.client} | ${(r.successRate * 100).toFixed(1)} % | ${r.amplification.toFixed(2)}x |`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
