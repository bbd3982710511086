import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { assertS3Error, raw } from './helpers/raw.js';
import { rejects } from './helpers/s3-assert.js';

let t: TestCellar;
let s3: S3Client;
let s3other: S3Client;
const B = 'copy-one';
const B2 = 'copy-two';

before(async () => {
  t = await startTestCellar();
  s3 = t.client();
  s3other = t.client(t.newAddon('intruder'));
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  await s3.send(new CreateBucketCommand({ Bucket: B2 }));
});
after(() => t.stop());

async function bytesOf(key: string, bucket = B): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

describe('CopyObject', () => {
  let srcEtag = '';
  before(async () => {
    srcEtag = (
      await s3.send(
        new PutObjectCommand({
          Bucket: B,
          Key: 'src file+1.txt',
          Body: 'copy me',
          ContentType: 'text/x-src',
          CacheControl: 'max-age=5',
          Metadata: { origin: 'src' },
        }),
      )
    ).ETag!;
  });

  test('same bucket with COPY keeps bytes, ETag and metadata', { timeout: 120_000 }, async () => {
    const out = await s3.send(
      new CopyObjectCommand({ Bucket: B, Key: 'copy-1', CopySource: `${B}/${encodeURIComponent('src file+1.txt')}` }),
    );
    assert.equal(out.CopyObjectResult!.ETag, srcEtag);
    assert.ok(out.CopyObjectResult!.LastModified instanceof Date);
    const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'copy-1' }));
    assert.equal(head.ContentType, 'text/x-src');
    assert.equal(head.CacheControl, 'max-age=5');
    assert.deepEqual(head.Metadata, { origin: 'src' });
    assert.equal((await bytesOf('copy-1')).toString(), 'copy me');
  });

  test("cross bucket with REPLACE takes the request's metadata", { timeout: 120_000 }, async () => {
    await s3.send(
      new CopyObjectCommand({
        Bucket: B2,
        Key: 'dir/copy-2',
        CopySource: `/${B}/${encodeURIComponent('src file+1.txt')}`,
        MetadataDirective: 'REPLACE',
        ContentType: 'application/json',
        Metadata: { replaced: 'yes' },
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: B2, Key: 'dir/copy-2' }));
    assert.equal(head.ContentType, 'application/json');
    assert.equal(head.CacheControl, undefined);
    assert.deepEqual(head.Metadata, { replaced: 'yes' });
    assert.equal((await bytesOf('dir/copy-2', B2)).toString(), 'copy me');
    // The copy is independent: deleting the source leaves it intact.
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'temp-src', Body: 'temporary' }));
    await s3.send(new CopyObjectCommand({ Bucket: B2, Key: 'temp-copy', CopySource: `${B}/temp-src` }));
    await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'temp-src' }));
    assert.equal((await bytesOf('temp-copy', B2)).toString(), 'temporary');
  });

  test('x-amz-copy-source-if-* failures are 412 PreconditionFailed', { timeout: 120_000 }, async () => {
    const src = `${B}/${encodeURIComponent('src file+1.txt')}`;
    const past = new Date('2000-01-01T00:00:00Z');
    const future = new Date(Date.now() + 3_600_000);
    const failing = [
      { CopySourceIfMatch: '"0000"' },
      { CopySourceIfNoneMatch: srcEtag },
      { CopySourceIfModifiedSince: future },
      { CopySourceIfUnmodifiedSince: past },
    ];
    for (const cond of failing) {
      await rejects(
        () => s3.send(new CopyObjectCommand({ Bucket: B, Key: 'cond-copy', CopySource: src, ...cond })),
        'PreconditionFailed',
        412,
      );
    }
    await rejects(() => s3.send(new HeadObjectCommand({ Bucket: B, Key: 'cond-copy' })), 'NotFound', 404);
    await s3.send(
      new CopyObjectCommand({
        Bucket: B,
        Key: 'cond-copy',
        CopySource: src,
        CopySourceIfMatch: srcEtag,
        CopySourceIfModifiedSince: past,
      }),
    );
    assert.equal((await bytesOf('cond-copy')).toString(), 'copy me');
  });

  test('onto itself: InvalidRequest without REPLACE, allowed with REPLACE', { timeout: 120_000 }, async () => {
    const src = `${B}/${encodeURIComponent('src file+1.txt')}`;
    await rejects(
      () => s3.send(new CopyObjectCommand({ Bucket: B, Key: 'src file+1.txt', CopySource: src })),
      'InvalidRequest',
      400,
    );
    await s3.send(
      new CopyObjectCommand({
        Bucket: B,
        Key: 'src file+1.txt',
        CopySource: src,
        MetadataDirective: 'REPLACE',
        Metadata: { fresh: '1' },
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'src file+1.txt' }));
    assert.deepEqual(head.Metadata, { fresh: '1' });
    assert.equal((await bytesOf('src file+1.txt')).toString(), 'copy me');
  });

  test('a copy source with versionId=null is accepted; a bad metadata directive is InvalidArgument', {
    timeout: 120_000,
  }, async () => {
    const src = `${B}/${encodeURIComponent('src file+1.txt')}`;
    await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'copy-vnull', CopySource: `${src}?versionId=null` }));
    assert.equal((await bytesOf('copy-vnull')).toString(), 'copy me');
    const res = await raw(t.endpoint, {
      method: 'PUT',
      path: `/${B}/copy-bad-directive`,
      headers: { 'x-amz-copy-source': `/${src}`, 'x-amz-metadata-directive': 'MERGE' },
      auth: { type: 'v4', addon: t.owner },
    });
    assertS3Error(res, 400, 'InvalidArgument');
  });

  test("missing source is NoSuchKey, missing source bucket NoSuchBucket, another add-on's source AccessDenied", {
    timeout: 120_000,
  }, async () => {
    await rejects(
      () => s3.send(new CopyObjectCommand({ Bucket: B, Key: 'c', CopySource: `${B}/missing-src` })),
      'NoSuchKey',
      404,
    );
    await rejects(
      () => s3.send(new CopyObjectCommand({ Bucket: B, Key: 'c', CopySource: 'no-bucket-zz/k' })),
      'NoSuchBucket',
      404,
    );
    await s3other.send(new CreateBucketCommand({ Bucket: 'intruder-bucket' }));
    await rejects(
      () =>
        s3other.send(new CopyObjectCommand({ Bucket: 'intruder-bucket', Key: 'stolen', CopySource: `${B}/copy-1` })),
      'AccessDenied',
      403,
    );
    await rejects(
      () => s3.send(new CopyObjectCommand({ Bucket: 'intruder-bucket', Key: 'pushed', CopySource: `${B}/copy-1` })),
      'AccessDenied',
      403,
    );
  });
});
