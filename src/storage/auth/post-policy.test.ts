import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StorageError } from '../errors.js';
import { checkPostPolicy, parsePostPolicy, type PostPolicy } from './post-policy.js';
import {
  parsePostAuth,
  postPolicySignatureV2,
  postPolicySignatureV4,
  POST_EXEMPT_FIELDS,
  verifyPostSignature,
} from './post-signature.js';

const b64 = (doc: unknown): string =>
  Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc)).toString('base64');

/** https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-post-example.html */
const AWS_EXAMPLE = {
  secret: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  policy:
    'eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9',
  signature: '8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e',
  /** The example form's fields, names lower-cased as the server reads them, key after ${filename}. */
  fields: new Map([
    ['key', 'user/user1/photo.jpg'],
    ['acl', 'public-read'],
    ['success_action_redirect', 'http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html'],
    ['content-type', 'image/jpeg'],
    ['x-amz-meta-uuid', '14365123651274'],
    ['x-amz-server-side-encryption', 'AES256'],
    ['x-amz-credential', 'AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request'],
    ['x-amz-algorithm', 'AWS4-HMAC-SHA256'],
    ['x-amz-date', '20151229T000000Z'],
    ['x-amz-meta-tag', ''],
  ]),
};

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof StorageError, String(e));
    return `${e.code}: ${e.message}`;
  }
  return 'ok';
}

describe('POST policy signatures', { timeout: 5_000 }, () => {
  test('SigV4: the signature of the AWS documentation example', { timeout: 30_000 }, () => {
    assert.equal(
      postPolicySignatureV4(AWS_EXAMPLE.secret, '20151229', 'us-east-1', AWS_EXAMPLE.policy),
      AWS_EXAMPLE.signature,
    );
  });

  test('SigV2: base64 HMAC-SHA1 of the base64 policy (HTTPPOSTForms.html)', { timeout: 30_000 }, () => {
    // HMAC-SHA1("key", "The quick brown fox jumps over the lazy dog"), RFC 2104 test usage in Wikipedia's HMAC article.
    assert.equal(
      postPolicySignatureV2('key', 'The quick brown fox jumps over the lazy dog'),
      Buffer.from('de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9', 'hex').toString('base64'),
    );
  });

  const v4Fields = (over: Record<string, string | undefined> = {}): Map<string, string> => {
    const m = new Map<string, string>([
      ['policy', AWS_EXAMPLE.policy],
      ['x-amz-algorithm', 'AWS4-HMAC-SHA256'],
      ['x-amz-credential', 'AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request'],
      ['x-amz-date', '20151229T000000Z'],
      ['x-amz-signature', AWS_EXAMPLE.signature],
    ]);
    for (const [k, v] of Object.entries(over)) {
      if (v === undefined) m.delete(k);
      else m.set(k, v);
    }
    return m;
  };

  const cases: Array<[string, Map<string, string>, string]> = [
    ['the AWS example verifies', v4Fields(), 'ok'],
    [
      'an upper-case hex signature verifies',
      v4Fields({ 'x-amz-signature': AWS_EXAMPLE.signature.toUpperCase() }),
      'ok',
    ],
    [
      'another policy does not',
      v4Fields({ policy: b64({ expiration: '2015-12-30T12:00:00.000Z', conditions: [] }) }),
      'SignatureDoesNotMatch',
    ],
    [
      'another region does not',
      v4Fields({ 'x-amz-credential': 'AKIAIOSFODNN7EXAMPLE/20151229/eu-west-1/s3/aws4_request' }),
      'SignatureDoesNotMatch',
    ],
    [
      'x-amz-date of another day than the credential',
      v4Fields({ 'x-amz-date': '20151230T000000Z' }),
      'InvalidArgument',
    ],
    [
      'a credential for another service',
      v4Fields({ 'x-amz-credential': 'AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/iam/aws4_request' }),
      'InvalidArgument',
    ],
    ['a credential without scope', v4Fields({ 'x-amz-credential': 'AKIAIOSFODNN7EXAMPLE' }), 'InvalidArgument'],
    ['an unknown algorithm', v4Fields({ 'x-amz-algorithm': 'AWS4-ECDSA-P256-SHA256' }), 'InvalidArgument'],
    [
      'no policy',
      v4Fields({ policy: undefined }),
      "InvalidArgument: Bucket POST must contain a field named 'policy'.  If it is specified, please check the order of the fields.",
    ],
    [
      'no x-amz-date',
      v4Fields({ 'x-amz-date': undefined }),
      "InvalidArgument: Bucket POST must contain a field named 'x-amz-date'.  If it is specified, please check the order of the fields.",
    ],
    [
      'no signature',
      v4Fields({ 'x-amz-signature': undefined }),
      "InvalidArgument: Bucket POST must contain a field named 'x-amz-signature'.  If it is specified, please check the order of the fields.",
    ],
  ];
  for (const [name, fields, want] of cases) {
    test(`SigV4 form: ${name}`, { timeout: 30_000 }, () => {
      const got = code(() => {
        const auth = parsePostAuth(fields);
        if (auth.type !== 'v4') throw new Error(`parsed as ${auth.type}`);
        verifyPostSignature(auth, AWS_EXAMPLE.secret);
      });
      assert.ok(got === want || got.startsWith(`${want}:`), `${name}: ${got}`);
    });
  }

  test('SigV2 forms: AWSAccessKeyId, signature and policy', { timeout: 30_000 }, () => {
    const policy = b64({ expiration: '2030-01-01T00:00:00Z', conditions: [] });
    const fields = new Map([
      ['awsaccesskeyid', 'AK'],
      ['policy', policy],
      ['signature', postPolicySignatureV2('secret', policy)],
    ]);
    const auth = parsePostAuth(fields);
    assert.deepEqual(auth, {
      type: 'v2',
      accessKeyId: 'AK',
      signature: postPolicySignatureV2('secret', policy),
      policy,
    });
    assert.equal(
      code(() => verifyPostSignature(auth as Exclude<typeof auth, { type: 'anonymous' }>, 'secret')),
      'ok',
    );
    assert.match(
      code(() => verifyPostSignature(auth as Exclude<typeof auth, { type: 'anonymous' }>, 'other')),
      /^SignatureDoesNotMatch/,
    );
    assert.match(
      code(() =>
        parsePostAuth(
          new Map([
            ['awsaccesskeyid', 'AK'],
            ['signature', 'x'],
          ]),
        ),
      ),
      /field named 'policy'/,
    );
  });

  test('no signature fields: anonymous, unless a policy is there', { timeout: 30_000 }, () => {
    assert.deepEqual(parsePostAuth(new Map([['key', 'k']])), { type: 'anonymous' });
    assert.match(
      code(() => parsePostAuth(new Map([['policy', 'e30=']]))),
      /field named 'AWSAccessKeyId'/,
    );
  });
});

