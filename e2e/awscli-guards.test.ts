/**
 * Bucket guards driven by Debian's aws cli against a real server process: put-public-access-block,
 * get-public-access-block, put-bucket-ownership-controls and get-bucket-policy-status as a user
 * would type them, their JSON output, their errors and their effect on curl as an anonymous visitor.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runOk } from './helpers/run.js';
import { awsCli, type AwsCli } from './helpers/awscli.js';
import { startServer, type E2eServer } from './helpers/server.js';

const T = { timeout: 120_000 };

let server: E2eServer;
let cli: AwsCli;
let work: string;

/** The HTTP status an anonymous curl gets for `url`. */
async function anonymousStatus(url: string): Promise<string> {
  return (await runOk('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', url], { timeoutMs: 20_000 })).stdout;
}

before(async () => {
  server = await startServer();
  cli = awsCli(server, 'cellar-e2e-aws-guards-');
  work = cli.work;
});

after(async () => {
  await server?.dispose();
  cli?.dispose();
});

interface PabOutput {
  PublicAccessBlockConfiguration: Record<string, boolean>;
}

test('put-public-access-block / get-public-access-block: stored, read back, enforced for curl', T, async () => {
  const b = 'pab-bucket';
  await cli.ok(['s3api', 'create-bucket', '--bucket', b]);
  await cli.fails(['s3api', 'get-public-access-block', '--bucket', b], 'NoSuchPublicAccessBlockConfiguration');
  const file = path.join(work, 'page.html');
  writeFileSync(file, '<p>hello</p>');
  await cli.ok(['s3api', 'put-object', '--bucket', b, '--key', 'page.html', '--body', file, '--acl', 'public-read']);
  const url = `${server.endpoint}/${b}/page.html`;
  assert.equal(await anonymousStatus(url), '200');

  await cli.ok([
    's3api',
    'put-public-access-block',
    '--bucket',
    b,
    '--public-access-block-configuration',
    'BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=false,RestrictPublicBuckets=false',
  ]);
  const got = await cli.json<PabOutput>(['s3api', 'get-public-access-block', '--bucket', b]);
  assert.deepEqual(got.PublicAccessBlockConfiguration, {
    BlockPublicAcls: true,
    IgnorePublicAcls: true,
    BlockPublicPolicy: false,
    RestrictPublicBuckets: false,
  });
  assert.equal(await anonymousStatus(url), '403', 'IgnorePublicAcls: the public-read ACL no longer grants');
  await cli.fails(
    ['s3api', 'put-object', '--bucket', b, '--key', 'other.html', '--body', file, '--acl', 'public-read'],
    'AccessDenied',
  );

  await cli.ok(['s3api', 'delete-public-access-block', '--bucket', b]);
  assert.equal(await anonymousStatus(url), '200');
});

test('get-bucket-policy-status and BlockPublicPolicy', T, async () => {
  const b = 'policy-status-bucket';
  await cli.ok(['s3api', 'create-bucket', '--bucket', b]);
  const statement = (condition?: object) =>
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: '*',
          Action: 's3:GetObject',
          Resource: `arn:aws:s3:::${b}/*`,
          ...(condition ? { Condition: condition } : {}),
        },
      ],
    });
  await cli.fails(['s3api', 'get-bucket-policy-status', '--bucket', b], 'NoSuchBucketPolicy');
  await cli.ok(['s3api', 'put-bucket-policy', '--bucket', b, '--policy', statement()]);
  const open = await cli.json<{ PolicyStatus: { IsPublic: boolean } }>([
    's3api',
    'get-bucket-policy-status',
    '--bucket',
    b,
  ]);
  assert.equal(open.PolicyStatus.IsPublic, true);
  await cli.ok([
    's3api',
    'put-bucket-policy',
    '--bucket',
    b,
    '--policy',
    statement({ IpAddress: { 'aws:SourceIp': '192.0.2.0/24' } }),
  ]);
  const narrow = await cli.json<{ PolicyStatus: { IsPublic: boolean } }>([
    's3api',
    'get-bucket-policy-status',
    '--bucket',
    b,
  ]);
  assert.equal(narrow.PolicyStatus.IsPublic, false);

  await cli.ok([
    's3api',
    'put-public-access-block',
    '--bucket',
    b,
    '--public-access-block-configuration',
    'BlockPublicPolicy=true',
  ]);
  await cli.fails(['s3api', 'put-bucket-policy', '--bucket', b, '--policy', statement()], 'AccessDenied');
  const kept = await cli.json<{ PolicyStatus: { IsPublic: boolean } }>([
    's3api',
    'get-bucket-policy-status',
    '--bucket',
    b,
  ]);
  assert.equal(kept.PolicyStatus.IsPublic, false, 'the refused policy did not replace the stored one');
});

test('put-bucket-ownership-controls: BucketOwnerEnforced disables ACLs', T, async () => {
  const b = 'ownership-bucket';
  await cli.ok(['s3api', 'create-bucket', '--bucket', b]);
  await cli.fails(['s3api', 'get-bucket-ownership-controls', '--bucket', b], 'OwnershipControlsNotFoundError');
  const file = path.join(work, 'o.txt');
  writeFileSync(file, 'owned');
  await cli.ok(['s3api', 'put-object', '--bucket', b, '--key', 'o.txt', '--body', file, '--acl', 'public-read']);
  assert.equal(await anonymousStatus(`${server.endpoint}/${b}/o.txt`), '200');

  await cli.ok([
    's3api',
    'put-bucket-ownership-controls',
    '--bucket',
    b,
    '--ownership-controls',
    'Rules=[{ObjectOwnership=BucketOwnerEnforced}]',
  ]);
  const got = await cli.json<{ OwnershipControls: { Rules: { ObjectOwnership: string }[] } }>([
    's3api',
    'get-bucket-ownership-controls',
    '--bucket',
    b,
  ]);
  assert.deepEqual(got.OwnershipControls.Rules, [{ ObjectOwnership: 'BucketOwnerEnforced' }]);
  assert.equal(await anonymousStatus(`${server.endpoint}/${b}/o.txt`), '403', 'ACLs no longer grant');
  await cli.fails(
    ['s3api', 'put-object', '--bucket', b, '--key', 'p.txt', '--body', file, '--acl', 'public-read'],
    'AccessControlListNotSupported',
  );
  await cli.ok([
    's3api',
    'put-object',
    '--bucket',
    b,
    '--key',
    'p.txt',
    '--body',
    file,
    '--acl',
    'bucket-owner-full-control',
  ]);
  await cli.fails(
    [
      's3api',
      'put-bucket-ownership-controls',
      '--bucket',
      b,
      '--ownership-controls',
      'Rules=[{ObjectOwnership=Everyone}]',
    ],
    'MalformedXML',
  );
});
