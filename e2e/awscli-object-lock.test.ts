/**
 * Object Lock driven by Debian's aws cli against a real server process: create-bucket
 * --object-lock-enabled-for-bucket, put-object-lock-configuration, put-object-retention,
 * put-object-legal-hold, the lock fields of head-object, and deletes refused under lock.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { awsCli, type AwsCli } from './helpers/awscli.js';
import { startServer, type E2eServer } from './helpers/server.js';

const BUCKET = 'locked-bucket';
const T = { timeout: 120_000 };
const DAY = 24 * 3600 * 1000;

let server: E2eServer;
let cli: AwsCli;
let work: string;

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
  cli = awsCli(server, 'cellar-e2e-aws-lock-');
  work = cli.work;
  await cli.ok(['s3api', 'create-bucket', '--bucket', BUCKET, '--object-lock-enabled-for-bucket']);
});

after(async () => {
  await server?.dispose();
  cli?.dispose();
});

test('put-object-lock-configuration and get-object-lock-configuration', T, async () => {
  await cli.ok([
    's3api',
    'put-object-lock-configuration',
    '--bucket',
    BUCKET,
    '--object-lock-configuration',
    '{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"GOVERNANCE","Days":1}}}',
  ]);
  const got = await cli.json<{ ObjectLockConfiguration: unknown }>([
    's3api',
    'get-object-lock-configuration',
    '--bucket',
    BUCKET,
  ]);
  assert.deepEqual(got.ObjectLockConfiguration, {
    ObjectLockEnabled: 'Enabled',
    Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } },
  });
  await cli.fails(
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
  await cli.ok(['s3api', 'create-bucket', '--bucket', 'plain-bucket']);
  await cli.fails(
    ['s3api', 'get-object-lock-configuration', '--bucket', 'plain-bucket'],
    'ObjectLockConfigurationNotFoundError',
  );
});

test('put-object with the default retention, put-object-retention, head-object and a refused delete', T, async () => {
  const file = path.join(work, 'report.txt');
  writeFileSync(file, 'quarterly report');
  // The CLI sends a checksum with the body, as the default retention requires.
  const put = await cli.json<{ VersionId?: string }>([
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
  let head = await cli.json<Head>(['s3api', 'head-object', '--bucket', BUCKET, '--key', 'report.txt']);
  assert.equal(head.ObjectLockMode, 'GOVERNANCE');
  const until = inDays(3);
  await cli.ok([
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
  head = await cli.json<Head>(['s3api', 'head-object', '--bucket', BUCKET, '--key', 'report.txt']);
  assert.equal(new Date(head.ObjectLockRetainUntilDate!).toISOString(), until);
  const retention = await cli.json<{ Retention: { Mode: string; RetainUntilDate: string } }>([
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
  await cli.fails([...base, '--retention', shorter], 'AccessDenied');
  await cli.ok([...base, '--retention', shorter, '--bypass-governance-retention']);
  const del = ['s3api', 'delete-object', '--bucket', BUCKET, '--key', 'report.txt', '--version-id', version];
  await cli.fails(del, 'AccessDenied');
  await cli.ok([...del, '--bypass-governance-retention']);
});

test('put-object-legal-hold ON blocks every delete until OFF', T, async () => {
  const file = path.join(work, 'evidence.txt');
  writeFileSync(file, 'evidence');
  const put = await cli.json<{ VersionId?: string }>([
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
    cli.ok([
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
  const got = await cli.json<{ LegalHold: { Status: string } }>([
    's3api',
    'get-object-legal-hold',
    '--bucket',
    BUCKET,
    '--key',
    'evidence.txt',
  ]);
  assert.equal(got.LegalHold.Status, 'ON');
  const del = ['s3api', 'delete-object', '--bucket', BUCKET, '--key', 'evidence.txt', '--version-id', version];
  await cli.fails([...del, '--bypass-governance-retention'], 'AccessDenied');
  await hold('OFF');
  // The bucket's default retention (GOVERNANCE, one day) still holds it: the bypass frees it.
  await cli.fails(del, 'AccessDenied');
  await cli.ok([...del, '--bypass-governance-retention']);
  await cli.fails(
    ['s3api', 'head-object', '--bucket', BUCKET, '--key', 'evidence.txt', '--version-id', version],
    '404',
  );
});
