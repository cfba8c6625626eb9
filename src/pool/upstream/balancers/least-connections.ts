/**
 * Weighted least-connections: the usable backend with the fewest in-flight requests per
 * unit of weight, counting the request about to be sent — `(inFlight + 1) / weight` — so
 * that among idle backends the heavier one wins. Ties are broken at random so that
 * concurrent callers seeing the same counts do not all pile onto the first backend.
 */
import type { Backend } from '../backend.js';
import type { Balancer } from './balancer.js';

/** Weighted least-connections with random tie-breaking. */
export class LeastConnectionsBalancer implements Balancer {
  readonly strategy = 'least-connections';
  readonly #random: () => number;

  constructor(random: () => number) {
    this.#random = random;
  }

  pick(backends: readonly Backend[], usable: (backend: Backend) => boolean): Backend | undefined {
    let best: Backend | undefined;
    let ties = 0;
    for (const backend of backends) {
      if (!usable(backend)) continue;
      if (best === undefined) {
        best = backend;
        ties = 1;
        continue;
      }
      // Cross-multiplied rather than divided, so equal ratios compare equal exactly.
      const mine = (backend.inFlight + 1) * best.weight;
      const theirs = (best.inFlight + 1) * backend.weight;
      if (mine < theirs) {
        best = backend;
        ties = 1;
      } else if (mine === theirs) {
        // Reservoir sampling: each of k tied backends ends up chosen with probability 1/k,
        // in one pass and without collecting them.
        ties++;
        if (this.#random() * ties < 1) best = backend;
      }
    }
    return best;
  }
}
