import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StorageError } from '../errors.js';
import { parsePolicy, POLICY_MAX_BYTES } from './document.js';

const BUCKET = 'photos';

const policy = (statement: object | object[], extra: object = {}): string =>
  JSON.stringify({ Version: '2012-10-17', ...extra, Statement: statement });
const stmt = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  Effect: 'Allow',
  Principal: '*',
  Action: 's3:GetObject',
  Resource: `arn:aws:s3:::${BUCKET}/*`,
  ...over,
});
const without = (key: string): Record<string, unknown> => {
  const s = stmt();
  delete s[key];
  return s;
};

const principals: Array<[string, unknown, { wildcard: boolean; addonIds: string[] }]> = [
  ['bare star', '*', { wildcard: true, addonIds: [] }],
  ['AWS star', { AWS: '*' }, { wildcard: true, addonIds: [] }],
  ['AWS star in a list', { AWS: ['*'] }, { wildcard: true, addonIds: [] }],
  ['Cellar ARN', { AWS: 'arn:aws:iam::cellar_ab12cd34' }, { wildcard: false, addonIds: ['cellar_ab12cd34'] }],
  [
    'account root ARN',
    { AWS: 'arn:aws:iam::cellar_ab12cd34:root' },
    { wildcard: false, addonIds: ['cellar_ab12cd34'] },
  ],
  ['bare id', { AWS: 'cellar_ab12cd34' }, { wildcard: false, addonIds: ['cellar_ab12cd34'] }],
  ['RGW user ARN', { AWS: 'arn:aws:iam:::user/cellar_ab12cd34' }, { wildcard: false, addonIds: ['cellar_ab12cd34'] }],
  ['canonical user', { CanonicalUser: 'cellar_ab12cd34' }, { wildcard: false, addonIds: ['cellar_ab12cd34'] }],
  [
    'list, duplicates folded',
    { AWS: ['cellar_a', 'arn:aws:iam::cellar_b', 'arn:aws:iam::cellar_a:root'] },
    { wildcard: false, addonIds: ['cellar_a', 'cellar_b'] },
  ],
  [
    'AWS and CanonicalUser together',
    { AWS: 'cellar_a', CanonicalUser: 'cellar_c' },
    { wildcard: false, addonIds: ['cellar_a', 'cellar_c'] },
  ],
];

test('principal forms', { timeout: 30_000 }, () => {
  for (const [name, Principal, want] of principals) {
    const got = parsePolicy(policy(stmt({ Principal })), BUCKET).statements[0]!.principal;
    assert.deepEqual(got, { negated: false, ...want }, name);
  }
  const np = parsePolicy(
    policy(stmt({ Principal: undefined, NotPrincipal: { AWS: 'cellar_a' }, Effect: 'Deny' })),
    BUCKET,
  );
  assert.deepEqual(np.statements[0]!.principal, { negated: true, wildcard: false, addonIds: ['cellar_a'] });
});

