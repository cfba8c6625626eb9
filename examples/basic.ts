/**
 * Everyday basics: GET and POST (a text body, a JSON body two ways), headers in, and
 * what a response carries out — status, headers, body, timings and attempts.
 *
 * `tsx examples/basic.ts` runs it against its own embedded server.
 */

import { pathToFileURL } from 'node:url';
import { HttpClient, type HttpResponse } from '../src/index.js';
import { withExampleServer } from './example-server.js';

const ms = (n: number): string => `${n.toFixed(1)} ms`;

function timings(res: HttpResponse): string {
  const t = res.timings;
  return `queued ${ms(t.queued)}, connect ${ms(t.connect)}, ttfb ${ms(t.ttfb)}, total ${ms(t.total)}`;
}

/** Runs the example against `baseUrl`, or against an embedded server when none is given. */
export async function main(options: { baseUrl?: string } = {}): Promise<void> {
  await withExampleServer(options.baseUrl, async (baseUrl) => {
    // Default headers go with every request; a request's own headers win by name.
    await using client = new HttpClient({
      baseUrl,
      timeout: 5_000,
      headers: { 'user-agent': 'sentinel-examples/1.0' },
    });

    console.log('GET with headers in, response fields out');
    const first = await client.get('/echo?lang=en', {
      accept: 'application/json',
      'x-request-id': 'req-1',
    });
    console.log(`  status      ${first.status} ${first.statusText} (ok: ${first.ok})`);
    console.log(`  headers     content-type: ${first.headers.get('content-type')}`);
    console.log(`              x-request-id: ${first.headers.get('x-request-id')}`);
    const seen = first.json<{ query: Record<string, string>; userAgent: string }>();
    console.log(`  body        query ${JSON.stringify(seen.query)}, user-agent ${seen.userAgent}`);
    console.log(`  timings     ${timings(first)}`);
    console.log(`  attempts    ${first.attempts}`);

    const again = await client.get('/hello');
    console.log(
      `  second GET  "${again.text()}", connect ${ms(again.timings.connect)}: socket reused`,
    );

    console.log('\nPOST a text body');
    const text = await client.post('/echo', { 'content-type': 'text/plain' }, 'hello, server');
    console.log(
      `  ${text.status}, server got ${JSON.stringify(text.json<{ body: string }>().body)}`,
    );

    console.log('\nPOST JSON, by hand and with request({ json })');
    const item = { name: 'widget', qty: 3 };
    const byHand = await client.post(
      '/echo',
      { 'content-type': 'application/json' },
      JSON.stringify(item),
    );
    const viaJson = await client.request({ method: 'POST', url: '/echo', json: item });
    for (const [how, res] of [
      ['post()', byHand],
      ['request({ json })', viaJson],
    ] as const) {
      const got = res.json<{ contentType: string; body: string }>();
      console.log(`  ${how.padEnd(18)} ${res.status}, ${got.contentType}, body ${got.body}`);
    }

    console.log('\nA 404 is a response, not an exception (unless throwHttpErrors)');
    const missing = await client.get('/nowhere');
    console.log(`  ${missing.status} ${missing.statusText}, ok: ${missing.ok}, ${missing.text()}`);
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
