/**
 * The body of a streamed response: an async iterable of chunks with backpressure, and no
 * Node `Readable` in between. The transport pauses when more than `highWaterMark` bytes
 * wait unread and resumes as the consumer catches up. Breaking out of the loop (or
 * `cancel()`) aborts the transfer, which discards the connection.
 */
import { AbortError, InvalidRequestError } from '../core/errors.js';

/** The transport side of a {@link BodyStream}. */
export interface BodySource {
  /** Resume the transport after a pause. */
  resume(): void;
  /** Stop the transfer; called when the consumer gives up early. */
  cancel(reason: Error): void;
}

const HIGH_WATER_MARK = 256 * 1024;

export class BodyStream implements AsyncIterable<Uint8Array> {
  #queue: Buffer[] = [];
  #head = 0;
  #queuedBytes = 0;
  #done = false;
  #error: Error | undefined;
  #paused = false;
  #waiter: (() => void) | undefined;
  #source: BodySource;
  #iterating = false;

  constructor(source: BodySource) {
    this.#source = source;
  }

  /** True once the body has ended, failed or been cancelled. */
  get settled(): boolean {
    return this.#done || this.#error !== undefined;
  }

  /** Transport side: a chunk arrived. Returns false to ask the transport to pause. */
  push(chunk: Buffer): boolean {
    if (this.settled) return true;
    this.#queue.push(chunk);
    this.#queuedBytes += chunk.length;
    this.#wake();
    if (this.#queuedBytes >= HIGH_WATER_MARK) {
      this.#paused = true;
      return false;
    }
    return true;
  }

  /** Transport side: the body ended. */
  end(): void {
    if (this.settled) return;
    this.#done = true;
    this.#wake();
  }

  /** Transport side: the body failed. */
  fail(error: Error): void {
    if (this.settled) return;
    this.#error = error;
    this.#wake();
  }

  /** Consumer side: stop reading and abort the transfer. */
  cancel(reason: Error = new AbortError('body cancelled')): void {
    if (this.settled) return;
    this.#error = reason;
    this.#queue = [];
    this.#head = 0;
    this.#queuedBytes = 0;
    this.#source.cancel(reason);
    this.#wake();
  }

  #wake(): void {
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter();
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    if (this.#iterating) throw new InvalidRequestError('the response body can be read only once');
    this.#iterating = true;
    let completed = false;
    try {
      for (;;) {
        if (this.#head < this.#queue.length) {
          const chunk = this.#queue[this.#head]!;
          this.#queue[this.#head++] = undefined as unknown as Buffer;
          if (this.#head === this.#queue.length) {
            this.#queue = [];
            this.#head = 0;
          }
          this.#queuedBytes -= chunk.length;
          if (this.#paused && this.#queuedBytes < HIGH_WATER_MARK / 2) {
            this.#paused = false;
            this.#source.resume();
          }
          yield chunk;
          continue;
        }
        if (this.#error !== undefined) throw this.#error;
        if (this.#done) {
          completed = true;
          return;
        }
        await new Promise<void>((resolve) => {
          this.#waiter = resolve;
        });
      }
    } finally {
      if (!completed && !this.settled) this.cancel(new AbortError('body iteration stopped early'));
    }
  }
}
