/**
 * Object Lock driven by Debian's aws cli against a real server process: create-bucket
 * --object-lock-enabled-for-bucket, put-object-lock-configuration, put-object-retention,
 * put-object-legal-hold, the lock fields of head-object, and deletes refused under lock.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run, type RunResult } from './helpers/run.js';
import { startServer, type E2eServer } from './helpers/server.js';

// Debian's aws-cli 2.x; a pyenv shim named `aws` earlier on PATH may be another version.
const AWS = '/usr/bin/aws';
const BUCKET = 'locked-bucket';
const T = { timeout: 120_000 };
const DAY = 24 * 3600 * 1000;

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

/** Whole seconds, as the CLI prints dates back. */
const inDays = (d: number): string => new Date(Math.floor((Date.now() + d * DAY) / 1000) * 1000).toISOString();

interface Head {
  VersionId?: string;
  ObjectLockMode?: string;
  ObjectLockRetainUntilDate?: string;
  ObjectLockLegalHoldStatus?: string;
}

before(async () => {
  server = await startServer();
  work = mkdtempSync(path.join(tmpdir(), 'cellar-e2e-aws-lock-'));
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
  await awsOk(['s3api', 'create-bucket', '--bucket', BUCKET, '--object-lock-enabled-for-bucket']);
});

after(async () => {
  await server?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('put-object-lock-configuration and get-object-lock-configuration', T, async () => {
  await awsOk([
    's3api',
    'put-object-lock-configuration',
    '--bucket',
    BUCKET,
    '--object-lock-configuration',
    '{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"GOVERNANCE","Days":1}}}',
  ]);
  const got = await awsJson<{ ObjectLockConfiguration: unknown }>([
    's3api',
    'get-object-lock-configuration',
    '--bucket',
    BUCKET,
  ]);
  assert.deepEqual(got.ObjectLockConfiguration, {
    ObjectLockEnabled: 'Enabled',
    Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } },
  });
  await awsFails(
    [
      's3api',
      'put-object-lock-configuration',
      '--bucket',
      BUCKET,
      '--object-lock-configuration',
      '{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"GOVERNANCE","Days":0}}}',
    ],
    'InvalidArgument',
  );
  await awsOk(['s3api', 'create-bucket', '--bucket', 'plain-bucket']);
  await awsFails(
    ['s3api', 'get-object-lock-configuration', '--bucket', 'plain-bucket'],
    'ObjectLockConfigurationNotFoundError',
  );
});

test('put-object with the default retention, put-object-retention, head-object and a refused delete', T, async () => {
  const file = path.join(work, 'report.txt');
  writeFileSync(file, 'quarterly report');
  // The CLI sends a checksum with the body, as the default retention requires.
  const put = await awsJson<{ VersionId?: string }>([
    's3api',
    'put-object',
    '--bucket',
    BUCKET,
    '--key',
    'report.txt',
    '--body',
    file,
  ]);
  const version = put.VersionId ?? 'null';
  let head = await awsJson<Head>(['s3api', 'head-object', '--bucket', BUCKET, '--key', 'report.txt']);
  assert.equal(head.ObjectLockMode, 'GOVERNANCE');
  const until = inDays(3);
  await awsOk([
    's3api',
    'put-object-retention',
    '--bucket',
    BUCKET,
    '--key',
    'report.txt',
    '--version-id',
    version,
    '--retention',
    JSON.stringify({ Mode: 'GOVERNANCE', RetainUntilDate: until }),
  ]);
  head = await awsJson<Head>(['s3api', 'head-object', '--bucket', BUCKET, '--key', 'report.txt']);
  assert.equal(new Date(head.ObjectLockRetainUntilDate!).toISOString(), until);
  const retention = await awsJson<{ Retention: { Mode: string; RetainUntilDate: string } }>([
    's3api',
    'get-object-retention',
    '--bucket',
    BUCKET,
    '--key',
    'report.txt',
  ]);
  assert.equal(retention.Retention.Mode, 'GOVERNANCE');
  // Shortening governance needs the bypass.
  const shorter = JSON.stringify({ Mode: 'GOVERNANCE', RetainUntilDate: inDays(2) });
  const base = ['s3api', 'put-object-retention', '--bucket', BUCKET, '--key', 'report.txt', '--version-id', version];
  await awsFails([...base, '--retention', shorter], 'AccessDenied');
  await awsOk([...base, '--retention', shorter, '--bypass-governance-retention']);
  const del = ['s3api', 'delete-object', '--bucket', BUCKET, '--key', 'report.txt', '--version-id', version];
  await awsFails(del, 'AccessDenied');
  await awsOk([...del, '--bypass-governance-retention']);
});

test('put-object-legal-hold ON blocks every delete until OFF', T, async () => {
  const file = path.join(work, 'evidence.txt');
  writeFileSync(file, 'evidence');
  const put = await awsJson<{ VersionId?: string }>([
    's3api',
    'put-object',
    '--bucket',
    BUCKET,
    '--key',
    'evidence.txt',
    '--body',
    file,
    '--object-lock-legal-hold-status',
    'ON',
  ]);
  const version = put.VersionId ?? 'null';
  const hold = (status: string) =>
    awsOk([
      's3api',
      'put-object-legal-hold',
      '--bucket',
      BUCKET,
      '--key',
      'evidence.txt',
      '--version-id',
      version,
      '--legal-hold',
      `Status=${status}`,
    ]);
  await hold('ON');
  const got = await awsJson<{ LegalHold: { Status: string } }>([
    's3api',
    'get-object-legal-hold',
    '--bucket',
    BUCKET,
    '--key',
    'evidence.txt',
  ]);
  assert.equal(got.LegalHold.Status, 'ON');
  const del = ['s3api', 'delete-object', '--bucket', BUCKET, '--key', 'evidence.txt', '--version-id', version];
  await awsFails([...del, '--bypass-governance-retention'], 'AccessDenied');
  await hold('OFF');
  // The bucket's default retention (GOVERNANCE, one day) still holds it: the bypass frees it.
  await awsFails(del, 'AccessDenied');
  await awsOk([...del, '--bypass-governance-retention']);
  await awsFails(['s3api', 'head-object', '--bucket', BUCKET, '--key', 'evidence.txt', '--version-id', version], '404');
});
