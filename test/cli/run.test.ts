/**
 * `run()` against real loopback servers, with captured stdout/stderr: what is sent,
 * what is printed, and the exit code.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { bodyOf, Capture, type Server, sentinel, startServer } from './helpers.js';

interface Echo {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** What the progress line writes to erase the rest of the line. */
const ERASE_LINE = '\x1b[K';
const BINARY = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const LARGE = 12 * 1024 * 1024; // over the library's 10 MiB buffered default

let server: Server;
let dir: string;
const hits = new Map<string, number>();

async function handler(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const hit = (hits.get(path) ?? 0) + 1;
  hits.set(path, hit);
  res.sendDate = false;
  const body = await bodyOf(req);
  switch (path) {
    case '/echo': {
      const echo: Echo = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: body.toString('utf8'),
      };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(echo));
      return;
    }
    case '/head-format':
      res.writeHead(201, {
        'Content-Type': 'text/plain',
        'X-Custom': 'yes',
        'Set-Cookie': ['a=1', 'b=2'],
        'Content-Length': '5',
      });
      res.end('hello');
      return;
    case '/reason':
      res.writeHead(299, 'Fine Thanks', { 'content-length': '0' });
      res.end();
      return;
    case '/binary':
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(BINARY);
      return;
    case '/flaky': // 503, then 200
      if (hit === 1) {
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end('try again');
      } else {
        res.end('recovered');
      }
      return;
    case '/down':
      res.writeHead(503);
      res.end('down');
      return;
    case '/missing':
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('no such thing');
      return;
    case '/hang':
      return; // never answers
    case '/trickle': {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('.'), 40);
      res.on('close', () => clearInterval(timer));
      return;
    }
    case '/redirect':
      res.writeHead(302, { location: '/echo?from=redirect', 'content-type': 'text/plain' });
      res.end('moved');
      return;
    case '/gzip':
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' });
      res.end(gzipSync('unzipped text'));
      return;
    case '/large': {
      res.writeHead(200, { 'content-length': String(LARGE) });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let sent = 0;
      const pump = (): void => {
        while (sent < LARGE) {
          sent += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
      return;
    }
    default:
      res.writeHead(500);
      res.end(`no route ${path}`);
  }
}

