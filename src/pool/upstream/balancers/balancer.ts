/**
 * The interface every load-balancing strategy implements, the strategy names, and the
 * factory the upstream uses.
 */
import type { Backend } from '../backend.js';
import { LeastConnectionsBalancer } from './least-connections.js';
import { P2cEwmaBalancer } from './p2c-ewma.js';
import { RoundRobinBalancer } from './round-robin.js';

/** The load-balancing strategies of an upstream. */
export const STRATEGIES = Object.freeze(['round-robin', 'least-connections', 'p2c-ewma'] as const);

/** One of {@link STRATEGIES}. */
export type Strategy = (typeof STRATEGIES)[number];

/**
 * Chooses a backend. Deterministic given the backends' state and the injected `random()`;
 * round-robin also keeps its own rotation state.
 */
export interface Balancer {
  readonly strategy: Strategy;
  /** A backend for which `usable` holds, or undefined when there is none. */
  pick(backends: readonly Backend[], usable: (backend: Backend) => boolean): Backend | undefined;
}

/** The balancer of `strategy`, drawing randomness from `random` (a float in [0, 1)). */
export function createBalancer(strategy: Strategy, random: () => number): Balancer {
  switch (strategy) {
    case 'round-robin':
      return new RoundRobinBalancer();
    case 'least-connections':
      return new LeastConnectionsBalancer(random);
    case 'p2c-ewma':
      return new P2cEwmaBalancer(random);
    default:
      return unknownStrategy(strategy);
  }
}

function unknownStrategy(strategy: never): never {
  throw new TypeError(`unknown strategy ${JSON.stringify(strategy)}`);
}

/** An index in [0, n) from a draw in [0, 1), safe against a fake that returns 1. */
export function randomIndex(random: () => number, n: number): number {
  return Math.min(n - 1, Math.floor(random() * n));
}
