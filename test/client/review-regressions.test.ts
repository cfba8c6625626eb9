import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Fixtures, rejectsWith, waitFor } from '../helpers/client-helpers.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

describe('stream() and a redirect it cannot follow', () => {
  it('an invalid Location releases the connection of the streamed 3xx', async () => {
    const server = await fx.server((_req, res) => {
      // A 3xx whose body never ends: only cancelling it frees the connection.
      res.writeHead(302, { location: 'ftp://127.0.0.1/elsewhere' });
      res.write('moving');
    });
    const client = fx.client({ retry: false });
    await rejectsWith(client.stream({ method: 'GET', url: `${server.url}/` }), 'SENTINEL_PROTOCOL');
    await waitFor(() => client.stats().pool.totals.active === 0, 'the connection to be released');
    await waitFor(() => server.openSockets === 0, 'the socket to close');
    assert.equal(client.stats().pool.totals.connections, 0);
  });
});
