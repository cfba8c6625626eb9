/**
 * A small typed wrapper over a JSON API: `json<T>()` for typed results, and the API's
 * JSON error bodies (`{ error: { code, message } }`) turned into one domain error, from
 * `throwHttpErrors: true` and its `HttpStatusError`.
 *
 * `tsx examples/json-api.ts` runs it against its own embedded server.
 */

import { pathToFileURL } from 'node:url';
import { HttpClient, HttpStatusError, isSentinelError } from '../src/index.js';
import { API_TOKEN, type ApiErrorBody, type User, withExampleServer } from './example-server.js';

/** What callers of {@link UsersApi} catch: the API's own error, with its status and code. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, string> | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Reads the API's error body from a failed response; copes with bodies that are not JSON. */
function toApiError(err: HttpStatusError): ApiError {
  try {
    const { error } = err.response.json<ApiErrorBody>();
    return new ApiError(err.status, error.code, error.message, error.details, { cause: err });
  } catch {
    // Not the API's JSON shape (a proxy's HTML page, say): fall through.
  }
  return new ApiError(err.status, 'http_error', err.message, undefined, { cause: err });
}

/** A typed client for the example's `/api/users`. */
export class UsersApi {
  readonly #client: HttpClient;

  constructor(client: HttpClient) {
    this.#client = client;
  }

  /** One call: JSON in (optional), JSON out, status >= 400 as an {@link ApiError}. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      const res = await this.#client.request({
        method,
        url: path,
        headers: { accept: 'application/json' },
        json: body,
        throwHttpErrors: true,
      });
      return res.json<T>();
    } catch (err) {
      // The code narrows the error to HttpStatusError, its response to an HttpResponse.
      if (isSentinelError(err) && err.code === 'SENTINEL_HTTP_STATUS') throw toApiError(err);
      throw err; // timeouts, connection errors...: not the API's answer
    }
  }

  list(): Promise<User[]> {
    return this.json<User[]>('GET', '/api/users');
  }

  get(id: number): Promise<User> {
    return this.json<User>('GET', `/api/users/${id}`);
  }

  create(user: Omit<User, 'id'>): Promise<User> {
    // POST is not retried by default; an idempotency key would make it safe to retry.
    return this.json<User>('POST', '/api/users', user);
  }
}

async function show(label: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    console.log(`  ${label.padEnd(28)} -> ${JSON.stringify(await fn())}`);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    const details = err.details === undefined ? '' : ` ${JSON.stringify(err.details)}`;
    console.log(
      `  ${label.padEnd(28)} -> ApiError ${err.status} ${err.code}: ${err.message}${details}`,
    );
  }
}

/** Runs the example against `baseUrl`, or against an embedded server when none is given. */
export async function main(options: { baseUrl?: string } = {}): Promise<void> {
  await withExampleServer(options.baseUrl, async (baseUrl) => {
    await using client = new HttpClient({
      baseUrl,
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    const users = new UsersApi(client);

    console.log('Typed calls; 4xx JSON error bodies become ApiError');
    await show('list()', async () => (await users.list()).map((u) => u.name));
    await show('get(1)', () => users.get(1));
    await show('get(99)', () => users.get(99));
    await show("create({ name: 'Linus' })", () =>
      users.create({ name: 'Linus', email: 'linus@example.com' }),
    );
    await show("create({ name: '' })", () => users.create({ name: '', email: 'nope' }));

    // Without the token: the client's default header is overridden by name.
    await using anonymous = new HttpClient({ baseUrl });
    await show('list() without a token', () => new UsersApi(anonymous).list());

    console.log('\nThe same 404 without throwHttpErrors: check res.ok yourself');
    const res = await client.get('/api/users/99');
    const body = res.ok ? undefined : res.json<ApiErrorBody>();
    console.log(`  ${res.status} ok=${res.ok} error.code=${body?.error.code}`);

    console.log('\nHttpStatusError as thrown, before the wrapper maps it');
    try {
      await client.get('/status/409', undefined, { throwHttpErrors: true });
    } catch (err) {
      if (!(err instanceof HttpStatusError)) throw err;
      console.log(`  ${err.name} ${err.code} status=${err.status} attempts=${err.attempts}`);
      console.log(`  message: ${err.message}`);
      console.log(`  err.response.text() = ${err.response.text()}`);
    }
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
