/**
 * V-Omega, the project's subject-naming convention on JetStream:
 * `vomega.{theater}.{domain}.{application}.{action}`, and one stream per theater+domain,
 * `VOMEGA_{THEATER}_{DOMAIN}`, capturing `vomega.{theater}.{domain}.>`.
 *
 * Why per theater+domain and not per application: the number of streams stays small and
 * fixed (domains are few, applications come and go), a new application publishes at once
 * without anyone creating a stream, and a consumer that wants one application narrows
 * with a subject filter (`vomega.azure.ai.training.>`) instead of the stream layout
 * deciding it. The cost: applications of a domain share its limits (max_msgs, max_age).
 */
import { randomUUID } from 'node:crypto';

/** The message body every V-Omega publish carries. */
export interface VOmegaEnvelope<T = unknown> {
  /** A UUID; also the `Idempotency-Key`, hence JetStream's msg id (de-duplication). */
  id: string;
  /** ISO 8601 time the envelope was made. */
  timestamp: string;
  theater: string;
  domain: string;
  application: string;
  action: string;
  payload: T;
}

// Theater and domain make stream names: lower-case letters, digits and '_' only, so two
// spellings can never map to one stream name.
const NAME_TOKEN = /^[a-z0-9_]{1,64}$/;
// Application and action are subject tokens only.
const SUBJECT_TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

function check(kind: string, value: string, pattern: RegExp): string {
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new TypeError(`V-Omega ${kind} ${JSON.stringify(value)} must match ${pattern.source}`);
  }
  return value;
}

/** `VOMEGA_{THEATER}_{DOMAIN}`. @throws {TypeError} for an invalid theater or domain */
export function vomegaStreamName(theater: string, domain: string): string {
  check('theater', theater, NAME_TOKEN);
  check('domain', domain, NAME_TOKEN);
  return `VOMEGA_${theater.toUpperCase()}_${domain.toUpperCase()}`;
}

/**
 * The subject of a message, or a filter: without `action` it ends in `.>`, without
 * `application` too it is the whole domain (`vomega.azure.ai.>`).
 * @throws {TypeError} for an invalid token
 */
export function vomegaSubject(
  theater: string,
  domain: string,
  application?: string,
  action?: string,
): string {
  const parts = [
    'vomega',
    check('theater', theater, NAME_TOKEN),
    check('domain', domain, NAME_TOKEN),
  ];
  if (application !== undefined) parts.push(check('application', application, SUBJECT_TOKEN));
  if (action !== undefined) {
    if (application === undefined) throw new TypeError('a V-Omega action needs an application');
    parts.push(check('action', action, SUBJECT_TOKEN));
  } else {
    parts.push('>');
  }
  return parts.join('.');
}

/** A new envelope (a fresh UUID unless `id` is given, to re-publish the same message). */
export function vomegaEnvelope<T>(
  theater: string,
  domain: string,
  application: string,
  action: string,
  payload: T,
  id: string = randomUUID(),
): VOmegaEnvelope<T> {
  return { id, timestamp: new Date().toISOString(), theater, domain, application, action, payload };
}
