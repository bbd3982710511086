/**
 * GetObjectAttributes with the current AWS SDK: each attribute, ObjectParts pagination of a
 * multipart object, the request errors, and the permissions AWS asks for.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectAttributesCommand,
  HeadObjectCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { assertS3Error, raw } from './helpers/raw.js';
import { md5Hex, rejects } from './helpers/s3-assert.js';

const T = { timeout: 60_000 };
const B = 'attributes';
const ALL = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'] as const;
let t: TestCellar;
let s3: S3Client;

const MiB = 1024 * 1024;
const parts = [Buffer.alloc(5 * MiB, 1), Buffer.alloc(5 * MiB, 2), Buffer.from('tail')];

before(async () => {
  t = await startTestCellar();
  s3 = t.client();
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  await s3.send(
    new PutObjectCommand({
      Bucket: B,
      Key: 'simple',
      Body: 'hello attributes',
      ChecksumAlgorithm: 'SHA256',
      StorageClass: 'STANDARD_IA',
    }),
  );
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({ Bucket: B, Key: 'multi', ChecksumAlgorithm: 'CRC32' }),
  );
  const done = [];
  for (const [i, body] of parts.entries()) {
    const p = await s3.send(
      new UploadPartCommand({
        Bucket: B,
        Key: 'multi',
        UploadId,
        PartNumber: i + 1,
        Body: body,
        ChecksumAlgorithm: 'CRC32',
      }),
    );
    done.push({ PartNumber: i + 1, ETag: p.ETag, ChecksumCRC32: p.ChecksumCRC32 });
  }
  await s3.send(
    new CompleteMultipartUploadCommand({ Bucket: B, Key: 'multi', UploadId, MultipartUpload: { Parts: done } }),
  );
});
after(() => t.stop());

describe('GetObjectAttributes', T, () => {
  test(
    'a simple object: ETag (unquoted), Checksum, StorageClass, ObjectSize, Last-Modified; no ObjectParts',
    T,
    async () => {
      const a = await s3.send(new GetObjectAttributesCommand({ Bucket: B, Key: 'simple', ObjectAttributes: [...ALL] }));
      const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'simple', ChecksumMode: 'ENABLED' }));
      assert.equal(a.ETag, md5Hex('hello attributes'));
      assert.equal(a.ObjectSize, 'hello attributes'.length);
      assert.equal(a.StorageClass, 'STANDARD_IA');
      assert.equal(a.Checksum?.ChecksumSHA256, head.ChecksumSHA256);
      assert.equal(a.Checksum?.ChecksumType, 'FULL_OBJECT');
      assert.equal(a.ObjectParts, undefined);
      assert.equal(a.LastModified?.getTime(), head.LastModified?.getTime());
    },
  );

  test(
    "on the wire: the GetObjectAttributesResponse document, attributes in AWS's order, and Last-Modified",
    T,
    async () => {
      const res = await raw(t.endpoint, {
        path: `/${B}/simple?attributes`,
        headers: { 'x-amz-object-attributes': 'ObjectSize, ETag,StorageClass' },
        auth: { type: 'v4', addon: t.owner },
      });
      assert.equal(res.status, 200, res.text);
      assert.match(
        res.text,
        new RegExp(
          `<GetObjectAttributesResponse xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><ETag>${md5Hex('hello attributes')}</ETag><StorageClass>STANDARD_IA</StorageClass><ObjectSize>16</ObjectSize></GetObjectAttributesResponse>`,
        ),
      );
      assert.ok(!Number.isNaN(Date.parse(String(res.headers['last-modified']))), String(res.headers['last-modified']));
    },
  );

  test('only the attributes asked for are returned', T, async () => {
    const a = await s3.send(
      new GetObjectAttributesCommand({ Bucket: B, Key: 'simple', ObjectAttributes: ['ObjectSize'] }),
    );
    assert.equal(a.ObjectSize, 16);
    assert.equal(a.ETag, undefined);
    assert.equal(a.StorageClass, undefined);
    assert.equal(a.Checksum, undefined);
  });

  test('a multipart object lists its parts with size and checksum, paginated', T, async () => {
    const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'multi', ChecksumMode: 'ENABLED' }));
    const a = await s3.send(new GetObjectAttributesCommand({ Bucket: B, Key: 'multi', ObjectAttributes: [...ALL] }));
    assert.equal(`"${a.ETag}"`, head.ETag);
    assert.equal(a.ObjectSize, 10 * MiB + 4);
    assert.equal(a.StorageClass, 'STANDARD');
    assert.equal(a.Checksum?.ChecksumCRC32, head.ChecksumCRC32);
    assert.equal(a.Checksum?.ChecksumType, 'COMPOSITE');
    const op = a.ObjectParts!;
    assert.equal(op.TotalPartsCount, 3);
    assert.equal(op.IsTruncated, false);
    assert.deepEqual(
      op.Parts?.map((p) => [p.PartNumber, p.Size]),
      [
        [1, 5 * MiB],
        [2, 5 * MiB],
        [3, 4],
      ],
    );
    assert.ok(
      op.Parts?.every((p) => typeof p.ChecksumCRC32 === 'string' && p.ChecksumCRC32.length === 8),
      JSON.stringify(op.Parts),
    );

    const first = await s3.send(
      new GetObjectAttributesCommand({ Bucket: B, Key: 'multi', ObjectAttributes: ['ObjectParts'], MaxParts: 2 }),
    );
    assert.equal(first.ObjectParts?.IsTruncated, true);
    assert.equal(first.ObjectParts?.MaxParts, 2);
    assert.equal(first.ObjectParts?.NextPartNumberMarker, '2');
    assert.deepEqual(
      first.ObjectParts?.Parts?.map((p) => p.PartNumber),
      [1, 2],
    );
    const rest = await s3.send(
      new GetObjectAttributesCommand({
        Bucket: B,
        Key: 'multi',
        ObjectAttributes: ['ObjectParts'],
        MaxParts: 2,
        PartNumberMarker: '2',
      }),
    );
    assert.equal(rest.ObjectParts?.IsTruncated, false);
    assert.equal(rest.ObjectParts?.PartNumberMarker, '2');
    assert.deepEqual(
      rest.ObjectParts?.Parts?.map((p) => [p.PartNumber, p.Size, p.ChecksumCRC32]),
      [[3, 4, op.Parts![2]!.ChecksumCRC32]],
    );
  });

  test(
    'request errors: no attributes (InvalidRequest), an unknown one or a bad max-parts (InvalidArgument), a missing key (NoSuchKey)',
    T,
    async () => {
      const auth = { type: 'v4' as const, addon: t.owner };
      assertS3Error(await raw(t.endpoint, { path: `/${B}/simple?attributes`, auth }), 400, 'InvalidRequest');
      assertS3Error(
        await raw(t.endpoint, {
          path: `/${B}/simple?attributes`,
          headers: { 'x-amz-object-attributes': 'ETag,Colour' },
          auth,
        }),
        400,
        'InvalidArgument',
      );
      assertS3Error(
        await raw(t.endpoint, {
          path: `/${B}/multi?attributes`,
          headers: { 'x-amz-object-attributes': 'ObjectParts', 'x-amz-max-parts': 'many' },
          auth,
        }),
        400,
        'InvalidArgument',
      );
      await rejects(
        () => s3.send(new GetObjectAttributesCommand({ Bucket: B, Key: 'missing', ObjectAttributes: ['ETag'] })),
        'NoSuchKey',
        404,
      );
      await rejects(
        () =>
          s3.send(
            new GetObjectAttributesCommand({ Bucket: B, Key: 'simple', ObjectAttributes: ['ETag'], VersionId: 'v2' }),
          ),
        'InvalidArgument',
        400,
      );
    },
  );

  test('another add-on needs s3:GetObject and s3:GetObjectAttributes; anonymous callers a policy too', T, async () => {
    const other = t.newAddon('attr-reader');
    const o = t.client(other);
    const ask = () =>
      o.send(new GetObjectAttributesCommand({ Bucket: B, Key: 'simple', ObjectAttributes: ['ObjectSize'] }));
    const grant = (actions: string[]) =>
      s3.send(
        new PutBucketPolicyCommand({
          Bucket: B,
          Policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { CanonicalUser: other.id },
                Action: actions,
                Resource: `arn:aws:s3:::${B}/*`,
              },
            ],
          }),
        }),
      );
    await rejects(ask, 'AccessDenied', 403);
    await grant(['s3:GetObject']);
    await rejects(ask, 'AccessDenied', 403);
    await grant(['s3:GetObjectAttributes']);
    await rejects(ask, 'AccessDenied', 403);
    await grant(['s3:GetObject', 's3:GetObjectAttributes']);
    assert.equal((await ask()).ObjectSize, 16);
    assertS3Error(
      await raw(t.endpoint, { path: `/${B}/simple?attributes`, headers: { 'x-amz-object-attributes': 'ETag' } }),
      403,
      'AccessDenied',
    );
  });
});
