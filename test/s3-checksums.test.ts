import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { md5Hex, rejects, sha256 } from './helpers/s3-assert.js';

let t: TestCellar;
let s3: S3Client;
const B = 'checksums';

before(async () => {
  t = await startTestCellar();
  s3 = t.client();
  await s3.send(new CreateBucketCommand({ Bucket: B }));
});
after(() => t.stop());

async function bytesOf(key: string): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: B, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

describe('SDK default checksums', () => {
  test('Buffer body: CRC32 accepted, stored bytes exact, checksum returned with ChecksumMode ENABLED', {
    timeout: 120_000,
  }, async () => {
    const data = randomBytes(256 * 1024 + 7);
    const put = await s3.send(new PutObjectCommand({ Bucket: B, Key: 'crc/buffer', Body: data }));
    assert.equal(put.ETag, `"${md5Hex(data)}"`);
    assert.ok(put.ChecksumCRC32, 'the SDK sends a CRC32 by default and the server echoes it');
    assert.equal(sha256(await bytesOf('crc/buffer')), sha256(data));
    const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'crc/buffer', ChecksumMode: 'ENABLED' }));
    assert.equal(got.ChecksumCRC32, put.ChecksumCRC32);
    assert.equal(sha256(await got.Body!.transformToByteArray()), sha256(data));
    const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'crc/buffer', ChecksumMode: 'ENABLED' }));
    assert.equal(head.ChecksumCRC32, put.ChecksumCRC32);
  });

  test('stream body of known length is sent aws-chunked with a CRC32 trailer and stored exactly', {
    timeout: 120_000,
  }, async () => {
    const parts = Array.from({ length: 40 }, (_, i) => randomBytes(64 * 1024 + i));
    const all = Buffer.concat(parts);
    const put = await s3.send(
      new PutObjectCommand({ Bucket: B, Key: 'crc/stream', Body: Readable.from(parts), ContentLength: all.length }),
    );
    assert.equal(put.ETag, `"${md5Hex(all)}"`);
    assert.ok(put.ChecksumCRC32, 'the trailer checksum is stored and echoed');
    const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'crc/stream', ChecksumMode: 'ENABLED' }));
    assert.equal(got.ContentLength, all.length);
    assert.equal(sha256(await got.Body!.transformToByteArray()), sha256(all));
    assert.equal(got.ChecksumCRC32, put.ChecksumCRC32);
    assert.equal(got.ContentEncoding, undefined, 'aws-chunked is a transfer detail, never stored');
  });

  test('stream body of unknown length: through lib-storage Upload, and chunked with checksums off', {
    timeout: 120_000,
  }, async () => {
    // The SDK's default PutObject cannot send a stream of unknown length at all (it fails
    // client-side on x-amz-decoded-content-length); its own advice is lib-storage's Upload.
    const parts = Array.from({ length: 20 }, () => randomBytes(50_000));
    const all = Buffer.concat(parts);
    const up = await new Upload({
      client: s3,
      params: { Bucket: B, Key: 'crc/upload', Body: Readable.from(parts) },
    }).done();
    assert.equal(up.ETag, `"${md5Hex(all)}"`);
    assert.equal(sha256(await bytesOf('crc/upload')), sha256(all));
    const plain = new S3Client({
      endpoint: t.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      credentials: { accessKeyId: t.owner.accessKeyId, secretAccessKey: t.owner.secretAccessKey },
    });
    try {
      // Sent with Transfer-Encoding: chunked, no Content-Length, UNSIGNED-PAYLOAD.
      const put = await plain.send(
        new PutObjectCommand({ Bucket: B, Key: 'crc/te-chunked', Body: Readable.from(parts) }),
      );
      assert.equal(put.ETag, `"${md5Hex(all)}"`);
    } finally {
      plain.destroy();
    }
    assert.equal(sha256(await bytesOf('crc/te-chunked')), sha256(all));
  });

  test('Buffer body of 1 MiB', { timeout: 120_000 }, async () => {
    const data = randomBytes(1024 * 1024 + 3);
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'crc/known', Body: data }));
    assert.equal(sha256(await bytesOf('crc/known')), sha256(data));
  });

  test('other checksum algorithms', { timeout: 120_000 }, async () => {
    for (const alg of ['CRC32C', 'SHA1', 'SHA256', 'CRC64NVME'] as const) {
      const data = randomBytes(10_000);
      const put = await s3.send(
        new PutObjectCommand({ Bucket: B, Key: `crc/${alg}`, Body: data, ChecksumAlgorithm: alg }),
      );
      const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: `crc/${alg}`, ChecksumMode: 'ENABLED' }));
      assert.equal(got[`Checksum${alg}`], put[`Checksum${alg}`], alg);
      assert.ok(got[`Checksum${alg}`], alg);
      assert.equal(sha256(await got.Body!.transformToByteArray()), sha256(data));
    }
  });

  test('a wrong x-amz-checksum-crc32 is BadDigest and stores nothing', { timeout: 120_000 }, async () => {
    await rejects(
      () =>
        s3.send(new PutObjectCommand({ Bucket: B, Key: 'crc/wrong', Body: 'checksummed', ChecksumCRC32: 'AAAAAA==' })),
      'BadDigest',
      400,
    );
    await rejects(() => s3.send(new HeadObjectCommand({ Bucket: B, Key: 'crc/wrong' })), 'NotFound', 404);
  });
});
