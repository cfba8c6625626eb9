/**
 * The JSON protocol of the JetStream HTTP gateway: request bodies checked and
 * turned into JetStream configs, JetStream answers turned into response
 * bodies, and every failure turned into an HTTP status with a JSON error.
 * Pure functions, so the server file holds nothing but I/O.
 */
import {
  type ConsumerConfig,
  type ConsumerInfo,
  JetStreamApiError,
  type JsMsg,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { RequestError, TimeoutError } from '@nats-io/transport-node';

/** An HTTP answer to a failed request, rendered as `{error:{code, message, err_code?}}`. */
export class HttpError extends Error {
  override readonly name = 'HttpError';

  /**
   * @param status HTTP status to answer with.
   * @param code Stable machine-readable code, e.g. `stream_not_found`.
   * @param errCode JetStream's numeric `err_code` when JetStream reported the failure.
   */
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errCode?: number,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  /** The response body. */
  toJSON() {
    const error: { code: string; message: string; err_code?: number } = {
      code: this.code,
      message: this.message,
    };
    if (this.errCode !== undefined) error.err_code = this.errCode;
    return { error };
  }
}

/** JetStream `err_code`s the gateway answers with something better than 500. */
export const JS_ERR = {
  consumerNotFound: 10014,
  streamNameInUse: 10058,
  streamNotFound: 10059,
  subjectsOverlap: 10065,
} as const;

/**
 * Maps any failure to the HTTP answer: JetStream's not-found errors to 404,
 * conflicts with an existing stream to 409, other JetStream 400s to 400, a
 * publish no stream captures (NATS "no responders") to 404, a NATS timeout to
 * 504, and everything else to 500.
 */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof JetStreamApiError) {
    switch (error.code) {
      case JS_ERR.streamNotFound:
        return new HttpError(404, 'stream_not_found', message, error.code);
      case JS_ERR.consumerNotFound:
        return new HttpError(404, 'consumer_not_found', message, error.code);
      case JS_ERR.streamNameInUse:
        return new HttpError(409, 'stream_name_in_use', message, error.code);
      case JS_ERR.subjectsOverlap:
        return new HttpError(409, 'subjects_overlap', message, error.code);
      default:
        return error.status === 400
          ? new HttpError(400, 'jetstream_bad_request', message, error.code)
          : new HttpError(500, 'jetstream_error', message, error.code);
    }
  }
  // js.publish() reports "no responders" as JetStreamNotEnabled, with the RequestError as cause.
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof RequestError && cause.isNoResponders()) {
    return new HttpError(404, 'no_stream_for_subject', 'no stream captures this subject');
  }
  if (error instanceof TimeoutError) return new HttpError(504, 'nats_timeout', message);
  return new HttpError(500, 'internal_error', message);
}

type Field =
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'int'; min: number }
  | { kind: 'name' }
  | { kind: 'subject' }
  | { kind: 'subjects' }
  | { kind: 'time' }
  | { kind: 'bool' };

const NAME = /^[^\s.*>/\\]{1,255}$/;

/** True for a stream or consumer name JetStream accepts (no dots, wildcards or slashes). */
export function isValidName(name: string): boolean {
  return NAME.test(name);
}

/** True for a subject that can be published to: dot-separated tokens, no wildcards. */
export function isPublishSubject(subject: string): boolean {
  return subject
    .split('.')
    .every((token) => token !== '' && token !== '*' && token !== '>' && !/\s/.test(token));
}

function isSubjectFilter(subject: string): boolean {
  const tokens = subject.split('.');
  return tokens.every(
    (token, i) => token !== '' && !/\s/.test(token) && (token !== '>' || i === tokens.length - 1),
  );
}

function invalid(message: string): HttpError {
  return new HttpError(400, 'invalid_request', message);
}

