/**
 * Active health checks: every `intervalMs`, probe each backend through an injected
 * function (the pool sends a real request; tests pass a fake). A backend turns unhealthy
 * after `unhealthyThreshold` failed checks in a row and healthy again after
 * `healthyThreshold` passed ones, so one lost probe does not take a backend out and one
 * lucky probe does not bring a broken one back. Backends start healthy, so traffic flows
 * before the first round has finished.
 */
import { type Clock, systemClock, type TimerHandle, unrefTimer } from '../../core/clock.js';
import { InvalidRequestError } from '../../core/errors.js';
import { integer, MAX_TIMER_MS, positive } from '../../core/validate.js';
import type { ActiveHealth, Backend } from './backend.js';

/** Options of active health checks. All optional; defaults in {@link DEFAULT_HEALTH_CHECK}. */
export interface HealthCheckOptions {
  /**
   * Path requested on each backend; any status below 500 is up to the probe to judge.
   * @default '/'
   */
  path: string;
  /**
   * Time between rounds of checks. A check still out when the next round starts is not
   * doubled up.
   * @default 10000
   */
  intervalMs: number;
  /**
   * A check that has not answered by then counts as failed, and its signal is aborted.
   * @default 2000
   */
  timeoutMs: number;
  /**
   * Passed checks in a row that bring an unhealthy backend back.
   * @default 2
   */
  healthyThreshold: number;
  /**
   * Failed checks in a row that mark a healthy backend unhealthy.
   * @default 3
   */
  unhealthyThreshold: number;
}

/** The defaults that the documentation's table mirrors. */
export const DEFAULT_HEALTH_CHECK: Readonly<HealthCheckOptions> = Object.freeze({
  path: '/',
  intervalMs: 10_000,
  timeoutMs: 2_000,
  healthyThreshold: 2,
  unhealthyThreshold: 3,
});

/**
 * Checks one backend: resolves true when it is healthy. Should give up after `timeoutMs`
 * and when `signal` aborts; a rejection counts as a failed check.
 */
export type HealthProbe = (
  backend: Backend,
  path: string,
  timeoutMs: number,
  signal: AbortSignal,
) => Promise<boolean>;

/**
 * Checks `user` and fills in defaults; never mutates its input.
 * @throws {InvalidRequestError} naming the first invalid option, prefixed with `name`
 */
