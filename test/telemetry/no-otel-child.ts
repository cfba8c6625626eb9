/**
 * Run by no-otel.test.ts in a child process where `@opentelemetry/api` cannot be
 * required: a client works, sends no trace context, loads nothing of OpenTelemetry, and
 * refuses providers it could not use. Prints one JSON line of what it saw.
 */
import { createRequire } from 'node:module';
import { HttpClient } from '../../src/index.js';
import { startServer } from '../helpers/server.js';

const require = createRequire(import.meta.url);
let hidden = false;
try {
  require('@opentelemetry/api');
} catch (err) {
  hidden = (err as { code?: string }).code === 'MODULE_NOT_FOUND';
}
const headers: (string | undefined)[] = [];
const server = await startServer((req, res) => {
  headers.push(req.headers.traceparent as string | undefined);
  res.end('ok');
});
const client = new HttpClient({ retry: { initialDelayMs: 1 } });
const res = await client.get(server.url);
let refused = '';
try {
  new HttpClient({ telemetry: { meterProvider: { getMeter: () => ({}) } } });
} catch (err) {
  refused = (err as { code?: string }).code ?? 'no code';
}
await client.close();
await server.close();
const loaded = Object.keys(require.cache).filter((file) => file.includes('@opentelemetry'));
process.stdout.write(
  `${JSON.stringify({ hidden, status: res.status, text: res.text(), headers, refused, loaded })}\n`,
);
