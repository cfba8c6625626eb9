/**
 * What the JetStream client takes and returns, and the one place where its options
 * (camelCase, durations in milliseconds) become the gateway's bodies (snake_case,
 * durations in nanoseconds, as everywhere in JetStream) and back.
 */

const NS_PER_MS = 1_000_000;

/** Stream settings; durations in milliseconds. Unset fields take JetStream's defaults. */
export interface StreamOptions {
  storage?: 'file' | 'memory';
  retention?: 'limits' | 'interest' | 'workqueue';
  discard?: 'old' | 'new';
  maxMsgs?: number;
  maxBytes?: number;
  maxMsgSize?: number;
  maxAgeMs?: number;
  /** Window in which a repeated msg id (our `Idempotency-Key`) is stored once. JetStream: 2 min. */
  duplicateWindowMs?: number;
  replicas?: number;
}

/** A pull consumer's settings; durations in milliseconds. */
export interface ConsumerOptions {
  /** Only messages on this subject (wildcards allowed). */
  filterSubject?: string;
  deliverPolicy?:
    | 'all'
    | 'last'
    | 'new'
    | 'by_start_sequence'
    | 'by_start_time'
    | 'last_per_subject';
  optStartSeq?: number;
  optStartTime?: string;
  /** @default 'explicit' (the gateway's) */
  ackPolicy?: 'explicit' | 'none' | 'all';
  /** How long a delivered, unacknowledged message waits before redelivery. JetStream: 30 s. */
  ackWaitMs?: number;
  maxDeliver?: number;
  maxAckPending?: number;
  replayPolicy?: 'instant' | 'original';
}

/** The gateway body for a stream. */
export function streamBody(name: string, subjects: readonly string[], options: StreamOptions) {
  return compact({
    name,
    subjects: [...subjects],
    storage: options.storage,
    retention: options.retention,
    discard: options.discard,
    max_msgs: options.maxMsgs,
    max_bytes: options.maxBytes,
    max_msg_size: options.maxMsgSize,
    max_age: ns(options.maxAgeMs),
    duplicate_window: ns(options.duplicateWindowMs),
    replicas: options.replicas,
  });
}

/** The gateway body for a durable pull consumer. */
export function consumerBody(durable: string, options: ConsumerOptions) {
  return compact({
    durable_name: durable,
    filter_subject: options.filterSubject,
    deliver_policy: options.deliverPolicy,
    opt_start_seq: options.optStartSeq,
    opt_start_time: options.optStartTime,
    ack_policy: options.ackPolicy,
    ack_wait: ns(options.ackWaitMs),
    max_deliver: options.maxDeliver,
    max_ack_pending: options.maxAckPending,
    replay_policy: options.replayPolicy,
  });
}

function ns(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms * NS_PER_MS);
}

function compact<T extends Record<string, unknown>>(body: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [key, value] of Object.entries(body)) {
    if (value !== undefined) out[key as keyof T] = value as T[keyof T];
  }
  return out;
}

/** JetStream's answer to a publish. */
export interface PublishAck {
  stream: string;
  seq: number;
  /** True when the msg id (`Idempotency-Key`) was already stored: this publish added nothing. */
  duplicate: boolean;
  /** HTTP attempts made (1 = no retry). */
  attempts: number;
}

/** A stream's configuration (JetStream's own, snake_case, nanoseconds) and state. */
export interface StreamInfo {
  config: { name: string; subjects: string[]; [key: string]: unknown };
  created: string;
  state: {
    messages: number;
    bytes: number;
    firstSeq: number;
    lastSeq: number;
    consumerCount: number;
  };
}

interface StreamView {
  config: StreamInfo['config'];
  created: string;
  state: {
    messages: number;
    bytes: number;
    first_seq: number;
    last_seq: number;
    consumer_count: number;
  };
}

/** The gateway's stream answer, with the state in camelCase. */
export function streamInfoFrom(view: StreamView): StreamInfo {
  const { messages, bytes, first_seq, last_seq, consumer_count } = view.state;
  return {
    config: view.config,
    created: view.created,
    state: {
      messages,
      bytes,
      firstSeq: first_seq,
      lastSeq: last_seq,
      consumerCount: consumer_count,
    },
  };
}

/** A durable consumer's configuration and progress. */
export interface ConsumerInfo {
  stream: string;
  name: string;
  config: { durable_name?: string; filter_subject?: string; [key: string]: unknown };
  /** Messages in the stream not yet delivered to this consumer. */
  numPending: number;
  /** Delivered but not yet acknowledged (redelivered after `ack_wait`). */
  numAckPending: number;
  numRedelivered: number;
  /** Highest stream sequence delivered. */
  deliveredStreamSeq: number;
  /** Every message up to this stream sequence is acknowledged. */
  ackFloorStreamSeq: number;
}

