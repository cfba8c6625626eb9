import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type HeaderSource, parseHttpDate, parseRetryAfter } from '../../src/retry/retry-after.js';

// Sun, 06 Nov 1994 08:49:37 GMT
const DATE = Date.UTC(1994, 10, 6, 8, 49, 37);
const NOW = DATE - 10_000;

describe('parseRetryAfter', () => {
  const table: [name: string, headers: HeaderSource, expected: number | undefined][] = [
    ['delta-seconds', { 'retry-after': '120' }, 120_000],
    ['zero', { 'retry-after': '0' }, 0],
    ['fractional seconds', { 'retry-after': '1.5' }, 1500],
    ['surrounding spaces', { 'retry-after': ' 3 ' }, 3000],
    ['negative', { 'retry-after': '-1' }, undefined],
    ['exponent notation', { 'retry-after': '1e3' }, undefined],
    ['words', { 'retry-after': 'soon' }, undefined],
    ['what Date.parse would take', { 'retry-after': '5 apples' }, undefined],
    ['a bare year Date.parse would take', { 'retry-after': '2001-01' }, undefined],
    ['empty', { 'retry-after': '' }, undefined],
    ['absent', {}, undefined],
    ['undefined value', { 'retry-after': undefined }, undefined],
    ['name in any case', { 'Retry-After': '2' }, 2000],
    ['first of several values', { 'retry-after': ['4', '9'] }, 4000],
    ['IMF-fixdate ahead', { 'retry-after': 'Sun, 06 Nov 1994 08:49:37 GMT' }, 10_000],
    ['IMF-fixdate, lower case', { 'retry-after': 'sun, 06 nov 1994 08:49:37 gmt' }, 10_000],
    ['IMF-fixdate in the past is 0', { 'retry-after': 'Sat, 05 Nov 1994 08:49:37 GMT' }, 0],
    ['RFC 850 date', { 'retry-after': 'Sunday, 06-Nov-94 08:49:37 GMT' }, 10_000],
    ['asctime date', { 'retry-after': 'Sun Nov  6 08:49:37 1994' }, 10_000],
    ['31 February', { 'retry-after': 'Tue, 31 Feb 1995 08:49:37 GMT' }, undefined],
    ['hour 25', { 'retry-after': 'Sun, 06 Nov 1994 25:49:37 GMT' }, undefined],
    ['not GMT', { 'retry-after': 'Sun, 06 Nov 1994 08:49:37 PST' }, undefined],
    ['ISO 8601 is not an HTTP-date', { 'retry-after': '1994-11-06T08:49:37Z' }, undefined],
    ['retry-after-ms wins', { 'retry-after-ms': '250', 'retry-after': '10' }, 250],
    ['fractional retry-after-ms', { 'retry-after-ms': '12.5' }, 12.5],
    ['garbage retry-after-ms falls back', { 'retry-after-ms': 'x', 'retry-after': '1' }, 1000],
    ['negative retry-after-ms falls back', { 'retry-after-ms': '-5' }, undefined],
    ['Headers object', new Headers({ 'Retry-After': '7' }), 7000],
    ['Headers object with retry-after-ms', new Headers({ 'retry-after-ms': '30' }), 30],
    ['empty Headers', new Headers(), undefined],
  ];
  for (const [name, headers, expected] of table) {
    test(name, () => {
      assert.equal(parseRetryAfter(headers, NOW), expected);
    });
  }
});

describe('parseHttpDate', () => {
  test('reads all three formats to the same instant', () => {
    for (const text of [
      'Sun, 06 Nov 1994 08:49:37 GMT',
      'Sunday, 06-Nov-94 08:49:37 GMT',
      'Sun Nov  6 08:49:37 1994',
    ]) {
      assert.equal(parseHttpDate(text, NOW), DATE, text);
    }
  });

  test('takes a two-digit year more than 50 years ahead as last century', () => {
    const now = Date.UTC(2030, 0, 1);
    assert.equal(parseHttpDate('Thursday, 01-Jan-80 00:00:00 GMT', now), Date.UTC(2080, 0, 1));
    assert.equal(parseHttpDate('Thursday, 01-Jan-99 00:00:00 GMT', now), Date.UTC(1999, 0, 1));
  });

  test('accepts a leap day only in a leap year', () => {
    assert.equal(parseHttpDate('Thu, 29 Feb 2024 00:00:00 GMT', 0), Date.UTC(2024, 1, 29));
    assert.equal(parseHttpDate('Fri, 29 Feb 2023 00:00:00 GMT', 0), undefined);
  });
});
