/**
 * `npm run examples`: every example, one after the other, against an embedded local
 * server (no network), each under a heading. Exits non-zero if any of them fails, so CI
 * can run it and the README's examples cannot silently rot.
 */

import { pathToFileURL } from 'node:url';
import { main as basic } from './basic.js';
import { main as concurrent } from './concurrent.js';
import { main as demo } from './demo.js';
import { main as errorHandling } from './error-handling.js';
import { startExampleServer } from './example-server.js';
import { main as jsonApi } from './json-api.js';
import { main as poolDemo } from './pool-demo.js';
import { main as prometheus } from './prometheus.js';
import { main as retryDemo } from './retry-demo.js';

/** One runnable example. `run` gets the shared server's URL; some start their own. */
export interface Example {
  file: string;
  title: string;
  run(baseUrl: string): Promise<void>;
}

export const EXAMPLES: readonly Example[] = [
  {
    file: 'basic.ts',
    title: 'GET and POST, headers, response fields',
    run: (url) => basic({ baseUrl: url }),
  },
  {
    file: 'json-api.ts',
    title: 'a typed JSON API wrapper and its error bodies',
    run: (url) => jsonApi({ baseUrl: url }),
  },
  {
    file: 'concurrent.ts',
    title: 'one shared client; one client per worker thread',
    run: (url) => concurrent({ baseUrl: url }),
  },
  {
    file: 'error-handling.ts',
    title: 'every error class, and what to do about it',
    run: (url) => errorHandling({ baseUrl: url }),
  },
  {
    file: 'pool-demo.ts',
    title: 'the connection pool on its own',
    run: (url) => poolDemo({ baseUrl: url }),
  },
  {
    file: 'prometheus.ts',
    title: 'OpenTelemetry metrics scraped by Prometheus from /metrics',
    run: (url) => prometheus({ baseUrl: url }),
  },
  { file: 'demo.ts', title: 'the tour (own server)', run: () => demo() },
  {
    file: 'retry-demo.ts',
    title: 'retries, breaker and budget on a timeline (own server)',
    run: () => retryDemo(),
  },
];

/** What {@link runExamples} reports. */
export interface RunSummary {
  passed: string[];
  failed: string[];
}

/**
 * Runs `examples` in order against `baseUrl`, each under a heading; a failure is printed
 * and the next example still runs.
 */
export async function runExamples(
  examples: readonly Example[],
  baseUrl: string,
): Promise<RunSummary> {
  const summary: RunSummary = { passed: [], failed: [] };
  for (const example of examples) {
    const heading = `${example.file} — ${example.title}`;
    console.log(`\n${heading}\n${'='.repeat(heading.length)}\n`);
    const started = performance.now();
    try {
      await example.run(baseUrl);
      summary.passed.push(example.file);
      console.log(`\n(${example.file}: ok in ${Math.round(performance.now() - started)} ms)`);
    } catch (err) {
      summary.failed.push(example.file);
      console.log(`\n(${example.file}: FAILED)`);
      console.error(err);
    }
  }
  return summary;
}

/** Runs every example; resolves to the summary (the caller decides the exit code). */
export async function main(examples: readonly Example[] = EXAMPLES): Promise<RunSummary> {
  const server = await startExampleServer();
  try {
    const summary = await runExamples(examples, server.url);
    const total = summary.passed.length + summary.failed.length;
    console.log(
      `\n${summary.passed.length}/${total} examples passed` +
        (summary.failed.length > 0 ? `; failed: ${summary.failed.join(', ')}` : ''),
    );
    return summary;
  } finally {
    await server.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (summary) => {
      if (summary.failed.length > 0) process.exitCode = 1;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
