/**
 * The one way to watch a response arrive from outside the pool (the client's download
 * progress), without the pool knowing what is done with it.
 */
import type { SentinelError } from '../core/errors.js';

/**
 * Watches a response arrive, chunk by chunk as it comes off the socket. Each method
 * returns the error to end the exchange with when the watcher failed, else undefined;
 * none may throw (they run inside undici's parser callbacks).
 */
export interface ResponseObserver {
  /** Headers came; `length` is the body's `content-length`, -1 when unknown or bodiless. */
  headers(status: number, length: number, rawHeaders: Buffer[]): SentinelError | undefined;
  /** A chunk of the body came. */
  data(chunk: Buffer): SentinelError | undefined;
  /** The body is complete. */
  end(): SentinelError | undefined;
}