test('accepted variations', { timeout: 30_000 }, () => {
  const rows: Array<[string, string, (d: ReturnType<typeof parsePolicy>) => boolean]> = [
    ['Statement as a single object', policy(stmt()), (d) => d.statements.length === 1],
    ['no Version means 2008-10-17', JSON.stringify({ Statement: [stmt()] }), (d) => d.version === '2008-10-17'],
    ['Version 2008-10-17', policy(stmt(), { Version: '2008-10-17' }), (d) => d.version === '2008-10-17'],
    ['Action "*" is s3:*', policy(stmt({ Action: '*' })), (d) => d.statements[0]!.action.patterns[0] === 's3:*'],
    [
      'action names fold case',
      policy(stmt({ Action: 'S3:GETOBJECT' })),
      (d) => d.statements[0]!.action.patterns[0] === 's3:getobject',
    ],
    ['uncatalogued s3 action', policy(stmt({ Action: 's3:GetObjectAnnotation' })), (d) => d.statements.length === 1],
    ['Resource "*"', policy(stmt({ Resource: '*' })), (d) => d.statements[0]!.resource.patterns[0] === '*'],
    [
      'bucket ARN for ListBucket',
      policy(stmt({ Action: 's3:ListBucket', Resource: 'arn:aws:s3:::photos' })),
      (d) => d.statements.length === 1,
    ],
    [
      'wildcard bucket ARN',
      policy(stmt({ Action: 's3:*', Resource: 'arn:aws:s3:::pho*' })),
      (d) => d.statements.length === 1,
    ],
    ['any-bucket ARN', policy(stmt({ Resource: 'arn:aws:s3:::*' })), (d) => d.statements.length === 1],
    [
      'policy variable in resource',
      policy(stmt({ Resource: 'arn:aws:s3:::photos/${aws:username}/*' })),
      (d) => d.statements.length === 1,
    ],
    [
      'mixed actions, one fits',
      policy(
        stmt({ Action: ['s3:GetObject', 's3:ListBucket'], Resource: ['arn:aws:s3:::photos', 'arn:aws:s3:::photos/*'] }),
      ),
      (d) => d.statements[0]!.action.patterns.length === 2,
    ],
    [
      's3:List* on objects (ListMultipartUploadParts fits)',
      policy(stmt({ Action: 's3:List*' })),
      (d) => d.statements.length === 1,
    ],
    [
      'NotAction skips the applicability check',
      policy(stmt({ Action: undefined, NotAction: 's3:ListBucket' })),
      (d) => d.statements[0]!.action.negated,
    ],
    [
      'NotResource',
      policy(stmt({ Resource: undefined, NotResource: 'arn:aws:s3:::photos/private/*' })),
      (d) => d.statements[0]!.resource.negated,
    ],
    [
      'distinct Sids',
      policy([stmt({ Sid: 'a' }), stmt({ Sid: 'b' }), stmt()]),
      (d) => d.statements.map((s) => s.sid).join() === 'a,b,',
    ],
    [
      'condition values as JSON scalars',
      policy(stmt({ Condition: { Bool: { 'aws:SecureTransport': false }, NumericLessThan: { 's3:max-keys': 10 } } })),
      (d) =>
        d.statements[0]!.conditions[0]!.values[0] === 'false' && d.statements[0]!.conditions[1]!.values[0] === '10',
    ],
    [
      'condition key lower-cased',
      policy(stmt({ Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } })),
      (d) => d.statements[0]!.conditions[0]!.key === 'aws:sourceip',
    ],
  ];
  for (const [name, json, check] of rows) assert.ok(check(parsePolicy(json, BUCKET)), name);
});

const big = (n: number): string => {
  const base = policy([stmt({ Sid: '' })]);
  return base.replace('"Sid":""', `"Sid":"${'x'.repeat(n - base.length)}"`);
};

