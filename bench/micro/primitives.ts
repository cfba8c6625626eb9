/**
 * The cost of the primitives on the client's hot path, in ns per operation, in one
 * process: timers, clock readings, URL parsing, map lookups, object shapes. A guide to
 * what is worth removing per request, not a measure of the client (`npm run bench` is).
 *
 *   node --import tsx bench/micro/primitives.ts [--filter name]
 */
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { filter: { type: 'string' } } });

// Results go here so the optimiser cannot drop the work.
export let sink: unknown;

function measure(name: string, fn: (i: number) => unknown, n = 2_000_000): void {
  if (values.filter !== undefined && !name.includes(values.filter)) return;
  for (let i = 0; i < n / 10; i++) sink = fn(i);
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink = fn(i);
    runs.push(Number(process.hrtime.bigint() - t0) / n);
  }
  runs.sort((a, b) => a - b);
  console.log(`${name.padEnd(58)} ${runs[2]!.toFixed(1).padStart(8)} ns`);
}

const url = 'http://127.0.0.1:38271/bytes/64';
const parsed = new URL(url);
const cache = new Map([[url, Object.freeze({ href: url, path: '/bytes/64' })]]);
const weak = new WeakMap<object, number>();
const keys = Array.from({ length: 64 }, () => ({}));
for (const k of keys) weak.set(k, 0);

measure('performance.now()', () => performance.now());
measure('Date.now()', () => Date.now());
measure('setTimeout + unref + clearTimeout (30 s)', () => {
  const t = setTimeout(() => {}, 30_000);
  t.unref();
  clearTimeout(t);
  return t;
});
// Steady state: 64 timers in flight, as at 64 concurrent requests.
const ring: ReturnType<typeof setTimeout>[] = [];
for (let i = 0; i < 64; i++) ring.push(setTimeout(() => {}, 30_000));
measure('setTimeout + unref + clearTimeout, 64 in flight', (i) => {
  const slot = i & 63;
  clearTimeout(ring[slot]);
  const t = setTimeout(() => {}, 30_000);
  t.unref();
  ring[slot] = t;
  return t;
});
for (const t of ring) clearTimeout(t);
measure('new URL(string)', () => new URL(url));
measure('new URL(relative, base)', () => new URL('/bytes/64', parsed));
measure('url.origin', () => parsed.origin);
measure('url.pathname + url.search', () => parsed.pathname + parsed.search);
measure('url.href', () => parsed.href);
measure('Map.get(url string)', () => cache.get(url));
measure('WeakMap.get', (i) => weak.get(keys[i & 63]!));
measure('WeakMap.set', (i) => weak.set(keys[i & 63]!, i));
measure('new Promise + resolve + then', () => {
  let resolve!: (v: number) => void;
  const p = new Promise<number>((r) => {
    resolve = r;
  });
  resolve(1);
  return p;
});
measure('object literal with a getter', (i) => {
  let cached: number | undefined;
  return {
    status: i,
    get headers() {
      cached ??= i;
      return cached;
    },
    text: () => i,
  };
});
class WithProto {
  status: number;
  #h: number | undefined;
  constructor(s: number) {
    this.status = s;
  }
  get headers(): number {
    this.#h ??= this.status;
    return this.#h;
  }
  text(): number {
    return this.status;
  }
}
measure('class instance with prototype getter', (i) => new WithProto(i));
const name = Buffer.from('Content-Length');
measure(
  'buffer.toString(latin1).toLowerCase() === (14 B)',
  () => name.toString('latin1').toLowerCase() === 'content-length',
);
measure('{...spread} of a 3-field object', () => ({ ...{ a: 1, b: 2, c: 3 }, d: 4 }));
