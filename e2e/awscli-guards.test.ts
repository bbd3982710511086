/**
 * Bucket guards driven by Debian's aws cli against a real server process: put-public-access-block,
 * get-public-access-block, put-bucket-ownership-controls and get-bucket-policy-status as a user
 * would type them, their JSON output, their errors and their effect on curl as an anonymous visitor.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run, runOk, type RunResult } from './helpers/run.js';
import { startServer, type E2eServer } from './helpers/server.js';

// Debian's aws-cli 2.x; a pyenv shim named `aws` earlier on PATH may be another version.
const AWS = '/usr/bin/aws';
const T = { timeout: 120_000 };

let server: E2eServer;
let work: string;
let env: NodeJS.ProcessEnv;

function aws(args: string[]): Promise<RunResult> {
  return run(AWS, ['--endpoint-url', server.endpoint, '--output', 'json', ...args], { env, timeoutMs: 60_000 });
}

async function awsOk(args: string[]): Promise<RunResult> {
  const r = await aws(args);
  assert.equal(r.code, 0, `aws ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

async function awsJson<T>(args: string[]): Promise<T> {
  return JSON.parse((await awsOk(args)).stdout) as T;
}

/** The command fails and names the S3 error code. */
async function awsFails(args: string[], code: string): Promise<void> {
  const r = await aws(args);
  assert.notEqual(r.code, 0, `aws ${args.join(' ')} succeeded:\n${r.stdout}`);
  assert.match(r.stderr, new RegExp(`\\(${code}\\)`), r.stderr);
}

/** The HTTP status an anonymous curl gets for `url`. */
async function anonymousStatus(url: string): Promise<string> {
  return (await runOk('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', url], { timeoutMs: 20_000 })).stdout;
}

before(async () => {
  server = await startServer();
  work = mkdtempSync(path.join(tmpdir(), 'cellar-e2e-aws-guards-'));
  const config = path.join(work, 'aws-config');
  const credentials = path.join(work, 'aws-credentials');
  writeFileSync(config, '');
  writeFileSync(credentials, '');
  // Nothing from the machine's own AWS setup (profiles, endpoints, AWS_CA_BUNDLE, tokens) may leak in.
  env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  Object.assign(env, {
    AWS_ACCESS_KEY_ID: server.owner.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.owner.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: credentials,
    AWS_PAGER: '',
    AWS_EC2_METADATA_DISABLED: 'true',
  });
});

after(async () => {
  await server?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface PabOutput {
  PublicAccessBlockConfiguration: Record<string, boolean>;
}

test('put-public-access-block / get-public-access-block: stored, read back, enforced for curl', T, async () => {
  const b = 'pab-bucket';
  await awsOk(['s3api', 'create-bucket', '--bucket', b]);
  await awsFails(['s3api', 'get-public-access-block', '--bucket', b], 'NoSuchPublicAccessBlockConfiguration');
  const file = path.join(work, 'page.html');
  writeFileSync(file, '<p>hello</p>');
  await awsOk(['s3api', 'put-object', '--bucket', b, '--key', 'page.html', '--body', file, '--acl', 'public-read']);
  const url = `${server.endpoint}/${b}/page.html`;
  assert.equal(await anonymousStatus(url), '200');

  await awsOk([
    's3api',
    'put-public-access-block',
    '--bucket',
    b,
    '--public-access-block-configuration',
    'BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=false,RestrictPublicBuckets=false',
  ]);
  const got = await awsJson<PabOutput>(['s3api', 'get-public-access-block', '--bucket', b]);
  assert.deepEqual(got.PublicAccessBlockConfiguration, {
    BlockPublicAcls: true,
    IgnorePublicAcls: true,
    BlockPublicPolicy: false,
    RestrictPublicBuckets: false,
  });
  assert.equal(await anonymousStatus(url), '403', 'IgnorePublicAcls: the public-read ACL no longer grants');
  await awsFails(
    ['s3api', 'put-object', '--bucket', b, '--key', 'other.html', '--body', file, '--acl', 'public-read'],
    'AccessDenied',
  );

  await awsOk(['s3api', 'delete-public-access-block', '--bucket', b]);
  assert.equal(await anonymousStatus(url), '200');
});

test('get-bucket-policy-status and BlockPublicPolicy', T, async () => {
  const b = 'policy-status-bucket';
  await awsOk(['s3api', 'create-bucket', '--bucket', b]);
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
  await awsFails(['s3api', 'get-bucket-policy-status', '--bucket', b], 'NoSuchBucketPolicy');
  await awsOk(['s3api', 'put-bucket-policy', '--bucket', b, '--policy', statement()]);
  const open = await awsJson<{ PolicyStatus: { IsPublic: boolean } }>([
    's3api',
    'get-bucket-policy-status',
    '--bucket',
    b,
  ]);
  assert.equal(open.PolicyStatus.IsPublic, true);
  await awsOk([
    's3api',
    'put-bucket-policy',
    '--bucket',
    b,
    '--policy',
    statement({ IpAddress: { 'aws:SourceIp': '192.0.2.0/24' } }),
  ]);
  const narrow = await awsJson<{ PolicyStatus: { IsPublic: boolean } }>([
    's3api',
    'get-bucket-policy-status',
    '--bucket',
    b,
  ]);
  assert.equal(narrow.PolicyStatus.IsPublic, false);

  await awsOk([
    's3api',
    'put-public-access-block',
    '--bucket',
    b,
    '--public-access-block-configuration',
    'BlockPublicPolicy=true',
  ]);
  await awsFails(['s3api', 'put-bucket-policy', '--bucket', b, '--policy', statement()], 'AccessDenied');
  const kept = await awsJson<{ PolicyStatus: { IsPublic: boolean } }>([
    's3api',
    'get-bucket-policy-status',
    '--bucket',
    b,
  ]);
  assert.equal(kept.PolicyStatus.IsPublic, false, 'the refused policy did not replace the stored one');
});

test('put-bucket-ownership-controls: BucketOwnerEnforced disables ACLs', T, async () => {
  const b = 'ownership-bucket';
  await awsOk(['s3api', 'create-bucket', '--bucket', b]);
  await awsFails(['s3api', 'get-bucket-ownership-controls', '--bucket', b], 'OwnershipControlsNotFoundError');
  const file = path.join(work, 'o.txt');
  writeFileSync(file, 'owned');
  await awsOk(['s3api', 'put-object', '--bucket', b, '--key', 'o.txt', '--body', file, '--acl', 'public-read']);
  assert.equal(await anonymousStatus(`${server.endpoint}/${b}/o.txt`), '200');

  await awsOk([
    's3api',
    'put-bucket-ownership-controls',
    '--bucket',
    b,
    '--ownership-controls',
    'Rules=[{ObjectOwnership=BucketOwnerEnforced}]',
  ]);
  const got = await awsJson<{ OwnershipControls: { Rules: { ObjectOwnership: string }[] } }>([
    's3api',
    'get-bucket-ownership-controls',
    '--bucket',
    b,
  ]);
  assert.deepEqual(got.OwnershipControls.Rules, [{ ObjectOwnership: 'BucketOwnerEnforced' }]);
  assert.equal(await anonymousStatus(`${server.endpoint}/${b}/o.txt`), '403', 'ACLs no longer grant');
  await awsFails(
    ['s3api', 'put-object', '--bucket', b, '--key', 'p.txt', '--body', file, '--acl', 'public-read'],
    'AccessControlListNotSupported',
  );
  await awsOk([
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
  await awsFails(
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