before(async () => {
  server = await startServer((req, res) => {
    void handler(req, res);
  });
  dir = mkdtempSync(join(tmpdir(), 'sentinel-cli-'));
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh path per test, so request counts do not mix. */
let unique = 0;
function route(path: string): string {
  unique++;
  return `${server.url}${path}?n=${unique}`;
}

function echoOf(stdout: string): Echo {
  return JSON.parse(stdout) as Echo;
}

describe('verbs', () => {
  for (const verb of ['get', 'delete', 'post', 'put', 'patch'] as const) {
    test(`${verb} sends ${verb.toUpperCase()} and prints the body`, async () => {
      const r = await sentinel([verb, route('/echo')]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.err, '');
      assert.equal(echoOf(r.out).method, verb.toUpperCase());
    });
  }

  test('head sends HEAD and prints the head, as curl -I does', async () => {
    const r = await sentinel(['head', `${server.url}/head-format`]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^HTTP\/1\.1 201 Created\r\n/);
    assert.match(r.out, /\r\nx-custom: yes\r\n/);
    assert.ok(r.out.endsWith('\r\n\r\n'), 'no body after the head');
  });
});

describe('request headers and bodies', () => {
  test('-H headers are sent, a repeated name with each value', async () => {
    const r = await sentinel([
      'get',
      route('/echo'),
      '-H',
      'X-One: 1',
      '-H',
      'X-Many: a',
      '-H',
      'X-Many: b',
      '-H',
      'Authorization: Bearer t:k',
    ]);
    assert.equal(r.code, 0, r.err);
    const { headers } = echoOf(r.out);
    assert.equal(headers['x-one'], '1');
    assert.equal(headers['x-many'], 'a, b');
    assert.equal(headers.authorization, 'Bearer t:k');
  });

  test('-d sends the text as form data, like curl', async () => {
    const r = await sentinel(['post', route('/echo'), '-d', 'a=1', '-d', 'b=2']);
    assert.equal(r.code, 0, r.err);
    const echo = echoOf(r.out);
    assert.equal(echo.body, 'a=1&b=2');
    assert.equal(echo.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(echo.headers['content-length'], '7');
  });

  test('-d @file sends the file byte for byte; -H content-type wins', async () => {
    const file = join(dir, 'body.txt');
    writeFileSync(file, 'line one\nline two\n');
    const r = await sentinel([
      'put',
      route('/echo'),
      '-d',
      `@${file}`,
      '-H',
      'Content-Type: text/plain',
    ]);
    assert.equal(r.code, 0, r.err);
    const echo = echoOf(r.out);
    assert.equal(echo.body, 'line one\nline two\n');
    assert.equal(echo.headers['content-type'], 'text/plain');
  });

  test('-d - reads stdin', async () => {
    const r = await sentinel(['patch', route('/echo'), '-d', '-'], { stdin: 'from stdin' });
    assert.equal(r.code, 0, r.err);
    assert.equal(echoOf(r.out).body, 'from stdin');
  });

  test('--json sends the document as given, with content-type and accept', async () => {
    const r = await sentinel(['post', route('/echo'), '--json', '{ "name": "x", "n": [1, 2] }']);
    assert.equal(r.code, 0, r.err);
    const echo = echoOf(r.out);
    assert.equal(echo.body, '{ "name": "x", "n": [1, 2] }');
    assert.equal(echo.headers['content-type'], 'application/json');
    assert.equal(echo.headers.accept, 'application/json');
  });

  test('--json @file is read and checked; invalid JSON is a usage error, nothing sent', async () => {
    const good = join(dir, 'good.json');
    writeFileSync(good, '{"ok":true}');
    const r = await sentinel(['put', route('/echo'), '--json', `@${good}`]);
    assert.equal(r.code, 0, r.err);
    assert.equal(echoOf(r.out).body, '{"ok":true}');

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"ok":');
    const before = hits.get('/echo');
    const b = await sentinel(['put', route('/echo'), '--json', `@${bad}`]);
    assert.equal(b.code, 2);
    assert.match(b.err, /^http-sentinel: usage: --json is not valid JSON/);
    assert.equal(b.out, '');
    assert.equal(hits.get('/echo'), before, 'no request made');
  });

  test('-d @missing-file is a usage error, nothing sent', async () => {
    const before = hits.get('/echo');
    const r = await sentinel(['post', route('/echo'), '-d', `@${join(dir, 'nope.txt')}`]);
    assert.equal(r.code, 2);
    assert.match(r.err, /^http-sentinel: usage: cannot read .*nope\.txt \(ENOENT\)\n/);
    assert.equal(hits.get('/echo'), before);
  });
});

describe('output', () => {
  test('-i prints the status line and headers curl style, then the body', async () => {
    const r = await sentinel(['get', `${server.url}/head-format`, '-i']);
    assert.equal(r.code, 0, r.err);
    assert.equal(
      r.out,
      'HTTP/1.1 201 Created\r\n' +
        'connection: keep-alive\r\n' +
        'content-length: 5\r\n' +
        'content-type: text/plain\r\n' +
        'keep-alive: timeout=5\r\n' +
        'set-cookie: a=1\r\n' +
        'set-cookie: b=2\r\n' +
        'x-custom: yes\r\n' +
        '\r\n' +
        'hello',
    );
  });

  test("-i keeps the server's reason phrase", async () => {
    const r = await sentinel(['get', `${server.url}/reason`, '-i']);
    assert.equal(r.code, 0);
    assert.match(r.out, /^HTTP\/1\.1 299 Fine Thanks\r\n/);
  });

  test('the body is written as raw bytes', async () => {
    const r = await sentinel(['get', `${server.url}/binary`]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.stdout, BINARY);
  });

  test('-o writes the body to a file and nothing to stdout', async () => {
    const file = join(dir, 'out.bin');
    const r = await sentinel(['get', `${server.url}/binary`, '-o', file]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '');
    assert.deepEqual(readFileSync(file), BINARY);
  });

  test('-o draws no progress line when stderr is not a terminal', async () => {
    const file = join(dir, 'quiet.bin');
    const r = await sentinel(['get', `${server.url}/large`, '-o', file]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, '');
    assert.equal(readFileSync(file).length, LARGE);
  });

  test('-o draws a progress line on a terminal, ends it, and -v lines stay in order', async () => {
    const file = join(dir, 'progress.bin');
    const stderr = Object.assign(new Capture(), { isTTY: true, columns: 72 });
    const r = await sentinel(['get', `${server.url}/large`, '-o', file, '-v'], { stderr });
    assert.equal(r.code, 0, r.err);
    assert.equal(readFileSync(file).length, LARGE);
    const lines = r.err.split('\n');
    const drawn = lines.findIndex((line) => line.startsWith('\r'));
    assert.ok(drawn > 0, r.err);
    assert.match(lines[drawn - 1]!, /^\* 200 after 1 attempt/, 'drawn after the head');
    const frames = lines[drawn]!.split('\r').slice(1);
    const last = frames.at(-1)!;
    assert.ok(last.endsWith(ERASE_LINE), 'each frame erases what a longer one left');
    assert.match(
      last.slice(0, -ERASE_LINE.length),
      /^100\.0% \[#+\] 12\.0 MiB \/ 12\.0 MiB {2}.*\/s$/,
    );
    for (const frame of frames) assert.ok(frame.length - 3 <= 71, frame);
    assert.match(lines[drawn + 1]!, /^\* 12582912 body bytes to /, 'the line ends before the next');
    const plain = await sentinel(['get', `${server.url}/large`], {
      stderr: Object.assign(new Capture(), { isTTY: true }),
    });
    assert.equal(plain.err, '', 'no line when the body goes to stdout');
  });

  test('-o on a terminal: a failed download erases its line before the error', async () => {
    const file = join(dir, 'failed.bin');
    const stderr = Object.assign(new Capture(), { isTTY: true, columns: 80 });
    const r = await sentinel(['get', `${server.url}/trickle`, '-o', file, '--timeout', '300ms'], {
      stderr,
    });
    assert.equal(r.code, 28);
    const erased = r.err.lastIndexOf(`\r${ERASE_LINE}`);
    assert.ok(r.err.startsWith('\r') && erased > 0, JSON.stringify(r.err));
    assert.match(r.err.slice(erased + 1 + ERASE_LINE.length), /^http-sentinel: SENTINEL_TIMEOUT: /);
  });

  test('-o with -i puts the head in the file too, as curl does', async () => {
    const file = join(dir, 'with-head.txt');
    const r = await sentinel(['get', `${server.url}/head-format`, '-i', '-o', file]);
    assert.equal(r.code, 0, r.err);
    const text = readFileSync(file, 'utf8');
    assert.match(text, /^HTTP\/1\.1 201 Created\r\n/);
    assert.ok(text.endsWith('\r\n\r\nhello'));
  });

  test('-o into a missing directory fails with exit 1 and the error', async () => {
    const r = await sentinel(['get', `${server.url}/binary`, '-o', join(dir, 'no', 'such', 'f')]);
    assert.equal(r.code, 1);
    assert.match(r.err, /^http-sentinel: ENOENT: /);
  });

  test('a large body is streamed, paced by a slow stdout', async () => {
    // Each write completes on a later turn: the writer must wait for 'drain'.
    const slow = new Capture({ highWaterMark: 16 * 1024 });
    const original = slow._write.bind(slow);
    slow._write = (chunk, encoding, callback) => {
      setImmediate(() => original(chunk, encoding, callback));
    };
    const r = await sentinel(['get', `${server.url}/large`], { stdout: slow });
    assert.equal(r.code, 0, r.err);
    assert.equal(r.stdout.length, LARGE);
    assert.ok(slow.refused > 0, 'stdout pushed back and the writer waited');
  });

  test('a stdout that fails ends the run with exit 1', async () => {
    const broken = new Writable({
      write(_chunk, _encoding, callback) {
        callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const stderr = new Capture();
    const { run } = await import('../../src/cli/run.js');
    const code = await run(['get', `${server.url}/large`], {
      stdout: broken,
      stderr,
      stdin: Readable.from([]),
      env: {},
    });
    assert.equal(code, 1);
    assert.match(stderr.text, /^http-sentinel: EPIPE: write EPIPE\n$/);
  });

  test('bodies are decompressed; --no-decompress prints them as sent', async () => {
    const r = await sentinel(['get', `${server.url}/gzip`]);
    assert.equal(r.out, 'unzipped text');
    const raw = await sentinel(['get', `${server.url}/gzip`, '--no-decompress']);
    assert.equal(raw.code, 0);
    assert.deepEqual(raw.stdout, gzipSync('unzipped text'));
  });

  test('redirects are followed; --max-redirects 0 prints the 3xx and exits 0', async () => {
    const r = await sentinel(['get', `${server.url}/redirect`]);
    assert.equal(r.code, 0, r.err);
    assert.equal(echoOf(r.out).url, '/echo?from=redirect');
    const stay = await sentinel(['get', `${server.url}/redirect`, '--max-redirects', '0', '-i']);
    assert.equal(stay.code, 0);
    assert.match(
      stay.out,
      /^HTTP\/1\.1 302 Found\r\n.*location: \/echo\?from=redirect\r\n.*moved$/s,
    );
  });
});

describe('retries and -v', () => {
  test('a 503 then 200 with --retries 2 -v: the retry is on stderr, the body on stdout', async () => {
    const r = await sentinel(['get', `${server.url}/flaky`, '--retries', '2', '-v']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'recovered');
    assert.match(r.err, /^\* GET http:\/\/127\.0\.0\.1:\d+\/flaky\n/);
    assert.match(r.err, /\* attempt 1: GET \S+\/flaky -> 503 in [\d.]+ ms\n/);
    assert.match(r.err, /\* retry after attempt 1 \(status 503\) in [\d.]+ ms\n/);
    assert.match(r.err, /\* attempt 2: GET \S+\/flaky -> 200 in [\d.]+ ms\n/);
    assert.match(r.err, /\n< HTTP\/1\.1 200 OK\n/);
    assert.match(r.err, /\* 200 after 2 attempts: queued [\d.]+ ms, connect [\d.]+ ms, ttfb/);
    assert.match(r.err, /\* 9 body bytes, done at [\d.]+ ms\n$/);
    assert.equal(hits.get('/flaky'), 2);
  });

  test('--retries N makes exactly N retries (no breaker or throttle cuts them short)', async () => {
    const before = hits.get('/down') ?? 0;
    const r = await sentinel(['get', `${server.url}/down`, '--retries', '5']);
    assert.equal(r.code, 22);
    assert.equal(r.out, 'down');
    assert.equal((hits.get('/down') ?? 0) - before, 6);
  });

  test('--retries 0 makes one attempt', async () => {
    const before = hits.get('/down') ?? 0;
    const r = await sentinel(['get', `${server.url}/down`, '--retries', '0']);
    assert.equal(r.code, 22);
    assert.equal((hits.get('/down') ?? 0) - before, 1);
  });

  test('-v shows the proxies from the environment, credentials redacted', async () => {
    // An https proxy does not apply to this http URL: the request goes direct.
    const r = await sentinel(['get', route('/echo'), '-v'], {
      env: { HTTPS_PROXY: 'http://user:hunter2@proxy.invalid:3128', no_proxy: '.internal' },
    });
    assert.equal(r.code, 0);
    assert.match(
      r.err,
      /^\* proxies from the environment: http none, https http:\/\/\*\*\*@proxy\.invalid:3128, not for \.internal\n/,
    );
    assert.doesNotMatch(r.err, /hunter2/);
  });

  test('-v lists the request headers it adds', async () => {
    const r = await sentinel(['post', route('/echo'), '--json', '{}', '-H', 'X-A: 1', '-v']);
    assert.equal(r.code, 0);
    assert.match(
      r.err,
      /\n> X-A: 1\n> content-type: application\/json\n> accept: application\/json\n/,
    );
  });
});

describe('failures and exit codes', () => {
  test('404: exit 22, and the body is still printed', async () => {
    const r = await sentinel(['get', `${server.url}/missing`]);
    assert.equal(r.code, 22);
    assert.equal(r.out, 'no such thing');
    assert.equal(r.err, '');
  });

  test('--timeout against a server that never answers: exit 28', async () => {
    const r = await sentinel(['get', `${server.url}/hang`, '--timeout', '200ms']);
    assert.equal(r.code, 28);
    assert.equal(r.out, '');
    assert.equal(r.err, 'http-sentinel: SENTINEL_TIMEOUT: total timeout after 200 ms\n');
  });

  test('--timeout covers the body too, as curl --max-time does: exit 28 mid-transfer', async () => {
    const started = performance.now();
    const r = await sentinel(['get', `${server.url}/trickle`, '--timeout', '300ms']);
    assert.equal(r.code, 28, r.err);
    assert.match(r.out, /^\.+$/, 'what arrived was printed');
    assert.equal(r.err, 'http-sentinel: SENTINEL_TIMEOUT: total timeout after 300 ms\n');
    const took = performance.now() - started;
    // Not before the deadline; a hang would end the test by the runner's own timeout.
    assert.ok(took >= 290, `${took} ms`);
  });

  test('--timeout also ends a transfer stuck on an output that stopped reading', async () => {
    const stuck = new Writable({
      highWaterMark: 1024,
      write() {}, // never calls back: a paused pager
    });
    const stderr = new Capture();
    const started = performance.now();
    const { run } = await import('../../src/cli/run.js');
    const code = await run(['get', `${server.url}/large`, '--timeout', '300ms'], {
      stdout: stuck,
      stderr,
      stdin: Readable.from([]),
      env: {},
    });
    assert.equal(code, 28);
    assert.equal(stderr.text, 'http-sentinel: SENTINEL_TIMEOUT: total timeout after 300 ms\n');
    assert.ok(performance.now() - started < 2000);
  });

  test('connection refused: exit 7', async () => {
    const closed = await startServer(() => {});
    const url = closed.url;
    await closed.close();
    const r = await sentinel(['get', `${url}/`, '--retries', '0']);
    assert.equal(r.code, 7);
    assert.match(
      r.err,
      /^http-sentinel: SENTINEL_CONNECTION: connect ECONNREFUSED 127\.0\.0\.1:\d+\n$/,
    );
  });

  test('connection refused after retries says how many attempts were made', async () => {
    const closed = await startServer(() => {});
    const url = closed.url;
    await closed.close();
    const r = await sentinel(['get', `${url}/`, '--retries', '1']);
    assert.equal(r.code, 7);
    assert.match(r.err, /ECONNREFUSED 127\.0\.0\.1:\d+ \(after 2 attempts\)\n$/);
  });

  const usage: [string, string[], RegExp][] = [
    ['no arguments', [], /^http-sentinel: usage: missing the URL\nTry 'http-sentinel --help'\.\n$/],
    ['an unknown option', ['get', 'http://127.0.0.1:1/', '--nope'], /Unknown option '--nope'/],
    ['a bad header', ['get', 'http://127.0.0.1:1/', '-H', 'nocolon'], /no colon/],
    ['a bad duration', ['get', 'http://127.0.0.1:1/', '--timeout', 'soon'], /--timeout takes/],
    // Passes the parser, refused by the library before any I/O: InvalidRequestError.
    [
      'a header the client manages',
      ['post', 'http://127.0.0.1:1/', '-H', 'Transfer-Encoding: chunked', '-d', 'x'],
      /^http-sentinel: SENTINEL_INVALID_REQUEST: the transfer-encoding header is managed by the client\n$/,
    ],
  ];
  for (const [name, argv, message] of usage) {
    test(`usage error, ${name}: exit 2`, async () => {
      const r = await sentinel(argv);
      assert.equal(r.code, 2);
      assert.equal(r.out, '');
      assert.match(r.err, message);
    });
  }

  test('--help and --version print to stdout and exit 0', async () => {
    const help = await sentinel(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.out, /^Usage: http-sentinel \[verb\] <url> \[options\]\n/);
    assert.match(help.out, /Exit codes:/);
    const version = await sentinel(['--version']);
    assert.equal(version.code, 0);
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8'));
    assert.equal(version.out, `http-sentinel ${pkg.version} (node ${process.version})\n`);
  });
});

describe('clean-up', () => {
  test('the client closes its keep-alive connection when the run ends', async () => {
    let socketClosed!: () => void;
    const closed = new Promise<void>((resolve) => {
      socketClosed = resolve;
    });
    const tracked = await startServer((req, res) => {
      req.socket.once('close', socketClosed);
      res.end('ok');
    });
    try {
      const r = await sentinel(['get', `${tracked.url}/`]);
      assert.equal(r.code, 0);
      // Closed by the client, not left idle until the server's keep-alive timeout (5 s).
      await closed;
    } finally {
      await tracked.close();
    }
  });
});
