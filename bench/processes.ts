/**
 * The processes of a bench run: the bench server and the client runners, each forked
 * with the tsx loader and an IPC channel. Every process is tracked and killed when the
 * run ends, fails or is interrupted (SIGINT, SIGTERM, SIGHUP); the children also exit
 * on their own when the IPC channel to their parent goes away.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RunnerMessage, RunnerResult } from './protocol.js';
import type { ServerCommand, ServerStats } from './server.js';

const RUNNER = fileURLToPath(new URL('./client-runner.ts', import.meta.url));
const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url));

// ---- process bookkeeping: nothing outlives the run ----

const children = new Set<ChildProcess>();

function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

export function killAll(): void {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
}

/** Installs the handlers that end every child with the run. Call once. */
export function killChildrenOnExit(): void {
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\n${signal}: stopping the server and every client\n`);
      killAll();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

export function progress(text: string): void {
  process.stderr.write(`${text}\n`);
}

// ---- the server process ----

export class ServerProcess {
  readonly port: number;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (message: Record<string, unknown>) => void>();
  #next = 1;

  private constructor(child: ChildProcess, port: number) {
    this.#child = child;
    this.port = port;
    child.on('message', (message: Record<string, unknown>) => {
      const id = message.id as number;
      const done = this.#pending.get(id);
      this.#pending.delete(id);
      done?.(message);
    });
  }

  static start(): Promise<ServerProcess> {
    const child = fork(SERVER, [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    track(child);
    return new Promise((resolve, reject) => {
      child.once('message', (message: { ready?: boolean; port?: number }) => {
        if (message.ready === true) resolve(new ServerProcess(child, message.port!));
        else reject(new Error('the bench server did not start'));
      });
      child.once('exit', (code) => reject(new Error(`the bench server exited with ${code}`)));
    });
  }

  call<T>(
    command: ServerCommand extends infer C ? (C extends unknown ? Omit<C, 'id'> : never) : never,
  ): Promise<T> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, (message) => {
        if (typeof message.error === 'string') reject(new Error(message.error));
        else resolve(message as T);
      });
      this.#child.send({ ...command, id });
    });
  }

  async stats(): Promise<ServerStats> {
    return (await this.call<{ stats: ServerStats }>({ cmd: 'stats' })).stats;
  }

  async reset(): Promise<void> {
    await this.call({ cmd: 'reset' });
  }

  stop(): void {
    this.#child.kill('SIGTERM');
  }
}

// ---- client processes ----

export interface ChildOptions {
  gc?: boolean;
  /** More Node options for the child, e.g. `--cpu-prof`. */
  nodeOptions?: string[];
  timeoutMs: number;
  /** Runs when the result arrives, while the child still holds its connections. */
  onResult?: (result: RunnerResult, child: ChildProcess) => Promise<void>;
}

export function runChild(args: string[], options: ChildOptions): Promise<RunnerResult> {
  return new Promise((resolve, reject) => {
    const child = fork(RUNNER, args, {
      execArgv: [
        '--import',
        'tsx',
        ...(options.gc ? ['--expose-gc'] : []),
        ...(options.nodeOptions ?? []),
      ],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    track(child);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    let result: RunnerResult | undefined;
    let error: string | undefined;
    const timer = setTimeout(() => {
      error = `timed out after ${options.timeoutMs / 1000} s`;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.on('message', (message: RunnerMessage) => {
      if (message.type === 'error') {
        error = message.error.split('\n').slice(0, 3).join(' | ');
        return;
      }
      result = message.result;
      if (options.onResult === undefined) return;
      options.onResult(result, child).then(
        () => child.send({ type: 'release' }),
        (err: unknown) => {
          error = String(err);
          child.kill('SIGKILL');
        },
      );
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (result !== undefined && error === undefined) resolve(result);
      else reject(new Error(error ?? `exited with code ${code}: ${stderr.trim().slice(-500)}`));
    });
  });
}
