/**
 * Bucket lifecycle driven by Debian's aws cli against a real server process whose lifecycle
 * "day" lasts 2 s (CELLAR_LIFECYCLE_DAY_SECONDS): put-, get- and delete-bucket-lifecycle-
 * configuration, their errors, the x-amz-expiration the cli shows, and the expiration itself.
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
const BUCKET = 'lifecycle-bucket';
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
async function awsFails(args: string[], code: string): Promise<string> {
  const r = await aws(args);
  assert.notEqual(r.code, 0, `aws ${args.join(' ')} succeeded:\n${r.stdout}`);
  assert.match(r.stderr, new RegExp(`\\(${code}\\)`), r.stderr);
  return r.stderr;
}

function configFile(name: string, cfg: unknown): string {
  const file = path.join(work, name);
  writeFileSync(file, JSON.stringify(cfg));
  return `file://${file}`;
}

before(async () => {
  server = await startServer({ CELLAR_LIFECYCLE_DAY_SECONDS: '2', CELLAR_LIFECYCLE_INTERVAL_SECONDS: '1' });
  work = mkdtempSync(path.join(tmpdir(), 'cellar-e2e-aws-lifecycle-'));
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
  await awsOk(['s3api', 'create-bucket', '--bucket', BUCKET]);
});

after(async () => {
  await server?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
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
  await awsFails(['s3api', 'get-bucket-lifecycle-configuration', '--bucket', BUCKET], 'NoSuchLifecycleConfiguration');
  await awsOk([
    's3api',
    'put-bucket-lifecycle-configuration',
    '--bucket',
    BUCKET,
    '--lifecycle-configuration',
    configFile('rules.json', RULES),
  ]);
  const got = await awsJson<typeof RULES>(['s3api', 'get-bucket-lifecycle-configuration', '--bucket', BUCKET]);
  assert.deepEqual(got.Rules, RULES.Rules);
  await awsOk(['s3api', 'delete-bucket-lifecycle', '--bucket', BUCKET]);
  await awsFails(['s3api', 'get-bucket-lifecycle-configuration', '--bucket', BUCKET], 'NoSuchLifecycleConfiguration');
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
  const noAction = await awsFails(put('none.json', { Rules: [rule] }), 'InvalidRequest');
  assert.match(noAction, /At least one action needs to be specified in a rule/);
  const zero = await awsFails(put('zero.json', { Rules: [{ ...rule, Expiration: { Days: 0 } }] }), 'InvalidArgument');
  assert.match(zero, /Days.* for Expiration action must be a positive integer/);
  await awsFails(
    put('dup.json', {
      Rules: [
        { ...rule, Expiration: { Days: 1 } },
        { ...rule, Expiration: { Days: 2 } },
      ],
    }),
    'InvalidArgument',
  );
  await awsFails(
    put('glacier.json', { Rules: [{ ...rule, Transitions: [{ Days: 30, StorageClass: 'GLACIER' }] }] }),
    'InvalidStorageClass',
  );
  await awsFails(['s3api', 'get-bucket-lifecycle-configuration', '--bucket', BUCKET], 'NoSuchLifecycleConfiguration');
});

test('objects under tmp/ expire after one (2 s) day, others stay; head-object shows the Expiration', T, async () => {
  await awsOk([
    's3api',
    'put-bucket-lifecycle-configuration',
    '--bucket',
    BUCKET,
    '--lifecycle-configuration',
    configFile('rules.json', RULES),
  ]);
  const file = path.join(work, 'body.txt');
  writeFileSync(file, 'lifecycle body');
  const put = await awsJson<{ Expiration?: string }>([
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
  await awsOk(['s3api', 'put-object', '--bucket', BUCKET, '--key', 'keep/b', '--body', file]);
  const head = await awsJson<{ Expiration?: string }>(['s3api', 'head-object', '--bucket', BUCKET, '--key', 'keep/b']);
  assert.equal(head.Expiration, undefined);
  const list = async () =>
    (
      (await awsJson<{ Contents?: { Key: string }[] }>(['s3api', 'list-objects-v2', '--bucket', BUCKET])).Contents ?? []
    ).map((o) => o.Key);
  const end = Date.now() + 60_000;
  while ((await list()).includes('tmp/a')) {
    assert.ok(Date.now() < end, 'tmp/a never expired');
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.deepEqual(await list(), ['keep/b']);
});

test('in a versioned bucket, noncurrent versions and then the lone delete marker expire', T, async () => {
  const bucket = 'lifecycle-versioned';
  await awsOk(['s3api', 'create-bucket', '--bucket', bucket]);
  await awsOk(['s3api', 'put-bucket-versioning', '--bucket', bucket, '--versioning-configuration', 'Status=Enabled']);
  await awsOk([
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
    await awsOk(['s3api', 'put-object', '--bucket', bucket, '--key', 'doc', '--body', file]);
  }
  // With 2 s days (and a cli that takes seconds per call) versions may expire from here on: only
  // the answers of the writes themselves say what was made.
  const del = await awsJson<{ DeleteMarker?: boolean }>(['s3api', 'delete-object', '--bucket', bucket, '--key', 'doc']);
  assert.equal(del.DeleteMarker, true);
  interface Versions {
    Versions?: { VersionId: string }[];
    DeleteMarkers?: { VersionId: string }[];
  }
  // The cli prints nothing at all for a listing with neither versions nor markers.
  const versions = async (): Promise<Versions> => {
    const out = (await awsOk(['s3api', 'list-object-versions', '--bucket', bucket])).stdout.trim();
    return out === '' ? {} : (JSON.parse(out) as Versions);
  };
  const end = Date.now() + 60_000;
  for (;;) {
    const v = await versions();
    if ((v.Versions ?? []).length === 0 && (v.DeleteMarkers ?? []).length === 0) break;
    assert.ok(Date.now() < end, `versions never expired: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
});