function check(key: string, value: unknown, field: Field): void {
  switch (field.kind) {
    case 'enum':
      if (typeof value !== 'string' || !field.values.includes(value)) {
        throw invalid(`${key} must be one of ${field.values.join(', ')}`);
      }
      return;
    case 'int':
      if (!Number.isInteger(value) || (value as number) < field.min) {
        throw invalid(`${key} must be an integer >= ${field.min}`);
      }
      return;
    case 'name':
      if (typeof value !== 'string' || !isValidName(value)) {
        throw invalid(`${key} must be 1-255 characters without whitespace, '.', '*', '>', '/'`);
      }
      return;
    case 'subject':
      if (typeof value !== 'string' || !isSubjectFilter(value)) {
        throw invalid(`${key} must be a subject such as orders.> or orders.*.created`);
      }
      return;
    case 'subjects':
      if (!Array.isArray(value) || value.length === 0) {
        throw invalid(`${key} must be a non-empty array of subjects`);
      }
      for (const [i, subject] of value.entries())
        check(`${key}[${i}]`, subject, { kind: 'subject' });
      return;
    case 'time':
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) {
        throw invalid(`${key} must be an RFC 3339 time`);
      }
      return;
    case 'bool':
      if (typeof value !== 'boolean') throw invalid(`${key} must be a boolean`);
      return;
    default: {
      const never: never = field;
      throw new Error(`unhandled field ${JSON.stringify(never)}`);
    }
  }
}

// Unknown fields are refused so that a typo (max_age_ms) fails loudly instead of
// silently creating a stream with defaults.
function fields(
  body: unknown,
  spec: Readonly<Record<string, Field>>,
  required: readonly string[],
): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('the body must be a JSON object');
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    const field = spec[key];
    if (field === undefined) throw invalid(`unknown field ${JSON.stringify(key)}`);
    if (value === undefined || value === null) continue;
    check(key, value, field);
    out[key] = value;
  }
  for (const key of required) {
    if (out[key] === undefined) throw invalid(`${key} is required`);
  }
  return out;
}

/** Durations are nanoseconds, as everywhere in JetStream configuration. */
const STREAM_FIELDS: Readonly<Record<string, Field>> = {
  name: { kind: 'name' },
  subjects: { kind: 'subjects' },
  retention: { kind: 'enum', values: ['limits', 'interest', 'workqueue'] },
  storage: { kind: 'enum', values: ['file', 'memory'] },
  discard: { kind: 'enum', values: ['old', 'new'] },
  max_msgs: { kind: 'int', min: -1 },
  max_bytes: { kind: 'int', min: -1 },
  max_msg_size: { kind: 'int', min: -1 },
  max_age: { kind: 'int', min: 0 },
  duplicate_window: { kind: 'int', min: 0 },
  replicas: { kind: 'int', min: 1 },
  num_replicas: { kind: 'int', min: 1 },
};

/** The config for `jsm.streams.add()` from a `POST /v1/jetstream/streams` body. */
export function streamConfigFrom(body: unknown): Partial<StreamConfig> & { name: string } {
  const { replicas, ...config } = fields(body, STREAM_FIELDS, ['name']);
  if (replicas !== undefined) {
    if (config.num_replicas !== undefined && config.num_replicas !== replicas) {
      throw invalid('replicas and num_replicas disagree; send one of them');
    }
    config.num_replicas = replicas;
  }
  return config as Partial<StreamConfig> & { name: string };
}

const CONSUMER_FIELDS: Readonly<Record<string, Field>> = {
  durable_name: { kind: 'name' },
  deliver_policy: {
    kind: 'enum',
    values: ['all', 'last', 'new', 'by_start_sequence', 'by_start_time', 'last_per_subject'],
  },
  opt_start_seq: { kind: 'int', min: 1 },
  opt_start_time: { kind: 'time' },
  ack_policy: { kind: 'enum', values: ['explicit', 'none', 'all'] },
  ack_wait: { kind: 'int', min: 1 },
  max_deliver: { kind: 'int', min: -1 },
  max_ack_pending: { kind: 'int', min: -1 },
  filter_subject: { kind: 'subject' },
  replay_policy: { kind: 'enum', values: ['instant', 'original'] },
};

