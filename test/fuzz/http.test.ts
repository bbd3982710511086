/**
 * Fuzz target: what the gateway reads from every request before anything else: the Host header
 * (src/gateway/host.ts), the request class (src/gateway/classify.ts), Range and the
 * conditional headers (src/shared/http-semantics.ts). None may throw on any input, and each
 * answer must be one the callers can act on.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { classify, queryParamNames } from '../../src/gateway/classify.js';
import { resolveHost, type HostConfig } from '../../src/gateway/host.js';
import { evaluateConditions, parseRange } from '../../src/shared/http-semantics.js';
import { anyString, check, timeout, tokenString } from './harness.js';

const RANGE_TOKENS = [
  'bytes=',
  'BYTES=',
  'bytes',
  '=',
  '-',
  ',',
  ' ',
  '0',
  '1',
  '9',
  '00',
  '99999999999999999999',
  'items=',
  '\t',
];

test(
  'parseRange: any header against any size is full, unsatisfiable or a range inside the object',
  { timeout: timeout() },
  () =>
    check(
      fc.property(
        fc.oneof(fc.constant(undefined), tokenString(RANGE_TOKENS, 8), anyString(30)),
        fc.oneof(fc.nat(100), fc.maxSafeNat()),
        (header, size) => {
          const r = parseRange(header, size);
          if (r.type !== 'partial') return;
          assert.ok(Number.isSafeInteger(r.start) && Number.isSafeInteger(r.end), JSON.stringify(r));
          assert.ok(r.start >= 0 && r.start <= r.end && r.end < size, `${JSON.stringify(r)} for size ${size}`);
        },
      ),
      { runs: 5000, corpus: 'range' },
    ),
);

test('parseRange: a well-formed single range means what RFC 9110 §14.1.2 says', { timeout: timeout() }, () =>
  check(
    fc.property(fc.nat(1000), fc.nat(1200), fc.nat(1200), fc.boolean(), (size, a, b, suffix) => {
      if (suffix) {
        const r = parseRange(`bytes=-${b}`, size);
        if (b === 0 || size === 0) assert.deepEqual(r, { type: 'unsatisfiable' });
        else assert.deepEqual(r, { type: 'partial', start: Math.max(0, size - b), end: size - 1 });
        return;
      }
      const r = parseRange(`bytes=${a}-${b}`, size);
      // RFC 9110 §14.1.1: last < first makes the range invalid, and an invalid Range is ignored.
      if (b < a) assert.deepEqual(r, { type: 'full' });
      else if (a >= size) assert.deepEqual(r, { type: 'unsatisfiable' });
      else assert.deepEqual(r, { type: 'partial', start: a, end: Math.min(b, size - 1) });
    }),
    { runs: 3000 },
  ),
);

const etag = fc.oneof(fc.constantFrom('"abc"', 'W/"abc"', '*', '"abc", "def"', 'abc', '""', ','), anyString(20));
const httpDate = fc.oneof(
  fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
  fc.constantFrom('Tue, 01 Dec 2026 12:00:00 GMT', '0', '-1', 'Infinity', '1e400', ''),
  anyString(30),
);

test('evaluateConditions: any conditional headers give one of three answers', { timeout: timeout() }, () =>
  check(
    fc.property(
      fc.record(
        { ifMatch: etag, ifNoneMatch: etag, ifModifiedSince: httpDate, ifUnmodifiedSince: httpDate },
        { requiredKeys: [] },
      ),
      fc.record({ etag: fc.constantFrom('"abc"', '"def"', '""'), lastModified: fc.date({ noInvalidDate: true }) }),
      fc.boolean(),
      (h, v, getOrHead) => {
        const r = evaluateConditions(h, v, getOrHead);
        assert.ok(['proceed', 'not-modified', 'precondition-failed'].includes(r));
        if (!getOrHead) assert.notEqual(r, 'not-modified');
      },
    ),
    { runs: 3000 },
  ),
);

const HOST_CFG: HostConfig = {
  serviceDomains: ['s3.cellar.test', 'localhost'],
  websiteOnlyDomains: ['web.cellar.test'],
};
const HOST_TOKENS = [
  'a',
  'b-1',
  '.',
  '..',
  ':',
  ':80',
  ':65536',
  '[',
  ']',
  '::1',
  '127.0.0.1',
  's3.cellar.test',
  'web.cellar.test',
  'localhost',
  'LOCALHOST',
  '_',
  'xn--',
  ' ',
  '@',
  '%2e',
];

test('resolveHost: any Host header is invalid, the service or a well-formed bucket name', { timeout: timeout() }, () =>
  check(
    fc.property(fc.oneof(fc.constant(undefined), tokenString(HOST_TOKENS, 8), anyString(60)), (host) => {
      const r = resolveHost(host, HOST_CFG);
      if (r.kind !== 'bucket') return;
      assert.ok(r.bucket.length > 0 && r.bucket === r.bucket.toLowerCase(), JSON.stringify(r));
      assert.ok(/^[a-z0-9._-]+$/.test(r.bucket), `bucket ${JSON.stringify(r.bucket)} from ${JSON.stringify(host)}`);
      // Host names are case-insensitive (RFC 9110 §7.2): the same answer in upper case.
      assert.deepEqual(
        resolveHost(
          host?.replace(/[a-z]/g, (c) => c.toUpperCase()),
          HOST_CFG,
        ),
        r,
      );
    }),
    { runs: 5000, corpus: 'host' },
  ),
);

test('classify: any method, target, query, headers and path is one of the four classes', { timeout: timeout() }, () =>
  check(
    fc.property(
      fc.oneof(fc.constantFrom('GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'get', 'PATCH'), anyString(8)),
      fc.oneof(tokenString(HOST_TOKENS, 6), anyString(30)),
      fc.oneof(
        tokenString(
          [
            'uploads',
            'list-type=2',
            'prefix=',
            '&',
            '=',
            '%',
            '%zz',
            'X-Amz-Signature=1',
            'x-amz-foo',
            'Signature',
            '+',
          ],
          8,
        ),
        anyString(40),
      ),
      fc.dictionary(
        fc.constantFrom('authorization', 'Authorization', 'x-amz-date', 'origin', 'host'),
        fc.oneof(anyString(20), fc.array(anyString(10), { maxLength: 2 })),
      ),
      fc.oneof(
        fc.constantFrom('/', '', '/.well-known/acme-challenge/abc_-1', '/.well-known/acme-challenge/', '/k'),
        anyString(40),
      ),
      (method, host, rawQuery, headers, path) => {
        const target = resolveHost(host, HOST_CFG);
        if (target.kind === 'invalid') return;
        assert.ok(
          ['s3', 'website', 'cors-preflight', 'acme-challenge'].includes(
            classify({ method, target, rawQuery, headers, path }),
          ),
        );
        assert.ok(Array.isArray(queryParamNames(rawQuery)));
      },
    ),
    { runs: 4000 },
  ),
);
