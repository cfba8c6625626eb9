/**
 * What a route of the test server answers: plain replies, handlers, and the faults a
 * client has to survive (hangs, resets, truncated bodies), alone or as a sequence.
 */

/** A request as the test server received it, body read whole. */
export interface RecordedRequest {
  /** `GET`, `POST`, … as sent. */
  readonly method: string;
  /** The request target as sent: path and query, e.g. `/users?page=2`. */
  readonly url: string;
  /** The path without the query, as routes match it. */
  readonly path: string;
  /** Header names in lower case; repeated headers as an array (`set-cookie`) or joined. */
  readonly headers: Readonly<Record<string, string | string[]>>;
  /** The request body; empty when there was none. */
  readonly body: Buffer;
  /** When the request's head arrived, in milliseconds since the epoch. */
  readonly time: number;
  /** The request's position in the server's log, from 0. */
  readonly index: number;
}

/** A normal answer. Every field is optional: `{}` is `200` with an empty body. */
export interface ReplyInit {
  /** @default 200 */
  status?: number;
  headers?: Record<string, string | string[]>;
  /** The body as is. */
  body?: string | Uint8Array;
  /** A JSON body; sets `content-type: application/json` unless `headers` has one. */
  json?: unknown;
  /** Sets `Retry-After`: seconds, or an HTTP date when given a `Date`. */
  retryAfter?: number | Date;
  /** Waits this long before the status line is sent. */
  delayMs?: number;
}

/** Never answers: the socket stays open until the client gives up or the server closes. */
export interface HangFault {
  readonly fault: 'hang';
}

/** Resets the connection (TCP RST) once the request is read, before any response byte. */
export interface ResetFault {
  readonly fault: 'reset';
}

/**
 * Sends the head and the first `after` bytes of `body`, declared whole by
 * `content-length`, then cuts the connection: with a reset (`'reset-mid-body'`) or a
 * clean close (`'truncate'`), which leaves the client a body shorter than announced.
 */
export interface PartialBodyFault extends Omit<ReplyInit, 'json' | 'body'> {
  readonly fault: 'reset-mid-body' | 'truncate';
  /** The whole body the headers announce. */
  body: string | Uint8Array;
  /** Bytes of it sent before the cut. @default half of the body */
  after?: number;
}

/** A way for a route not to answer normally. Build one with {@link fault}. */
export type Fault = HangFault | ResetFault | PartialBodyFault;

/** Computes the answer to a request. */
export type Handler = (request: RecordedRequest) => Reply | Promise<Reply>;

/** What a route answers: a status, a text body (status 200), a {@link ReplyInit} or a {@link Fault}. */
export type Reply = number | string | ReplyInit | Fault;

/** One answer of a route: anything a {@link Reply} can be, or a {@link Handler}. */
export type Step = Reply | Handler;

/**
 * The faults as values, for {@link Route.sequence} and handlers.
 *
 * @example
 * ```ts
 * import { fault, startTestServer } from 'http-sentinel/testing';
 * const server = await startTestServer();
 * server.route('GET', '/items').sequence([fault.reset(), fault.hang(), 200]);
 * await server.close();
 * ```
 */
export const fault = {
  /** Never answer. */
  hang: (): HangFault => ({ fault: 'hang' }),
  /** Reset the connection before any response byte. */
  reset: (): ResetFault => ({ fault: 'reset' }),
  /** Send the head and part of the body, then reset the connection. */
  resetMidBody: (reply: Omit<PartialBodyFault, 'fault'>): PartialBodyFault => ({
    ...reply,
    fault: 'reset-mid-body',
  }),
  /** Send the head and part of the body, then close the connection cleanly. */
  truncate: (reply: Omit<PartialBodyFault, 'fault'>): PartialBodyFault => ({
    ...reply,
    fault: 'truncate',
  }),
} as const;

/** What only the test server may pass to the constructor. */
const BY_SERVER = Symbol('made by the test server');

/** Set by the class's static block: the test server's way in. */
let makeRoute: (method: string, path: string) => Route;
let takeStep: (route: Route) => { step: Step; delayMs: number };

/**
 * The answers of one method and path. Made by `server.route()`; every method returns
 * the route, so a test can say what it wants in one line.
 */
export class Route {
  readonly method: string;
  readonly path: string;
  #steps: Step[] = [200];
  #next = 0;
  #delayMs = 0;
  #hits = 0;

  static {
    makeRoute = (method, path) => new Route(BY_SERVER, method, path);
    takeStep = (route) => route.#take();
  }

  /** Routes are made by the test server: `server.route()`. */
  private constructor(key: typeof BY_SERVER, method: string, path: string) {
    if (key !== BY_SERVER)
      throw new TypeError('routes are made by the test server: server.route()');
    this.method = method;
    this.path = path;
  }

  /** Requests this route has received. */
  get hits(): number {
    return this.#hits;
  }

  /** Answers every request with `step`. */
  reply(step: Step): this {
    return this.sequence([step]);
  }

  /**
   * Answers the requests in turn with `steps`; once they run out the last one repeats,
   * so `[503, 503, 200]` fails twice and then keeps succeeding.
   * @throws TypeError when `steps` is empty
   */
  sequence(steps: readonly Step[]): this {
    if (steps.length === 0) throw new TypeError('route.sequence() needs at least one step');
    this.#steps = [...steps];
    this.#next = 0;
    return this;
  }

  /** Waits `ms` before every answer of this route (a {@link ReplyInit.delayMs} adds to it). */
  delay(ms: number): this {
    if (!Number.isFinite(ms) || ms < 0) throw new TypeError(`route.delay(): bad delay ${ms}`);
    this.#delayMs = ms;
    return this;
  }

  /** Never answers (see {@link HangFault}). */
  hang(): this {
    return this.reply(fault.hang());
  }

  /** Resets the connection before any response byte (see {@link ResetFault}). */
  reset(): this {
    return this.reply(fault.reset());
  }

  /** Sends the head and part of `reply.body`, then resets the connection. */
  resetMidBody(reply: Omit<PartialBodyFault, 'fault'>): this {
    return this.reply(fault.resetMidBody(reply));
  }

  /** Sends the head and part of `reply.body`, then closes the connection cleanly. */
  truncate(reply: Omit<PartialBodyFault, 'fault'>): this {
    return this.reply(fault.truncate(reply));
  }

  /** The step for the next request, and the route's own delay. */
  #take(): { step: Step; delayMs: number } {
    this.#hits++;
    const step = this.#steps[Math.min(this.#next, this.#steps.length - 1)]!;
    this.#next++;
    return { step, delayMs: this.#delayMs };
  }
}

/** @internal A route of the test server. */
export function createRoute(method: string, path: string): Route {
  return makeRoute(method, path);
}

/** @internal The step for the next request to `route`, and the route's own delay. */
export function nextStep(route: Route): { step: Step; delayMs: number } {
  return takeStep(route);
}