describe('POST policy documents', { timeout: 5_000 }, () => {
  const cases: Array<[string, string, string]> = [
    ['the AWS example', AWS_EXAMPLE.policy, 'ok'],
    ['not base64', '!!!', 'InvalidPolicyDocument: Invalid Policy: Invalid base64 encoding.'],
    ['not JSON', b64('{"expiration": '), 'InvalidPolicyDocument: Invalid Policy: Invalid JSON.'],
    ['a JSON list', b64([]), 'InvalidPolicyDocument: Invalid Policy: Invalid JSON.'],
    ['no expiration', b64({ conditions: [] }), 'InvalidPolicyDocument: Invalid Policy: Policy missing expiration.'],
    [
      'a date-only expiration',
      b64({ expiration: '2030-01-01', conditions: [] }),
      "InvalidPolicyDocument: Invalid Policy: Invalid 'expiration' value: '2030-01-01'",
    ],
    [
      'no conditions',
      b64({ expiration: '2030-01-01T00:00:00Z' }),
      'InvalidPolicyDocument: Invalid Policy: Policy missing conditions.',
    ],
    [
      'an unknown operator',
      b64({ expiration: '2030-01-01T00:00:00Z', conditions: [['ends-with', '$key', 'x']] }),
      'InvalidPolicyDocument',
    ],
    [
      'a field without $',
      b64({ expiration: '2030-01-01T00:00:00Z', conditions: [['eq', 'key', 'x']] }),
      'InvalidPolicyDocument',
    ],
    [
      'starts-with on the bucket',
      b64({ expiration: '2030-01-01T00:00:00Z', conditions: [['starts-with', '$bucket', 'x']] }),
      'InvalidPolicyDocument',
    ],
    [
      'starts-with on x-amz-credential',
      b64({ expiration: '2030-01-01T00:00:00Z', conditions: [['starts-with', '$x-amz-credential', '']] }),
      'InvalidPolicyDocument',
    ],
    [
      'a range with min above max',
      b64({ expiration: '2030-01-01T00:00:00Z', conditions: [['content-length-range', 10, 1]] }),
      'InvalidPolicyDocument',
    ],
    [
      'a negative range',
      b64({ expiration: '2030-01-01T00:00:00Z', conditions: [['content-length-range', -1, 1]] }),
      'InvalidPolicyDocument',
    ],
    [
      'a condition that is a string',
      b64({ expiration: '2030-01-01T00:00:00Z', conditions: ['acl'] }),
      'InvalidPolicyDocument',
    ],
    // The doc's escapes beyond JSON: \$ and \xhh.
    ['AWS escapes', b64('{"expiration": "2030-01-01T00:00:00Z", "conditions": [["eq", "$key", "a\\$b\\x41"]]}'), 'ok'],
  ];
  for (const [name, policy, want] of cases) {
    test(name, { timeout: 30_000 }, () => {
      const got = code(() => parsePostPolicy(policy));
      assert.ok(got === want || got.startsWith(`${want}:`), `${name}: ${got}`);
    });
  }

  test('AWS escapes decode to the characters they name', { timeout: 30_000 }, () => {
    const p = parsePostPolicy(
      b64('{"expiration": "2030-01-01T00:00:00Z", "conditions": [["eq", "$Key", "a\\$b\\x41\\\\$"]]}'),
    );
    assert.deepEqual(p.conditions, [{ type: 'eq', field: 'key', value: 'a$bA\\$' }]);
  });
});

