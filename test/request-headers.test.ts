import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  GetBucketOwnershipControlsCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { assertS3Error, raw } from './helpers/raw.js';
import { rejects } from './helpers/s3-assert.js';

let t: TestCellar;
let s3: S3Client;
const B = 'headers';
const T = { timeout: 30_000 };

before(async () => {
  t = await startTestCellar();
  s3 = t.client();
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'src', Body: 'source' }));
});
after(() => t.stop());

async function absent(key: string): Promise<void> {
  await rejects(() => s3.send(new HeadObjectCommand({ Bucket: B, Key: key })), null, 404);
}

/** Headers that ask for a feature we lack: the write fails and stores nothing. */
const refusedOnPut: [string, Record<string, string>, number, string][] = [
  ['SSE-S3', { 'x-amz-server-side-encryption': 'AES256' }, 501, 'NotImplemented'],
  [
    'SSE-KMS',
    { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'k' },
    501,
    'NotImplemented',
  ],
  [
    'SSE-C',
    {
      'x-amz-server-side-encryption-customer-algorithm': 'AES256',
      'x-amz-server-side-encryption-customer-key': Buffer.alloc(32, 1).toString('base64'),
      'x-amz-server-side-encryption-customer-key-md5': 'x',
    },
    501,
    'NotImplemented',
  ],
  [
    'object lock retention',
    { 'x-amz-object-lock-mode': 'GOVERNANCE', 'x-amz-object-lock-retain-until-date': '2030-01-01T00:00:00Z' },
    400,
    'InvalidRequest',
  ],
  ['legal hold', { 'x-amz-object-lock-legal-hold': 'ON' }, 400, 'InvalidRequest'],
  ['append', { 'x-amz-write-offset-bytes': '0' }, 501, 'NotImplemented'],
  ['a session token', { 'x-amz-security-token': 'FQoGZXIvYXdzE' }, 400, 'InvalidToken'],
];

describe('request headers asking for what we do not do are refused, never dropped', T, () => {
  for (const [name, headers, status, code] of refusedOnPut) {
    test(`PutObject with ${name}: ${status} ${code}, nothing stored`, T, async () => {
      const key = `refused-${name.replace(/\W+/g, '-')}`;
      const res = await raw(t.endpoint, {
        method: 'PUT',
        path: `/${B}/${key}`,
        body: 'data',
        headers,
        auth: { type: 'v4', addon: t.owner },
      });
      assertS3Error(res, status, code, 'PUT');
      await absent(key);
    });
  }

  test('a PutObject whose x-amz-tagging breaks the tag rules fails (InvalidTag) and stores nothing', T, async () => {
    await rejects(
      () => s3.send(new PutObjectCommand({ Bucket: B, Key: 'tagged', Body: 'x', Tagging: 'a%23b=v' })),
      'InvalidTag',
      400,
    );
    await absent('tagged');
  });

  test('CopyObject with an unknown x-amz-tagging-directive is InvalidArgument; COPY and REPLACE work', T, async () => {
    const res = await raw(t.endpoint, {
      method: 'PUT',
      path: `/${B}/copy-x`,
      headers: { 'x-amz-copy-source': `/${B}/src`, 'x-amz-tagging-directive': 'MERGE' },
      auth: { type: 'v4', addon: t.owner },
    });
    assertS3Error(res, 400, 'InvalidArgument', 'PUT');
    await absent('copy-x');
    await s3.send(
      new CopyObjectCommand({ Bucket: B, Key: 'copy-c', CopySource: `${B}/src`, TaggingDirective: 'COPY' }),
    );
    await s3.send(
      new CopyObjectCommand({
        Bucket: B,
        Key: 'copy-r',
        CopySource: `${B}/src`,
        TaggingDirective: 'REPLACE',
        Tagging: 'a=b',
      }),
    );
  });

  test("CreateBucket with ObjectOwnership sets the bucket's ownership controls", T, async () => {
    for (const [Bucket, ObjectOwnership] of [
      ['writer-owned', 'ObjectWriter'],
      ['owner-enforced', 'BucketOwnerEnforced'],
    ] as const) {
      await s3.send(new CreateBucketCommand({ Bucket, ObjectOwnership }));
      const got = await s3.send(new GetBucketOwnershipControlsCommand({ Bucket }));
      assert.deepEqual(got.OwnershipControls?.Rules, [{ ObjectOwnership }]);
    }
  });
});

describe('x-amz-expected-bucket-owner', T, () => {
  test('the right owner passes, another id is AccessDenied', T, async () => {
    const ok = await s3.send(new ListObjectsV2Command({ Bucket: B, ExpectedBucketOwner: t.owner.id }));
    assert.ok((ok.KeyCount ?? 0) >= 1);
    await rejects(
      () => s3.send(new ListObjectsV2Command({ Bucket: B, ExpectedBucketOwner: 'cellar_someoneelse' })),
      'AccessDenied',
      403,
    );
    await rejects(
      () =>
        s3.send(
          new PutObjectCommand({ Bucket: B, Key: 'owner-check', Body: 'x', ExpectedBucketOwner: 'cellar_someoneelse' }),
        ),
      'AccessDenied',
      403,
    );
    await absent('owner-check');
  });

  test('x-amz-source-expected-bucket-owner on CopyObject checks the source bucket', T, async () => {
    await rejects(
      () =>
        s3.send(
          new CopyObjectCommand({
            Bucket: B,
            Key: 'copy-o',
            CopySource: `${B}/src`,
            ExpectedSourceBucketOwner: 'cellar_nobody',
          }),
        ),
      'AccessDenied',
      403,
    );
    await s3.send(
      new CopyObjectCommand({
        Bucket: B,
        Key: 'copy-o',
        CopySource: `${B}/src`,
        ExpectedSourceBucketOwner: t.owner.id,
      }),
    );
  });
});
