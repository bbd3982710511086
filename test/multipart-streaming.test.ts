/**
 * aws-chunked bodies on the wire, built by hand: each streaming variant is accepted for PutObject
 * and UploadPart, and each way of breaking one is refused with AWS's code and stores nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createChecksummer, type StreamingMode } from '#storage';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { errorCode, frame, sendStreaming, type StreamingRequest } from './helpers/streaming.js';
import { rejects } from './helpers/s3-assert.js';

const SIGNED: StreamingMode = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
const UNSIGNED_TRAILER: StreamingMode = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
const SIGNED_TRAILER: StreamingMode = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
const MODES: StreamingMode[] = [SIGNED, UNSIGNED_TRAILER, SIGNED_TRAILER];
const BUCKET = 'wire';
const CHUNK = 64 * 1024;
const DATA = randomBytes(200 * 1024 + 17);

let t: TestCellar;
let s3: S3Client;

before(async () => {
  t = await startTestCellar();
  s3 = t.client();
  t.cellar.storage.createBucket(t.owner, BUCKET, 'us-east-1', null);
});
after(() => t.stop());

const crc32 = (d: Buffer): string => {
  const c = createChecksummer('CRC32');
  c.update(d);
  return c.digestBase64();
};
const hasTrailer = (m: StreamingMode) => m !== SIGNED;
const short = (m: StreamingMode) => m.replace('STREAMING-', '').toLowerCase();

function request(mode: StreamingMode, path: string, extra: Partial<StreamingRequest> = {}): StreamingRequest {
  return {
    endpoint: t.endpoint,
    path,
    mode,
    data: DATA,
    chunkSize: CHUNK,
    addon: t.owner,
    trailer: hasTrailer(mode) ? ['x-amz-checksum-crc32', crc32(DATA)] : undefined,
    ...extra,
  };
}

async function body(key: string, checksumMode = false) {
  const r = await s3.send(
    new GetObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: checksumMode ? 'ENABLED' : undefined }),
  );
  return { r, bytes: Buffer.from(await r.Body!.transformToByteArray()) };
}

test('PutObject: every streaming variant stores the decoded bytes, no framing, aws-chunked dropped from Content-Encoding', {
  timeout: 120_000,
}, async () => {
  for (const mode of MODES) {
    const key = `put-${short(mode)}`;
    const res = await sendStreaming(
      request(mode, `/${BUCKET}/${key}`, { headers: { 'content-type': 'text/plain', 'x-amz-meta-mode': mode } }),
    );
    assert.equal(res.status, 200, `${mode}: ${res.text}`);
    assert.equal(res.headers.etag, `"${createHash('md5').update(DATA).digest('hex')}"`);
    const { r, bytes } = await body(key, true);
    assert.ok(bytes.equals(DATA), `${mode}: body differs`);
    assert.equal(r.ContentEncoding, undefined);
    assert.equal(r.ContentType, 'text/plain');
    assert.equal(r.Metadata?.mode, mode);
    assert.equal(r.ChecksumCRC32, hasTrailer(mode) ? crc32(DATA) : undefined);
  }
});

test('PutObject: a second Content-Encoding survives, aws-chunked is removed from the list', {
  timeout: 120_000,
}, async () => {
  const res = await sendStreaming(
    request(SIGNED, `/${BUCKET}/gz`, { headers: { 'content-encoding': 'aws-chunked,gzip' } }),
  );
  assert.equal(res.status, 200, res.text);
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'gz' }));
  assert.equal(head.ContentEncoding, 'gzip');
});

test('PutObject: broken streaming bodies are refused with the AWS code and nothing is stored', {
  timeout: 120_000,
}, async () => {
  const chunks = Math.ceil(DATA.length / CHUNK);
  const fullWire = (mode: StreamingMode) =>
    frame(
      request(mode, '/'),
      mode === UNSIGNED_TRAILER ? null : { key: Buffer.alloc(32), amzDate: '', scope: '', seed: '0'.repeat(64) },
    ).length;
  const cases: [string, StreamingMode, Partial<StreamingRequest>, number, string][] = [
    ['tampered first chunk signature', SIGNED, { tamperChunk: 0 }, 403, 'SignatureDoesNotMatch'],
    ['tampered middle chunk signature', SIGNED, { tamperChunk: 2 }, 403, 'SignatureDoesNotMatch'],
    ['tampered final chunk signature', SIGNED, { tamperChunk: chunks }, 403, 'SignatureDoesNotMatch'],
    ['tampered chunk signature with trailer', SIGNED_TRAILER, { tamperChunk: 1 }, 403, 'SignatureDoesNotMatch'],
    [
      'wrong trailer checksum (unsigned)',
      UNSIGNED_TRAILER,
      { trailer: ['x-amz-checksum-crc32', crc32(Buffer.from('other'))] },
      400,
      'BadDigest',
    ],
    [
      'wrong trailer checksum (signed)',
      SIGNED_TRAILER,
      { trailer: ['x-amz-checksum-crc32', crc32(Buffer.from('other'))] },
      400,
      'BadDigest',
    ],
    [
      'wrong trailer sha256',
      UNSIGNED_TRAILER,
      { trailer: ['x-amz-checksum-sha256', createHash('sha256').update('x').digest('base64')] },
      400,
      'BadDigest',
    ],
    ...MODES.flatMap((mode): [string, StreamingMode, Partial<StreamingRequest>, number, string][] => [
      [
        `short body: fewer bytes than x-amz-decoded-content-length (${short(mode)})`,
        mode,
        { declaredLength: DATA.length + 100 },
        400,
        'IncompleteBody',
      ],
      [`short body: cut inside a chunk (${short(mode)})`, mode, { truncateTo: 100 * 1024 }, 400, 'IncompleteBody'],
      [
        `short body: cut before the trailer section ends (${short(mode)})`,
        mode,
        { truncateTo: fullWire(mode) - 1 },
        400,
        'IncompleteBody',
      ],
    ]),
  ];
  for (const [name, mode, extra, status, code] of cases) {
    const key = `bad-${name.replace(/\W+/g, '-')}`;
    const res = await sendStreaming(request(mode, `/${BUCKET}/${key}`, extra));
    assert.equal(res.status, status, `${name}: ${res.text}`);
    assert.equal(errorCode(res.text), code, name);
    await rejects(() => s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })), 'NotFound', 404);
  }
});

test('UploadPart: every streaming variant stores a part; a broken one stores none', { timeout: 120_000 }, async () => {
  for (const mode of MODES) {
    const key = `mpu-${short(mode)}`;
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ChecksumAlgorithm: 'CRC32' }),
    );
    const path = (n: number) => `/${BUCKET}/${key}?partNumber=${n}&uploadId=${UploadId}`;
    const bad = await sendStreaming(
      request(
        mode,
        path(2),
        mode === UNSIGNED_TRAILER ? { trailer: ['x-amz-checksum-crc32', crc32(Buffer.from('x'))] } : { tamperChunk: 1 },
      ),
    );
    assert.equal(bad.status, mode === UNSIGNED_TRAILER ? 400 : 403, bad.text);
    const ok = await sendStreaming(request(mode, path(1)));
    assert.equal(ok.status, 200, `${mode}: ${ok.text}`);
    assert.equal(
      ok.headers['x-amz-checksum-crc32'],
      crc32(DATA),
      'the part checksum is returned whether or not it was sent',
    );
    const parts = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId }));
    assert.deepEqual(
      parts.Parts?.map((p) => [p.PartNumber, p.Size, p.ChecksumCRC32]),
      [[1, DATA.length, crc32(DATA)]],
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: ok.headers.etag as string, ChecksumCRC32: crc32(DATA) }] },
      }),
    );
    const { bytes } = await body(key);
    assert.ok(bytes.equals(DATA), `${mode}: assembled body differs`);
  }
});
