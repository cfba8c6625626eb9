/**
 * `npm run nats-demo`: JetStream over HTTP with http-sentinel. Starts a throw-away
 * nats-server and the gateway, creates one V-Omega stream per domain (ai, hpc, quantum),
 * publishes 10 000 envelopes through one shared client (64 in flight), pulls and acks
 * them in batches, prints throughput and nats-server's own /jsz statistics, and shuts
 * everything down.
 */
import { pathToFileURL } from 'node:url';
import { isSentinelError } from '../../src/index.js';
import { NatsJetStreamClient } from './client.js';
import { isNatsGatewayError } from './errors.js';
import { type Gateway, startGateway } from './gateway.js';
import { type NatsServerHandle, startNatsServer } from './nats-server.js';
import type { VOmegaEnvelope } from './vomega.js';

/** Options of {@link main}; the script uses the defaults. */
export interface DemoOptions {
  /** Messages to publish, spread over the domains. @default 10000 */
  messages?: number;
  /** Publishes in flight at once. @default 64 */
  concurrency?: number;
  /** Messages per pull. @default 500 */
  batch?: number;
  /** Output. @default process.stdout.write */
  write?: (text: string) => void;
}

/** What the demo did, for tests. */
export interface DemoSummary {
  published: number;
  duplicates: number;
  pulled: number;
  /** Distinct envelope ids among the pulled messages. */
  uniqueIds: number;
  publishPerSecond: number;
  pullPerSecond: number;
  /** Messages per stream, from /jsz. */
  streams: Record<string, number>;
  /** num_pending + num_ack_pending over every consumer at the end, from /jsz. */
  leftPending: number;
}

/** The domains and what their applications say. */
const DOMAINS: Readonly<Record<string, readonly [string, string][]>> = {
  ai: [
    ['training', 'epoch_completed'],
    ['inference', 'request_served'],
  ],
  hpc: [
    ['scheduler', 'job_queued'],
    ['scheduler', 'job_finished'],
  ],
  quantum: [['simulator', 'circuit_run']],
};