export function normalizeHealthCheck(
  user: Partial<HealthCheckOptions> = {},
  name = 'healthCheck',
): Readonly<HealthCheckOptions> {
  if (typeof user !== 'object' || user === null || Array.isArray(user)) {
    throw new InvalidRequestError(`${name} must be an object or false`);
  }
  for (const key of Object.keys(user)) {
    if (!(key in DEFAULT_HEALTH_CHECK)) {
      throw new InvalidRequestError(`unknown option ${name}.${key}`);
    }
  }
  const d = DEFAULT_HEALTH_CHECK;
  const path = user.path ?? d.path;
  // A path only: an absolute URL or a space would send the probe elsewhere or break the
  // request line.
  if (typeof path !== 'string' || !path.startsWith('/') || /[\s#]/.test(path)) {
    throw new InvalidRequestError(
      `${name}.path must be a path starting with '/', got ${JSON.stringify(String(path))}`,
    );
  }
  const ms = (key: 'intervalMs' | 'timeoutMs'): number => {
    const value = positive(`${name}.${key}`, user[key] ?? d[key]);
    if (value > MAX_TIMER_MS) {
      throw new InvalidRequestError(`${name}.${key} must be at most ${MAX_TIMER_MS} ms`);
    }
    return value;
  };
  return Object.freeze({
    path,
    intervalMs: ms('intervalMs'),
    timeoutMs: ms('timeoutMs'),
    healthyThreshold: integer(
      `${name}.healthyThreshold`,
      user.healthyThreshold ?? d.healthyThreshold,
      1,
    ),
    unhealthyThreshold: integer(
      `${name}.unhealthyThreshold`,
      user.unhealthyThreshold ?? d.unhealthyThreshold,
      1,
    ),
  });
}

/**
 * The health after one check: a result that agrees with the current state clears the
 * streak; one that disagrees extends it, and the state flips when the streak reaches the
 * threshold for that direction.
 */
export function nextHealth(
  state: ActiveHealth,
  passed: boolean,
  thresholds: Pick<HealthCheckOptions, 'healthyThreshold' | 'unhealthyThreshold'>,
): ActiveHealth {
  if (passed === state.healthy) {
    return state.streak === 0 ? state : { healthy: state.healthy, streak: 0 };
  }
  const streak = state.streak + 1;
  const needed = passed ? thresholds.healthyThreshold : thresholds.unhealthyThreshold;
  return streak >= needed ? { healthy: passed, streak: 0 } : { healthy: state.healthy, streak };
}

/** One check out: settled by the probe or by the timeout, whichever comes first. */
interface Outstanding {
  readonly token: number;
  readonly timer: TimerHandle;
  readonly controller: AbortController;
}

/**
 * Runs rounds of checks over a fixed set of backends and updates their `health`.
 * One timer between rounds plus one per outstanding check, all unref'd; none after
 * {@link HealthChecker.stop}.
 *
 * @example
 * ```ts
 * const checker = new HealthChecker(backends, normalizeHealthCheck({ path: '/healthz' }),
 *   async (backend, path, timeoutMs, signal) => (await get(backend, path, signal)).status < 500);
 * checker.start();
 * // ...
 * checker.stop();
 * ```
 */
export class HealthChecker {
  readonly options: Readonly<HealthCheckOptions>;
  readonly #backends: readonly Backend[];
  readonly #probe: HealthProbe;
  readonly #clock: Clock;
  /** By backend index; at most one check per backend is ever out. */
  readonly #outstanding: (Outstanding | undefined)[];
  #timer: TimerHandle | undefined;
  #running = false;
  #seq = 0;

  constructor(
    backends: readonly Backend[],
    options: Readonly<HealthCheckOptions>,
    probe: HealthProbe,
    clock: Clock = systemClock,
  ) {
    this.#backends = backends;
    this.options = options;
    this.#probe = probe;
    this.#clock = clock;
    this.#outstanding = new Array<Outstanding | undefined>(backends.length).fill(undefined);
  }

  /** True between {@link start} and {@link stop}. */
  get running(): boolean {
    return this.#running;
  }

  /** Runs a round now and then every `intervalMs`. Calling it again while running does nothing. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#onTimer();
  }

  /** Stops the rounds, aborts outstanding checks and ignores their results; clears every timer. */
  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    for (let i = 0; i < this.#outstanding.length; i++) {
      const check = this.#outstanding[i];
      if (check === undefined) continue;
      this.#outstanding[i] = undefined;
      this.#clock.clearTimeout(check.timer);
      check.controller.abort();
    }
  }

  #onTimer = (): void => {
    this.#timer = undefined;
    // A probe may call stop() synchronously: check `running` before each step.
    for (let i = 0; i < this.#backends.length && this.#running; i++) {
      if (this.#outstanding[i] === undefined) this.#check(i);
    }
    if (this.#running) {
      this.#timer = unrefTimer(this.#clock, this.#onTimer, this.options.intervalMs);
    }
  };

  #check(index: number): void {
    const backend = this.#backends[index]!;
    const token = ++this.#seq;
    const { path, timeoutMs } = this.options;
    const controller = new AbortController();
    const timer = unrefTimer(this.#clock, () => this.#settle(index, token, false), timeoutMs);
    this.#outstanding[index] = { token, timer, controller };
    let result: Promise<boolean>;
    try {
      result = Promise.resolve(this.#probe(backend, path, timeoutMs, controller.signal));
    } catch {
      result = Promise.resolve(false);
    }
    result.then(
      (passed) => this.#settle(index, token, passed === true),
      () => this.#settle(index, token, false),
    );
  }

  #settle(index: number, token: number, passed: boolean): void {
    const check = this.#outstanding[index];
    // A result after the timeout, after stop(), or of an older check: already decided.
    if (check === undefined || check.token !== token) return;
    this.#outstanding[index] = undefined;
    this.#clock.clearTimeout(check.timer);
    if (!passed) check.controller.abort();
    const backend = this.#backends[index]!;
    backend.health = nextHealth(backend.health, passed, this.options);
  }
}
