/**
 * examples/prometheus.ts as a user runs it: the client's metrics through OpenTelemetry's
 * Prometheus exporter, scraped from `/metrics`, with nothing left running after.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { format } from 'node:util';
import { main } from '../../examples/prometheus.js';
import { resources, waitForResources } from '../helpers/client-helpers.js';

it('examples/prometheus.ts serves the client’s metrics in the Prometheus format', async () => {
  const before = resources();
  const lines: string[] = [];
  const { log } = console;
  console.log = (...args: unknown[]) => lines.push(format(...args));
  try {
    await main();
  } finally {
    console.log = log;
  }
  await waitForResources(before);
  const out = lines.join('\n');
  const value = (pattern: RegExp): number => {
    const m = pattern.exec(out);
    assert.ok(m, `no ${pattern} in:\n${out}`);
    return Number(m[1]);
  };
  assert.equal(value(/http_client_request_duration_count\{[^}]*status_code="200"[^}]*\} (\d+)/), 3);
  assert.equal(value(/http_client_request_duration_count\{[^}]*error_type="404"[^}]*\} (\d+)/), 1);
  assert.equal(value(/http_client_request_duration_count\{[^}]*error_type="503"[^}]*\} (\d+)/), 2);
  assert.equal(value(/http_sentinel_retries_total\{[^}]*\} (\d+)/), 1);
  assert.equal(value(/http_client_open_connections\{[^}]*state="idle"[^}]*\} (\d+)/), 1);
  assert.equal(value(/http_sentinel_breaker_state\{[^}]*state="closed"[^}]*\} (\d+)/), 1);
});
