/**
 * Power of two choices over peak-EWMA load (Finagle's `P2CPeakEwma`): draw two distinct
 * backends at random and take the one with the lower {@link Backend.load}. O(1) per pick,
 * and it avoids the herd behaviour of always choosing the global minimum, where every
 * concurrent caller rushes to the same backend.
 */
import type { Backend } from '../backend.js';
import { type Balancer, randomIndex } from './balancer.js';

/** Draws of a usable pair before falling back to a scan (Finagle's `maxEffort`). */
export const MAX_EFFORT = 5;

/** Power of two choices over peak-EWMA load. */
export class P2cEwmaBalancer implements Balancer {
  readonly strategy = 'p2c-ewma';
  readonly #random: () => number;

  constructor(random: () => number) {
    this.#random = random;
  }

  pick(backends: readonly Backend[], usable: (backend: Backend) => boolean): Backend | undefined {
    const n = backends.length;
    if (n === 0) return undefined;
    if (n === 1) {
      const only = backends[0]!;
      return usable(only) ? only : undefined;
    }
    for (let effort = 0; effort < MAX_EFFORT; effort++) {
      const i = randomIndex(this.#random, n);
      // The second draw skips i, so the pair is always two distinct backends.
      let j = randomIndex(this.#random, n - 1);
      if (j >= i) j++;
      const a = backends[i]!;
      const b = backends[j]!;
      const aOk = usable(a);
      const bOk = usable(b);
      if (aOk && bOk) return b.load() < a.load() ? b : a;
      if (aOk) return a;
      if (bOk) return b;
    }
    // Most backends are unusable: draws keep missing, so scan for the least loaded of
    // those left rather than give up while one exists.
    let best: Backend | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (const backend of backends) {
      if (!usable(backend)) continue;
      const load = backend.load();
      if (best === undefined || load < bestLoad) {
        best = backend;
        bestLoad = load;
      }
    }
    return best;
  }
}