/**
 * The config for `jsm.consumers.add()` from a `POST …/consumers` body: always a
 * durable pull consumer, acknowledging explicitly unless told otherwise.
 */
export function consumerConfigFrom(body: unknown): Partial<ConsumerConfig> & {
  durable_name: string;
} {
  const config = fields(body, CONSUMER_FIELDS, ['durable_name']);
  if (config.max_deliver === 0) throw invalid('max_deliver must be -1 (unlimited) or >= 1');
  if (config.deliver_policy === 'by_start_sequence' && config.opt_start_seq === undefined) {
    throw invalid('opt_start_seq is required with deliver_policy by_start_sequence');
  }
  if (config.deliver_policy === 'by_start_time' && config.opt_start_time === undefined) {
    throw invalid('opt_start_time is required with deliver_policy by_start_time');
  }
  config.ack_policy ??= 'explicit';
  return config as Partial<ConsumerConfig> & { durable_name: string };
}

/** A checked `POST …/pull` body. */
export interface PullRequest {
  batch: number;
  /** Fetch `expires`: milliseconds, at least the 1000 the client library requires. */
  expiresMs: number;
  /** Acknowledge the messages before answering. */
  ack: boolean;
}

/** Largest `batch` one pull may ask for. */
export const MAX_PULL_BATCH = 1_000;
/** Longest `max_wait` one pull may ask for: 60 s, in nanoseconds. */
export const MAX_PULL_WAIT_NS = 60_000_000_000;

const PULL_FIELDS: Readonly<Record<string, Field>> = {
  batch: { kind: 'int', min: 1 },
  max_wait: { kind: 'int', min: 1 },
  ack: { kind: 'bool' },
};

/** Reads a pull body (`{}` or empty means one message, waiting at most one second). */
export function pullRequestFrom(body: unknown): PullRequest {
  const { batch = 1, max_wait = 1_000_000_000, ack = true } = fields(body ?? {}, PULL_FIELDS, []);
  if ((batch as number) > MAX_PULL_BATCH) throw invalid(`batch must be <= ${MAX_PULL_BATCH}`);
  if ((max_wait as number) > MAX_PULL_WAIT_NS) {
    throw invalid(`max_wait must be <= ${MAX_PULL_WAIT_NS} ns`);
  }
  // max_wait is nanoseconds like every JetStream duration; fetch() takes ms, >= 1000.
  const expiresMs = Math.max(1_000, Math.ceil((max_wait as number) / 1_000_000));
  return { batch: batch as number, expiresMs, ack: ack as boolean };
}

/** The stream as the gateway shows it: JetStream's config verbatim, a summary of its state. */
export function streamView(info: StreamInfo) {
  const { messages, bytes, first_seq, last_seq, consumer_count } = info.state;
  return {
    config: info.config,
    created: info.created,
    state: { messages, bytes, first_seq, last_seq, consumer_count },
  };
}

/** The consumer as the gateway shows it. */
export function consumerView(info: ConsumerInfo) {
  return {
    stream_name: info.stream_name,
    name: info.name,
    config: info.config,
    created: info.created,
    delivered: info.delivered,
    ack_floor: info.ack_floor,
    num_ack_pending: info.num_ack_pending,
    num_redelivered: info.num_redelivered,
    num_waiting: info.num_waiting,
    num_pending: info.num_pending,
  };
}

/** A pulled message; `data` is base64 because payloads are arbitrary bytes. */
export function messageView(msg: JsMsg) {
  const headers: Record<string, string[]> = {};
  for (const key of msg.headers?.keys() ?? []) headers[key] = msg.headers?.values(key) ?? [];
  return {
    subject: msg.subject,
    sequence: msg.seq,
    timestamp: msg.timestamp,
    delivery_count: msg.info.deliveryCount,
    data: Buffer.from(msg.data).toString('base64'),
    headers,
  };
}
