/**
 * Naming the request an error was raised for: done once per error, where the client
 * finalizes a call's error (and where a streamed body or a response's parser fails), not
 * at every throw site.
 */
import type { SentinelError } from './errors.js';

type Labelled = {
  -readonly [K in 'method' | 'url' | 'host' | 'detail' | 'message']: SentinelError[K];
};

/**
 * Sets `method`, `url` and `host` on `error` and puts the method and URL in front of its
 * message, unless it already names a request (an error passed on by a hook, or one from
 * another call): an error is labelled once, with the request it was first raised for.
 * `host` is kept when the error has its own (a `CircuitOpenError`). A message that holds
 * the method and URL already (a hook's error made from the labelled one's message) is
 * left as it is.
 *
 * @param url - already free of credentials and secret query values
 * @returns `error`
 */
export function labelRequest<E extends SentinelError>(
  error: E,
  method: string,
  url: string,
  host: string | undefined,
): E {
  if (error.method !== undefined) return error;
  const e = error as unknown as Labelled;
  const prefix = `${method} ${url}: `;
  e.method = method;
  e.url = url;
  e.host ??= host;
  // The stack is not read to be rewritten: V8 writes its first line from the message
  // when it is first read, which is after this for all but an error a listener or hook
  // printed first, and reading it here would format every failed call's stack.
  if (!error.message.includes(prefix)) {
    e.detail = error.message;
    e.message = prefix + error.message;
  }
  return error;
}
