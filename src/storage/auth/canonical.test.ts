import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  awsUriEncode,
  canonicalHeaderValue,
  canonicalPathCandidates,
  canonicalQueryString,
  parseAmzDate,
  percentDecode,
  signaturesEqual,
  toAmzDate,
} from './canonical.js';

test('awsUriEncode keeps only A-Za-z0-9-._~ (and / in paths), upper-case hex', { timeout: 30_000 }, () => {
  const cases: [string, boolean, string][] = [
    ['a b', false, 'a%20b'],
    ['a+b', false, 'a%2Bb'],
    ['100%', false, '100%25'],
    ['ключ', false, '%D0%BA%D0%BB%D1%8E%D1%87'],
    ['a/b', true, 'a/b'],
    ['a/b', false, 'a%2Fb'],
    ['A-z_0.9~', false, 'A-z_0.9~'],
    ["=&?#!'()*$,;:@[]", true, '%3D%26%3F%23%21%27%28%29%2A%24%2C%3B%3A%40%5B%5D'],
    ['😀', false, '%F0%9F%98%80'],
  ];
  for (const [input, keepSlash, expected] of cases) assert.equal(awsUriEncode(input, keepSlash), expected, input);
});

test('percentDecode never throws and keeps bytes that are not UTF-8', { timeout: 30_000 }, () => {
  const cases: [string, boolean, number[]][] = [
    ['a%20b', false, [0x61, 0x20, 0x62]],
    ['a+b', false, [0x61, 0x2b, 0x62]],
    ['a+b', true, [0x61, 0x20, 0x62]],
    ['%c3%A9', false, [0xc3, 0xa9]],
    ['%ff%fe', false, [0xff, 0xfe]],
    ['100%', false, [0x31, 0x30, 0x30, 0x25]],
    ['%zz%4', false, [0x25, 0x7a, 0x7a, 0x25, 0x34]],
    ['é', false, [0xc3, 0xa9]],
  ];
  for (const [input, plus, bytes] of cases) assert.deepEqual([...percentDecode(input, plus)], bytes, input);
});

test('canonical path candidates: AWS re-encoding first, then the raw path when it differs', { timeout: 30_000 }, () => {
  const cases: [string, string[]][] = [
    ['', ['/']],
    ['/', ['/']],
    ['/bucket/key.txt', ['/bucket/key.txt']],
    ['/test$file.text', ['/test%24file.text', '/test$file.text']],
    ['/b/a%2fb', ['/b/a/b', '/b/a%2fb']],
    ['/b/%c3%a9', ['/b/%C3%A9', '/b/%c3%a9']],
    ['/b/a+b', ['/b/a%2Bb', '/b/a+b']],
    ['/b/%7e', ['/b/~', '/b/%7e']],
    ['/b/%ff', ['/b/%FF', '/b/%ff']],
    ['/b//x/./y/../z', ['/b//x/./y/../z']],
  ];
  for (const [raw, expected] of cases) assert.deepEqual(canonicalPathCandidates(raw), expected, raw);
});

test('canonical query string: decoded, AWS-encoded, sorted by name then value', { timeout: 30_000 }, () => {
  const cases: [string, string | undefined, string][] = [
    ['', undefined, ''],
    ['lifecycle', undefined, 'lifecycle='],
    ['prefix=J&max-keys=2', undefined, 'max-keys=2&prefix=J'],
    ['b=2&a=x+y&a=%2B&c=&d', undefined, 'a=%2B&a=x%20y&b=2&c=&d='],
    ['a=1&&b=2&', undefined, 'a=1&b=2'],
    ['k=%e2%82%ac&k=~&k=%7E', undefined, 'k=%E2%82%AC&k=~&k=~'],
    ['X-Amz-Signature=abc&X-Amz-Date=1', 'X-Amz-Signature', 'X-Amz-Date=1'],
    ['Z=1&a=1&_=1', undefined, 'Z=1&_=1&a=1'],
  ];
  for (const [raw, exclude, expected] of cases) assert.equal(canonicalQueryString(raw, exclude), expected, raw);
});

test('canonical header values: trimmed, whitespace runs collapsed, repeated headers joined by commas', {
  timeout: 30_000,
}, () => {
  const cases: [string[] | undefined, string][] = [
    [undefined, ''],
    [['  a   b  '], 'a b'],
    [['a\t\tb'], 'a b'],
    [[' x ', 'y '], 'x,y'],
  ];
  for (const [values, expected] of cases) assert.equal(canonicalHeaderValue(values), expected);
});

test('amz dates: strict parsing and formatting', { timeout: 30_000 }, () => {
  assert.equal(parseAmzDate('20130524T000000Z')?.toISOString(), '2013-05-24T00:00:00.000Z');
  for (const bad of ['20130524T000000', '2013-05-24T00:00:00Z', '20130230T000000Z', '20130524T246000Z', '']) {
    assert.equal(parseAmzDate(bad), null, bad);
  }
  assert.equal(toAmzDate(new Date('2024-02-29T23:59:59.999Z')), '20240229T235959Z');
});

test('signaturesEqual compares exactly, including length', { timeout: 30_000 }, () => {
  assert.equal(signaturesEqual('abc', 'abc'), true);
  assert.equal(signaturesEqual('abc', 'abd'), false);
  assert.equal(signaturesEqual('abc', 'abcd'), false);
  assert.equal(signaturesEqual('', ''), true);
});
