/**
 * Multipart uploads through the SDK: assembly without copies, reads across part boundaries,
 * the AWS error codes, repeated completion, UploadPartCopy and both listings' pagination.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createChecksummer } from '#storage';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { blobFiles, multipartEtag } from './helpers/multipart.js';
import { md5Hex, rejects, sha256 } from './helpers/s3-assert.js';

const MiB = 1024 * 1024;
const BUCKET = 'mpu';
let t: TestCellar;
let s3: S3Client;

before(async () => {
  t = await startTestCellar();
  s3 = t.client();
  t.cellar.storage.createBucket(t.owner, BUCKET, 'us-east-1', null);
});
after(() => t.stop());

async function create(
  key: string,
  extra: Partial<ConstructorParameters<typeof CreateMultipartUploadCommand>[0]> = {},
): Promise<string> {
  const r = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ...extra }));
  return r.UploadId!;
}

async function put(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<CompletedPart> {
  const r = await s3.send(
    new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body }),
  );
  return { PartNumber: partNumber, ETag: r.ETag! };
}

function complete(key: string, uploadId: string, parts: CompletedPart[]) {
  return s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: BUCKET,
      Key: key,
      UploadId: uploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
}

async function get(key: string, extra: Partial<ConstructorParameters<typeof GetObjectCommand>[0]> = {}) {
  const r = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ...extra }));
  return { r, bytes: Buffer.from(await r.Body!.transformToByteArray()) };
}

test('parts become the object without a copy; ranges and partNumber read across part boundaries', {
  timeout: 120_000,
}, async () => {
  const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB + 3), randomBytes(1000)];
  const whole = Buffer.concat(parts);
  const id = await create('big/object.bin');
  const done = [];
  for (const [i, p] of parts.entries()) done.push(await put('big/object.bin', id, i + 1, p));
  const files = blobFiles(t.cellar.config.dataDir);
  const c = await complete('big/object.bin', id, done);
  assert.equal(c.ETag, multipartEtag(parts));
  assert.equal(c.Key, 'big/object.bin');
  assert.equal(c.Location, `${t.endpoint}/${BUCKET}/big/object.bin`);
  assert.equal(blobFiles(t.cellar.config.dataDir), files, 'completion writes no new file');
  assert.deepEqual(
    t.cellar.storage.headObject(BUCKET, 'big/object.bin')!.blobs.map((b) => b.size),
    parts.map((p) => p.length),
  );

  const { r, bytes } = await get('big/object.bin');
  assert.equal(r.ETag, multipartEtag(parts));
  assert.equal(sha256(bytes), sha256(whole));
  const b1 = parts[0]!.length;
  const b2 = b1 + parts[1]!.length;
  for (const [start, end] of [
    [b1 - 10, b1 + 9],
    [b2 - 1, b2],
    [0, whole.length - 1],
    [b1, b1],
    [b1 - 5, b2 + 5],
  ] as const) {
    const part = await get('big/object.bin', { Range: `bytes=${start}-${end}` });
    assert.equal(part.r.ContentRange, `bytes ${start}-${end}/${whole.length}`);
    assert.ok(part.bytes.equals(whole.subarray(start, end + 1)), `range ${start}-${end}`);
  }
  const suffix = await get('big/object.bin', { Range: 'bytes=-1500' });
  assert.ok(suffix.bytes.equals(whole.subarray(whole.length - 1500)));

  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'big/object.bin', PartNumber: 2 }));
  assert.equal(head.PartsCount, 3);
  assert.equal(head.ContentLength, parts[1]!.length);
  assert.equal(head.ContentRange, `bytes ${b1}-${b2 - 1}/${whole.length}`);
  const p3 = await get('big/object.bin', { PartNumber: 3 });
  assert.ok(p3.bytes.equals(parts[2]!));
  assert.equal(p3.r.PartsCount, 3);
  await rejects(() => get('big/object.bin', { PartNumber: 4 }), 'InvalidPartNumber', 416);
  await rejects(() => get('big/object.bin', { PartNumber: 1, Range: 'bytes=0-1' }), 'InvalidRequest', 400);

  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'simple', Body: 'abc' }));
  const simple = await get('simple', { PartNumber: 1 });
  assert.equal(simple.bytes.toString(), 'abc');
  assert.equal(simple.r.PartsCount, undefined);
  await rejects(() => get('simple', { PartNumber: 2 }), 'InvalidPartNumber', 416);
});

test('metadata, standard headers and the canned ACL of CreateMultipartUpload reach the object', {
  timeout: 120_000,
}, async () => {
  const id = await create('meta.txt', {
    ContentType: 'text/plain; charset=utf-8',
    CacheControl: 'max-age=60',
    ContentDisposition: 'attachment; filename="m.txt"',
    ContentLanguage: 'fr',
    Metadata: { colour: 'blue' },
    ACL: 'public-read',
    StorageClass: 'STANDARD_IA',
  });
  await complete('meta.txt', id, [await put('meta.txt', id, 1, Buffer.from('hello'))]);
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'meta.txt' }));
  assert.equal(head.ContentType, 'text/plain; charset=utf-8');
  assert.equal(head.CacheControl, 'max-age=60');
  assert.equal(head.ContentDisposition, 'attachment; filename="m.txt"');
  assert.equal(head.ContentLanguage, 'fr');
  assert.deepEqual(head.Metadata, { colour: 'blue' });
  assert.equal(head.StorageClass, 'STANDARD_IA');
  const acl = await s3.send(new GetObjectAclCommand({ Bucket: BUCKET, Key: 'meta.txt' }));
  assert.ok(
    acl.Grants?.some(
      (g) => g.Grantee?.URI === 'http://acs.amazonaws.com/groups/global/AllUsers' && g.Permission === 'READ',
    ),
  );
  const anonymous = await fetch(`${t.endpoint}/${BUCKET}/meta.txt`);
  assert.equal(anonymous.status, 200);
  assert.equal(await anonymous.text(), 'hello');
});

test('AWS error codes: NoSuchUpload, InvalidPart, InvalidPartOrder, EntityTooSmall, MalformedXML, InvalidArgument', {
  timeout: 120_000,
}, async () => {
  const small = [Buffer.from('one'), Buffer.from('two')];
  const id = await create('errors');
  const done = [await put('errors', id, 1, small[0]!), await put('errors', id, 2, small[1]!)];
  const other = await create('other-key');
  const cases: [string, () => Promise<unknown>, string, number][] = [
    ['unknown upload id', () => put('errors', 'nope', 1, small[0]!), 'NoSuchUpload', 404],
    ['upload id of another key', () => put('errors', other, 1, small[0]!), 'NoSuchUpload', 404],
    [
      'list parts of unknown upload',
      () => s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'errors', UploadId: 'nope' })),
      'NoSuchUpload',
      404,
    ],
    [
      'abort unknown upload',
      () => s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'errors', UploadId: 'nope' })),
      'NoSuchUpload',
      404,
    ],
    ['complete unknown upload', () => complete('errors', 'nope', done), 'NoSuchUpload', 404],
    [
      'wrong ETag',
      () => complete('errors', id, [done[0]!, { PartNumber: 2, ETag: `"${md5Hex('three')}"` }]),
      'InvalidPart',
      400,
    ],
    [
      'missing part',
      () => complete('errors', id, [done[0]!, { PartNumber: 3, ETag: done[1]!.ETag }]),
      'InvalidPart',
      400,
    ],
    ['descending order', () => complete('errors', id, [done[1]!, done[0]!]), 'InvalidPartOrder', 400],
    ['repeated part', () => complete('errors', id, [done[0]!, done[0]!]), 'InvalidPartOrder', 400],
    ['small non-last part', () => complete('errors', id, done), 'EntityTooSmall', 400],
    ['empty part list', () => complete('errors', id, []), 'MalformedXML', 400],
    ['part number 0', () => put('errors', id, 0, small[0]!), 'InvalidArgument', 400],
    ['part number 10001', () => put('errors', id, 10001, small[0]!), 'InvalidArgument', 400],
  ];
  for (const [name, fn, code, status] of cases) {
    const e = await rejects(fn, code, status);
    assert.ok(e, name);
  }
  // A refused Complete leaves the upload as it was: fix the parts and complete.
  const big = randomBytes(5 * MiB);
  const fixed = [await put('errors', id, 1, big), done[1]!];
  const c = await complete('errors', id, fixed);
  assert.equal(c.ETag, multipartEtag([big, small[1]!]));
  await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'other-key', UploadId: other }));
  await rejects(() => put('other-key', other, 1, small[0]!), 'NoSuchUpload', 404);
});

test('completing twice succeeds while the key holds the object the upload made, then NoSuchUpload', {
  timeout: 120_000,
}, async () => {
  const id = await create('twice');
  const parts = [await put('twice', id, 1, Buffer.from('x'))];
  const first = await complete('twice', id, parts);
  const second = await complete('twice', id, parts);
  assert.equal(second.ETag, first.ETag);
  assert.equal(second.Key, 'twice');
  assert.equal((await get('twice')).bytes.toString(), 'x');
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'twice', Body: 'newer' }));
  await rejects(() => complete('twice', id, parts), 'NoSuchUpload', 404);
  assert.equal((await get('twice')).bytes.toString(), 'newer');
});

test('a re-uploaded part replaces the old one and frees its file; unlisted parts and aborts free theirs', {
  timeout: 120_000,
}, async () => {
  const dir = t.cellar.config.dataDir;
  const id = await create('replace');
  const before = blobFiles(dir);
  await put('replace', id, 1, Buffer.from('first'));
  const p1 = await put('replace', id, 1, Buffer.from('second'));
  await put('replace', id, 2, Buffer.from('unlisted'));
  assert.equal(blobFiles(dir), before + 2);
  const listed = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'replace', UploadId: id }));
  assert.deepEqual(
    listed.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size]),
    [
      [1, `"${md5Hex('second')}"`, 6],
      [2, `"${md5Hex('unlisted')}"`, 8],
    ],
  );
  await complete('replace', id, [p1]);
  assert.equal((await get('replace')).bytes.toString(), 'second');
  assert.equal(blobFiles(dir), before + 1);

  const aborted = await create('aborted');
  await put('aborted', aborted, 1, Buffer.from('a'));
  await put('aborted', aborted, 2, Buffer.from('b'));
  assert.equal(blobFiles(dir), before + 3);
  await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'aborted', UploadId: aborted }));
  assert.equal(blobFiles(dir), before + 1);
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'aborted' }));
  assert.equal(uploads.Uploads, undefined);
});

test('UploadPartCopy of ranges from a 20 MiB object assembles the right bytes, with part checksums', {
  timeout: 120_000,
}, async () => {
  const src = randomBytes(20 * MiB);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'source.bin', Body: src }));
  const id = await create('copied.bin', { ChecksumAlgorithm: 'CRC32C' });
  const ranges: [number, number][] = [
    [3 * MiB + 5, 9 * MiB + 4],
    [0, 20 * MiB - 1],
    [14 * MiB + 1, 20 * MiB - 1],
  ];
  const expected: Buffer[] = [];
  const parts: CompletedPart[] = [];
  const crc32c = (b: Buffer) => {
    const c = createChecksummer('CRC32C');
    c.update(b);
    return c.digestBase64();
  };
  for (const [i, [start, end]] of ranges.entries()) {
    const r = await s3.send(
      new UploadPartCopyCommand({
        Bucket: BUCKET,
        Key: 'copied.bin',
        UploadId: id,
        PartNumber: i + 1,
        CopySource: `${BUCKET}/source.bin`,
        CopySourceRange: i === 1 ? undefined : `bytes=${start}-${end}`,
      }),
    );
    const piece = src.subarray(start, end + 1);
    expected.push(piece);
    assert.equal(r.CopyPartResult?.ETag, `"${md5Hex(piece)}"`);
    assert.equal(r.CopyPartResult?.ChecksumCRC32C, crc32c(piece));
    parts.push({ PartNumber: i + 1, ETag: r.CopyPartResult!.ETag!, ChecksumCRC32C: r.CopyPartResult!.ChecksumCRC32C! });
  }
  const tail = Buffer.from('tail');
  const last = await s3.send(
    new UploadPartCommand({
      Bucket: BUCKET,
      Key: 'copied.bin',
      UploadId: id,
      PartNumber: 4,
      Body: tail,
      ChecksumAlgorithm: 'CRC32C',
    }),
  );
  expected.push(tail);
  parts.push({ PartNumber: 4, ETag: last.ETag!, ChecksumCRC32C: last.ChecksumCRC32C! });
  for (const bad of ['bytes=0-', 'bytes=10-5', `bytes=0-${20 * MiB}`, 'items=0-1']) {
    await rejects(
      () =>
        s3.send(
          new UploadPartCopyCommand({
            Bucket: BUCKET,
            Key: 'copied.bin',
            UploadId: id,
            PartNumber: 9,
            CopySource: `${BUCKET}/source.bin`,
            CopySourceRange: bad,
          }),
        ),
      'InvalidArgument',
      400,
    );
  }
  await rejects(
    () =>
      s3.send(
        new UploadPartCopyCommand({
          Bucket: BUCKET,
          Key: 'copied.bin',
          UploadId: id,
          PartNumber: 9,
          CopySource: `${BUCKET}/missing`,
        }),
      ),
    'NoSuchKey',
    404,
  );
  const c = await complete('copied.bin', id, parts);
  const composite = createChecksummer('CRC32C');
  for (const p of parts) composite.update(Buffer.from(p.ChecksumCRC32C!, 'base64'));
  assert.equal(c.ChecksumCRC32C, `${composite.digestBase64()}-4`);
  assert.equal(c.ChecksumType, 'COMPOSITE');
  const { bytes } = await get('copied.bin');
  assert.equal(sha256(bytes), sha256(Buffer.concat(expected)));
});

test('ListParts paginates with part-number-marker and max-parts', { timeout: 120_000 }, async () => {
  const id = await create('paged');
  const numbers = [1, 2, 3, 5, 6, 7, 9];
  for (const n of numbers) await put('paged', id, n, Buffer.from(`part ${n}`));
  const seen: number[][] = [];
  let marker: string | undefined;
  for (;;) {
    const r = await s3.send(
      new ListPartsCommand({ Bucket: BUCKET, Key: 'paged', UploadId: id, MaxParts: 3, PartNumberMarker: marker }),
    );
    seen.push(r.Parts?.map((p) => p.PartNumber!) ?? []);
    assert.equal(r.MaxParts, 3);
    if (!r.IsTruncated) break;
    assert.equal(r.NextPartNumberMarker, String(seen.at(-1)!.at(-1)));
    marker = r.NextPartNumberMarker;
  }
  assert.deepEqual(seen, [[1, 2, 3], [5, 6, 7], [9]]);
  const rest = await s3.send(
    new ListPartsCommand({ Bucket: BUCKET, Key: 'paged', UploadId: id, PartNumberMarker: '6' }),
  );
  assert.deepEqual(
    rest.Parts?.map((p) => p.PartNumber),
    [7, 9],
  );
  assert.equal(rest.Initiator?.ID, t.owner.id);
  assert.equal(rest.StorageClass, 'STANDARD');
  await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'paged', UploadId: id }));
});

test('ListMultipartUploads: key then initiation order, prefix, delimiter, key and upload-id markers', {
  timeout: 120_000,
}, async () => {
  await t.cellar.storage.createBucket(t.owner, 'uploads', 'us-east-1', null);
  const made: [string, string][] = [];
  const createdFrom = Date.now();
  for (const key of ['d', 'a/1', 'b', 'c/x/1', 'a/2', 'b']) {
    made.push([key, (await s3.send(new CreateMultipartUploadCommand({ Bucket: 'uploads', Key: key }))).UploadId!]);
    await new Promise((r) => setTimeout(r, 3));
  }
  const order = [...made].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : made.indexOf(x) - made.indexOf(y)));
  const list = (q: Partial<ConstructorParameters<typeof ListMultipartUploadsCommand>[0]>) =>
    s3.send(new ListMultipartUploadsCommand({ Bucket: 'uploads', ...q }));

  const all = await list({});
  assert.deepEqual(
    all.Uploads?.map((u) => [u.Key, u.UploadId]),
    order,
  );
  assert.equal(all.IsTruncated, false);
  for (const max of [1, 2, 3, 4]) {
    const got: [string, string][] = [];
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    for (let page = 0; page < 10; page++) {
      const r = await list({ MaxUploads: max, KeyMarker: keyMarker, UploadIdMarker: idMarker });
      got.push(...(r.Uploads ?? []).map((u): [string, string] => [u.Key!, u.UploadId!]));
      if (!r.IsTruncated) break;
      keyMarker = r.NextKeyMarker;
      idMarker = r.NextUploadIdMarker;
    }
    assert.deepEqual(got, order, `max-uploads ${max}`);
  }
  const delimited: string[] = [];
  let keyMarker: string | undefined;
  let idMarker: string | undefined;
  for (let page = 0; page < 10; page++) {
    const r = await list({ Delimiter: '/', MaxUploads: 1, KeyMarker: keyMarker, UploadIdMarker: idMarker });
    delimited.push(
      ...(r.CommonPrefixes ?? []).map((p) => `prefix ${p.Prefix}`),
      ...(r.Uploads ?? []).map((u) => `upload ${u.Key}`),
    );
    if (!r.IsTruncated) break;
    keyMarker = r.NextKeyMarker;
    idMarker = r.NextUploadIdMarker;
  }
  assert.deepEqual(delimited, ['prefix a/', 'upload b', 'upload b', 'prefix c/', 'upload d']);
  const underA = await list({ Prefix: 'a/' });
  assert.deepEqual(
    underA.Uploads?.map((u) => u.Key),
    ['a/1', 'a/2'],
  );
  const nested = await list({ Prefix: 'c/', Delimiter: '/' });
  assert.deepEqual(
    nested.CommonPrefixes?.map((p) => p.Prefix),
    ['c/x/'],
  );
  assert.equal(nested.Uploads, undefined);
  const afterB = await list({ KeyMarker: 'b' });
  assert.deepEqual(
    afterB.Uploads?.map((u) => u.Key),
    ['c/x/1', 'd'],
  );
  // Initiated is the moment of the CreateMultipartUpload: between the first request and now.
  const initiated = all.Uploads![0]!.Initiated!;
  assert.ok(initiated.getTime() >= createdFrom - 1000 && initiated.getTime() <= Date.now(), initiated.toISOString());
  await rejects(() => list({ MaxUploads: -1 }), 'InvalidArgument', 400);
});
