/**
 * Bucket lifecycle driven by Debian's aws cli against a real server process whose lifecycle
 * "day" lasts 2 s (CELLAR_LIFECYCLE_DAY_SECONDS): put-, get- and delete-bucket-lifecycle-
 * configuration, their errors, the x-amz-expiration the cli shows, and the expiration itself.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { awsCli, type AwsCli } from './helpers/awscli.js';
import { startServer, type E2eServer } from './helpers/server.js';

const BUCKET = 'lifecycle-bucket';
const T = { timeout: 120_000 };

let server: E2eServer;
let cli: AwsCli;
let work: string;

function configFile(name: string, cfg: unknown): string {
  const file = path.join(work, name);
  writeFileSync(file, JSON.stringify(cfg));
  return `file://${file}`;
}

before(async () => {
  server = await startServer({ CELLAR_LIFECYCLE_DAY_SECONDS: '2', CELLAR_LIFECYCLE_INTERVAL_SECONDS: '1' });
  cli = awsCli(server, 'cellar-e2e-aws-lifecycle-');
  work = cli.work;
  await cli.ok(['s3api', 'create-bucket', '--bucket', BUCKET]);
});

after(async () => {
  await server?.dispose();
  cli?.dispose();
});

const RULES = {
  Rules: [
    { ID: 'expire-tmp', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 1 } },
    {
      ID: 'uploads',
      Status: 'Enabled',
      Filter: { Prefix: '' },
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
    },
  ],
};

test('put-, get- and delete-bucket-lifecycle-configuration', T, async () => {
  await cli.fails(['s3api', 'get-bucket-lifecycle-configuration', '--bucket', BUCKET], 'NoSuchLifecycleConfiguration');
  await cli.ok([
    's3api',
    'put-bucket-lifecycle-configuration',
    '--bucket',
    BUCKET,
    '--lifecycle-configuration',
    configFile('rules.json', RULES),
  ]);
  const got = await cli.json<typeof RULES>(['s3api', 'get-bucket-lifecycle-configuration', '--bucket', BUCKET]);
  assert.deepEqual(got.Rules, RULES.Rules);
  await cli.ok(['s3api', 'delete-bucket-lifecycle', '--bucket', BUCKET]);
  await cli.fails(['s3api', 'get-bucket-lifecycle-configuration', '--bucket', BUCKET], 'NoSuchLifecycleConfiguration');
});

test("the cli shows AWS's errors", T, async () => {
  const put = (name: string, cfg: unknown) => [
    's3api',
    'put-bucket-lifecycle-configuration',
    '--bucket',
    BUCKET,
    '--lifecycle-configuration',
    configFile(name, cfg),
  ];
  const rule = { ID: 'r', Status: 'Enabled', Filter: { Prefix: 'a/' } };
  const noAction = await cli.fails(put('none.json', { Rules: [rule] }), 'InvalidRequest');
  assert.match(noAction, /At least one action needs to be specified in a rule/);
  const zero = await cli.fails(put('zero.json', { Rules: [{ ...rule, Expiration: { Days: 0 } }] }), 'InvalidArgument');
  assert.match(zero, /Days.* for Expiration action must be a positive integer/);
  await cli.fails(
    put('dup.json', {
      Rules: [
        { ...rule, Expiration: { Days: 1 } },
        { ...rule, Expiration: { Days: 2 } },
      ],
    }),
    'InvalidArgument',
  );
  await cli.fails(
    put('glacier.json', { Rules: [{ ...rule, Transitions: [{ Days: 30, StorageClass: 'GLACIER' }] }] }),
    'InvalidStorageClass',
  );
  await cli.fails(['s3api', 'get-bucket-lifecycle-configuration', '--bucket', BUCKET], 'NoSuchLifecycleConfiguration');
});

test('objects under tmp/ expire after one (2 s) day, others stay; head-object shows the Expiration', T, async () => {
  await cli.ok([
    's3api',
    'put-bucket-lifecycle-configuration',
    '--bucket',
    BUCKET,
    '--lifecycle-configuration',
    configFile('rules.json', RULES),
  ]);
  const file = path.join(work, 'body.txt');
  writeFileSync(file, 'lifecycle body');
  const put = await cli.json<{ Expiration?: string }>([
    's3api',
    'put-object',
    '--bucket',
    BUCKET,
    '--key',
    'tmp/a',
    '--body',
    file,
  ]);
  assert.match(put.Expiration ?? '', /^expiry-date="[^"]+ GMT", rule-id="expire-tmp"$/);
  await cli.ok(['s3api', 'put-object', '--bucket', BUCKET, '--key', 'keep/b', '--body', file]);
  const head = await cli.json<{ Expiration?: string }>(['s3api', 'head-object', '--bucket', BUCKET, '--key', 'keep/b']);
  assert.equal(head.Expiration, undefined);
  const list = async () =>
    (
      (await cli.json<{ Contents?: { Key: string }[] }>(['s3api', 'list-objects-v2', '--bucket', BUCKET])).Contents ??
      []
    ).map((o) => o.Key);
  // Polled, at most 120 times: the worker runs every second with 2 s days.
  let keys = await list();
  for (let tries = 0; keys.includes('tmp/a') && tries < 120; tries++) {
    await new Promise((r) => setTimeout(r, 500));
    keys = await list();
  }
  assert.deepEqual(keys, ['keep/b']);
});

test('in a versioned bucket, noncurrent versions and then the lone delete marker expire', T, async () => {
  const bucket = 'lifecycle-versioned';
  await cli.ok(['s3api', 'create-bucket', '--bucket', bucket]);
  await cli.ok(['s3api', 'put-bucket-versioning', '--bucket', bucket, '--versioning-configuration', 'Status=Enabled']);
  await cli.ok([
    's3api',
    'put-bucket-lifecycle-configuration',
    '--bucket',
    bucket,
    '--lifecycle-configuration',
    configFile('versioned.json', {
      Rules: [
        {
          ID: 'history',
          Status: 'Enabled',
          Filter: { Prefix: 'doc' },
          Expiration: { ExpiredObjectDeleteMarker: true },
          NoncurrentVersionExpiration: { NoncurrentDays: 1 },
        },
      ],
    }),
  ]);
  const file = path.join(work, 'v.txt');
  for (const body of ['first', 'second']) {
    writeFileSync(file, body);
    await cli.ok(['s3api', 'put-object', '--bucket', bucket, '--key', 'doc', '--body', file]);
  }
  // With 2 s days (and a cli that takes seconds per call) versions may expire from here on: only
  // the answers of the writes themselves say what was made.
  const del = await cli.json<{ DeleteMarker?: boolean }>([
    's3api',
    'delete-object',
    '--bucket',
    bucket,
    '--key',
    'doc',
  ]);
  assert.equal(del.DeleteMarker, true);
  interface Versions {
    Versions?: { VersionId: string }[];
    DeleteMarkers?: { VersionId: string }[];
  }
  // The cli prints nothing at all for a listing with neither versions nor markers.
  const versions = async (): Promise<Versions> => {
    const out = (await cli.ok(['s3api', 'list-object-versions', '--bucket', bucket])).stdout.trim();
    return out === '' ? {} : (JSON.parse(out) as Versions);
  };
  const gone = (v: Versions): boolean => (v.Versions ?? []).length === 0 && (v.DeleteMarkers ?? []).length === 0;
  let v = await versions();
  for (let tries = 0; !gone(v) && tries < 120; tries++) {
    await new Promise((r) => setTimeout(r, 500));
    v = await versions();
  }
  assert.deepEqual({ versions: v.Versions ?? [], markers: v.DeleteMarkers ?? [] }, { versions: [], markers: [] });
});
