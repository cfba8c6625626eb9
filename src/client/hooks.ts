/**
 * Hooks: the user's way into the request path, with ky's names so ky users know them.
 * Client hooks run first, then the request's own. A hook that throws fails the call with
 * its error as the `cause`, releases what the call holds, and never counts against the
 * host (it is the caller's doing). With no hooks, nothing here runs.
 */
import { InvalidRequestError, isSentinelError, type SentinelError } from '../core/errors.js';
import type { HttpResponse, StreamingResponse } from './response.js';

/** The request as a `beforeRequest` hook sees it. */
export interface HookRequest {
  /** Upper-case method. */
  readonly method: string;
  /** The URL of this attempt (credentials redacted). */
  readonly url: string;
  /** Mutable: a change applies to this attempt (and, for `beforeRequest`, is kept for later ones). */
  readonly headers: Headers;
}

/** What a `beforeRetry` hook is told. */
export interface RetryHookContext {
  readonly request: HookRequest;
  /** The error of the failed attempt, when it threw. */
  readonly error: SentinelError | undefined;
  /** The status and headers of the failed attempt, when it answered (a retried status). */
  readonly response: { readonly status: number; readonly headers: Headers } | undefined;
  /** The number of the attempt about to be made: 2 for the first retry. */
  readonly attempt: number;
}

/** A response of either kind: `stream()` calls hand their hooks a `StreamingResponse`. */
export type AnyResponse = HttpResponse | StreamingResponse;

/** The hooks of a client or a request. */
export interface Hooks {
  /** Before every attempt, retries and redirect hops included. */
  beforeRequest?: ReadonlyArray<(request: HookRequest) => void | Promise<void>>;
  /**
   * After the call's response is complete (for `stream()`, at headers). Returning a
   * response replaces it: the token-refresh pattern (on 401, refresh, then return the
   * result of calling the client again).
   */
  afterResponse?: ReadonlyArray<
    (
      response: AnyResponse,
      request: HookRequest,
      // biome-ignore lint/suspicious/noConfusingVoidType: ky's signature; a hook that returns nothing keeps the response
    ) => void | AnyResponse | Promise<void | AnyResponse>
  >;
  /** Before each retry's delay. */
  beforeRetry?: ReadonlyArray<(context: RetryHookContext) => void | Promise<void>>;
  /** May enrich or replace the error about to be thrown. */
  beforeError?: ReadonlyArray<(error: SentinelError) => SentinelError | Promise<SentinelError>>;
}

/** Hooks checked and merged: arrays, possibly empty. */
export interface ResolvedHooks {
  readonly beforeRequest: NonNullable<Hooks['beforeRequest']>;
  readonly afterResponse: NonNullable<Hooks['afterResponse']>;
  readonly beforeRetry: NonNullable<Hooks['beforeRetry']>;
  readonly beforeError: NonNullable<Hooks['beforeError']>;
  /** Whether any hook is set: the hot path asks this once. */
  readonly any: boolean;
}

const NAMES = ['beforeRequest', 'afterResponse', 'beforeRetry', 'beforeError'] as const;

/** No hooks. */
export const NO_HOOKS: ResolvedHooks = Object.freeze({
  beforeRequest: [],
  afterResponse: [],
  beforeRetry: [],
  beforeError: [],
  any: false,
});

/**
 * `extra` appended to `base`, checked.
 * @throws {InvalidRequestError} an unknown hook name, or a hook that is not a function
 */
export function mergeHooks(base: ResolvedHooks, extra: Hooks | undefined): ResolvedHooks {
  if (extra === undefined) return base;
  if (typeof extra !== 'object' || extra === null) {
    throw new InvalidRequestError('hooks must be an object');
  }
  for (const key of Object.keys(extra)) {
    if (!(NAMES as readonly string[]).includes(key)) {
      throw new InvalidRequestError(`unknown hook ${key}; expected one of ${NAMES.join(', ')}`);
    }
  }
  const out: Record<string, unknown> = {};
  let any = false;
  for (const name of NAMES) {
    const more = extra[name];
    if (more !== undefined && !Array.isArray(more)) {
      throw new InvalidRequestError(`hooks.${name} must be an array of functions`);
    }
    for (const fn of more ?? []) {
      if (typeof fn !== 'function') {
        throw new InvalidRequestError(`hooks.${name} must be an array of functions`);
      }
    }
    const merged = more === undefined || more.length === 0 ? base[name] : [...base[name], ...more];
    out[name] = merged;
    any ||= merged.length > 0;
  }
  out.any = any;
  return Object.freeze(out) as unknown as ResolvedHooks;
}

/**
 * A hook threw: the call fails with this, the hook's error as the cause. An error of ours
 * is quoted without the request it names (the call's own, rethrown, or another call's,
 * which its `cause` keeps), so that the call's error names one request, once.
 */
export function hookFailed(name: string, cause: unknown): InvalidRequestError {
  const message = isSentinelError(cause)
    ? cause.detail
    : cause instanceof Error
      ? cause.message
      : String(cause);
  return new InvalidRequestError(`hooks.${name} threw: ${message}`, { cause });
}

/**
 * Runs hooks in order; the first that throws ends the call. Synchronous while the hooks
 * are (a hook that returns a promise is awaited, and the rest run after it), so sync
 * hooks cost no turn of the event loop.
 */
export function runHooks<A>(
  name: string,
  hooks: ReadonlyArray<(arg: A) => unknown>,
  arg: A,
  from = 0,
): void | Promise<void> {
  for (let i = from; i < hooks.length; i++) {
    let result: unknown;
    try {
      result = hooks[i]!(arg);
    } catch (cause) {
      throw hookFailed(name, cause);
    }
    if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
      return Promise.resolve(result).then(
        () => runHooks(name, hooks, arg, i + 1),
        (cause: unknown) => {
          throw hookFailed(name, cause);
        },
      );
    }
  }
}

/**
 * The WHATWG `Headers` a hook is handed, which notes whether it was changed, so that an
 * attempt whose hooks only read the headers goes out with the list it had.
 */
export class HookHeaders extends Headers {
  /** Set by `set`, `append` or `delete`. */
  changed = false;

  /** A copy of a prepared request's header list, unchanged as far as `changed` goes. */
  static of(list: readonly string[]): HookHeaders {
    const headers = new HookHeaders();
    // The unwrapped append: filling the copy is no change, and skips the wrapper's cost.
    for (let i = 0; i < list.length; i += 2) appendHeader.call(headers, list[i]!, list[i + 1]!);
    return headers;
  }
}

const appendHeader = Headers.prototype.append;

// The DOM typings declare these methods as fields, so they are wrapped on the prototype
// rather than overridden in the class body.
for (const name of ['set', 'append', 'delete'] as const) {
  const original = Headers.prototype[name] as (this: Headers, ...args: unknown[]) => void;
  Object.defineProperty(HookHeaders.prototype, name, {
    value(this: HookHeaders, ...args: unknown[]): void {
      original.apply(this, args);
      this.changed = true;
    },
    writable: true,
    configurable: true,
  });
}

/** `beforeError`: each hook gets the error the previous one returned. */
export async function runBeforeError(
  hooks: ResolvedHooks['beforeError'],
  error: SentinelError,
): Promise<SentinelError> {
  let current = error;
  for (const hook of hooks) {
    let next: unknown;
    try {
      next = await hook(current);
    } catch (cause) {
      return hookFailed('beforeError', cause);
    }
    if (!isSentinelError(next)) {
      return new InvalidRequestError('hooks.beforeError must return a SentinelError', {
        cause: next,
      });
    }
    current = next;
  }
  return current;
}
