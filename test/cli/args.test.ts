/**
 * The `sentinel` command line, parsed: every option, and every refusal (exit code 2).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Command,
  parseArgs,
  parseDuration,
  parseHeader,
  type RequestCommand,
  UsageError,
} from '../../src/cli/args.js';

const URL_ = 'http://127.0.0.1:8080/x';

function request(over: Partial<RequestCommand> = {}): RequestCommand {
  return {
    kind: 'request',
    method: 'GET',
    url: URL_,
    headers: [],
    body: undefined,
    retries: undefined,
    timeoutMs: undefined,
    include: false,
    output: undefined,
    maxRedirects: undefined,
    decompress: true,
    verbose: false,
    ...over,
  };
}

describe('parseArgs: accepted command lines', () => {
  const cases: [string, string[], Command][] = [
    ['a plain get', ['get', URL_], request()],
    ['a URL alone is a GET', [URL_], request()],
    ['a URL alone with -i after it', [URL_, '-i'], request({ include: true })],
    [
      'a URL alone with a body is a POST',
      [URL_, '--json', '{}'],
      request({ method: 'POST', body: { type: 'json', parts: [{ kind: 'text', text: '{}' }] } }),
    ],
    ['each verb', ['delete', URL_], request({ method: 'DELETE' })],
    ['verbs in any case', ['PATCH', URL_], request({ method: 'PATCH' })],
    ['head', ['head', URL_], request({ method: 'HEAD' })],
    ['http:// assumed without a scheme', ['get', '127.0.0.1:8080/x'], request()],
    ['https kept', ['get', 'https://example.com'], request({ url: 'https://example.com/' })],
    ['options before the verb', ['-i', 'get', URL_], request({ include: true })],
    ['options after the URL', ['get', URL_, '-v'], request({ verbose: true })],
    ['grouped short flags', ['get', URL_, '-iv'], request({ include: true, verbose: true })],
    ['-- ends the options', ['get', '--', URL_], request()],
    [
      'repeated -H in order, split at the first colon, blanks trimmed',
      ['get', URL_, '-H', 'Accept: text/plain', '-H', 'X-Url:http://a:b/', '-H', 'X-Empty:'],
      request({
        headers: [
          ['Accept', 'text/plain'],
          ['X-Url', 'http://a:b/'],
          ['X-Empty', ''],
        ],
      }),
    ],
    ['long --header', ['get', URL_, '--header', 'a: 1'], request({ headers: [['a', '1']] })],
    [
      '-d text',
      ['post', URL_, '-d', 'a=1'],
      request({ method: 'POST', body: { type: 'data', parts: [{ kind: 'text', text: 'a=1' }] } }),
    ],
    [
      '-d @file, -d - and text, in order',
      ['put', URL_, '-d', '@body.txt', '-d', '-', '--data=b=2'],
      request({
        method: 'PUT',
        body: {
          type: 'data',
          parts: [
            { kind: 'file', path: 'body.txt' },
            { kind: 'stdin' },
            { kind: 'text', text: 'b=2' },
          ],
        },
      }),
    ],
    [
      '-d @- is stdin too',
      ['post', URL_, '-d', '@-'],
      request({ method: 'POST', body: { type: 'data', parts: [{ kind: 'stdin' }] } }),
    ],
    [
      'delete with a body',
      ['delete', URL_, '-d', 'x'],
      request({ method: 'DELETE', body: { type: 'data', parts: [{ kind: 'text', text: 'x' }] } }),
    ],
    [
      '--json text',
      ['post', URL_, '--json', '{"a":[1,2]}'],
      request({
        method: 'POST',
        body: { type: 'json', parts: [{ kind: 'text', text: '{"a":[1,2]}' }] },
      }),
    ],
    [
      '--json @file (checked when read)',
      ['patch', URL_, '--json', '@doc.json'],
      request({
        method: 'PATCH',
        body: { type: 'json', parts: [{ kind: 'file', path: 'doc.json' }] },
      }),
    ],
    ['--retries 0', ['get', URL_, '--retries', '0'], request({ retries: 0 })],
    ['--retries=3', ['get', URL_, '--retries=3'], request({ retries: 3 })],
    ['--timeout 500ms', ['get', URL_, '--timeout', '500ms'], request({ timeoutMs: 500 })],
    ['--timeout 5s', ['get', URL_, '--timeout', '5s'], request({ timeoutMs: 5000 })],
    ['--timeout 1.5s', ['get', URL_, '--timeout', '1.5s'], request({ timeoutMs: 1500 })],
    ['--timeout 2m', ['get', URL_, '--timeout', '2m'], request({ timeoutMs: 120_000 })],
    ['--timeout 1h', ['get', URL_, '--timeout', '1h'], request({ timeoutMs: 3_600_000 })],
    ['--timeout plain ms', ['get', URL_, '--timeout', '250'], request({ timeoutMs: 250 })],
    ['-o file', ['get', URL_, '-o', 'out.bin'], request({ output: 'out.bin' })],
    ['--output', ['get', URL_, '--output', 'o'], request({ output: 'o' })],
    ['--include', ['get', URL_, '--include'], request({ include: true })],
    ['--max-redirects 0', ['get', URL_, '--max-redirects', '0'], request({ maxRedirects: 0 })],
    ['--no-decompress', ['get', URL_, '--no-decompress'], request({ decompress: false })],
    ['--verbose', ['get', URL_, '--verbose'], request({ verbose: true })],
    ['--help', ['--help'], { kind: 'help' }],
    ['-h wins over the rest', ['get', URL_, '-h'], { kind: 'help' }],
    ['--version', ['--version'], { kind: 'version' }],
    ['-V', ['-V'], { kind: 'version' }],
  ];
  for (const [name, argv, expected] of cases) {
    test(name, () => {
      assert.deepEqual(parseArgs(argv), expected);
    });
  }
});

describe('parseArgs: refused command lines', () => {
  const cases: [string, string[], RegExp][] = [
    ['nothing', [], /missing the URL/],
    ['no URL', ['get'], /get needs a URL/],
    ['an unknown verb', ['fetch', URL_], /unknown verb "fetch"/],
    ['two URLs', ['get', URL_, URL_], /one URL only/],
    ['an unknown option', ['get', URL_, '--bogus'], /^Unknown option '--bogus'$/],
    ['an unknown short option', ['get', URL_, '-X', 'PUT'], /Unknown option '-X'/],
    ['-H without a value', ['get', URL_, '-H'], /argument missing/],
    ['-i with a value', ['get', URL_, '--include=yes'], /does not take an argument/],
    ['an unsupported scheme', ['get', 'ftp://example.com/'], /unsupported protocol ftp:/],
    ['a URL that does not parse', ['get', 'http://'], /invalid URL "http:\/\/"/],
    ['a bad port', ['get', 'http://example.com:99999/'], /invalid URL/],
    ['-H without a colon', ['get', URL_, '-H', 'Accept'], /no colon/],
    ['-H with an empty name', ['get', URL_, '-H', ': v'], /invalid header name ""/],
    ['-H with a space in the name', ['get', URL_, '-H', 'Bad Name: v'], /invalid header name/],
    ['-H with CR/LF in the value', ['get', URL_, '-H', 'X: a\r\nInjected: 1'], /CR, LF or NUL/],
    ['-H with NUL in the value', ['get', URL_, '-H', 'X: a\0b'], /CR, LF or NUL/],
    ['-d and --json', ['post', URL_, '-d', 'a', '--json', '{}'], /cannot be used together/],
    ['a body on get', ['get', URL_, '-d', 'x'], /get sends no body/],
    ['a body on head', ['head', URL_, '--json', '{}'], /head sends no body/],
    ['--json that is not JSON', ['post', URL_, '--json', '{bad'], /--json is not valid JSON/],
    ['-d @ without a name', ['post', URL_, '-d', '@'], /needs a file name/],
    ['stdin twice', ['post', URL_, '-d', '-', '-d', '@-'], /stdin \(-\) can be read only once/],
    ['--retries negative', ['get', URL_, '--retries', '-1'], /argument is ambiguous/],
    ['--retries=-1', ['get', URL_, '--retries=-1'], /--retries takes a whole number/],
    ['--retries fractional', ['get', URL_, '--retries', '1.5'], /--retries takes a whole number/],
    [
      '--retries not a number',
      ['get', URL_, '--retries', 'many'],
      /--retries takes a whole number/,
    ],
    ['--retries empty', ['get', URL_, '--retries='], /--retries takes a whole number/],
    ['--timeout zero', ['get', URL_, '--timeout', '0'], /must be more than 0/],
    ['--timeout with a bad unit', ['get', URL_, '--timeout', '5x'], /--timeout takes a duration/],
    ['--timeout negative', ['get', URL_, '--timeout=-5s'], /--timeout takes a duration/],
    ['--timeout too long', ['get', URL_, '--timeout', '30d'], /--timeout takes a duration/],
    ['--timeout past the timer limit', ['get', URL_, '--timeout', '600h'], /at most 2147483647/],
    ['--max-redirects not a number', ['get', URL_, '--max-redirects', 'x'], /--max-redirects/],
    ['-o empty', ['get', URL_, '-o', ''], /-o needs a file name/],
  ];
  for (const [name, argv, message] of cases) {
    test(name, () => {
      assert.throws(
        () => parseArgs(argv),
        (err: unknown) => {
          assert.ok(err instanceof UsageError, `${String(err)} is a UsageError`);
          assert.equal(err.code, 'usage');
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }
});

describe('parts', () => {
  test('parseDuration', () => {
    assert.equal(parseDuration('.5s'), 500);
    assert.equal(parseDuration(' 10ms '), 10);
    assert.throws(() => parseDuration('s'), UsageError);
    assert.throws(() => parseDuration('1e3'), UsageError);
  });

  test('parseHeader keeps colons after the first, and the name as typed', () => {
    assert.deepEqual(parseHeader('X-Time:  12:30:00  '), ['X-Time', '12:30:00']);
  });
});