describe('checking a form against its policy', { timeout: 5_000 }, () => {
  const NOW = new Date('2030-01-01T00:00:00Z');
  const policy = (conditions: unknown[], expiration = '2030-01-02T00:00:00.000Z'): PostPolicy =>
    parsePostPolicy(b64({ expiration, conditions }));
  const check = (p: PostPolicy, fields: Record<string, string>, now = NOW): string =>
    code(() =>
      checkPostPolicy(p, {
        fields: new Map(Object.entries(fields)),
        bucket: 'photos',
        exempt: new Set(POST_EXEMPT_FIELDS.v4),
        now,
      }),
    );

  const cases: Array<[string, unknown[], Record<string, string>, string]> = [
    ['exact match, object form', [{ acl: 'public-read' }, { key: 'a' }], { acl: 'public-read', key: 'a' }, 'ok'],
    [
      'exact match fails',
      [{ acl: 'public-read' }, { key: 'a' }],
      { acl: 'private', key: 'a' },
      'AccessDenied: Invalid according to Policy: Policy Condition failed: ["eq", "$acl", "public-read"]',
    ],
    ['eq, list form', [['eq', '$key', 'a']], { key: 'a' }, 'ok'],
    [
      'eq is case-sensitive in the value',
      [['eq', '$key', 'a']],
      { key: 'A' },
      'AccessDenied: Invalid according to Policy: Policy Condition failed: ["eq", "$key", "a"]',
    ],
    [
      'field names are not case-sensitive',
      [['eq', '$Content-Type', 'image/png'], { key: 'a' }],
      { 'content-type': 'image/png', key: 'a' },
      'ok',
    ],
    ['starts-with', [['starts-with', '$key', 'user/eric/']], { key: 'user/eric/x.png' }, 'ok'],
    [
      'starts-with fails',
      [['starts-with', '$key', 'user/eric/']],
      { key: 'user/bob/x.png' },
      'AccessDenied: Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "user/eric/"]',
    ],
    [
      'starts-with "" matches anything',
      [
        ['starts-with', '$key', ''],
        ['starts-with', '$x-amz-meta-tag', ''],
      ],
      { key: 'anything', 'x-amz-meta-tag': '' },
      'ok',
    ],
    [
      'a condition on a missing field sees ""',
      [{ key: 'a' }, { acl: 'public-read' }],
      { key: 'a' },
      'AccessDenied: Invalid according to Policy: Policy Condition failed: ["eq", "$acl", "public-read"]',
    ],
    [
      'Content-Type lists: every entry must match',
      [['starts-with', '$Content-Type', 'image/'], { key: 'a' }],
      { 'content-type': 'image/png, image/jpeg', key: 'a' },
      'ok',
    ],
    [
      'Content-Type lists: one entry off fails',
      [['starts-with', '$Content-Type', 'image/'], { key: 'a' }],
      { 'content-type': 'image/png, text/html', key: 'a' },
      'AccessDenied',
    ],
    ['the bucket condition matches the bucket posted to', [{ bucket: 'photos' }, { key: 'a' }], { key: 'a' }, 'ok'],
    [
      'another bucket fails',
      [{ bucket: 'other' }, { key: 'a' }],
      { key: 'a' },
      'AccessDenied: Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "other"]',
    ],
    [
      'a field without condition is extra',
      [{ key: 'a' }],
      { key: 'a', 'x-amz-meta-foo': 'bar', 'content-type': 'text/plain' },
      'AccessDenied: Invalid according to Policy: Extra input fields: x-amz-meta-foo, content-type',
    ],
    [
      'x-ignore- fields, file, policy and the signature need none',
      [{ key: 'a' }],
      { key: 'a', 'x-ignore-flash': '1', file: '', policy: 'p', 'x-amz-signature': 's' },
      'ok',
    ],
    [
      'SigV4 fields other than the signature need one',
      [{ key: 'a' }],
      { key: 'a', 'x-amz-date': '20300101T000000Z' },
      'AccessDenied: Invalid according to Policy: Extra input fields: x-amz-date',
    ],
    [
      'success_action_status exact',
      [{ key: 'a' }, { success_action_status: '201' }],
      { key: 'a', success_action_status: '201' },
      'ok',
    ],
    [
      'a number value matches its text',
      [{ key: 'a' }, { success_action_status: 201 }],
      { key: 'a', success_action_status: '201' },
      'ok',
    ],
  ];
  for (const [name, conditions, fields, want] of cases) {
    test(name, { timeout: 30_000 }, () => {
      const got = check(policy(conditions), fields);
      assert.ok(got === want || got.startsWith(`${want}:`), `${name}: ${got}`);
    });
  }

  test('an expired policy is refused before its conditions are looked at', { timeout: 30_000 }, () => {
    assert.equal(
      check(policy([{ acl: 'x' }], '2029-12-31T23:59:59Z'), {}),
      'AccessDenied: Invalid according to Policy: Policy expired.',
    );
    assert.equal(check(policy([], '2030-01-01T00:00:00Z'), {}), 'ok', 'valid up to the expiration instant');
  });

  test('content-length-range conditions give the allowed sizes, intersected', { timeout: 30_000 }, () => {
    const p = policy([['content-length-range', 10, 100], ['content-length-range', '20', '1000'], { key: 'a' }]);
    assert.deepEqual(
      checkPostPolicy(p, { fields: new Map([['key', 'a']]), bucket: 'b', exempt: new Set(), now: NOW }),
      { min: 20, max: 100 },
    );
    assert.deepEqual(checkPostPolicy(policy([]), { fields: new Map(), bucket: 'b', exempt: new Set(), now: NOW }), {
      min: 0,
      max: Infinity,
    });
  });

  test('the whole AWS example form passes its policy on the day it was made', { timeout: 30_000 }, () => {
    const p = parsePostPolicy(AWS_EXAMPLE.policy);
    const range = checkPostPolicy(p, {
      fields: AWS_EXAMPLE.fields,
      bucket: 'sigv4examplebucket',
      exempt: new Set(POST_EXEMPT_FIELDS.v4),
      now: new Date('2015-12-29T10:00:00Z'),
    });
    assert.deepEqual(range, { min: 0, max: Infinity });
    assert.match(
      code(() =>
        checkPostPolicy(p, {
          fields: AWS_EXAMPLE.fields,
          bucket: 'sigv4examplebucket',
          exempt: new Set(POST_EXEMPT_FIELDS.v4),
          now: new Date('2015-12-30T12:00:01Z'),
        }),
      ),
      /Policy expired/,
    );
  });
});