/** Runs the demo; returns what it did. */
export async function main(options: DemoOptions = {}): Promise<DemoSummary> {
  const total = options.messages ?? 10_000;
  const concurrency = options.concurrency ?? 64;
  const batch = options.batch ?? 500;
  const write = options.write ?? ((text: string) => void process.stdout.write(text));
  const say = (text = '') => write(`${text}\n`);
  const domains = Object.keys(DOMAINS);

  let nats: NatsServerHandle | undefined;
  let gateway: Gateway | undefined;
  let client: NatsJetStreamClient | undefined;
  try {
    nats = await startNatsServer();
    gateway = await startGateway({ natsUrl: nats.url });
    client = new NatsJetStreamClient({ gatewayUrl: gateway.url, monitorUrl: nats.monitorUrl });
    const health = await client.health();
    say('JetStream over HTTP: http-sentinel -> gateway -> nats-server');
    say(`  nats-server ${nats.url} (monitoring ${nats.monitorUrl}), /healthz: ${health.status}`);
    say(`  gateway     ${gateway.url}`);

    say('\nStreams: one per theater+domain');
    for (const domain of domains) {
      const stream = await client.createVOmegaStream(domain, { storage: 'memory' });
      await client.createVOmegaConsumer(domain, `${domain}-worker`, { ackWaitMs: 30_000 });
      say(`  ${stream.config.name.padEnd(22)} ${stream.config.subjects.join(', ')}`);
    }

    say(`\nPublishing ${total} envelopes, ${concurrency} in flight, one shared HttpClient`);
    const perDomain = new Map(domains.map((d) => [d, 0]));
    let next = 0;
    let duplicates = 0;
    let retried = 0;
    const publishStarted = performance.now();
    const publisher = async () => {
      for (let n = next++; n < total; n = next++) {
        const domain = domains[n % domains.length]!;
        const kinds = DOMAINS[domain]!;
        const [application, action] = kinds[Math.floor(n / domains.length) % kinds.length]!;
        const ack = await client!.publishVOmegaMessage(domain, application, action, { n });
        if (ack.duplicate) duplicates += 1;
        if (ack.attempts > 1) retried += 1;
        perDomain.set(domain, perDomain.get(domain)! + 1);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, publisher));
    const publishMs = performance.now() - publishStarted;
    const publishPerSecond = Math.round(total / (publishMs / 1000));
    say(
      `  ${total} published in ${Math.round(publishMs)} ms: ${publishPerSecond} msgs/s ` +
        `(${duplicates} duplicates, ${retried} retried)`,
    );

    say(`\nPulling in batches of ${batch}, acknowledged by the gateway before it answers`);
    const ids = new Set<string>();
    let pulled = 0;
    const pullStarted = performance.now();
    await Promise.all(
      domains.map(async (domain) => {
        const stream = `VOMEGA_${client!.theater.toUpperCase()}_${domain.toUpperCase()}`;
        // Ask for what is there: a pull for more than is stored waits out its max_wait.
        for (let left = perDomain.get(domain)!; left > 0; ) {
          const messages = await client!.pullMessages(
            stream,
            `${domain}-worker`,
            Math.min(batch, left),
            5_000,
          );
          for (const message of messages) ids.add(message.json<VOmegaEnvelope>().id);
          left -= messages.length;
          pulled += messages.length;
        }
      }),
    );
    const pullMs = performance.now() - pullStarted;
    const pullPerSecond = Math.round(pulled / (pullMs / 1000));
    say(
      `  ${pulled} pulled in ${Math.round(pullMs)} ms: ${pullPerSecond} msgs/s; ` +
        `${ids.size} distinct envelope ids`,
    );

    say('\nJetStream statistics from nats-server /jsz');
    const stats = await client.jetStreamStats();
    say(
      `  ${stats.streams} streams, ${stats.consumers} consumers, ${stats.messages} messages, ` +
        `${stats.bytes} bytes; API calls ${stats.api.total} (${stats.api.errors} errors)`,
    );
    say(
      `  ${'stream'.padEnd(20)} ${'messages'.padStart(8)} ${'bytes'.padStart(9)}  ` +
        `${'consumer'.padEnd(16)} ${'num_pending'.padStart(11)} ${'num_ack_pending'.padStart(15)}`,
    );
    const streams: Record<string, number> = {};
    let leftPending = 0;
    for (const stream of stats.streamDetails) {
      streams[stream.name] = stream.messages;
      for (const consumer of stream.consumers) {
        leftPending += consumer.numPending + consumer.numAckPending;
        say(
          `  ${stream.name.padEnd(20)} ${String(stream.messages).padStart(8)} ` +
            `${String(stream.bytes).padStart(9)}  ${consumer.name.padEnd(16)} ` +
            `${String(consumer.numPending).padStart(11)} ${String(consumer.numAckPending).padStart(15)}`,
        );
      }
    }
    const http = client.http.stats();
    const host = http.pool.hosts[new URL(gateway.url).host];
    say(
      `\nHTTP client: ${host?.connections.created ?? '?'} connections to the gateway, ` +
        `${http.retry.retries} retries; latency p50 ${fmt(host?.latency.p50)} ms, ` +
        `p99 ${fmt(host?.latency.p99)} ms`,
    );
    say('Shutting down: client, gateway, nats-server');
    return {
      published: total,
      duplicates,
      pulled,
      uniqueIds: ids.size,
      publishPerSecond,
      pullPerSecond,
      streams,
      leftPending,
    };
  } finally {
    await client?.close();
    await gateway?.close();
    await nats?.stop();
  }
}

function fmt(ms: number | undefined): string {
  return ms === undefined ? '?' : ms.toFixed(1);
}

function describe(error: unknown): string {
  if (isNatsGatewayError(error)) return `${error.code} (HTTP ${error.status}): ${error.message}`;
  if (isSentinelError(error)) return `${error.name} (${error.code}): ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(`The demo failed: ${describe(error)}`);
    process.exitCode = 1;
  });
}