interface SeqInfo {
  consumer_seq: number;
  stream_seq: number;
}

interface ConsumerView {
  stream_name: string;
  name: string;
  config: ConsumerInfo['config'];
  num_pending: number;
  num_ack_pending: number;
  num_redelivered: number;
  delivered: SeqInfo;
  ack_floor: SeqInfo;
}

/** The gateway's (or /jsz's) consumer, in camelCase. */
export function consumerInfoFrom(view: ConsumerView): ConsumerInfo {
  return {
    stream: view.stream_name,
    name: view.name,
    config: view.config,
    numPending: view.num_pending,
    numAckPending: view.num_ack_pending,
    numRedelivered: view.num_redelivered,
    deliveredStreamSeq: view.delivered?.stream_seq ?? 0,
    ackFloorStreamSeq: view.ack_floor?.stream_seq ?? 0,
  };
}

/** The gateway's view of a pulled message (`data` in base64). */
export interface PulledView {
  subject: string;
  sequence: number;
  timestamp: string;
  delivery_count: number;
  data: string;
  headers: Record<string, string[]>;
}

/** A message pulled from a consumer, its payload decoded from base64. */
export class JetStreamMessage {
  readonly subject: string;
  /** The stream sequence. */
  readonly sequence: number;
  /** RFC 3339 time the stream stored it. */
  readonly timestamp: string;
  /** 1 on first delivery; more after redeliveries. */
  readonly deliveryCount: number;
  readonly headers: Readonly<Record<string, string[]>>;
  /** The payload bytes, as published. */
  readonly data: Buffer;

  constructor(view: PulledView) {
    this.subject = view.subject;
    this.sequence = view.sequence;
    this.timestamp = view.timestamp;
    this.deliveryCount = view.delivery_count;
    this.headers = view.headers;
    this.data = Buffer.from(view.data, 'base64');
  }

  /** The payload as UTF-8. */
  text(): string {
    return this.data.toString('utf8');
  }

  /**
   * The payload parsed as JSON (for a V-Omega message, its envelope). The type is an
   * assertion, not a check.
   * @throws {SyntaxError} when the payload is not JSON
   */
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }
}

/** nats-server's `/healthz`. */
export interface HealthStatus {
  ok: boolean;
  /** `ok`, or what the server said (`unavailable`, ...). */
  status: string;
  /** The server's explanation when not ok. */
  error: string | undefined;
}

/** JetStream figures from nats-server's `/jsz?streams=true&consumers=true`. */
export interface JetStreamStats {
  streams: number;
  consumers: number;
  messages: number;
  bytes: number;
  /** Bytes held in memory and on disk by JetStream. */
  memory: number;
  storage: number;
  /** JetStream API calls and the errors among them. */
  api: { total: number; errors: number };
  streamDetails: StreamStats[];
}

/** One stream in {@link JetStreamStats}. */
export interface StreamStats {
  name: string;
  messages: number;
  bytes: number;
  firstSeq: number;
  lastSeq: number;
  consumers: ConsumerInfo[];
}

interface JszBody {
  streams?: number;
  consumers?: number;
  messages?: number;
  bytes?: number;
  memory?: number;
  storage?: number;
  api?: { total?: number; errors?: number };
  account_details?: {
    stream_detail?: {
      name: string;
      state: { messages: number; bytes: number; first_seq: number; last_seq: number };
      consumer_detail?: ConsumerView[];
    }[];
  }[];
}

/** The figures the client reports from a `/jsz` body. */
export function jetStreamStatsFrom(body: JszBody): JetStreamStats {
  const streamDetails: StreamStats[] = [];
  for (const account of body.account_details ?? []) {
    for (const stream of account.stream_detail ?? []) {
      streamDetails.push({
        name: stream.name,
        messages: stream.state.messages,
        bytes: stream.state.bytes,
        firstSeq: stream.state.first_seq,
        lastSeq: stream.state.last_seq,
        consumers: (stream.consumer_detail ?? []).map(consumerInfoFrom),
      });
    }
  }
  streamDetails.sort((a, b) => a.name.localeCompare(b.name));
  return {
    streams: body.streams ?? 0,
    consumers: body.consumers ?? 0,
    messages: body.messages ?? 0,
    bytes: body.bytes ?? 0,
    memory: body.memory ?? 0,
    storage: body.storage ?? 0,
    api: { total: body.api?.total ?? 0, errors: body.api?.errors ?? 0 },
    streamDetails,
  };
}