/** One row per refusal reason: the document and the reason AWS would give (or close to it). */
const malformed: Array<[string, string, RegExp]> = [
  ['invalid JSON', '{"Version": "2012-10-17",', /valid JSON/],
  ['not an object', '["Statement"]', /valid JSON/],
  ['too large', big(POLICY_MAX_BYTES + 1), /maximum allowed document size/],
  ['unknown top-level field', policy(stmt(), { Foo: 1 }), /Unknown field Foo/],
  ['bad Version', policy(stmt(), { Version: '2012-10-18' }), /Invalid policy version/],
  ['non-string Id', policy(stmt(), { Id: 5 }), /Id must be a string/],
  ['missing Statement', JSON.stringify({ Version: '2012-10-17' }), /Missing required field Statement/],
  ['empty Statement', policy([]), /Missing required field Statement/],
  ['statement not an object', policy(['x']), /Statement must be an object/],
  ['unknown statement field', policy(stmt({ Actions: 's3:GetObject' })), /Unknown field Actions/],
  ['missing Effect', policy(without('Effect')), /Missing required field Effect/],
  ['unknown Effect', policy(stmt({ Effect: 'allow' })), /Invalid effect: allow/],
  // Found by test/fuzz/policy.test.ts: String() of this object threw a TypeError.
  [
    'Effect an object with a toString field',
    policy(stmt({ Effect: { toString: '' } })),
    /Invalid effect: \{"toString":""\}/,
  ],
  ['missing Principal', policy(without('Principal')), /Missing required field Principal/],
  ['Principal and NotPrincipal', policy(stmt({ NotPrincipal: '*' })), /both Principal and NotPrincipal/],
  ['principal not an id', policy(stmt({ Principal: { AWS: 'arn:aws:s3:::photos' } })), /Invalid principal/],
  ['principal of a service', policy(stmt({ Principal: { Service: 'cloudfront.amazonaws.com' } })), /Invalid principal/],
  ['principal as an array', policy(stmt({ Principal: ['*'] })), /Invalid principal/],
  ['empty principal object', policy(stmt({ Principal: {} })), /Invalid principal/],
  ['empty principal list', policy(stmt({ Principal: { AWS: [] } })), /Invalid principal/],
  ['missing Action', policy(without('Action')), /Missing required field Action/],
  ['Action and NotAction', policy(stmt({ NotAction: 's3:PutObject' })), /both Action and NotAction/],
  ['action of another service', policy(stmt({ Action: 'iam:PassRole' })), /Policy has invalid action/],
  ['action without prefix', policy(stmt({ Action: 'GetObject' })), /Policy has invalid action/],
  ['empty action list', policy(stmt({ Action: [] })), /Policy has invalid action/],
  ['non-string action', policy(stmt({ Action: [1] })), /Policy has invalid action/],
  ['missing Resource', policy(without('Resource')), /Missing required field Resource/],
  ['Resource and NotResource', policy(stmt({ NotResource: '*' })), /both Resource and NotResource/],
  ['resource of another bucket', policy(stmt({ Resource: 'arn:aws:s3:::other/*' })), /Policy has invalid resource/],
  [
    'resource of a prefix-sharing bucket',
    policy(stmt({ Resource: 'arn:aws:s3:::photos2/*' })),
    /Policy has invalid resource/,
  ],
  ['resource not an S3 ARN', policy(stmt({ Resource: 'arn:aws:iam::cellar_a' })), /Policy has invalid resource/],
  ['ListBucket on objects only', policy(stmt({ Action: 's3:ListBucket' })), /Action does not apply/],
  ['GetObject on the bucket only', policy(stmt({ Resource: 'arn:aws:s3:::photos' })), /Action does not apply/],
  [
    'one of two actions does not fit',
    policy(stmt({ Action: ['s3:GetObject', 's3:PutBucketPolicy'] })),
    /Action does not apply/,
  ],
  [
    'account-level action',
    policy(stmt({ Action: 's3:ListAllMyBuckets', Resource: 'arn:aws:s3:::photos' })),
    /Action does not apply/,
  ],
  ['non-string Sid', policy(stmt({ Sid: 3 })), /Sid must be a string/],
  ['duplicate Sid', policy([stmt({ Sid: 'a' }), stmt({ Sid: 'a' })]), /must be unique/],
  [
    'unknown condition operator',
    policy(stmt({ Condition: { StringEqualz: { 'aws:Referer': 'x' } } })),
    /Invalid Condition type : StringEqualz/,
  ],
  [
    'unknown set qualifier',
    policy(stmt({ Condition: { 'ForSomeValues:StringLike': { 'aws:Referer': 'x' } } })),
    /Invalid Condition type/,
  ],
  ['NullIfExists', policy(stmt({ Condition: { NullIfExists: { 'aws:Referer': 'true' } } })), /Invalid Condition type/],
  ['Condition not an object', policy(stmt({ Condition: 'x' })), /Condition must be an object/],
  ['operator without keys', policy(stmt({ Condition: { StringEquals: {} } })), /Invalid Condition block/],
  [
    'condition key without prefix',
    policy(stmt({ Condition: { StringEquals: { referer: 'x' } } })),
    /invalid condition key/,
  ],
  [
    'condition value an object',
    policy(stmt({ Condition: { StringEquals: { 'aws:Referer': { a: 1 } } } })),
    /Invalid Condition value/,
  ],
  [
    'bad CIDR',
    policy(stmt({ Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/33' } } })),
    /Invalid Condition value.*10\.0\.0\.0\/33/,
  ],
  ['bad number', policy(stmt({ Condition: { NumericLessThan: { 's3:max-keys': 'ten' } } })), /Invalid Condition value/],
  [
    'bad date',
    policy(stmt({ Condition: { DateLessThan: { 'aws:CurrentTime': 'tomorrow' } } })),
    /Invalid Condition value/,
  ],
  ['bad Bool', policy(stmt({ Condition: { Bool: { 'aws:SecureTransport': 'yes' } } })), /Invalid Condition value/],
  ['bad Null', policy(stmt({ Condition: { Null: { 'aws:Referer': 'maybe' } } })), /Invalid Condition value/],
];

test('malformed policies are refused with a reason', { timeout: 30_000 }, () => {
  for (const [name, json, reason] of malformed) {
    assert.throws(
      () => parsePolicy(json, BUCKET),
      (e: unknown) => e instanceof StorageError && e.code === 'MalformedPolicy' && reason.test(e.message),
      name,
    );
  }
});

test('size limit is 20 KiB of UTF-8', { timeout: 30_000 }, () => {
  assert.equal(parsePolicy(big(POLICY_MAX_BYTES), BUCKET).statements.length, 1);
  assert.throws(() => parsePolicy(big(POLICY_MAX_BYTES + 1), BUCKET), /maximum allowed document size/);
});
