import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http2';
import { connectionSpecific, http1Headers } from './http2.js';

test('http1Headers: pseudo-headers removed, :authority becomes host, a conflicting host is dropped', {
  timeout: 30_000,
}, () => {
  const base = { ':method': 'GET', ':path': '/a?b', ':scheme': 'https', accept: '*/*' };
  const cases: [string, IncomingHttpHeaders, IncomingHttpHeaders][] = [
    ['authority only', { ...base, ':authority': 'web.example.com' }, { accept: '*/*', host: 'web.example.com' }],
    [
      'host equal to the authority, case aside',
      { ...base, ':authority': 'Web.example.com:8443', host: 'web.example.com:8443' },
      { accept: '*/*', host: 'web.example.com:8443' },
    ],
    ['host differing from the authority', { ...base, ':authority': 'a.example', host: 'b.example' }, { accept: '*/*' }],
    ['host without an authority', { ...base, host: 'a.example' }, { accept: '*/*', host: 'a.example' }],
    ['neither', { ...base }, { accept: '*/*' }],
    [
      'multi-valued fields kept',
      { ...base, ':authority': 'a.example', cookie: 'x=1; y=2', 'x-amz-meta-a': 'b' },
      { host: 'a.example', accept: '*/*', cookie: 'x=1; y=2', 'x-amz-meta-a': 'b' },
    ],
  ];
  for (const [name, input, want] of cases) assert.deepEqual({ ...http1Headers(input) }, want, name);
});

test('connectionSpecific: the fields RFC 9113 §8.2.2 forbids in HTTP/2', { timeout: 30_000 }, () => {
  const cases: [string, string, boolean][] = [
    ['Connection', 'close', true],
    ['keep-alive', 'timeout=5', true],
    ['Proxy-Connection', 'keep-alive', true],
    ['transfer-encoding', 'chunked', true],
    ['upgrade', 'h2c', true],
    ['http2-settings', 'AAA', true],
    ['te', 'trailers', false],
    ['te', 'gzip', true],
    ['content-length', '5', false],
    ['etag', '"x"', false],
    ['x-amz-request-id', 'ABC', false],
  ];
  for (const [name, value, want] of cases) assert.equal(connectionSpecific(name, value), want, `${name}: ${value}`);
});
