/**
 * Fuzz target: bucket policies (src/storage/policy). Any document is a policy or a
 * MalformedPolicy; a policy that parsed is evaluated against any request without throwing; and
 * the wildcard matcher, linear-time since issue 12 (F2), agrees with a regular expression.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isStorageError } from '../../src/storage/errors.js';
import { evaluatePolicy, parsePolicy, type PolicyDocument } from '../../src/storage/policy/index.js';
import { codePoints, globMatches } from '../../src/storage/policy/glob.js';
import { compilePattern } from '../../src/storage/policy/conditions.js';
import { anyString, check, timeout } from './harness.js';

const BUCKET = 'fuzz-bucket';

const OPERATORS = [
  'StringEquals',
  'StringNotEquals',
  'StringEqualsIgnoreCase',
  'StringLike',
  'StringNotLike',
  'Bool',
  'BinaryEquals',
  'IpAddress',
  'NotIpAddress',
  'ArnLike',
  'ArnNotEquals',
  'Null',
  'NumericLessThan',
  'DateGreaterThan',
  'Foo',
];
const KEYS = [
  'aws:Referer',
  'aws:SourceIp',
  'aws:SecureTransport',
  'aws:UserAgent',
  's3:prefix',
  's3:max-keys',
  'aws:CurrentTime',
  's3:ExistingObjectTag/x',
  'x:y',
];
const ACTIONS = [
  's3:GetObject',
  's3:*',
  '*',
  's3:Get*',
  's3:ListBucket',
  's3:PutObject',
  's3:DeleteObjects',
  'iam:PassRole',
  's3:get?bject',
  's3:Nope',
];
const RESOURCES = [
  `arn:aws:s3:::${BUCKET}`,
  `arn:aws:s3:::${BUCKET}/*`,
  `arn:aws:s3:::${BUCKET}/\${aws:username}/*`,
  'arn:aws:s3:::other/*',
  '*',
  `arn:aws:s3:::${BUCKET}/a?c*`,
];

/** Strings a policy value might hold: patterns, variables, addresses, junk. */
const policyString = fc.oneof(
  fc.constantFrom(
    '*',
    '?',
    '*a*a*b',
    '${aws:Referer}',
    "${aws:username, 'x'}",
    '${',
    '10.0.0.0/8',
    '::1/128',
    '300.1.1.1/40',
    'true',
    'http://example.com/*',
    '',
  ),
  anyString(20),
);
const stringOrList = fc.oneof(policyString, fc.array(policyString, { maxLength: 3 }));
const anyJson = fc.jsonValue({ maxDepth: 3 });

const condition = fc.dictionary(
  fc.oneof(
    fc.constantFrom(...OPERATORS),
    fc
      .tuple(
        fc.constantFrom('ForAnyValue:', 'ForAllValues:', 'foranyvalue:', ''),
        fc.constantFrom(...OPERATORS),
        fc.constantFrom('', 'IfExists'),
      )
      .map((p) => p.join('')),
  ),
  fc.oneof(fc.dictionary(fc.constantFrom(...KEYS), fc.oneof(stringOrList, anyJson), { maxKeys: 3 }), anyJson),
  { maxKeys: 3 },
);

const statement = fc.record(
  {
    Sid: fc.oneof(fc.constantFrom('a', 'b'), anyJson),
    Effect: fc.oneof(fc.constantFrom('Allow', 'Deny', 'allow'), anyJson),
    Principal: fc.oneof(fc.constantFrom('*', { AWS: '*' }, { AWS: ['addon-1', '*'] }, { CanonicalUser: 'x' }), anyJson),
    NotPrincipal: fc.constantFrom('*', { AWS: 'addon-2' }),
    Action: fc.oneof(fc.constantFrom(...ACTIONS), fc.array(fc.constantFrom(...ACTIONS), { maxLength: 3 }), anyJson),
    NotAction: fc.constantFrom(...ACTIONS),
    Resource: fc.oneof(
      fc.constantFrom(...RESOURCES),
      fc.array(fc.constantFrom(...RESOURCES), { maxLength: 3 }),
      anyJson,
    ),
    NotResource: fc.constantFrom(...RESOURCES),
    Condition: fc.oneof(condition, anyJson),
    Extra: anyJson,
  },
  { requiredKeys: [] },
);

const policyText = fc.oneof(
  fc
    .record(
      {
        Version: fc.oneof(fc.constantFrom('2012-10-17', '2008-10-17', '2020-01-01'), anyJson),
        Id: fc.oneof(fc.string(), anyJson),
        Statement: fc.oneof(fc.array(statement, { maxLength: 3 }), statement, anyJson),
      },
      { requiredKeys: [] },
    )
    .map((doc) => JSON.stringify(doc)),
  fc.json({ maxDepth: 4 }),
  anyString(100),
);

const request = fc.record({
  principal: fc.oneof(
    fc.constant({ type: 'anonymous' as const }),
    fc.constantFrom('addon-1', 'addon-2').map((id) => ({ type: 'addon' as const, id })),
  ),
  action: fc.constantFrom(...ACTIONS),
  resource: fc.oneof(
    fc.constantFrom(...RESOURCES),
    anyString(40).map((k) => `arn:aws:s3:::${BUCKET}/${k}`),
  ),
  context: fc.dictionary(
    fc.constantFrom(...KEYS.map((k) => k.toLowerCase()), 'aws:username'),
    fc.oneof(
      anyString(40),
      fc.array(anyString(10), { maxLength: 3 }),
      fc.constantFrom('10.1.2.3', '::1', 'true', '2026-12-01T00:00:00Z'),
    ),
  ),
});

test('parsePolicy: any text is a policy or a MalformedPolicy; evaluation never throws', { timeout: timeout() }, () =>
  check(
    fc.property(policyText, fc.array(request, { minLength: 1, maxLength: 4 }), (text, requests) => {
      let doc: PolicyDocument;
      try {
        doc = parsePolicy(text, BUCKET);
      } catch (e) {
        assert.ok(isStorageError(e), `not a StorageError: ${(e as Error)?.stack ?? String(e)}`);
        assert.equal(e.code, 'MalformedPolicy');
        return;
      }
      for (const r of requests) assert.ok(['allow', 'deny', 'none'].includes(evaluatePolicy(doc, r)));
    }),
    { runs: 3000, corpus: 'policy' },
  ),
);

/** IAM wildcards as a regular expression: the slow, obviously right oracle. */
function oracle(pattern: string): RegExp {
  let re = '';
  for (const ch of pattern) re += ch === '*' ? '[^]*' : ch === '?' ? '.' : ch.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  return new RegExp(`^${re}$`, 'su');
}

// A small alphabet makes matches likely; the astral character checks that `?` takes a whole code point.
const alphabet = fc.constantFrom('a', 'b', '*', '?', '\u{1F600}', '.', '\n');
const glob = fc.array(alphabet, { maxLength: 14 }).map((a) => a.join(''));
const globText = fc
  .array(fc.constantFrom('a', 'b', '\u{1F600}', '.', '*', '\n'), { maxLength: 18 })
  .map((a) => a.join(''));

test('the wildcard matcher agrees with a regular expression', { timeout: timeout() }, () =>
  check(
    fc.property(glob, globText, (pattern, text) => {
      const p = compilePattern(pattern, 'literal');
      assert.ok(p !== null);
      assert.equal(
        globMatches(p, codePoints(text)),
        oracle(pattern).test(text),
        `${JSON.stringify(pattern)} on ${JSON.stringify(text)}`,
      );
    }),
    { runs: 20_000, corpus: 'glob' },
  ),
);
