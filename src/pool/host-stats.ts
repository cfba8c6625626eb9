/**
 * Per-host statistics: counters, a fixed-size latency histogram and a passive health
 * score over a sliding window. Memory per host is fixed; nothing grows with traffic.
 */
import type { Clock } from '../core/clock.js';
import { LatencyHistogram } from '../core/histogram.js';
import { SlidingWindowCounters } from '../core/sliding-window.js';

/** Health of a host as the pool sees it. */
export type HostHealthState = 'healthy' | 'degraded' | 'unhealthy';

/** Statistics of one host (origin), as in `pool.stats().hosts['host:port']`. */
export interface HostStats {
  connections: {
    /** Checked out by a caller. */
    active: number;
    /** Open and waiting for reuse. */
    idle: number;
    /** Callers waiting in the queue for a connection. */
    pending: number;
    /** Sockets opened since the pool started. */
    created: number;
    /** Sockets closed since the pool started. */
    closed: number;
  };
  requests: {
    total: number;
    /** Got a response with status < 500. */
    succeeded: number;
    /** Failed with an error or a 5xx status. */
    failed: number;
    /**
     * Ended by our side without a verdict on the host: aborted by the caller, cut off at
     * `maxBodySize`, or ended by `close()`. Counted in `total`, not in the health score.
     */
    cancelled: number;
    inFlight: number;
  };
  /** Time from dispatch to the end of the response (to headers for streams), in ms. */
  latency: { p50: number; p90: number; p99: number; mean: number };
  /** Body bytes (request bodies of known length; response bodies as received on the wire). */
  bytes: { sent: number; received: number };
  health: {
    /** Share of successful requests over the last 30 s (1 with no traffic). */
    score: number;
    state: HostHealthState;
    /** Epoch ms until which the host is ejected from its upstream; null when not ejected. */
    ejectedUntil: number | null;
  };
}

const HEALTH_WINDOW_MS = 30_000;
const REQUESTS = 0;
const FAILURES = 1;

/** The counters behind one host's {@link HostStats}. */
export class HostStatsRecorder {
  created = 0;
  closed = 0;
  total = 0;
  succeeded = 0;
  failed = 0;
  cancelled = 0;
  inFlight = 0;
  bytesSent = 0;
  bytesReceived = 0;
  readonly latency = new LatencyHistogram();
  readonly #window: SlidingWindowCounters;

  constructor(clock: Clock) {
    this.#window = new SlidingWindowCounters(clock, HEALTH_WINDOW_MS, 1000, 2);
  }

  requestStarted(bytesSent: number): void {
    this.total++;
    this.inFlight++;
    this.bytesSent += bytesSent;
  }

  /**
   * @param success - the host served it (true), failed it (false), or neither (undefined)
   * @param now - the clock reading the request ended at
   */
  requestEnded(
    success: boolean | undefined,
    latencyMs: number,
    bytesReceived: number,
    now: number,
  ): void {
    this.inFlight--;
    this.bytesReceived += bytesReceived;
    if (success === undefined) {
      this.cancelled++;
      return;
    }
    this.latency.record(latencyMs);
    this.#window.add(REQUESTS, 1, now);
    if (success) {
      this.succeeded++;
    } else {
      this.failed++;
      this.#window.add(FAILURES, 1, now);
    }
  }

  get score(): number {
    const requests = this.#window.sum(REQUESTS);
    if (requests === 0) return 1;
    return 1 - this.#window.sum(FAILURES) / requests;
  }

  snapshot(active: number, idle: number, pending: number): HostStats {
    const latency = this.latency.summary();
    const score = this.score;
    return {
      connections: { active, idle, pending, created: this.created, closed: this.closed },
      requests: {
        total: this.total,
        succeeded: this.succeeded,
        failed: this.failed,
        cancelled: this.cancelled,
        inFlight: this.inFlight,
      },
      latency: { p50: latency.p50, p90: latency.p90, p99: latency.p99, mean: latency.mean },
      bytes: { sent: this.bytesSent, received: this.bytesReceived },
      health: {
        score,
        state: score >= 0.9 ? 'healthy' : score >= 0.5 ? 'degraded' : 'unhealthy',
        ejectedUntil: null,
      },
    };
  }
}
