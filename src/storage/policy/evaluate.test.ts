import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RequestContext } from './conditions.js';
import { parsePolicy, policyAddonIds, type Principal } from './document.js';
import { evaluatePolicy, type PolicyDecision } from './evaluate.js';

const BUCKET = 'photos';
const ANON: Principal = { type: 'anonymous' };
const addon = (id: string): Principal => ({ type: 'addon', id });
const OBJ = 'arn:aws:s3:::photos/a/b.jpg';
const BKT = 'arn:aws:s3:::photos';

/** The two policies of Cellar's documentation, verbatim but for the bucket name. */
const PUBLIC_POLICY = `{
  "Id": "Policy1587216857769",
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "Stmt1587216727444",
      "Action": ["s3:GetObject"],
      "Effect": "Allow",
      "Resource": "arn:aws:s3:::<bucket-name>/*",
      "Principal": "*"
    }
  ]
}`.replace('<bucket-name>', BUCKET);

const READ_ONLY_POLICY = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Action": ["s3:GetObject"],
      "Effect": "Allow",
      "Resource": "arn:aws:s3:::<bucket-name>/*",
      "Principal": {"AWS": "arn:aws:iam::cellar_xxx"}
    }
  ]
}`.replace('<bucket-name>', BUCKET);

type Row = [
  name: string,
  principal: Principal,
  action: string,
  resource: string,
  want: PolicyDecision,
  context?: RequestContext,
];

function check(json: string, rows: Row[]): void {
  const doc = parsePolicy(json, BUCKET);
  for (const [name, principal, action, resource, want, context = {}] of rows) {
    assert.equal(evaluatePolicy(doc, { principal, action, resource, context }), want, name);
  }
}

const policy = (...statements: object[]): string => JSON.stringify({ Version: '2012-10-17', Statement: statements });

test('documented public-read policy', { timeout: 30_000 }, () => {
  const doc = parsePolicy(PUBLIC_POLICY, BUCKET);
  assert.equal(doc.id, 'Policy1587216857769');
  assert.equal(doc.statements[0]!.sid, 'Stmt1587216727444');
  check(PUBLIC_POLICY, [
    ['anonymous reads an object', ANON, 's3:GetObject', OBJ, 'allow'],
    ['anonymous reads a nested key', ANON, 's3:GetObject', 'arn:aws:s3:::photos/x/y/z', 'allow'],
    ['any add-on reads', addon('cellar_other'), 's3:GetObject', OBJ, 'allow'],
    ['anonymous cannot write', ANON, 's3:PutObject', OBJ, 'none'],
    ['anonymous cannot delete', ANON, 's3:DeleteObject', OBJ, 'none'],
    ['anonymous cannot list', ANON, 's3:ListBucket', BKT, 'none'],
    ['anonymous cannot read the ACL', ANON, 's3:GetObjectAcl', OBJ, 'none'],
    ['another bucket is out of scope', ANON, 's3:GetObject', 'arn:aws:s3:::other/a', 'none'],
  ]);
});

test('documented read-only policy for another add-on', { timeout: 30_000 }, () => {
  assert.deepEqual(policyAddonIds(parsePolicy(READ_ONLY_POLICY, BUCKET)), ['cellar_xxx']);
  const reader = addon('cellar_xxx');
  check(READ_ONLY_POLICY, [
    ['the add-on reads', reader, 's3:GetObject', OBJ, 'allow'],
    ['the add-on cannot write', reader, 's3:PutObject', OBJ, 'none'],
    ['the add-on cannot delete', reader, 's3:DeleteObject', OBJ, 'none'],
    ['the add-on cannot set the policy', reader, 's3:PutBucketPolicy', BKT, 'none'],
    ['a third add-on cannot read', addon('cellar_yyy'), 's3:GetObject', OBJ, 'none'],
    ['anonymous cannot read', ANON, 's3:GetObject', OBJ, 'none'],
    ['ids are case-sensitive', addon('CELLAR_XXX'), 's3:GetObject', OBJ, 'none'],
  ]);
});

test('explicit Deny beats Allow, in any statement order', { timeout: 30_000 }, () => {
  const allow = {
    Effect: 'Allow',
    Principal: '*',
    Action: 's3:*',
    Resource: ['arn:aws:s3:::photos', 'arn:aws:s3:::photos/*'],
  };
  const deny = { Effect: 'Deny', Principal: '*', Action: 's3:DeleteObject', Resource: 'arn:aws:s3:::photos/*' };
  for (const json of [policy(allow, deny), policy(deny, allow)]) {
    check(json, [
      ['denied action', addon('cellar_a'), 's3:DeleteObject', OBJ, 'deny'],
      ['other action allowed', addon('cellar_a'), 's3:PutObject', OBJ, 'allow'],
      ['bucket action allowed', ANON, 's3:ListBucket', BKT, 'allow'],
    ]);
  }
  check(policy(deny), [
    ['deny alone', ANON, 's3:DeleteObject', OBJ, 'deny'],
    ['unmatched', ANON, 's3:GetObject', OBJ, 'none'],
  ]);
});

test('NotAction, NotResource, NotPrincipal', { timeout: 30_000 }, () => {
  check(
    policy({
      Effect: 'Allow',
      Principal: '*',
      NotAction: ['s3:Delete*', 's3:PutBucket*'],
      Resource: 'arn:aws:s3:::photos/*',
    }),
    [
      ['NotAction: other action allowed', ANON, 's3:GetObject', OBJ, 'allow'],
      ['NotAction: wildcard-excluded action', ANON, 's3:DeleteObject', OBJ, 'none'],
      ['NotAction: excluded, any case', ANON, 'S3:DELETEOBJECTVERSION', OBJ, 'none'],
      ['NotAction: resource still limits', ANON, 's3:ListBucket', BKT, 'none'],
    ],
  );
  check(
    policy({ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', NotResource: 'arn:aws:s3:::photos/public/*' }),
    [
      ['NotResource: outside is denied', ANON, 's3:GetObject', 'arn:aws:s3:::photos/secret.txt', 'deny'],
      ['NotResource: inside is untouched', ANON, 's3:GetObject', 'arn:aws:s3:::photos/public/a.png', 'none'],
    ],
  );
  check(
    policy({
      Effect: 'Deny',
      NotPrincipal: { AWS: 'arn:aws:iam::cellar_admin' },
      Action: 's3:*',
      Resource: 'arn:aws:s3:::photos/*',
    }),
    [
      ['NotPrincipal: everyone else denied', addon('cellar_a'), 's3:GetObject', OBJ, 'deny'],
      ['NotPrincipal: anonymous denied too', ANON, 's3:GetObject', OBJ, 'deny'],
      ['NotPrincipal: the named add-on is exempt', addon('cellar_admin'), 's3:GetObject', OBJ, 'none'],
    ],
  );
  check(
    policy({ Effect: 'Allow', NotPrincipal: { AWS: '*' }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::photos/*' }),
    [['NotPrincipal "*" excludes everyone', addon('cellar_a'), 's3:GetObject', OBJ, 'none']],
  );
});

test('principal matching', { timeout: 30_000 }, () => {
  check(
    policy({ Effect: 'Allow', Principal: { AWS: '*' }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::photos/*' }),
    [['{"AWS":"*"} includes anonymous', ANON, 's3:GetObject', OBJ, 'allow']],
  );
  check(
    policy({
      Effect: 'Allow',
      Principal: { AWS: ['arn:aws:iam::cellar_a:root', 'cellar_b'] },
      Action: 's3:GetObject',
      Resource: 'arn:aws:s3:::photos/*',
    }),
    [
      ['first of a list', addon('cellar_a'), 's3:GetObject', OBJ, 'allow'],
      ['second of a list', addon('cellar_b'), 's3:GetObject', OBJ, 'allow'],
      ['not in the list', addon('cellar_c'), 's3:GetObject', OBJ, 'none'],
      ['a named principal never means anonymous', ANON, 's3:GetObject', OBJ, 'none'],
    ],
  );
});

test('action and resource wildcards', { timeout: 30_000 }, () => {
  check(
    policy({
      Effect: 'Allow',
      Principal: '*',
      Action: ['s3:Get*', 's3:List?ucket'],
      Resource: ['arn:aws:s3:::photos', 'arn:aws:s3:::photos/pub*/*.jpg', 'arn:aws:s3:::photos/i?/x'],
    }),
    [
      ['s3:Get* covers GetObject', ANON, 's3:GetObject', 'arn:aws:s3:::photos/public/a.jpg', 'allow'],
      ['action case-insensitive', ANON, 'S3:getobject', 'arn:aws:s3:::photos/public/a.jpg', 'allow'],
      ['* spans slashes', ANON, 's3:GetObject', 'arn:aws:s3:::photos/pub/x/y/a.jpg', 'allow'],
      ['resource case-sensitive', ANON, 's3:GetObject', 'arn:aws:s3:::photos/public/a.JPG', 'none'],
      ['suffix must match', ANON, 's3:GetObject', 'arn:aws:s3:::photos/public/a.png', 'none'],
      ['? is one character', ANON, 's3:GetObject', 'arn:aws:s3:::photos/ix/x', 'allow'],
      ['? is not zero characters', ANON, 's3:GetObject', 'arn:aws:s3:::photos/i/x', 'none'],
      ['? in an action', ANON, 's3:ListBucket', BKT, 'allow'],
      ['bucket ARN does not cover objects', ANON, 's3:GetObject', 'arn:aws:s3:::photos/other', 'none'],
      ['Get* does not cover Put', ANON, 's3:PutObject', 'arn:aws:s3:::photos/public/a.jpg', 'none'],
    ],
  );
  check(policy({ Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' }), [
    ['"*" everything, object', ANON, 's3:DeleteObject', OBJ, 'allow'],
    ['"*" everything, bucket', ANON, 's3:PutBucketPolicy', BKT, 'allow'],
  ]);
});

test('policy variables (2012-10-17 only)', { timeout: 30_000 }, () => {
  const st = {
    Effect: 'Allow',
    Principal: '*',
    Action: 's3:GetObject',
    Resource: 'arn:aws:s3:::photos/home/${aws:username}/*',
  };
  const user = (u: string): RequestContext => ({ 'aws:username': u });
  check(policy(st), [
    ['own folder', addon('cellar_a'), 's3:GetObject', 'arn:aws:s3:::photos/home/alice/x', 'allow', user('alice')],
    [
      "someone else's folder",
      addon('cellar_a'),
      's3:GetObject',
      'arn:aws:s3:::photos/home/bob/x',
      'none',
      user('alice'),
    ],
    [
      'value is literal, not a wildcard',
      addon('cellar_a'),
      's3:GetObject',
      'arn:aws:s3:::photos/home/alice/x',
      'none',
      user('*'),
    ],
    ['missing key matches nothing', addon('cellar_a'), 's3:GetObject', 'arn:aws:s3:::photos/home//x', 'none'],
  ]);
  const withDefault = { ...st, Resource: "arn:aws:s3:::photos/home/${aws:username, 'guest'}/*" };
  check(policy(withDefault), [
    ['default value when missing', ANON, 's3:GetObject', 'arn:aws:s3:::photos/home/guest/x', 'allow'],
  ]);
  const escapes = { ...st, Resource: 'arn:aws:s3:::photos/${*}${?}${$}' };
  check(policy(escapes), [
    ['escapes are literal', ANON, 's3:GetObject', 'arn:aws:s3:::photos/*?$', 'allow'],
    ['escaped * is not a wildcard', ANON, 's3:GetObject', 'arn:aws:s3:::photos/ab$', 'none'],
  ]);
  const old = JSON.stringify({
    Version: '2008-10-17',
    Statement: [{ ...st, Resource: 'arn:aws:s3:::photos/${aws:username}' }],
  });
  check(old, [
    [
      '2008-10-17 keeps ${...} literally',
      ANON,
      's3:GetObject',
      'arn:aws:s3:::photos/${aws:username}',
      'allow',
      user('alice'),
    ],
    ['2008-10-17 does not substitute', ANON, 's3:GetObject', 'arn:aws:s3:::photos/alice', 'none', user('alice')],
  ]);
});

test('conditions decide whether a statement applies', { timeout: 30_000 }, () => {
  const json = policy(
    {
      Effect: 'Allow',
      Principal: '*',
      Action: 's3:GetObject',
      Resource: 'arn:aws:s3:::photos/*',
      Condition: { StringLike: { 'aws:Referer': ['https://example.com/*', 'https://www.example.com/*'] } },
    },
    {
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:*',
      Resource: 'arn:aws:s3:::photos/*',
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    },
  );
  check(json, [
    [
      'referer matches',
      ANON,
      's3:GetObject',
      OBJ,
      'allow',
      { 'aws:referer': 'https://example.com/page', 'aws:securetransport': 'true' },
    ],
    [
      'second referer value',
      ANON,
      's3:GetObject',
      OBJ,
      'allow',
      { 'aws:referer': 'https://www.example.com/', 'aws:securetransport': 'true' },
    ],
    [
      'wrong referer',
      ANON,
      's3:GetObject',
      OBJ,
      'none',
      { 'aws:referer': 'https://evil.test/', 'aws:securetransport': 'true' },
    ],
    ['no referer', ANON, 's3:GetObject', OBJ, 'none', { 'aws:securetransport': 'true' }],
    [
      'plain HTTP denied even with referer',
      ANON,
      's3:GetObject',
      OBJ,
      'deny',
      { 'aws:referer': 'https://example.com/x', 'aws:securetransport': 'false' },
    ],
  ]);
  const both = policy({
    Effect: 'Allow',
    Principal: '*',
    Action: 's3:GetObject',
    Resource: 'arn:aws:s3:::photos/*',
    Condition: { IpAddress: { 'aws:SourceIp': '192.0.2.0/24' }, StringEquals: { 'aws:UserAgent': 'curl/8' } },
  });
  check(both, [
    [
      'AND across operators: both hold',
      ANON,
      's3:GetObject',
      OBJ,
      'allow',
      { 'aws:sourceip': '192.0.2.9', 'aws:useragent': 'curl/8' },
    ],
    [
      'AND across operators: one fails',
      ANON,
      's3:GetObject',
      OBJ,
      'none',
      { 'aws:sourceip': '192.0.2.9', 'aws:useragent': 'wget' },
    ],
  ]);
});
