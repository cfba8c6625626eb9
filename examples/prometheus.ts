/**
 * Prometheus metrics through OpenTelemetry: the SDK's `MeterProvider` with the
 * Prometheus exporter as its reader, the client using it, and `/metrics` served on an
 * ephemeral port and scraped, as Prometheus would.
 *
 * The exporter can run its own server (`new PrometheusExporter({ port: 9464 })`); here its
 * request handler is mounted on a server of our own, so the port is picked by the system.
 *
 * `tsx examples/prometheus.ts` runs it against its own embedded server.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { HttpClient } from '../src/index.js';
import { withExampleServer } from './example-server.js';

/** Serves the exporter's `/metrics` on 127.0.0.1, port chosen by the system. */
async function serveMetrics(exporter: PrometheusExporter): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.url === '/metrics') exporter.getMetricsRequestHandler(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** Runs the example against `baseUrl`, or against an embedded server when none is given. */
export async function main(options: { baseUrl?: string } = {}): Promise<void> {
  const exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  const metricsServer = await serveMetrics(exporter);
  const metricsUrl = `http://127.0.0.1:${(metricsServer.address() as AddressInfo).port}/metrics`;
  try {
    await withExampleServer(options.baseUrl, async (baseUrl) => {
      // Given explicitly here; with the SDK registered globally (NodeSDK, or
      // metrics.setGlobalMeterProvider) every client picks it up on its own.
      await using client = new HttpClient({
        baseUrl,
        telemetry: { meterProvider },
        retry: { maxAttempts: 2, initialDelayMs: 10 },
      });
      for (let i = 0; i < 3; i++) await client.get('/hello');
      await client.get('/status/404');
      await client.get('/down');
      console.log(`scraping ${metricsUrl.replace(/:\d+\//, ':<port>/')}`);
      await using scraper = new HttpClient({ telemetry: false });
      const scrape = (await scraper.get(metricsUrl)).text();
      for (const line of scrape.split('\n')) {
        if (/^(http_client|http_sentinel)_/.test(line) && !line.includes('_bucket{')) {
          console.log(`  ${line.replace(/server_port="\d+"/, 'server_port="<port>"')}`);
        }
      }
    });
  } finally {
    await new Promise((resolve) => metricsServer.close(resolve));
    await meterProvider.shutdown();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
