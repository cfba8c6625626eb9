/**
 * Smooth weighted round-robin (nginx `ngx_http_upstream_get_peer`): every pick adds each
 * usable backend's weight to its running score, takes the highest and subtracts the total
 * from it. Over a cycle of sum(weights) picks each backend gets exactly its weight, and
 * picks of a heavy backend are spread out rather than sent in a burst (5:1:1 gives
 * a a b a c a a, not a a a a a b c).
 */
import type { Backend } from '../backend.js';
import type { Balancer } from './balancer.js';

/** Smooth weighted round-robin. Deterministic: it draws no random numbers. */
export class RoundRobinBalancer implements Balancer {
  readonly strategy = 'round-robin';
  /** Running scores; weak so that a backend dropped by its upstream is not kept alive. */
  readonly #current = new WeakMap<Backend, number>();

  pick(backends: readonly Backend[], usable: (backend: Backend) => boolean): Backend | undefined {
    let best: Backend | undefined;
    let bestScore = Number.NEGATIVE_INFINITY;
    let total = 0;
    for (const backend of backends) {
      // An unusable backend keeps its score, as in nginx: it neither gains nor loses
      // ground while it sits out.
      if (!usable(backend)) continue;
      const score = (this.#current.get(backend) ?? 0) + backend.weight;
      this.#current.set(backend, score);
      total += backend.weight;
      if (score > bestScore) {
        bestScore = score;
        best = backend;
      }
    }
    if (best !== undefined) this.#current.set(best, bestScore - total);
    return best;
  }
}
