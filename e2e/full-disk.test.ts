import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, statfsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mountLoopExt4, type LoopFs } from './helpers/loopfs.js';
import { startServer, type E2eServer } from './helpers/server.js';

/**
 * Issue 12, full disk: the data directory on a 64 MiB ext4 image, filled through the S3 API.
 * Once with the reserve (refused up front, before the file system runs out) and once without
 * (the write itself hits ENOSPC): both answer 507 InsufficientStorage and leave nothing behind.
 */
const BUCKET = 'full';
const OBJECT = 1024 * 1024;

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function serverOnLoopFs(minFreeBytes: number): Promise<{ server: E2eServer; fs: LoopFs; dataDir: string }> {
  const fs = await mountLoopExt4(64);
  cleanups.push(() => fs.dispose());
  const dataDir = path.join(fs.mountPoint, 'data');
  const server = await startServer({ CELLAR_DATA_DIR: dataDir, CELLAR_MIN_FREE_BYTES: String(minFreeBytes) });
  // Registered after the mount's cleanup, so it runs first: the server lets go before the unmount.
  cleanups.push(() => server.dispose());
  return { server, fs, dataDir };
}

function client(server: E2eServer): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    // One attempt: the test sees each answer as sent.
    maxAttempts: 1,
    credentials: { accessKeyId: server.owner.accessKeyId, secretAccessKey: server.owner.secretAccessKey },
  });
}

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

async function fillUntilRefused(
  s3: S3Client,
): Promise<{ stored: Map<string, string>; refusedKey: string; error: S3ServiceException }> {
  const stored = new Map<string, string>();
  // 64 MiB of volume cannot take more than 64 objects of 1 MiB: the bound is only a backstop.
  for (let i = 0; i < 80; i++) {
    const key = `obj-${i}`;
    const body = randomBytes(OBJECT);
    try {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
      stored.set(key, md5(body));
    } catch (e) {
      assert.ok(e instanceof S3ServiceException, String(e));
      return { stored, refusedKey: key, error: e };
    }
  }
  throw new Error('the 64 MiB volume took 80 MiB of objects');
}

async function checkAfterRefusal(
  s3: S3Client,
  dataDir: string,
  stored: Map<string, string>,
  refusedKey: string,
): Promise<void> {
  // No partial object and no temp file of the refused write.
  await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: refusedKey })), { name: 'NotFound' });
  assert.deepEqual(readdirSync(path.join(dataDir, 'tmp')), []);
  // The database is intact (read alongside the running server, as WAL allows).
  const db = new Database(path.join(dataDir, 'meta.db'), { readonly: true });
  try {
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    assert.equal((db.prepare('SELECT count(*) AS n FROM objects').get() as { n: number }).n, stored.size);
  } finally {
    db.close();
  }
  // Reads keep working: every stored object comes back whole.
  for (const [key, sum] of stored) {
    const r = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    assert.equal(md5(await r.Body!.transformToByteArray()), sum, key);
  }
  // Deletes keep working, and free space is usable at once, without a restart.
  const keys = [...stored.keys()];
  for (const key of keys.slice(0, 12)) {
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    stored.delete(key);
  }
  const body = randomBytes(OBJECT);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: refusedKey, Body: body }));
  const back = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: refusedKey }));
  assert.equal(md5(await back.Body!.transformToByteArray()), md5(body));
}

test('with a reserve, writes are refused with 507 InsufficientStorage before the volume runs out', {
  timeout: 180_000,
}, async () => {
  const reserve = 8 * 1024 * 1024;
  const { server, dataDir } = await serverOnLoopFs(reserve);
  const s3 = client(server);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const { stored, refusedKey, error } = await fillUntilRefused(s3);
  assert.equal(error.name, 'InsufficientStorage');
  assert.equal(error.$metadata.httpStatusCode, 507);
  assert.ok(stored.size >= 30, `only ${stored.size} objects fitted`);
  // Refused up front: the reserve is still there (less at most the refused body's last chunk).
  const st = statfsSync(dataDir);
  assert.ok(st.bavail * st.bsize >= reserve - 1024 * 1024, `free ${st.bavail * st.bsize}`);
  await checkAfterRefusal(s3, dataDir, stored, refusedKey);
  s3.destroy();
});

test('without a reserve, ENOSPC in the middle of a body is 507 InsufficientStorage too', {
  timeout: 180_000,
}, async () => {
  const { server, dataDir } = await serverOnLoopFs(0);
  const s3 = client(server);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const { stored, refusedKey, error } = await fillUntilRefused(s3);
  assert.equal(error.name, 'InsufficientStorage');
  assert.equal(error.$metadata.httpStatusCode, 507);
  await checkAfterRefusal(s3, dataDir, stored, refusedKey);
  s3.destroy();
});
