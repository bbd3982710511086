/**
 * restic (Debian's) backing up to a versioned bucket: two backups of a changing tree, then
 * `restic forget --keep-last 1 --prune`, which deletes the files the first snapshot alone needed.
 * In a versioned bucket those deletes only add delete markers: every version restic ever wrote
 * is still listed by ListObjectVersions and reads back its original bytes by version id, so a
 * pruned (or ransomware-deleted) backup can be brought back.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { auditBlobs } from './helpers/blob-audit.js';
import { run, type RunResult } from './helpers/run.js';
import { sdkClient, startServer, type E2eServer } from './helpers/server.js';

const BUCKET = 'restic-backups';
const T = { timeout: 600_000 };

let server: E2eServer;
let sdk: S3Client;
let work: string;

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

function restic(args: string[]): Promise<RunResult> {
  // Only what restic needs: no AWS_* of the machine (profiles, CA bundles) may leak in.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: work,
    RESTIC_REPOSITORY: `s3:${server.endpoint}/${BUCKET}`,
    RESTIC_PASSWORD: 'correct horse battery staple',
    RESTIC_CACHE_DIR: path.join(work, 'cache'),
    AWS_ACCESS_KEY_ID: server.owner.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.owner.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
  };
  return run('restic', args, { env, timeoutMs: 300_000 });
}

async function resticOk(args: string[]): Promise<RunResult> {
  const r = await restic(args);
  assert.equal(r.code, 0, `restic ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** Every version and delete marker of the bucket, following the listing's markers page by page. */
async function allVersions(): Promise<{ key: string; id: string; marker: boolean }[]> {
  const out: { key: string; id: string; marker: boolean }[] = [];
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  for (;;) {
    const page = await sdk.send(
      new ListObjectVersionsCommand({
        Bucket: BUCKET,
        KeyMarker: keyMarker,
        VersionIdMarker: versionMarker,
        MaxKeys: 100,
      }),
    );
    for (const v of page.Versions ?? []) out.push({ key: v.Key!, id: v.VersionId!, marker: false });
    for (const m of page.DeleteMarkers ?? []) out.push({ key: m.Key!, id: m.VersionId!, marker: true });
    if (!page.IsTruncated) return out;
    keyMarker = page.NextKeyMarker;
    versionMarker = page.NextVersionIdMarker;
  }
}

async function currentKeys(): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await sdk.send(new ListObjectsV2Command({ Bucket: BUCKET, ContinuationToken: token }));
    for (const o of page.Contents ?? []) keys.push(o.Key!);
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

before(async () => {
  server = await startServer();
  sdk = sdkClient(server);
  work = mkdtempSync(path.join(tmpdir(), 'cellar-e2e-restic-'));
  await sdk.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await sdk.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }));
});

after(async () => {
  sdk?.destroy();
  if (server) {
    await server.stop();
    const audit = auditBlobs(server.dataDir);
    await server.dispose();
    assert.deepEqual(audit.problems, [], 'blob accounting after the server stopped');
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

test('restic backs up twice, forgets and prunes; every old version stays listed and readable by id', T, async () => {
  const tree = path.join(work, 'tree');
  mkdirSync(path.join(tree, 'docs'), { recursive: true });
  writeFileSync(path.join(tree, 'docs', 'a.txt'), randomBytes(200 * 1024));
  writeFileSync(path.join(tree, 'b.bin'), randomBytes(3 * 1024 * 1024));
  await resticOk(['init']);
  await resticOk(['backup', '--host', 'cellar-test', tree]);
  // Changed and new files: the second snapshot needs new data packs, and no longer the old a.txt/b.bin data.
  writeFileSync(path.join(tree, 'docs', 'a.txt'), randomBytes(150 * 1024));
  writeFileSync(path.join(tree, 'b.bin'), randomBytes(2 * 1024 * 1024));
  writeFileSync(path.join(tree, 'c.txt'), 'a new file');
  await resticOk(['backup', '--host', 'cellar-test', tree]);

  // Everything restic wrote so far, with the bytes of each version.
  // (Lock files restic removed after each run are delete markers already: only object versions count.)
  const before = (await allVersions()).filter((v) => !v.marker);
  assert.ok(
    before.some((v) => v.key.startsWith('data/')),
    'the backups wrote data packs',
  );
  const sums = new Map<string, string>();
  for (const v of before) {
    const res = await sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: v.key, VersionId: v.id }));
    sums.set(v.id, md5(await res.Body!.transformToByteArray()));
  }
  const keysBefore = await currentKeys();

  await resticOk(['forget', '--keep-last', '1', '--prune']);
  await resticOk(['check']);
  const snapshots = JSON.parse((await resticOk(['snapshots', '--json'])).stdout) as unknown[];
  assert.equal(snapshots.length, 1, 'one snapshot kept');

  const keysAfter = await currentKeys();
  const deleted = keysBefore.filter((k) => !keysAfter.includes(k));
  assert.ok(deleted.length > 0, 'prune deleted the data and the snapshot only the first backup needed');
  const after = await allVersions();
  const markers = after.filter((v) => v.marker);
  for (const k of deleted)
    assert.ok(
      markers.some((m) => m.key === k),
      `${k}: its delete left a delete marker`,
    );
  for (const v of before) {
    assert.ok(
      after.some((a) => a.id === v.id && a.key === v.key && !a.marker),
      `${v.key}@${v.id} is still listed after the prune`,
    );
    const res = await sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: v.key, VersionId: v.id }));
    assert.equal(md5(await res.Body!.transformToByteArray()), sums.get(v.id), `${v.key}@${v.id} reads back its bytes`);
  }
});
