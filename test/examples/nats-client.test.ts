/**
 * The example JetStream client against a real nats-server and the HTTP gateway: every
 * method, the V-Omega naming rule, error mapping, ack semantics, monitoring, and the
 * reliability case — publishes whose answers are lost are retried and stored exactly once.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { NatsJetStreamClient, type VOmegaPublishAck } from '../../examples/nats/client.js';
import { main } from '../../examples/nats/demo.js';
import { isNatsGatewayError, NatsGatewayError } from '../../examples/nats/errors.js';
import { type Gateway, startGateway } from '../../examples/nats/gateway.js';
import { type NatsServerHandle, startNatsServer } from '../../examples/nats/nats-server.js';
import {
  type VOmegaEnvelope,
  vomegaStreamName,
  vomegaSubject,
} from '../../examples/nats/vomega.js';
import { HttpClient, isSentinelError } from '../../src/index.js';
import { natsSkip } from '../helpers/nats.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected the call to fail');
}

async function gatewayError(
  promise: Promise<unknown>,
  status: number,
  code: string,
  errCode?: number,
): Promise<NatsGatewayError> {
  const error = await failure(promise);
  assert.ok(isNatsGatewayError(error), `expected NatsGatewayError, got ${String(error)}`);
  assert.ok(error instanceof NatsGatewayError);
  assert.equal(error.name, 'NatsGatewayError');
  assert.equal(error.status, status, error.message);
  assert.equal(error.code, code);
  assert.equal(error.errCode, errCode);
  assert.equal(typeof error.message, 'string');
  return error;
}

describe('NatsJetStreamClient against nats-server and the gateway', {
  skip: await natsSkip(),
}, () => {
  let nats: NatsServerHandle;
  let gateway: Gateway;
  let client: NatsJetStreamClient;

  before(async () => {
    nats = await startNatsServer();
    gateway = await startGateway({ natsUrl: nats.url });
    client = new NatsJetStreamClient({ gatewayUrl: gateway.url, monitorUrl: nats.monitorUrl });
  });
  after(async () => {
    await client?.close();
    await gateway?.close();
    await nats?.stop();
  });

  describe('V-Omega naming', () => {
    it('one stream per theater+domain, subjects vomega.{theater}.{domain}.{application}.{action}', () => {
      assert.equal(vomegaStreamName('azure', 'ai'), 'VOMEGA_AZURE_AI');
      assert.equal(vomegaStreamName('gov_cloud', 'hpc'), 'VOMEGA_GOV_CLOUD_HPC');
      assert.equal(vomegaSubject('azure', 'ai'), 'vomega.azure.ai.>');
      assert.equal(vomegaSubject('azure', 'ai', 'training'), 'vomega.azure.ai.training.>');
      assert.equal(
        vomegaSubject('azure', 'ai', 'training', 'started'),
        'vomega.azure.ai.training.started',
      );
      for (const bad of ['AI', 'a.b', 'a*', '>', '', 'a b', 'ai-x']) {
        assert.throws(() => vomegaStreamName('azure', bad), TypeError, bad);
      }
      assert.throws(() => vomegaSubject('azure', 'ai', 'app.x', 'act'), TypeError);
      assert.throws(() => vomegaSubject('azure', 'ai', 'app', '*'), TypeError);
      assert.throws(
        () => new NatsJetStreamClient({ gatewayUrl: gateway.url, theater: 'Azure' }),
        TypeError,
      );
      assert.throws(() => new NatsJetStreamClient({ gatewayUrl: '' }), TypeError);
      assert.throws(
        () => new NatsJetStreamClient({ gatewayUrl: gateway.url, publishAttempts: 0 }),
        TypeError,
      );
    });
  });

  describe('streams', () => {
    it('createVOmegaStream names and scopes the stream, converting ms to ns; re-create is idempotent', async () => {
      const info = await client.createVOmegaStream('streams', {
        storage: 'memory',
        maxMsgs: 1_000,
        maxAgeMs: 3_600_000,
        duplicateWindowMs: 60_000,
      });
      assert.equal(info.config.name, 'VOMEGA_AZURE_STREAMS');
      assert.deepEqual(info.config.subjects, ['vomega.azure.streams.>']);
      assert.equal(info.config.storage, 'memory');
      assert.equal(info.config.max_msgs, 1_000);
      assert.equal(info.config.max_age, 3_600_000 * 1_000_000);
      assert.equal(info.config.duplicate_window, 60_000 * 1_000_000);
      assert.deepEqual(info.state, {
        messages: 0,
        bytes: 0,
        firstSeq: 0,
        lastSeq: 0,
        consumerCount: 0,
      });
      assert.match(info.created, /^\d{4}-\d\d-\d\dT/);

      const again = await client.createVOmegaStream('streams', {
        storage: 'memory',
        maxMsgs: 1_000,
        maxAgeMs: 3_600_000,
        duplicateWindowMs: 60_000,
      });
      assert.equal(again.created, info.created);
      assert.deepEqual((await client.getStreamInfo('VOMEGA_AZURE_STREAMS')).config, info.config);

      await gatewayError(
        client.createVOmegaStream('streams', { storage: 'memory', maxMsgs: 5 }),
        409,
        'stream_name_in_use',
        10058,
      );
    });

    it('a theater of its own makes streams of its own', async (t) => {
      const other = new NatsJetStreamClient({ gatewayUrl: gateway.url, theater: 'aws' });
      t.after(() => other.close());
      const info = await other.createVOmegaStream('streams', { storage: 'memory' });
      assert.equal(info.config.name, 'VOMEGA_AWS_STREAMS');
      assert.deepEqual(info.config.subjects, ['vomega.aws.streams.>']);
      const ack = await other.publishVOmegaMessage('streams', 'app', 'act', 1);
      assert.equal(ack.stream, 'VOMEGA_AWS_STREAMS');
      assert.equal(ack.subject, 'vomega.aws.streams.app.act');
    });

    it('getStreamInfo and deleteStream: 404 stream_not_found (10059) once gone', async () => {
      await client.createStream('DOOMED', ['doomed.>'], { storage: 'memory' });
      assert.equal((await client.getStreamInfo('DOOMED')).config.name, 'DOOMED');
      assert.equal(await client.deleteStream('DOOMED'), true);
      await gatewayError(client.getStreamInfo('DOOMED'), 404, 'stream_not_found', 10059);
      await gatewayError(client.deleteStream('DOOMED'), 404, 'stream_not_found', 10059);
    });

    it('refuses overlapping subjects (409 subjects_overlap) and bad configs (400)', async () => {
      await client.createVOmegaStream('overlap', { storage: 'memory' });
      await gatewayError(
        client.createStream('OVERLAP_TWO', ['vomega.azure.overlap.x.>'], { storage: 'memory' }),
        409,
        'subjects_overlap',
        10065,
      );
      await gatewayError(
        client.createStream('BAD', ['bad.>'], { maxMsgs: -7 }),
        400,
        'invalid_request',
      );
    });
  });

  describe('publishing', () => {
    it('publishVOmegaMessage sends the envelope as JSON, keyed by its id', async () => {
      await client.createVOmegaStream('pub', { storage: 'memory' });
      await client.createVOmegaConsumer('pub', 'reader');
      const before = Date.now();
      const ack = await client.publishVOmegaMessage('pub', 'training', 'started', {
        job: 42,
        tags: ['a'],
      });
      assert.equal(ack.stream, 'VOMEGA_AZURE_PUB');
      assert.equal(ack.seq, 1);
      assert.equal(ack.duplicate, false);
      assert.equal(ack.attempts, 1);
      assert.match(ack.id, UUID);
      assert.equal(ack.subject, 'vomega.azure.pub.training.started');

      const [message] = await client.pullMessages('VOMEGA_AZURE_PUB', 'reader', 1, 1_000);
      assert.ok(message);
      assert.equal(message.subject, 'vomega.azure.pub.training.started');
      assert.equal(message.sequence, 1);
      assert.equal(message.deliveryCount, 1);
      assert.deepEqual(message.headers['Nats-Msg-Id'], [ack.id]);
      const envelope = message.json<VOmegaEnvelope<{ job: number; tags: string[] }>>();
      assert.deepEqual(Object.keys(envelope), [
        'id',
        'timestamp',
        'theater',
        'domain',
        'application',
        'action',
        'payload',
      ]);
      assert.equal(envelope.id, ack.id);
      assert.equal(envelope.theater, 'azure');
      assert.equal(envelope.domain, 'pub');
      assert.equal(envelope.application, 'training');
      assert.equal(envelope.action, 'started');
      assert.deepEqual(envelope.payload, { job: 42, tags: ['a'] });
      assert.ok(Date.parse(envelope.timestamp) >= before - 1);
      assert.equal(message.text(), JSON.stringify(envelope));
    });

    it('the same envelope id is stored once: duplicate: true, same sequence', async () => {
      await client.createVOmegaStream('dedup', { storage: 'memory' });
      const first = await client.publishVOmegaMessage('dedup', 'app', 'act', 'one');
      const again = await client.publishVOmegaMessage('dedup', 'app', 'act', 'one', {
        id: first.id,
      });
      assert.equal(again.id, first.id);
      assert.equal(again.duplicate, true);
      assert.equal(again.seq, first.seq);
      assert.equal((await client.getStreamInfo('VOMEGA_AZURE_DEDUP')).state.messages, 1);
    });

    it('publishMessage stores bytes as they are, with or without a key', async () => {
      await client.createStream('RAW', ['raw.>'], { storage: 'memory' });
      await client.createConsumer('RAW', 'reader');
      const bytes = Uint8Array.from([0, 1, 2, 253, 254, 255]);
      const plain = await client.publishMessage('raw.bytes', bytes);
      assert.deepEqual([plain.stream, plain.seq, plain.duplicate], ['RAW', 1, false]);
      const keyed = await client.publishMessage('raw.text', 'hello', { idempotencyKey: 'raw-1' });
      const repeat = await client.publishMessage('raw.text', 'hello', { idempotencyKey: 'raw-1' });
      assert.deepEqual([keyed.seq, repeat.seq, repeat.duplicate], [2, 2, true]);

      const messages = await client.pullMessages('RAW', 'reader', 2, 1_000);
      assert.deepEqual(
        messages.map((m) => m.subject),
        ['raw.bytes', 'raw.text'],
      );
      assert.deepEqual([...messages[0]!.data], [...bytes]);
      assert.deepEqual(messages[0]!.headers, {});
      assert.equal(messages[1]!.text(), 'hello');
      assert.deepEqual(messages[1]!.headers['Nats-Msg-Id'], ['raw-1']);
    });

    it('maps publish errors: no stream (404), wildcard subject (400); before a stream, V-Omega fails too', async () => {
      await gatewayError(
        client.publishMessage('nobody.listens', 'x'),
        404,
        'no_stream_for_subject',
      );
      await gatewayError(client.publishMessage('raw.*', 'x'), 400, 'invalid_subject');
      await gatewayError(
        client.publishVOmegaMessage('nostream', 'app', 'act', {}),
        404,
        'no_stream_for_subject',
      );
      await assert.rejects(client.publishVOmegaMessage('Bad', 'app', 'act', {}), TypeError);
    });

    it('a publish without a key is sent once: a lost answer is an error, not a retry', async () => {
      await client.createStream('ONCE', ['once.>'], { storage: 'memory' });
      gateway.dropResponsesAfterPublish(1);
      const error = await failure(client.publishMessage('once.x', 'only once'));
      assert.ok(isSentinelError(error));
      assert.equal(error.code, 'SENTINEL_CONNECTION');
      assert.equal(error.attempts, 1);
      // The gateway had stored it before the answer was lost.
      assert.equal((await client.getStreamInfo('ONCE')).state.messages, 1);
    });
  });

  describe('consumers and pulls', () => {
    it('a consumer filtered to one application sees only its messages', async () => {
      await client.createVOmegaStream('filter', { storage: 'memory' });
      for (const app of ['training', 'inference', 'training', 'inference', 'training']) {
        await client.publishVOmegaMessage('filter', app, 'event', { app });
      }
      const info = await client.createVOmegaConsumer('filter', 'trainers', {
        filterSubject: vomegaSubject('azure', 'filter', 'training'),
        ackWaitMs: 30_000,
        maxDeliver: 5,
      });
      assert.equal(info.stream, 'VOMEGA_AZURE_FILTER');
      assert.equal(info.name, 'trainers');
      assert.equal(info.config.filter_subject, 'vomega.azure.filter.training.>');
      assert.equal(info.config.ack_wait, 30_000 * 1_000_000);
      assert.equal(info.config.ack_policy, 'explicit');
      assert.equal(info.numPending, 3);

      const messages = await client.pullMessages('VOMEGA_AZURE_FILTER', 'trainers', 3, 1_000);
      assert.deepEqual(
        messages.map((m) => m.json<VOmegaEnvelope<{ app: string }>>().payload.app),
        ['training', 'training', 'training'],
      );
      assert.deepEqual(
        messages.map((m) => m.sequence),
        [1, 3, 5],
      );
      const after = await client.getConsumerInfo('VOMEGA_AZURE_FILTER', 'trainers');
      assert.equal(after.numPending, 0);
      assert.equal(after.numAckPending, 0);
      assert.equal(after.ackFloorStreamSeq, 5);
    });

    it('ack: true (default) acknowledges before answering; ack: false leaves them to be redelivered', async () => {
      await client.createVOmegaStream('acks', { storage: 'memory' });
      await client.createVOmegaConsumer('acks', 'peeker', { ackWaitMs: 300 });
      for (let n = 0; n < 3; n++) await client.publishVOmegaMessage('acks', 'app', 'act', n);

      const peeked = await client.pullMessages('VOMEGA_AZURE_ACKS', 'peeker', 2, 1_000, {
        ack: false,
      });
      assert.deepEqual(
        peeked.map((m) => [m.sequence, m.deliveryCount]),
        [
          [1, 1],
          [2, 1],
        ],
      );
      const pending = await client.getConsumerInfo('VOMEGA_AZURE_ACKS', 'peeker');
      assert.equal(pending.numAckPending, 2);
      assert.equal(pending.numPending, 1);

      // After ack_wait (300 ms) the two come back (with the third, never delivered), now
      // acknowledged by the gateway before it answers.
      const all = await client.pullMessages('VOMEGA_AZURE_ACKS', 'peeker', 3, 5_000);
      assert.deepEqual(
        all.map((m) => [m.sequence, m.deliveryCount]).sort((a, b) => a[0]! - b[0]!),
        [
          [1, 2],
          [2, 2],
          [3, 1],
        ],
      );
      const acked = await client.getConsumerInfo('VOMEGA_AZURE_ACKS', 'peeker');
      assert.equal(acked.numAckPending, 0);
      assert.equal(acked.numPending, 0);
      assert.equal(acked.ackFloorStreamSeq, 3);
    });

    it('getConsumerInfo, deleteConsumer, and their errors', async () => {
      await client.createVOmegaStream('cons', { storage: 'memory' });
      await client.createVOmegaConsumer('cons', 'temp');
      assert.equal((await client.getConsumerInfo('VOMEGA_AZURE_CONS', 'temp')).name, 'temp');
      assert.equal(await client.deleteConsumer('VOMEGA_AZURE_CONS', 'temp'), true);
      await gatewayError(
        client.getConsumerInfo('VOMEGA_AZURE_CONS', 'temp'),
        404,
        'consumer_not_found',
        10014,
      );
      await gatewayError(
        client.pullMessages('VOMEGA_AZURE_CONS', 'temp', 1, 1_000),
        404,
        'consumer_not_found',
        10014,
      );
      await gatewayError(
        client.createVOmegaConsumer('nosuchdomain', 'c'),
        404,
        'stream_not_found',
        10059,
      );
      await gatewayError(
        client.createVOmegaConsumer('cons', 'bad', { deliverPolicy: 'by_start_sequence' }),
        400,
        'invalid_request',
      );
      await client.createVOmegaConsumer('cons', 'ok');
      await gatewayError(
        client.pullMessages('VOMEGA_AZURE_CONS', 'ok', 0, 1_000),
        400,
        'invalid_request',
      );
    });
  });

  describe('monitoring (nats-server port, not the gateway)', () => {
    it('health() reads /healthz', async () => {
      assert.deepEqual(await client.health(), { ok: true, status: 'ok', error: undefined });
    });

    it('jetStreamStats() reads streams and consumers from /jsz', async () => {
      await client.createVOmegaStream('stats', { storage: 'memory' });
      await client.createVOmegaConsumer('stats', 'half');
      for (let n = 0; n < 4; n++) await client.publishVOmegaMessage('stats', 'app', 'act', n);
      await client.pullMessages('VOMEGA_AZURE_STATS', 'half', 1, 1_000);
      await client.pullMessages('VOMEGA_AZURE_STATS', 'half', 1, 1_000, { ack: false });

      const stats = await client.jetStreamStats();
      const stream = stats.streamDetails.find((s) => s.name === 'VOMEGA_AZURE_STATS');
      assert.ok(stream);
      const info = await client.getStreamInfo('VOMEGA_AZURE_STATS');
      assert.equal(stream.messages, 4);
      assert.equal(stream.bytes, info.state.bytes);
      assert.equal(stream.lastSeq, 4);
      assert.equal(stream.consumers.length, 1);
      const [consumer] = stream.consumers;
      assert.equal(consumer?.name, 'half');
      assert.equal(consumer?.numPending, 2);
      assert.equal(consumer?.numAckPending, 1);
      assert.ok(stats.streams >= 1 && stats.streams === stats.streamDetails.length);
      assert.ok(stats.messages >= 4);
      assert.ok(stats.api.total > 0);
    });

    it('monitoring needs a monitorUrl, and a wrong one is a typed error', async (t) => {
      const blind = new NatsJetStreamClient({ gatewayUrl: gateway.url });
      t.after(() => blind.close());
      await assert.rejects(blind.health(), TypeError);
      const wrong = new NatsJetStreamClient({ gatewayUrl: gateway.url, monitorUrl: gateway.url });
      t.after(() => wrong.close());
      const error = await gatewayError(wrong.jetStreamStats(), 404, 'not_found');
      assert.equal(error.source, 'monitor');
    });
  });

  describe('reliability', () => {
    it('200 publishes with 20 lost answers are stored exactly 200 times, each id once', async () => {
      const n = 200;
      const lost = 20;
      await client.createVOmegaStream('reliable', { storage: 'memory' });
      await client.createVOmegaConsumer('reliable', 'audit');
      gateway.dropResponsesAfterPublish(lost);
      const acks: VOmegaPublishAck[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: 64 }, async () => {
          for (let i = next++; i < n; i = next++) {
            acks.push(await client.publishVOmegaMessage('reliable', 'app', 'act', { i }));
          }
        }),
      );
      assert.equal(acks.length, n);
      const duplicates = acks.filter((a) => a.duplicate).length;
      // Every lost answer belonged to a stored message: its retry found it already there.
      assert.ok(duplicates >= 1 && duplicates <= lost, `${duplicates} duplicates`);
      assert.equal(new Set(acks.map((a) => a.seq)).size, n);

      const info = await client.getStreamInfo('VOMEGA_AZURE_RELIABLE');
      assert.equal(info.state.messages, n);
      assert.equal(info.state.lastSeq, n);
      const pulled = await client.pullMessages('VOMEGA_AZURE_RELIABLE', 'audit', n, 2_000);
      assert.equal(pulled.length, n);
      const ids = pulled.map((m) => m.json<VOmegaEnvelope>().id);
      assert.equal(new Set(ids).size, n);
      assert.deepEqual(new Set(ids), new Set(acks.map((a) => a.id)));
      assert.deepEqual(
        new Set(pulled.map((m) => m.json<VOmegaEnvelope<{ i: number }>>().payload.i)),
        new Set(Array.from({ length: n }, (_, i) => i)),
      );
      // The fault is used up: the next publish is answered at once.
      const calm = await client.publishVOmegaMessage('reliable', 'app', 'act', 'calm');
      assert.deepEqual([calm.duplicate, calm.attempts, calm.seq], [false, 1, n + 1]);
    });

    it('a malformed (ProtocolError) or truncated (ConnectionError) answer to a keyed publish is retried too', async (t) => {
      const answers = [
        'NOT HTTP AT ALL\r\n\r\n',
        'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"stream"',
      ];
      const sockets = new Set<Socket>();
      let requests = 0;
      const fake = createServer((socket) => {
        sockets.add(socket);
        socket.once('data', () => {
          const broken = answers[requests++];
          if (broken !== undefined) return void socket.end(broken);
          const body = JSON.stringify({ stream: 'FAKE', seq: 7, duplicate: true });
          socket.end(
            `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
          );
        });
      });
      await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
      t.after(
        () =>
          new Promise<void>((resolve) => {
            for (const socket of sockets) socket.destroy();
            fake.close(() => resolve());
          }),
      );
      const port = (fake.address() as { port: number }).port;
      const flaky = new NatsJetStreamClient({ gatewayUrl: `http://127.0.0.1:${port}` });
      t.after(() => flaky.close());
      const ack = await flaky.publishMessage('a.b', 'x', { idempotencyKey: 'k-1' });
      assert.deepEqual([ack.stream, ack.seq, ack.duplicate, ack.attempts], ['FAKE', 7, true, 3]);
      assert.equal(requests, 3);

      // Without a key the same failure is not retried.
      requests = 0;
      const error = await failure(flaky.publishMessage('a.b', 'x'));
      assert.ok(isSentinelError(error));
      assert.equal(error.code, 'SENTINEL_PROTOCOL');
      assert.equal(requests, 1);
    });
  });

  it('shares an HttpClient when given one, and leaves it open', async (t) => {
    const http = new HttpClient();
    t.after(() => http.close());
    const shared = new NatsJetStreamClient({ gatewayUrl: gateway.url, client: http });
    assert.equal(shared.http, http);
    await shared.createStream('SHARED', ['shared.>'], { storage: 'memory' });
    await shared.close();
    const res = await http.get(`${gateway.url}/healthz`);
    assert.equal(res.status, 200);
  });

  describe('the demo', () => {
    it('runs end to end with fewer messages', async () => {
      let out = '';
      const summary = await main({
        messages: 500,
        concurrency: 16,
        batch: 100,
        write: (s) => (out += s),
      });
      assert.equal(summary.published, 500);
      assert.equal(summary.pulled, 500);
      assert.equal(summary.uniqueIds, 500);
      assert.equal(summary.duplicates, 0);
      assert.deepEqual(summary.streams, {
        VOMEGA_AZURE_AI: 167,
        VOMEGA_AZURE_HPC: 167,
        VOMEGA_AZURE_QUANTUM: 166,
      });
      assert.equal(summary.leftPending, 0);
      assert.ok(summary.publishPerSecond > 0 && summary.pullPerSecond > 0);
      assert.match(out, /\/healthz: ok/);
      assert.match(out, /VOMEGA_AZURE_QUANTUM {3}vomega\.azure\.quantum\.>/);
      assert.match(out, /500 published in \d+ ms: \d+ msgs\/s/);
      assert.match(out, /500 pulled in \d+ ms: \d+ msgs\/s; 500 distinct envelope ids/);
      assert.match(out, /3 streams, 3 consumers, 500 messages/);
    });

    it('says how to install nats-server when it is missing', async (t) => {
      const saved = process.env.NATS_SERVER_BIN;
      process.env.NATS_SERVER_BIN = '/nonexistent/nats-server';
      t.after(() => {
        if (saved === undefined) delete process.env.NATS_SERVER_BIN;
        else process.env.NATS_SERVER_BIN = saved;
      });
      await assert.rejects(
        main({ messages: 1, write: () => {} }),
        /apt-get install -y nats-server/,
      );
    });
  });
});
