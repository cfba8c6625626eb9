/**
 * The pure parts of naming a request in an error: hiding secret query values, and
 * labelling an error once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CircuitOpenError, InvalidRequestError, TimeoutError } from '../../src/core/errors.js';
import { labelRequest } from '../../src/core/label.js';
import {
  DEFAULT_REDACT_QUERY_PARAMS,
  queryParamSet,
  redactQueryParams,
} from '../../src/core/redact.js';

describe('redactQueryParams', () => {
  const table: [url: string, expected: string][] = [
    ['https://h/x', 'https://h/x'],
    ['https://h/x?', 'https://h/x?'],
    ['https://h/x?a=1&b=2', 'https://h/x?a=1&b=2'],
    ['https://h/x?api_key=abc', 'https://h/x?api_key=***'],
    ['https://h/x?q=1&token=abc&r=2', 'https://h/x?q=1&token=***&r=2'],
    ['https://h/x?TOKEN=abc&Token=def', 'https://h/x?TOKEN=***&Token=***'],
    ['https://h/x?api%5Fkey=abc', 'https://h/x?api%5Fkey=***'],
    ['https://h/x?token=a=b=c', 'https://h/x?token=***'],
    // No value, or an empty one, hides nothing; a name that only contains a secret's
    // name is another parameter.
    ['https://h/x?token&token=', 'https://h/x?token&token='],
    ['https://h/x?mytoken=a&token_type=b', 'https://h/x?mytoken=a&token_type=b'],
    ['https://h/x?sig=1#access_token=2&state=3', 'https://h/x?sig=***#access_token=***&state=3'],
    ['https://h/x#token=2', 'https://h/x#token=***'],
    ['https://h/x#frag?token=1', 'https://h/x#frag?token=***'],
    // Malformed escapes are compared as written.
    ['https://h/x?%E0%A4%A=1&key=2', 'https://h/x?%E0%A4%A=1&key=***'],
    ['not a url?password=p', 'not a url?password=***'],
  ];
  for (const [url, expected] of table) {
    it(url, () => assert.equal(redactQueryParams(url), expected));
  }

  it('takes a list of names, or a set of lower-cased ones', () => {
    assert.equal(redactQueryParams('/x?Session=1&token=2', ['SESSION']), '/x?Session=***&token=2');
    assert.equal(redactQueryParams('/x?session=1', queryParamSet(['Session'])), '/x?session=***');
    assert.equal(redactQueryParams('/x?token=1', []), '/x?token=1');
  });

  it('the default list is frozen and lower-case', () => {
    assert.ok(Object.isFrozen(DEFAULT_REDACT_QUERY_PARAMS));
    for (const name of DEFAULT_REDACT_QUERY_PARAMS) assert.equal(name, name.toLowerCase());
  });
});

describe('labelRequest', () => {
  it('sets the fields and prefixes the message, keeping the text as raised in detail', () => {
    const err = new TimeoutError('total', 300);
    assert.equal(err.detail, 'total timeout after 300 ms');
    assert.equal(labelRequest(err, 'GET', 'https://api.example.com/x', 'api.example.com:443'), err);
    assert.equal(err.message, 'GET https://api.example.com/x: total timeout after 300 ms');
    assert.equal(err.detail, 'total timeout after 300 ms');
    assert.equal(err.method, 'GET');
    assert.equal(err.url, 'https://api.example.com/x');
    assert.equal(err.host, 'api.example.com:443');
    assert.ok(err.stack?.startsWith(`TimeoutError: ${err.message}\n`), err.stack);
  });

  it('labels once: a second request does not replace the first', () => {
    const err = new TimeoutError('total', 300);
    labelRequest(err, 'GET', 'http://a/1', 'a:80');
    labelRequest(err, 'POST', 'http://b/2', 'b:80');
    assert.equal(err.message, 'GET http://a/1: total timeout after 300 ms');
    assert.equal(err.host, 'a:80');
  });

  it("keeps an error's own host", () => {
    const err = new CircuitOpenError('backend:8080', 10);
    labelRequest(err, 'GET', 'http://api/x', 'api:80');
    assert.equal(err.host, 'backend:8080');
    assert.equal(err.url, 'http://api/x');
  });

  it('a message that names the request already is left as it is', () => {
    const original = new TimeoutError('total', 5);
    labelRequest(original, 'GET', 'http://a/', 'a:80');
    const replaced = new InvalidRequestError(`wrapped: ${original.message}`);
    labelRequest(replaced, 'GET', 'http://a/', 'a:80');
    assert.equal(replaced.message, 'wrapped: GET http://a/: total timeout after 5 ms');
    assert.equal(replaced.url, 'http://a/');
  });
});
