/**
 * The JetStream HTTP gateway against a real nats-server, driven with plain
 * `fetch`: every endpoint, every error mapping, and the lost-response fault
 * that idempotent publishing has to survive.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Gateway, startGateway } from '../../examples/nats/gateway.js';
import { type NatsServerHandle, startNatsServer } from '../../examples/nats/nats-server.js';
import { natsSkip } from '../helpers/nats.js';

const SECOND_NS = 1_000_000_000;

interface ErrorBody {
  error: { code: string; message: string; err_code?: number };
}

interface StreamBody {
  config: Record<string, unknown> & { name: string; subjects: string[] };
  created: string;
  state: {
    messages: number;
    bytes: number;
    first_seq: number;
    last_seq: number;
    consumer_count: number;
  };
}

interface ConsumerBody {
  stream_name: string;
  name: string;
  config: Record<string, unknown>;
  num_ack_pending: number;
  num_pending: number;
  ack_floor: { stream_seq: number };
}

interface PulledMessage {
  subject: string;
  sequence: number;
  timestamp: string;
  delivery_count: number;
  data: string;
  headers: Record<string, string[]>;
}

describe('JetStream HTTP gateway', { skip: await natsSkip() }, () => {
  let nats: NatsServerHandle;
  let gateway: Gateway;

  before(async () => {
    nats = await startNatsServer();
    gateway = await startGateway({ natsUrl: nats.url });
  });
  after(async () => {
    await gateway?.close();
    await nats?.stop();
  });

  async function call<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; headers: Headers; json: T }> {
    const payload =
      body === undefined || typeof body === 'string' || body instanceof Uint8Array
        ? body
        : JSON.stringify(body);
    const response = await fetch(`${gateway.url}${path}`, { method, headers, body: payload });
    return {
      status: response.status,
      headers: response.headers,
      json: (await response.json()) as T,
    };
  }

  const createStream = (name: string, subjects: string[], extra: object = {}) =>
    call<StreamBody>('POST', '/v1/jetstream/streams', {
      name,
      subjects,
      storage: 'memory',
      ...extra,
    });
  const publish = (subject: string, data: string | Uint8Array, key?: string) =>
    call<{ stream: string; seq: number; duplicate: boolean }>(
      'POST',
      `/v1/jetstream/publish/${subject}`,
      data,
      key === undefined ? {} : { 'idempotency-key': key },
    );
  const pull = (stream: string, consumer: string, body: object) =>
    call<{ messages: PulledMessage[] }>(
      'POST',
      `/v1/jetstream/streams/${stream}/consumers/${consumer}/pull`,
      body,
    );

  async function expectError(
    pending: Promise<{ status: number; json: unknown }>,
    status: number,
    code: string,
    errCode?: number,
  ): Promise<void> {
    const { status: actual, json } = await pending;
    assert.equal(actual, status, JSON.stringify(json));
    const { error } = json as ErrorBody;
    assert.equal(error.code, code);
    assert.equal(typeof error.message, 'string');
    assert.equal(error.err_code, errCode);
  }

  it('answers /healthz after a round trip to NATS', async () => {
    const { status, json } = await call<{ status: string; rtt_ms: number }>('GET', '/healthz');
    assert.equal(status, 200);
    assert.equal(json.status, 'ok');
    assert.equal(typeof json.rtt_ms, 'number');
  });

  it('creates a stream with every config field, idempotently, and reads it back', async () => {
    const config = {
      name: 'CFG',
      subjects: ['cfg.>'],
      retention: 'limits',
      max_msgs: 100,
      max_bytes: 1 << 20,
      max_age: 60 * SECOND_NS,
      storage: 'memory',
      replicas: 1,
    };
    const created = await call<StreamBody>('POST', '/v1/jetstream/streams', config);
    assert.equal(created.status, 201);
    const { replicas, ...rest } = config;
    for (const [key, value] of Object.entries(rest)) {
      assert.deepEqual(created.json.config[key], value, key);
    }
    assert.equal(created.json.config.num_replicas, replicas);
    assert.deepEqual(created.json.state, {
      messages: 0,
      bytes: 0,
      first_seq: 0,
      last_seq: 0,
      consumer_count: 0,
    });

    const again = await call<StreamBody>('POST', '/v1/jetstream/streams', config);
    assert.equal(again.status, 201);
    assert.equal(again.json.created, created.json.created);

    const read = await call<StreamBody>('GET', '/v1/jetstream/streams/CFG');
    assert.equal(read.status, 200);
    assert.deepEqual(read.json, created.json);
  });

  it('maps a name in use (10058) and overlapping subjects (10065) to 409', async () => {
    assert.equal((await createStream('TAKEN', ['taken.>'])).status, 201);
    await expectError(createStream('TAKEN', ['other.>']), 409, 'stream_name_in_use', 10058);
    await expectError(createStream('OVERLAP', ['taken.x']), 409, 'subjects_overlap', 10065);
  });

  it('refuses malformed stream requests with 400 before reaching JetStream', async () => {
    const post = (body: unknown) => call('POST', '/v1/jetstream/streams', body);
    await expectError(post('{"name": '), 400, 'invalid_json');
    for (const body of [
      {},
      [],
      { subjects: ['x'] },
      { name: 'has.dot' },
      { name: 'S', subjects: [] },
      { name: 'S', subjects: ['a..b'] },
      { name: 'S', retention: 'forever' },
      { name: 'S', storage: 'disk' },
      { name: 'S', max_age: -1 },
      { name: 'S', max_msgs: 1.5 },
      { name: 'S', max_age_ms: 1000 },
    ]) {
      await expectError(post(body), 400, 'invalid_request');
    }
  });

  it('answers 500 with the JetStream error for any other JetStream failure', async () => {
    await expectError(
      createStream('REPLICATED', ['rep'], { replicas: 3 }),
      500,
      'jetstream_error',
      10074,
    );
  });

  it('maps a missing stream (10059) to 404 on read, delete, consumer create and pull', async () => {
    const missing = '/v1/jetstream/streams/NOPE';
    await expectError(call('GET', missing), 404, 'stream_not_found', 10059);
    await expectError(call('DELETE', missing), 404, 'stream_not_found', 10059);
    await expectError(
      call('POST', `${missing}/consumers`, { durable_name: 'c' }),
      404,
      'stream_not_found',
      10059,
    );
    await expectError(pull('NOPE', 'c', {}), 404, 'stream_not_found', 10059);
  });

  it('publishes raw bytes and returns stream, seq and duplicate', async () => {
    await createStream('PUB', ['pub.>']);
    const first = await publish('pub.a', 'one');
    assert.equal(first.status, 200);
    assert.deepEqual(first.json, { stream: 'PUB', seq: 1, duplicate: false });
    const second = await publish('pub.b', new Uint8Array([0, 255, 10, 13]));
    assert.deepEqual(second.json, { stream: 'PUB', seq: 2, duplicate: false });
    const { json } = await call<StreamBody>('GET', '/v1/jetstream/streams/PUB');
    assert.equal(json.state.messages, 2);
    assert.equal(json.state.last_seq, 2);
  });

  it('stores a message once per Idempotency-Key (duplicate: true on the repeat)', async () => {
    await createStream('IDEM', ['idem.>']);
    const first = await publish('idem.a', 'payload', 'order-42');
    const repeat = await publish('idem.a', 'payload', 'order-42');
    assert.deepEqual(first.json, { stream: 'IDEM', seq: 1, duplicate: false });
    assert.deepEqual(repeat.json, { stream: 'IDEM', seq: 1, duplicate: true });
    const other = await publish('idem.a', 'payload', 'order-43');
    assert.deepEqual(other.json, { stream: 'IDEM', seq: 2, duplicate: false });
  });

  it('maps a publish no stream captures to 404 and refuses wildcard subjects', async () => {
    await expectError(publish('nobody.listens', 'x'), 404, 'no_stream_for_subject');
    await expectError(publish('pub.*', 'x'), 400, 'invalid_subject');
    await expectError(publish('pub.>', 'x'), 400, 'invalid_subject');
    await expectError(publish('pub..a', 'x'), 400, 'invalid_subject');
    await expectError(publish('pub.a', 'x', ' '), 400, 'invalid_request');
  });

  it('creates, reads and deletes a durable pull consumer with every config field', async () => {
    await createStream('CONS', ['cons.>']);
    const config = {
      durable_name: 'worker',
      deliver_policy: 'all',
      ack_policy: 'explicit',
      ack_wait: 5 * SECOND_NS,
      max_deliver: 3,
      filter_subject: 'cons.orders.>',
      replay_policy: 'instant',
    };
    const created = await call<ConsumerBody>(
      'POST',
      '/v1/jetstream/streams/CONS/consumers',
      config,
    );
    assert.equal(created.status, 201);
    assert.equal(created.json.stream_name, 'CONS');
    assert.equal(created.json.name, 'worker');
    for (const [key, value] of Object.entries(config)) {
      assert.deepEqual(created.json.config[key], value, key);
    }
    const path = '/v1/jetstream/streams/CONS/consumers/worker';
    const read = await call<ConsumerBody>('GET', path);
    assert.equal(read.status, 200);
    assert.deepEqual(read.json.config, created.json.config);
    const stream = await call<StreamBody>('GET', '/v1/jetstream/streams/CONS');
    assert.equal(stream.json.state.consumer_count, 1);

    assert.deepEqual((await call('DELETE', path)).json, { deleted: true });
    await expectError(call('GET', path), 404, 'consumer_not_found', 10014);
    await expectError(call('DELETE', path), 404, 'consumer_not_found', 10014);
  });

  it('refuses malformed consumer requests with 400', async () => {
    await createStream('BADCONS', ['badcons']);
    const post = (body: unknown) => call('POST', '/v1/jetstream/streams/BADCONS/consumers', body);
    await expectError(post('nope'), 400, 'invalid_json');
    for (const body of [
      {},
      { durable_name: 'a.b' },
      { durable_name: 'c', ack_policy: 'sometimes' },
      { durable_name: 'c', ack_wait: 0 },
      { durable_name: 'c', max_deliver: 0 },
      { durable_name: 'c', deliver_policy: 'by_start_sequence' },
      { durable_name: 'c', opt_start_time: 'yesterday' },
      { durable_name: 'c', deliver_subject: 'push.here' },
    ]) {
      await expectError(post(body), 400, 'invalid_request');
    }
  });

  it('pulls a batch as base64 with headers, acknowledged before the answer', async () => {
    await createStream('PULL', ['pull.>']);
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    await publish('pull.a', 'first', 'key-1');
    await publish('pull.b', bytes);
    await publish('pull.a', 'third');
    await call('POST', '/v1/jetstream/streams/PULL/consumers', { durable_name: 'reader' });

    const { status, json } = await pull('PULL', 'reader', { batch: 2, max_wait: 5 * SECOND_NS });
    assert.equal(status, 200);
    assert.equal(json.messages.length, 2);
    const [first, second] = json.messages as [PulledMessage, PulledMessage];
    assert.equal(first.subject, 'pull.a');
    assert.equal(first.sequence, 1);
    assert.equal(Buffer.from(first.data, 'base64').toString('utf8'), 'first');
    assert.deepEqual(first.headers, { 'Nats-Msg-Id': ['key-1'] });
    assert.equal(first.delivery_count, 1);
    assert.ok(Math.abs(Date.parse(first.timestamp) - Date.now()) < 60_000);
    assert.deepEqual(new Uint8Array(Buffer.from(second.data, 'base64')), bytes);
    assert.deepEqual(second.headers, {});

    const info = await call<ConsumerBody>('GET', '/v1/jetstream/streams/PULL/consumers/reader');
    assert.equal(info.json.num_ack_pending, 0);
    assert.equal(info.json.ack_floor.stream_seq, 2);
    assert.equal(info.json.num_pending, 1);
  });

  it('leaves messages pending with ack: false, and honours filter_subject', async () => {
    await createStream('NOACK', ['noack.>']);
    await publish('noack.skip', 'ignored');
    await publish('noack.keep', 'wanted');
    await call('POST', '/v1/jetstream/streams/NOACK/consumers', {
      durable_name: 'filtered',
      filter_subject: 'noack.keep',
    });
    const { json } = await pull('NOACK', 'filtered', { batch: 1, ack: false });
    assert.deepEqual(
      json.messages.map((m) => [m.subject, m.sequence]),
      [['noack.keep', 2]],
    );
    const info = await call<ConsumerBody>('GET', '/v1/jetstream/streams/NOACK/consumers/filtered');
    assert.equal(info.json.num_ack_pending, 1);
  });

  it('returns what it has when max_wait (ns, at least 1 s) runs out', async () => {
    await createStream('WAIT', ['wait']);
    await publish('wait', 'only one');
    await call('POST', '/v1/jetstream/streams/WAIT/consumers', { durable_name: 'w' });
    const started = performance.now();
    const { json } = await pull('WAIT', 'w', { batch: 10, max_wait: 1 });
    const elapsed = performance.now() - started;
    assert.equal(json.messages.length, 1);
    assert.ok(elapsed >= 900 && elapsed < 5_000, `waited ${elapsed.toFixed(0)} ms`);
  });

  it('maps a missing consumer (10014) to 404 and checks the pull body', async () => {
    await createStream('NOCONS', ['nocons']);
    await expectError(pull('NOCONS', 'ghost', {}), 404, 'consumer_not_found', 10014);
    for (const body of [
      { batch: 0 },
      { batch: 1_001 },
      { max_wait: 61 * SECOND_NS },
      { ack: 'y' },
    ]) {
      await expectError(pull('NOCONS', 'ghost', body), 400, 'invalid_request');
    }
  });

  it('deletes a stream', async () => {
    await createStream('DOOMED', ['doomed']);
    const deleted = await call('DELETE', '/v1/jetstream/streams/DOOMED');
    assert.equal(deleted.status, 200);
    assert.deepEqual(deleted.json, { deleted: true });
    await expectError(call('GET', '/v1/jetstream/streams/DOOMED'), 404, 'stream_not_found', 10059);
  });

  it('answers 404 for unknown routes and 405 with Allow for a wrong method', async () => {
    for (const path of ['/', '/v1/jetstream', '/v1/jetstream/streams/S/nope', '/v2/healthz']) {
      await expectError(call('GET', path), 404, 'not_found');
    }
    const wrong = await call<ErrorBody>('PUT', '/v1/jetstream/streams/CFG');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'GET, DELETE');
    assert.equal(wrong.json.error.code, 'method_not_allowed');
  });

  it('stores a message once when the publish answer is lost and the client retries', async () => {
    await createStream('LOST', ['lost.>']);
    gateway.dropResponsesAfterPublish(1);
    const attempt = () =>
      fetch(`${gateway.url}/v1/jetstream/publish/lost.order`, {
        method: 'POST',
        headers: { 'idempotency-key': 'order-7' },
        body: 'exactly once',
      });
    await assert.rejects(attempt(), TypeError);
    const retry = await attempt();
    assert.equal(retry.status, 200);
    assert.deepEqual(await retry.json(), { stream: 'LOST', seq: 1, duplicate: true });

    const { json } = await call<StreamBody>('GET', '/v1/jetstream/streams/LOST');
    assert.equal(json.state.messages, 1);
    await call('POST', '/v1/jetstream/streams/LOST/consumers', { durable_name: 'check' });
    const pulled = await pull('LOST', 'check', { batch: 1 });
    assert.equal(pulled.json.messages.length, 1);
    assert.equal(
      Buffer.from(pulled.json.messages[0]?.data ?? '', 'base64').toString(),
      'exactly once',
    );
    // The switch is spent: the next publish is answered.
    assert.equal((await publish('lost.order', 'next')).status, 200);
  });
});
