/**
 * Bucket versioning driven by Debian's aws cli and the `cellar` command against a real server
 * process: put-/get-bucket-versioning, versions by id, delete markers, list-object-versions with
 * its pagination, `cellar bucket versioning`, and the blob accounting once the server stopped.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { auditBlobs } from './helpers/blob-audit.js';
import { awsCli, type AwsCli } from './helpers/awscli.js';
import { startServer, type E2eServer } from './helpers/server.js';

const BUCKET = 'versioned-bucket';
const T = { timeout: 180_000 };

let server: E2eServer;
let cli: AwsCli;
let work: string;

interface Listing {
  Versions?: { Key: string; VersionId: string; IsLatest: boolean; Size: number }[];
  DeleteMarkers?: { Key: string; VersionId: string; IsLatest: boolean }[];
  NextKeyMarker?: string;
  NextVersionIdMarker?: string;
}

/** Like cli.json, but an empty answer (get-bucket-versioning of a never-versioned bucket) is {}. */
async function awsJson<T>(args: string[]): Promise<T> {
  const out = (await cli.ok(args)).stdout;
  return (out.trim() === '' ? {} : JSON.parse(out)) as T;
}

async function putFile(key: string, content: string): Promise<string> {
  const file = path.join(work, 'body');
  writeFileSync(file, content);
  const out = await awsJson<{ VersionId?: string }>([
    's3api',
    'put-object',
    '--bucket',
    BUCKET,
    '--key',
    key,
    '--body',
    file,
  ]);
  return out.VersionId ?? '';
}

async function getVersion(key: string, versionId: string): Promise<string> {
  const file = path.join(work, 'out');
  await cli.ok(['s3api', 'get-object', '--bucket', BUCKET, '--key', key, '--version-id', versionId, file]);
  return readFileSync(file, 'utf8');
}

before(async () => {
  server = await startServer();
  cli = awsCli(server, 'cellar-e2e-aws-versions-');
  work = cli.work;
  await cli.ok(['s3api', 'create-bucket', '--bucket', BUCKET]);
});

after(async () => {
  if (server) {
    await server.stop();
    const audit = auditBlobs(server.dataDir);
    await server.dispose();
    assert.deepEqual(audit.problems, [], 'blob accounting after the server stopped');
  }
  cli?.dispose();
});

test('put-bucket-versioning and get-bucket-versioning; MFADelete is refused', T, async () => {
  assert.deepEqual(await awsJson(['s3api', 'get-bucket-versioning', '--bucket', BUCKET]), {});
  await cli.ok(['s3api', 'put-bucket-versioning', '--bucket', BUCKET, '--versioning-configuration', 'Status=Enabled']);
  assert.deepEqual(await awsJson(['s3api', 'get-bucket-versioning', '--bucket', BUCKET]), { Status: 'Enabled' });
  await cli.fails(
    [
      's3api',
      'put-bucket-versioning',
      '--bucket',
      BUCKET,
      '--versioning-configuration',
      'Status=Enabled,MFADelete=Enabled',
      '--mfa',
      'arn:aws:iam::123456789012:mfa/root 123456',
    ],
    'AccessDenied',
  );
});

test('versions by id, a delete marker, and its removal bringing the object back', T, async () => {
  const v1 = await putFile('doc.txt', 'first draft');
  const v2 = await putFile('doc.txt', 'second draft');
  assert.match(v1, /^[A-Za-z0-9_-]{32}$/);
  assert.notEqual(v1, v2);
  assert.equal(await getVersion('doc.txt', v1), 'first draft');
  assert.equal(await getVersion('doc.txt', v2), 'second draft');
  const del = await awsJson<{ DeleteMarker?: boolean; VersionId?: string }>([
    's3api',
    'delete-object',
    '--bucket',
    BUCKET,
    '--key',
    'doc.txt',
  ]);
  assert.equal(del.DeleteMarker, true);
  await cli.fails(['s3api', 'head-object', '--bucket', BUCKET, '--key', 'doc.txt'], '404');
  const listing = await awsJson<Listing>(['s3api', 'list-object-versions', '--bucket', BUCKET]);
  assert.deepEqual(
    listing.Versions?.map((v) => [v.VersionId, v.IsLatest]),
    [
      [v2, false],
      [v1, false],
    ],
  );
  assert.deepEqual(
    listing.DeleteMarkers?.map((m) => [m.VersionId, m.IsLatest]),
    [[del.VersionId, true]],
  );
  await cli.ok(['s3api', 'delete-object', '--bucket', BUCKET, '--key', 'doc.txt', '--version-id', del.VersionId!]);
  const head = await awsJson<{ VersionId?: string }>(['s3api', 'head-object', '--bucket', BUCKET, '--key', 'doc.txt']);
  assert.equal(head.VersionId, v2);
});

test('list-object-versions pages through every version with --max-items / --page-size', T, async () => {
  for (let i = 0; i < 4; i++) await putFile(`many/${i % 2}`, `body ${i}`);
  const all = await awsJson<Listing>(['s3api', 'list-object-versions', '--bucket', BUCKET, '--prefix', 'many/']);
  assert.equal(all.Versions?.length, 4);
  // The CLI pages itself (max-keys 1 per request) and must end with the same list.
  const paged = await awsJson<Listing>([
    's3api',
    'list-object-versions',
    '--bucket',
    BUCKET,
    '--prefix',
    'many/',
    '--page-size',
    '1',
  ]);
  assert.deepEqual(
    paged.Versions?.map((v) => v.VersionId),
    all.Versions?.map((v) => v.VersionId),
  );
  const first = await awsJson<Listing>([
    's3api',
    'list-object-versions',
    '--bucket',
    BUCKET,
    '--prefix',
    'many/',
    '--max-keys',
    '1',
    '--no-paginate',
  ]);
  assert.equal(first.Versions?.length, 1);
  assert.equal(first.NextKeyMarker, 'many/0');
  assert.equal(first.NextVersionIdMarker, all.Versions![0]!.VersionId);
});

test('`cellar bucket versioning` suspends and reports; the aws cli sees it', T, async () => {
  const status = await server.cli(['bucket', 'versioning', BUCKET, 'status']);
  assert.equal(status.code, 0, status.stderr);
  assert.equal(status.stdout, `${BUCKET}: versioning Enabled\n`);
  const off = await server.cli(['bucket', 'versioning', BUCKET, 'off']);
  assert.equal(off.stdout, `${BUCKET}: versioning Suspended\n`);
  assert.deepEqual(await awsJson(['s3api', 'get-bucket-versioning', '--bucket', BUCKET]), { Status: 'Suspended' });
  assert.equal(await putFile('doc.txt', 'null version'), 'null');
  const on = await server.cli(['bucket', 'versioning', BUCKET, 'on']);
  assert.equal(on.stdout, `${BUCKET}: versioning Enabled\n`);
  const bad = await server.cli(['bucket', 'versioning', BUCKET, 'maybe']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /on\|off\|status/);
  const missing = await server.cli(['bucket', 'versioning', 'no-such-bucket', 'status']);
  assert.notEqual(missing.code, 0);
});
