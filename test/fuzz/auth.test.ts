/**
 * Fuzz target: SigV4 and SigV2 in the Authorization header and the query string
 * (src/storage/auth). Whatever a client sends, parsing and verifying end in an AuthInfo, a
 * verified caller or a StorageError, never another exception; and a request we sign ourselves,
 * whatever its path, query and header values, verifies.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isStorageError } from '../../src/storage/errors.js';
import { parseAuth, signV4Raw, verifyAuth, type AuthRequest } from '../../src/storage/auth/index.js';
import { anyString, check, timeout, tokenString } from './harness.js';

const NOW = new Date('2026-12-01T12:00:00Z');
const KEY = 'AKIDFUZZ';
const SECRET = 'fuzz/secret+key';

const HEADER_TOKENS = [
  'AWS4-HMAC-SHA256 ',
  'AWS ',
  'AWS4-HMAC-SHA256',
  'Credential=',
  `${KEY}/20261201/us-east-1/s3/aws4_request`,
  '/20261201/',
  '/us-east-1/s3/aws4_request',
  'SignedHeaders=',
  'host;x-amz-date',
  'host;;x-amz-content-sha256',
  'Signature=',
  'deadbeef',
  '0'.repeat(64),
  ',',
  ', ',
  '=',
  ':',
  `${KEY}:`,
  'c2lnbmF0dXJl',
  ' ',
  '\t',
];

const QUERY_TOKENS = [
  'X-Amz-Algorithm=AWS4-HMAC-SHA256',
  'X-Amz-Algorithm=',
  `X-Amz-Credential=${KEY}%2F20261201%2Fus-east-1%2Fs3%2Faws4_request`,
  'X-Amz-Credential=',
  'X-Amz-Date=20261201T120000Z',
  'X-Amz-Date=2026',
  'X-Amz-Expires=3600',
  'X-Amz-Expires=-1',
  'X-Amz-Expires=99999999999999999999',
  'X-Amz-SignedHeaders=host',
  'X-Amz-Signature=00',
  `AWSAccessKeyId=${KEY}`,
  'Signature=abc%3D',
  'Expires=1796000000',
  'Expires=x',
  '&',
  '=',
  '%',
  '%ZZ',
  '%C3%28',
  '+',
  'uploads',
  'partNumber=1',
];

const DATES = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom('20261201T120000Z', '20261201T115959Z', '19700101T000000Z', '2026-12-01T12:00:00Z', ''),
  anyString(30),
);

const request = fc.record({
  method: fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'HEAD', 'get', ''),
  rawPath: fc.oneof(fc.constantFrom('/', '/b', '/b/k', '/b/%2F', '//', '/b/a%zz'), anyString(40)),
  rawQuery: fc.oneof(fc.constant(''), tokenString(QUERY_TOKENS, 12)),
  authorization: fc.oneof(fc.constant(undefined), tokenString(HEADER_TOKENS, 16), anyString(100)),
  amzDate: DATES,
  date: fc.oneof(fc.constant(undefined), fc.constantFrom('Tue, 01 Dec 2026 12:00:00 GMT', 'yesterday'), anyString(30)),
  sha: fc.oneof(
    fc.constant(undefined),
    fc.constantFrom(
      'UNSIGNED-PAYLOAD',
      'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD',
      'e3b0',
    ),
    anyString(70),
  ),
  // Repeated headers arrive as arrays (headersDistinct).
  repeated: fc.boolean(),
});

type Fuzzed = typeof request extends fc.Arbitrary<infer T> ? T : never;

function toAuthRequest(r: Fuzzed): AuthRequest {
  const headers: AuthRequest['headers'] = { host: 'localhost' };
  const set = (name: string, v: string | undefined): void => {
    if (v !== undefined) headers[name] = r.repeated ? [v, v] : v;
  };
  set('authorization', r.authorization);
  set('x-amz-date', r.amzDate);
  set('date', r.date);
  set('x-amz-content-sha256', r.sha);
  return { method: r.method, rawPath: r.rawPath, rawQuery: r.rawQuery, headers };
}

test(
  'parseAuth and verifyAuth: any header, query and date is an answer or a StorageError',
  { timeout: timeout() },
  () =>
    check(
      fc.property(request, (r) => {
        const req = toAuthRequest(r);
        try {
          const info = parseAuth(req);
          if (info.type !== 'anonymous') verifyAuth(req, info, SECRET, { now: NOW, vhostBucket: null });
        } catch (e) {
          assert.ok(isStorageError(e), `not a StorageError: ${(e as Error)?.stack ?? String(e)}`);
        }
      }),
      { runs: 4000, corpus: 'auth' },
    ),
);

/** Raw query parameters: names and values percent-encoded as a client would, or left raw. */
const queryParam = fc
  .tuple(anyString(12), anyString(20))
  .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);

test('a request we sign with SigV4 verifies, whatever its path, query and header values', { timeout: timeout() }, () =>
  check(
    fc.property(
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.array(queryParam, { maxLength: 5 }),
      fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
      (key, query, meta) => {
        const rawPath = `/bucket/${key
          .split('/')
          .map((s) => encodeURIComponent(s))
          .join('/')}`;
        const rawQuery = query.join('&');
        const headers = signV4Raw({
          method: 'PUT',
          rawPath,
          rawQuery,
          headers: { host: 'localhost:8080', 'x-amz-meta-fuzz': meta },
          payloadHash: 'UNSIGNED-PAYLOAD',
          accessKeyId: KEY,
          secretKey: SECRET,
          region: 'us-east-1',
          now: NOW,
        });
        const req: AuthRequest = { method: 'PUT', rawPath, rawQuery, headers };
        const info = parseAuth(req);
        if (info.type !== 'v4') assert.fail(`parsed as ${info.type}`);
        assert.equal(verifyAuth(req, info, SECRET, { now: NOW, vhostBucket: null }).accessKeyId, KEY);
      },
    ),
    { runs: 1500 },
  ),
);
