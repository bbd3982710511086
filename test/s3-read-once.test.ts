import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Storage } from '#storage';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';

let t: TestCellar;
let s3: S3Client;
const B = 'read-once';
/** Object-row reads per key, counted on the real storage the server uses. */
const reads = new Map<string, number>();

before(async () => {
  t = await startTestCellar();
  s3 = t.client();
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'public.txt', Body: 'hello', ACL: 'public-read' }));
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'private.txt', Body: 'secret' }));
  const storage: Storage = t.cellar.storage;
  const headObject = storage.headObject.bind(storage);
  storage.headObject = (bucket, key) => {
    reads.set(key, (reads.get(key) ?? 0) + 1);
    return headObject(bucket, key);
  };
});
after(() => t.stop());

for (const method of ['GET', 'HEAD'] as const) {
  test(`${method} object: authorization and the answer come from one read of the row`, {
    timeout: 30_000,
  }, async () => {
    reads.clear();
    const ok = await fetch(`${t.endpoint}/${B}/public.txt`, { method });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('content-length'), '5');
    if (method === 'GET') assert.equal(await ok.text(), 'hello');
    assert.equal(reads.get('public.txt'), 1);

    const denied = await fetch(`${t.endpoint}/${B}/private.txt`, { method });
    await denied.arrayBuffer();
    assert.equal(denied.status, 403);
    assert.equal(reads.get('private.txt'), 1);

    // A missing key: anonymous callers who may not list the bucket get AccessDenied, not NoSuchKey.
    const missing = await fetch(`${t.endpoint}/${B}/missing.txt`, { method });
    await missing.arrayBuffer();
    assert.equal(missing.status, 403);
    assert.equal(reads.get('missing.txt'), 1);
  });
}
