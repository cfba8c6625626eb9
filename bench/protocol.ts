/** What a client runner reports to `run.ts`, one shape per mode. */

export interface ThroughputResult {
  mode: 'throughput';
  adapter: string;
  concurrency: number;
  /** Requests completed inside the measured window. */
  requests: number;
  errors: number;
  firstError: string | undefined;
  seconds: number;
  rps: number;
  /** Body bytes per second. */
  bytesPerSecond: number;
  /** Latency percentiles, µs. */
  p50: number;
  p90: number;
  p99: number;
  /** User + system CPU of the client process per request, µs. */
  cpuPerRequest: number;
  /** The kernel's share of it (on loopback, sending does much of the receiver's work). */
  cpuSystemPerRequest: number;
  /**
   * Minor page faults per request. Fresh memory for a body (a 64 KiB Buffer per
   * response, say) faults in page by page whenever the allocator has given the previous
   * one back to the kernel: 16 faults per 64 KiB, tens of µs.
   */
  faultsPerRequest: number;
  /** The measured window on the monotonic clock (`process.hrtime`), µs: for profiles. */
  window: [number, number];
  /** With `--count-copies`: bytes copied per body byte, by who copied them. */
  copies: { parser: number; client: number } | undefined;
}

export interface StreamResult {
  mode: 'stream';
  adapter: string;
  bytes: number;
  seconds: number;
  /** MiB/s. */
  throughput: number;
  /** CPU ms per GiB read. */
  cpuPerGiB: number;
  /** Peak RSS during the download minus RSS before it, bytes. */
  rssGrowth: number;
  rssBefore: number;
}

export interface MemoryCheckpoint {
  requests: number;
  heapUsed: number;
  rss: number;
  external: number;
}

export interface MemoryResult {
  mode: 'memory';
  adapter: string;
  concurrency: number;
  requests: number;
  errors: number;
  seconds: number;
  checkpoints: MemoryCheckpoint[];
  /** Heap after forced GC at the end minus at the first checkpoint, bytes. */
  heapGrowth: number;
}

export interface IdleResult {
  mode: 'idle';
  adapter: string;
  hosts: number;
  perHost: number;
  /** Idle connections the client reports holding (when it can tell). */
  idleReported: number | undefined;
  seconds: number;
  heapPerConnection: number;
  externalPerConnection: number;
  rssPerConnection: number;
}

export type RunnerResult = ThroughputResult | StreamResult | MemoryResult | IdleResult;

export type RunnerMessage =
  | { type: 'result'; result: RunnerResult }
  | { type: 'error'; error: string };

/**
 * Sent by `run.ts` to an idle-mode runner once it has counted the open connections at
 * the server: the runner may close them and exit.
 */
export interface ReleaseMessage {
  type: 'release';
}
