/**
 * Lifecycle of the NATS example's processes: the throw-away nats-server (start,
 * monitoring, stop leaving nothing behind, a clear error without the binary)
 * and the gateway's own limits and startup failure.
 */
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway } from '../../examples/nats/gateway.js';
import { type NatsServerHandle, startNatsServer } from '../../examples/nats/nats-server.js';
import { natsSkip } from '../helpers/nats.js';

interface ErrorBody {
  error: { code: string; message: string };
}

interface ConsumerBody {
  num_ack_pending: number;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('JetStream HTTP gateway limits and lifecycle', { skip: await natsSkip() }, () => {
  let nats: NatsServerHandle;

  before(async () => {
    nats = await startNatsServer();
  });
  after(() => nats?.stop());

  it('answers 413 for a body over maxBodyBytes', async (t) => {
    const gateway = await startGateway({ natsUrl: nats.url, maxBodyBytes: 64 });
    t.after(() => gateway.close());
    const response = await fetch(`${gateway.url}/v1/jetstream/publish/big`, {
      method: 'POST',
      body: 'x'.repeat(1_000),
    });
    assert.equal(response.status, 413);
    assert.equal(((await response.json()) as ErrorBody).error.code, 'payload_too_large');
  });

  it('naks what it fetched when the client leaves mid-pull, for immediate redelivery', async (t) => {
    const gateway = await startGateway({ natsUrl: nats.url });
    t.after(() => gateway.close());
    const api = `${gateway.url}/v1/jetstream/streams/LEAVE`;
    const post = (url: string, body: unknown, signal?: AbortSignal) =>
      fetch(url, { method: 'POST', body: JSON.stringify(body), signal });
    await post(`${gateway.url}/v1/jetstream/streams`, { name: 'LEAVE', subjects: ['leave'] });
    await post(`${api}/consumers`, { durable_name: 'c', ack_wait: 30 * 1_000_000_000 });
    await fetch(`${gateway.url}/v1/jetstream/publish/leave`, { method: 'POST', body: 'again' });

    // batch 2 of 1 available: the gateway holds the message while it waits for a second.
    const leaving = new AbortController();
    const abandoned = post(`${api}/consumers/c/pull`, { batch: 2, max_wait: 5e9 }, leaving.signal);
    for (;;) {
      const info = (await (await fetch(`${api}/consumers/c`)).json()) as ConsumerBody;
      if (info.num_ack_pending === 1) break;
      await sleep(10);
    }
    leaving.abort();
    await assert.rejects(abandoned, { name: 'AbortError' });

    // Back now, not after the 30 s ack_wait. (2.9 rewinds the consumer on a nak of the
    // last delivered message, so the redelivery can report delivery_count 1.)
    const response = await post(`${api}/consumers/c/pull`, { batch: 1, max_wait: 2e9 });
    const { messages } = (await response.json()) as { messages: { sequence: number }[] };
    assert.deepEqual(
      messages.map((m) => m.sequence),
      [1],
    );
  });

  it('fails to start when NATS is unreachable', async () => {
    const free = await startNatsServer();
    const url = free.url;
    await free.stop();
    await assert.rejects(startGateway({ natsUrl: url }));
  });

  it('exposes monitoring, and stop() kills the server and removes its directory', async (t) => {
    const server = await startNatsServer();
    t.after(() => server.stop());
    const health = await fetch(`${server.monitorUrl}/healthz`);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const varz = (await (await fetch(`${server.monitorUrl}/varz`)).json()) as { port: number };
    assert.equal(varz.port, server.port);
    assert.ok(isAlive(server.pid));
    await server.stop();
    await server.stop();
    assert.equal(isAlive(server.pid), false);
    await assert.rejects(access(server.dataDir));
  });

  it('reports a server that exits during startup, with its log', async () => {
    await assert.rejects(startNatsServer({ binary: '/usr/bin/false' }), {
      message: /did not become healthy/,
    });
  });

  it('names the install command when the binary is missing', async () => {
    await assert.rejects(startNatsServer({ binary: '/nonexistent/nats-server' }), {
      message: /apt-get install -y nats-server/,
    });
  });
});
