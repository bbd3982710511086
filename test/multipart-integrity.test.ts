/**
 * Multipart checksums (COMPOSITE and FULL_OBJECT) validated by the SDK, same-key races, the
 * collector for abandoned uploads, who may list and abort an upload, and bucket deletion.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createChecksummer, type ChecksumAlgorithm } from '#storage';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { md5Hex, rejects } from './helpers/s3-assert.js';
import { blobFiles, multipartEtag } from './helpers/multipart.js';

const MiB = 1024 * 1024;
const BUCKET = 'integrity';
let t: TestCellar;
let s3: S3Client;

before(async () => {
  t = await startTestCellar();
  s3 = t.client();
  t.cellar.storage.createBucket(t.owner, BUCKET, 'us-east-1', null);
});
after(() => t.stop());

function digest(alg: ChecksumAlgorithm, ...data: Buffer[]): string {
  const c = createChecksummer(alg);
  for (const d of data) c.update(d);
  return c.digestBase64();
}

async function upload(
  key: string,
  parts: Buffer[],
  create: Partial<ConstructorParameters<typeof CreateMultipartUploadCommand>[0]> = {},
  client = s3,
) {
  const { UploadId, ChecksumAlgorithm, ChecksumType } = await client.send(
    new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ...create }),
  );
  const done: CompletedPart[] = [];
  for (const [i, body] of parts.entries()) {
    const r = await client.send(
      new UploadPartCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId,
        PartNumber: i + 1,
        Body: body,
        ChecksumAlgorithm: create.ChecksumAlgorithm,
      }),
    );
    done.push({
      PartNumber: i + 1,
      ETag: r.ETag,
      ChecksumCRC32: r.ChecksumCRC32,
      ChecksumCRC32C: r.ChecksumCRC32C,
      ChecksumCRC64NVME: r.ChecksumCRC64NVME,
      ChecksumSHA1: r.ChecksumSHA1,
      ChecksumSHA256: r.ChecksumSHA256,
    });
  }
  return { uploadId: UploadId!, parts: done, algorithm: ChecksumAlgorithm, type: ChecksumType };
}

const completeCmd = (key: string, uploadId: string, parts: CompletedPart[]) =>
  new CompleteMultipartUploadCommand({
    Bucket: BUCKET,
    Key: key,
    UploadId: uploadId,
    MultipartUpload: { Parts: parts },
  });

test('COMPOSITE checksums: per part, combined on completion, returned by ListParts and HEAD', {
  timeout: 120_000,
}, async () => {
  const parts = [randomBytes(5 * MiB), randomBytes(1234)];
  for (const alg of ['CRC32', 'CRC32C', 'SHA1', 'SHA256'] as const) {
    const key = `composite-${alg}`;
    const u = await upload(key, parts, { ChecksumAlgorithm: alg });
    assert.equal(u.algorithm, alg);
    assert.equal(u.type, 'COMPOSITE');
    const listed = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: u.uploadId }));
    assert.deepEqual(
      listed.Parts?.map((p) => p[`Checksum${alg}`]),
      parts.map((p) => digest(alg, p)),
    );
    assert.equal(listed.ChecksumAlgorithm, alg);
    const c = await s3.send(completeCmd(key, u.uploadId, u.parts));
    const expected = `${digest(alg, ...parts.map((p) => Buffer.from(digest(alg, p), 'base64')))}-2`;
    assert.equal(c[`Checksum${alg}`], expected);
    assert.equal(c.ChecksumType, 'COMPOSITE');
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }));
    assert.equal(head[`Checksum${alg}`], expected);
    assert.equal(head.ChecksumType, 'COMPOSITE');
  }
});

test('FULL_OBJECT checksums: CRC of the whole object, which the SDK validates on GetObject', {
  timeout: 120_000,
}, async () => {
  const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(77)];
  const cases: [ChecksumAlgorithm, 'FULL_OBJECT' | undefined][] = [
    ['CRC32', 'FULL_OBJECT'],
    ['CRC32C', 'FULL_OBJECT'],
    ['CRC64NVME', undefined],
  ];
  for (const [alg, type] of cases) {
    const key = `full-${alg}`;
    const u = await upload(key, parts, { ChecksumAlgorithm: alg, ChecksumType: type });
    assert.equal(u.type, 'FULL_OBJECT', 'CRC64NVME defaults to FULL_OBJECT');
    const whole = digest(alg, ...parts);
    const noPartChecksums = u.parts.map((p) => ({ PartNumber: p.PartNumber, ETag: p.ETag }));
    const c = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId: u.uploadId,
        MultipartUpload: { Parts: noPartChecksums },
        [`Checksum${alg}`]: whole,
        ChecksumType: 'FULL_OBJECT',
      }),
    );
    assert.equal(c[`Checksum${alg}`], whole);
    assert.equal(c.ChecksumType, 'FULL_OBJECT');
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }));
    assert.equal(got[`Checksum${alg}`], whole);
    assert.equal(got.ChecksumType, 'FULL_OBJECT');
    assert.equal(md5Hex(Buffer.from(await got.Body!.transformToByteArray())), md5Hex(Buffer.concat(parts)));
  }
  // Proof that the client really checks: a stored checksum that does not match makes the read fail.
  const db = new Database(path.join(t.cellar.config.dataDir, 'meta.db'));
  db.prepare('UPDATE objects SET checksum = ? WHERE bucket = ? AND key = ?').run(
    JSON.stringify({ CRC32: digest('CRC32', Buffer.from('no')) }),
    BUCKET,
    'full-CRC32',
  );
  db.close();
  const tampered = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'full-CRC32', ChecksumMode: 'ENABLED' }));
  await assert.rejects(tampered.Body!.transformToByteArray(), /checksum/i);
});

test('checksum refusals: bad algorithm/type pairs, a part of another algorithm, missing or wrong part checksums', {
  timeout: 120_000,
}, async () => {
  await rejects(
    () =>
      s3.send(
        new CreateMultipartUploadCommand({
          Bucket: BUCKET,
          Key: 'x',
          ChecksumAlgorithm: 'SHA256',
          ChecksumType: 'FULL_OBJECT',
        }),
      ),
    'InvalidRequest',
    400,
  );
  await rejects(
    () =>
      s3.send(
        new CreateMultipartUploadCommand({
          Bucket: BUCKET,
          Key: 'x',
          ChecksumAlgorithm: 'CRC64NVME',
          ChecksumType: 'COMPOSITE',
        }),
      ),
    'InvalidRequest',
    400,
  );
  const u = await upload('refused', [randomBytes(5 * MiB), Buffer.from('end')], { ChecksumAlgorithm: 'CRC32' });
  await rejects(
    () =>
      s3.send(
        new UploadPartCommand({
          Bucket: BUCKET,
          Key: 'refused',
          UploadId: u.uploadId,
          PartNumber: 3,
          Body: 'x',
          ChecksumAlgorithm: 'SHA256',
        }),
      ),
    'InvalidRequest',
    400,
  );
  await rejects(
    () =>
      s3.send(
        new UploadPartCommand({
          Bucket: BUCKET,
          Key: 'refused',
          UploadId: u.uploadId,
          PartNumber: 3,
          Body: 'x',
          ChecksumCRC32: digest('CRC32', Buffer.from('y')),
        }),
      ),
    'BadDigest',
    400,
  );
  const bare = u.parts.map((p) => ({ PartNumber: p.PartNumber, ETag: p.ETag }));
  await rejects(() => s3.send(completeCmd('refused', u.uploadId, bare)), 'InvalidRequest', 400);
  const wrong = u.parts.map((p, i) => ({
    ...p,
    ChecksumCRC32: i === 1 ? digest('CRC32', Buffer.from('z')) : p.ChecksumCRC32,
  }));
  await rejects(() => s3.send(completeCmd('refused', u.uploadId, wrong)), 'InvalidPart', 400);
  await rejects(
    () =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: 'refused',
          UploadId: u.uploadId,
          MultipartUpload: { Parts: u.parts },
          ChecksumType: 'FULL_OBJECT',
        }),
      ),
    'InvalidRequest',
    400,
  );
  await rejects(
    () =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: 'refused',
          UploadId: u.uploadId,
          MultipartUpload: { Parts: u.parts },
          MpuObjectSize: 1,
        }),
      ),
    'InvalidRequest',
    400,
  );
  const ok = await s3.send(completeCmd('refused', u.uploadId, u.parts));
  assert.match(ok.ChecksumCRC32!, /-2$/);
});

test('16 concurrent PUTs and 2 multipart completions of one key leave exactly one complete body', {
  timeout: 120_000,
}, async () => {
  const dir = t.cellar.config.dataDir;
  const filesBefore = blobFiles(dir);
  const bodies = Array.from({ length: 16 }, () => randomBytes(2 * MiB + Math.floor(Math.random() * 1000)));
  const mpuBodies = [
    [randomBytes(5 * MiB), randomBytes(100)],
    [randomBytes(5 * MiB), randomBytes(200)],
  ];
  const prepared = await Promise.all(mpuBodies.map((parts) => upload('contended', parts)));
  await Promise.all([
    ...bodies.map((Body) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'contended', Body }))),
    ...prepared.map((u) => s3.send(completeCmd('contended', u.uploadId, u.parts))),
  ]);
  const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'contended' }));
  const bytes = Buffer.from(await got.Body!.transformToByteArray());
  const candidates = new Map<string, string>([
    ...bodies.map((b): [string, string] => [md5Hex(b), `"${md5Hex(b)}"`]),
    ...mpuBodies.map((parts): [string, string] => [md5Hex(Buffer.concat(parts)), multipartEtag(parts)]),
  ]);
  const md5 = md5Hex(bytes);
  assert.ok(candidates.has(md5), 'the body is one of those sent, whole');
  assert.equal(got.ETag, candidates.get(md5), "and the ETag is that body's");
  assert.equal(got.ContentLength, bytes.length);
  const obj = t.cellar.storage.headObject(BUCKET, 'contended')!;
  assert.equal(blobFiles(dir), filesBefore + obj.blobs.length, 'every losing body was freed');
});

test('abandoned uploads are aborted by the collector, with their parts', { timeout: 120_000 }, async () => {
  const short = await startTestCellar({ multipartMaxAgeSeconds: 1 });
  try {
    const c = short.client();
    short.cellar.storage.createBucket(short.owner, 'gc-bucket', 'us-east-1', null);
    const old = await c.send(new CreateMultipartUploadCommand({ Bucket: 'gc-bucket', Key: 'old' }));
    await c.send(
      new UploadPartCommand({
        Bucket: 'gc-bucket',
        Key: 'old',
        UploadId: old.UploadId,
        PartNumber: 1,
        Body: 'abandoned',
      }),
    );
    const files = blobFiles(short.cellar.config.dataDir);
    await new Promise((r) => setTimeout(r, 1100));
    const fresh = await c.send(new CreateMultipartUploadCommand({ Bucket: 'gc-bucket', Key: 'fresh' }));
    const r = await short.cellar.storage.collectGarbage();
    assert.equal(r.uploads, 1);
    await rejects(
      () => c.send(new ListPartsCommand({ Bucket: 'gc-bucket', Key: 'old', UploadId: old.UploadId })),
      'NoSuchUpload',
      404,
    );
    const kept = await c.send(new ListPartsCommand({ Bucket: 'gc-bucket', Key: 'fresh', UploadId: fresh.UploadId }));
    assert.equal(kept.UploadId, fresh.UploadId);
    assert.equal(blobFiles(short.cellar.config.dataDir), files - 1);
  } finally {
    await short.stop();
  }
});

test('the initiator may list and abort its upload; others need the bucket owner or a policy', {
  timeout: 120_000,
}, async () => {
  const writer = t.newAddon('writer');
  const stranger = t.newAddon('stranger');
  await s3.send(
    new PutBucketPolicyCommand({
      Bucket: BUCKET,
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { CanonicalUser: [writer.id, stranger.id] },
            Action: ['s3:PutObject'],
            Resource: [`arn:aws:s3:::${BUCKET}/*`],
          },
        ],
      }),
    }),
  );
  const w = t.client(writer);
  const x = t.client(stranger);
  const u = await upload('by-writer', [Buffer.from('w')], {}, w);
  const list = (c: S3Client) =>
    c.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'by-writer', UploadId: u.uploadId }));
  assert.equal((await list(w)).Initiator?.ID, writer.id);
  assert.equal((await list(s3)).Parts?.length, 1, 'the bucket owner may');
  await rejects(() => list(x), 'AccessDenied', 403);
  await rejects(
    () => x.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'by-writer', UploadId: u.uploadId })),
    'AccessDenied',
    403,
  );
  await w.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'by-writer', UploadId: u.uploadId }));
  await rejects(() => list(s3), 'NoSuchUpload', 404);
});

test('DeleteBucket aborts the uploads in progress and frees their parts', { timeout: 120_000 }, async () => {
  t.cellar.storage.createBucket(t.owner, 'doomed', 'us-east-1', null);
  const dir = t.cellar.config.dataDir;
  const files = blobFiles(dir);
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'doomed', Key: 'k' }));
  await s3.send(new UploadPartCommand({ Bucket: 'doomed', Key: 'k', UploadId, PartNumber: 1, Body: 'part' }));
  assert.equal(blobFiles(dir), files + 1);
  await s3.send(new DeleteBucketCommand({ Bucket: 'doomed' }));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(blobFiles(dir), files);
  t.cellar.storage.createBucket(t.owner, 'doomed', 'us-east-1', null);
  await rejects(() => s3.send(new ListPartsCommand({ Bucket: 'doomed', Key: 'k', UploadId })), 'NoSuchUpload', 404);
});
