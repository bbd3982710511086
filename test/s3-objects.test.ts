import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { assertS3Error, md5Base64, raw } from './helpers/raw.js';
import { md5Hex, rejects, sha256 } from './helpers/s3-assert.js';

let t: TestCellar;
let s3: S3Client;
const B = 'objects';

before(async () => {
  t = await startTestCellar();
  s3 = t.client();
  await s3.send(new CreateBucketCommand({ Bucket: B }));
});
after(() => t.stop());

async function bytesOf(key: string, bucket = B): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

describe('PutObject / GetObject / HeadObject', () => {
  const expires = new Date('2030-01-02T03:04:05Z');

  test('metadata and the standard headers are stored and returned', { timeout: 120_000 }, async () => {
    const body = 'hello, metadata';
    // Last-Modified has one-second resolution: the write's second, or later.
    const writtenFrom = Math.floor(Date.now() / 1000) * 1000;
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: B,
        Key: 'meta.txt',
        Body: body,
        ContentType: 'text/plain; charset=utf-8',
        CacheControl: 'max-age=60, public',
        ContentDisposition: 'attachment; filename="m.txt"',
        ContentEncoding: 'gzip',
        ContentLanguage: 'fr-FR',
        Expires: expires,
        Metadata: { color: 'blue', 'multi-word': 'a b  c' },
      }),
    );
    assert.equal(put.ETag, `"${md5Hex(body)}"`);
    for (const out of [
      await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'meta.txt' })),
      await s3.send(new GetObjectCommand({ Bucket: B, Key: 'meta.txt' })),
    ]) {
      assert.equal(out.ContentType, 'text/plain; charset=utf-8');
      assert.equal(out.CacheControl, 'max-age=60, public');
      assert.equal(out.ContentDisposition, 'attachment; filename="m.txt"');
      assert.equal(out.ContentEncoding, 'gzip');
      assert.equal(out.ContentLanguage, 'fr-FR');
      assert.equal(out.ExpiresString, expires.toUTCString());
      assert.deepEqual(out.Metadata, { color: 'blue', 'multi-word': 'a b  c' });
      assert.equal(out.ETag, `"${md5Hex(body)}"`);
      assert.equal(out.ContentLength, Buffer.byteLength(body));
      assert.equal(out.AcceptRanges, 'bytes');
      assert.ok(out.LastModified instanceof Date);
      assert.ok(
        out.LastModified.getTime() >= writtenFrom && out.LastModified.getTime() <= Date.now(),
        out.LastModified.toISOString(),
      );
    }
    assert.equal((await bytesOf('meta.txt')).toString(), body);
  });

  test('default content type is binary/octet-stream, overwrite replaces bytes and metadata', {
    timeout: 120_000,
  }, async () => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'over', Body: 'first', Metadata: { v: '1' } }));
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'over', Body: 'second!' }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'over' }));
    assert.deepEqual(head.Metadata, {});
    assert.equal(head.ContentLength, 7);
    const res = await raw(t.endpoint, {
      method: 'PUT',
      path: `/${B}/untyped`,
      body: 'x',
      auth: { type: 'v4', addon: t.owner },
    });
    assert.equal(res.status, 200);
    assert.equal(
      (await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'untyped' }))).ContentType,
      'binary/octet-stream',
    );
    assert.equal((await bytesOf('over')).toString(), 'second!');
  });

  test('an empty object', { timeout: 120_000 }, async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: B, Key: 'empty', Body: '' }));
    assert.equal(put.ETag, '"d41d8cd98f00b204e9800998ecf8427e"');
    const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'empty' }));
    assert.equal(got.ContentLength, 0);
    assert.equal((await got.Body!.transformToByteArray()).length, 0);
  });

  test('Content-MD5: a good one is accepted, a wrong one is BadDigest and stores nothing, a malformed one InvalidDigest', {
    timeout: 120_000,
  }, async () => {
    const body = 'md5 checked body';
    const put = await s3.send(new PutObjectCommand({ Bucket: B, Key: 'md5', Body: body, ContentMD5: md5Base64(body) }));
    assert.equal(put.ETag, `"${md5Hex(body)}"`);
    await rejects(
      () => s3.send(new PutObjectCommand({ Bucket: B, Key: 'md5-bad', Body: body, ContentMD5: md5Base64('other') })),
      'BadDigest',
      400,
    );
    await rejects(() => s3.send(new HeadObjectCommand({ Bucket: B, Key: 'md5-bad' })), 'NotFound', 404);
    const res = await raw(t.endpoint, {
      method: 'PUT',
      path: `/${B}/md5-bad`,
      body,
      headers: { 'content-md5': 'not-base64-md5' },
      auth: { type: 'v4', addon: t.owner },
    });
    assertS3Error(res, 400, 'InvalidDigest');
  });

  test('a signed payload hash that does not match the body is refused and stores nothing; UNSIGNED-PAYLOAD is accepted', {
    timeout: 120_000,
  }, async () => {
    const liar = await raw(t.endpoint, {
      method: 'PUT',
      path: `/${B}/sha-bad`,
      body: 'abc',
      auth: { type: 'v4', addon: t.owner, payloadHash: sha256('abd') },
    });
    assertS3Error(liar, 400, 'XAmzContentSHA256Mismatch');
    await rejects(() => s3.send(new HeadObjectCommand({ Bucket: B, Key: 'sha-bad' })), 'NotFound', 404);
    const unsigned = await raw(t.endpoint, {
      method: 'PUT',
      path: `/${B}/sha-unsigned`,
      body: 'abc',
      auth: { type: 'v4', addon: t.owner, unsignedPayload: true },
    });
    assert.equal(unsigned.status, 200, unsigned.text);
    assert.equal((await bytesOf('sha-unsigned')).toString(), 'abc');
  });

  test('versionId=null names the only version; another version id is refused', { timeout: 120_000 }, async () => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'versioned-null', Body: 'v-null' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'versioned-null', VersionId: 'null' }));
    assert.equal(await got.Body!.transformToString(), 'v-null');
    assert.equal(
      (await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'versioned-null', VersionId: 'null' }))).ContentLength,
      6,
    );
    await rejects(
      () => s3.send(new GetObjectCommand({ Bucket: B, Key: 'versioned-null', VersionId: '3HL4kqtJlcpXroDTDmJ' })),
      'InvalidArgument',
      400,
    );
  });

  test('concurrent overwrites of one key leave exactly one complete body', { timeout: 120_000 }, async () => {
    const bodies = Array.from({ length: 16 }, () => randomBytes(64 * 1024));
    const results = await Promise.all(
      bodies.map((Body) => s3.send(new PutObjectCommand({ Bucket: B, Key: 'contended', Body }))),
    );
    assert.ok(results.every((r) => r.$metadata.httpStatusCode === 200));
    const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'contended' }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    assert.equal(got.ETag, `"${md5Hex(bytes)}"`);
    assert.ok(
      bodies.some((b) => b.equals(bytes)),
      'the stored body is one of those sent, whole',
    );
  });

  test('a 16 MiB object round-trips, and its last byte can be read by range', { timeout: 120_000 }, async () => {
    const data = randomBytes(16 * 1024 * 1024);
    const put = await s3.send(new PutObjectCommand({ Bucket: B, Key: 'big.bin', Body: data }));
    assert.equal(put.ETag, `"${md5Hex(data)}"`);
    assert.equal(sha256(await bytesOf('big.bin')), sha256(data));
    const tail = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'big.bin', Range: 'bytes=-1' }));
    assert.deepEqual(Buffer.from(await tail.Body!.transformToByteArray()), data.subarray(data.length - 1));
    await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'big.bin' }));
  });

  test('PutObject into a missing bucket is NoSuchBucket', { timeout: 120_000 }, async () => {
    await rejects(
      () => s3.send(new PutObjectCommand({ Bucket: 'no-bucket-zz', Key: 'k', Body: 'x' })),
      'NoSuchBucket',
      404,
    );
  });

  test('GetObject of a missing key is NoSuchKey, of a missing bucket NoSuchBucket', { timeout: 120_000 }, async () => {
    await rejects(() => s3.send(new GetObjectCommand({ Bucket: B, Key: 'nope' })), 'NoSuchKey', 404);
    await rejects(() => s3.send(new GetObjectCommand({ Bucket: 'no-bucket-zz', Key: 'nope' })), 'NoSuchBucket', 404);
    await rejects(() => s3.send(new HeadObjectCommand({ Bucket: B, Key: 'nope' })), 'NotFound', 404);
  });
});

describe('Range', () => {
  const data = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
  before(() => s3.send(new PutObjectCommand({ Bucket: B, Key: 'range', Body: data })));

  const cases: [string, number, number][] = [
    ['bytes=0-9', 0, 9],
    ['bytes=10-10', 10, 10],
    ['bytes=-10', 90, 99],
    ['bytes=90-', 90, 99],
    ['bytes=95-500', 95, 99],
    ['bytes=-500', 0, 99],
  ];
  for (const [range, start, end] of cases) {
    test(`${range} is 206 bytes ${start}-${end}/100`, { timeout: 120_000 }, async () => {
      const out = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'range', Range: range }));
      assert.equal(out.$metadata.httpStatusCode, 206);
      assert.equal(out.ContentRange, `bytes ${start}-${end}/100`);
      assert.equal(out.ContentLength, end - start + 1);
      assert.deepEqual(Buffer.from(await out.Body!.transformToByteArray()), data.subarray(start, end + 1));
    });
  }

  test('a range starting past the end is 416 InvalidRange', { timeout: 120_000 }, async () => {
    await rejects(
      () => s3.send(new GetObjectCommand({ Bucket: B, Key: 'range', Range: 'bytes=100-' })),
      'InvalidRange',
      416,
    );
    const res = await raw(t.endpoint, {
      path: `/${B}/range`,
      headers: { range: 'bytes=200-300' },
      auth: { type: 'v4', addon: t.owner },
    });
    assertS3Error(res, 416, 'InvalidRange');
  });

  test('HeadObject with a Range answers 206 with Content-Range', { timeout: 120_000 }, async () => {
    const out = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'range', Range: 'bytes=0-4' }));
    assert.equal(out.$metadata.httpStatusCode, 206);
    assert.equal(out.ContentRange, 'bytes 0-4/100');
    assert.equal(out.ContentLength, 5);
  });
});

describe('response-* overrides', () => {
  test('override the stored headers on a signed GET', { timeout: 120_000 }, async () => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'ovr', Body: 'o', ContentType: 'text/plain' }));
    const out = await s3.send(
      new GetObjectCommand({
        Bucket: B,
        Key: 'ovr',
        ResponseContentType: 'application/x-test',
        ResponseContentDisposition: 'attachment; filename="x.bin"',
        ResponseCacheControl: 'no-cache',
        ResponseContentLanguage: 'de',
        ResponseContentEncoding: 'identity',
        ResponseExpires: new Date('2031-05-06T07:08:09Z'),
      }),
    );
    assert.equal(out.ContentType, 'application/x-test');
    assert.equal(out.ContentDisposition, 'attachment; filename="x.bin"');
    assert.equal(out.CacheControl, 'no-cache');
    assert.equal(out.ContentLanguage, 'de');
    assert.equal(out.ContentEncoding, 'identity');
    assert.equal(out.ExpiresString, new Date('2031-05-06T07:08:09Z').toUTCString());
    // Overrides change the answer, never the stored object.
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'ovr' }))).ContentType, 'text/plain');
  });
});

describe('conditional GET and HEAD', () => {
  let etag = '';
  let modified = new Date();
  before(async () => {
    etag = (await s3.send(new PutObjectCommand({ Bucket: B, Key: 'cond', Body: 'conditional' }))).ETag!;
    modified = (await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'cond' }))).LastModified!;
  });
  const past = new Date('2000-01-01T00:00:00Z');
  const future = (): Date => new Date(Date.now() + 3_600_000);

  test('If-Match', { timeout: 120_000 }, async () => {
    assert.equal(
      (await s3.send(new GetObjectCommand({ Bucket: B, Key: 'cond', IfMatch: etag }))).$metadata.httpStatusCode,
      200,
    );
    assert.equal(
      (await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'cond', IfMatch: '*' }))).$metadata.httpStatusCode,
      200,
    );
    await rejects(
      () => s3.send(new GetObjectCommand({ Bucket: B, Key: 'cond', IfMatch: '"0000"' })),
      'PreconditionFailed',
      412,
    );
    await rejects(() => s3.send(new HeadObjectCommand({ Bucket: B, Key: 'cond', IfMatch: '"0000"' })), null, 412);
  });

  test('If-None-Match', { timeout: 120_000 }, async () => {
    await rejects(() => s3.send(new GetObjectCommand({ Bucket: B, Key: 'cond', IfNoneMatch: etag })), null, 304);
    await rejects(() => s3.send(new HeadObjectCommand({ Bucket: B, Key: 'cond', IfNoneMatch: etag })), null, 304);
    assert.equal(
      (await s3.send(new GetObjectCommand({ Bucket: B, Key: 'cond', IfNoneMatch: '"0000"' }))).$metadata.httpStatusCode,
      200,
    );
  });

  test('If-Modified-Since', { timeout: 120_000 }, async () => {
    await rejects(
      () => s3.send(new GetObjectCommand({ Bucket: B, Key: 'cond', IfModifiedSince: future() })),
      null,
      304,
    );
    await rejects(
      () => s3.send(new HeadObjectCommand({ Bucket: B, Key: 'cond', IfModifiedSince: modified })),
      null,
      304,
    );
    assert.equal(
      (await s3.send(new GetObjectCommand({ Bucket: B, Key: 'cond', IfModifiedSince: past }))).$metadata.httpStatusCode,
      200,
    );
  });

  test('If-Unmodified-Since', { timeout: 120_000 }, async () => {
    await rejects(
      () => s3.send(new GetObjectCommand({ Bucket: B, Key: 'cond', IfUnmodifiedSince: past })),
      'PreconditionFailed',
      412,
    );
    await rejects(() => s3.send(new HeadObjectCommand({ Bucket: B, Key: 'cond', IfUnmodifiedSince: past })), null, 412);
    assert.equal(
      (await s3.send(new GetObjectCommand({ Bucket: B, Key: 'cond', IfUnmodifiedSince: future() }))).$metadata
        .httpStatusCode,
      200,
    );
  });

  test('If-Match wins over a failing If-Unmodified-Since; If-None-Match wins over If-Modified-Since', {
    timeout: 120_000,
  }, async () => {
    const a = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'cond', IfMatch: etag, IfUnmodifiedSince: past }));
    assert.equal(a.$metadata.httpStatusCode, 200);
    const b = await s3.send(
      new GetObjectCommand({ Bucket: B, Key: 'cond', IfNoneMatch: '"0000"', IfModifiedSince: future() }),
    );
    assert.equal(b.$metadata.httpStatusCode, 200);
  });

  test('a 304 carries the ETag and no body', { timeout: 120_000 }, async () => {
    const res = await raw(t.endpoint, {
      path: `/${B}/cond`,
      headers: { 'if-none-match': etag },
      auth: { type: 'v4', addon: t.owner },
    });
    assert.equal(res.status, 304);
    assert.equal(res.headers.etag, etag);
    assert.equal(res.body.length, 0);
  });
});

describe('DeleteObject and DeleteObjects', () => {
  test('deleting a missing key is 204; versionId=null is accepted; another version id is refused', {
    timeout: 120_000,
  }, async () => {
    const missing = await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'never-existed' }));
    assert.equal(missing.$metadata.httpStatusCode, 204);
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'vnull', Body: 'v' }));
    const del = await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'vnull', VersionId: 'null' }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    await rejects(() => s3.send(new HeadObjectCommand({ Bucket: B, Key: 'vnull' })), 'NotFound', 404);
    await rejects(
      () => s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'vnull', VersionId: 'abc123' })),
      'InvalidArgument',
      400,
    );
    await rejects(() => s3.send(new DeleteObjectCommand({ Bucket: 'no-bucket-zz', Key: 'k' })), 'NoSuchBucket', 404);
  });

  test('DeleteObjects reports every key, missing ones too, with VersionId null echoed', {
    timeout: 120_000,
  }, async () => {
    for (const k of ['d/1', 'd/2', 'd/3']) await s3.send(new PutObjectCommand({ Bucket: B, Key: k, Body: k }));
    const out = await s3.send(
      new DeleteObjectsCommand({
        Bucket: B,
        Delete: { Objects: [{ Key: 'd/1' }, { Key: 'd/2', VersionId: 'null' }, { Key: 'd/missing' }] },
      }),
    );
    assert.deepEqual(out.Deleted!.map((d) => d.Key).sort(), ['d/1', 'd/2', 'd/missing']);
    assert.equal(out.Deleted!.find((d) => d.Key === 'd/2')!.VersionId, 'null');
    assert.equal(out.Errors, undefined);
    const left = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'd/' }));
    assert.deepEqual(
      left.Contents!.map((c) => c.Key),
      ['d/3'],
    );
  });

  test('DeleteObjects Quiet lists only errors', { timeout: 120_000 }, async () => {
    for (const k of ['q/1', 'q/2']) await s3.send(new PutObjectCommand({ Bucket: B, Key: k, Body: k }));
    const out = await s3.send(
      new DeleteObjectsCommand({
        Bucket: B,
        Delete: { Quiet: true, Objects: [{ Key: 'q/1' }, { Key: 'q/2' }, { Key: 'q/3', VersionId: 'not-a-version' }] },
      }),
    );
    assert.equal(out.Deleted, undefined);
    assert.equal(out.Errors!.length, 1);
    assert.equal(out.Errors![0]!.Key, 'q/3');
    assert.equal(out.Errors![0]!.Code, 'NoSuchVersion');
    const left = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'q/' }));
    assert.equal(left.KeyCount, 0);
  });

  test('keys with XML-special characters survive DeleteObjects', { timeout: 120_000 }, async () => {
    const keys = ['x/a&b', 'x/<lt>', 'x/"quote\'', 'x/ spaced '];
    for (const k of keys) await s3.send(new PutObjectCommand({ Bucket: B, Key: k, Body: 'z' }));
    const out = await s3.send(
      new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: keys.map((Key) => ({ Key })) } }),
    );
    assert.deepEqual(out.Deleted!.map((d) => d.Key).sort(), [...keys].sort());
    assert.equal((await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'x/' }))).KeyCount, 0);
  });
});

describe('keys', () => {
  const keys = [
    'with space.txt',
    'unicodé/日本語/🎉.bin',
    'plus+sign',
    'percent%20literal%',
    'amp&ersand=1',
    'hash#fragment',
    'question?mark=1&x',
    'multiple//slashes/',
    '  leading and trailing  ',
    "~tilde*star'quote(paren)!",
    'a'.repeat(1024),
    'é'.repeat(512),
  ];

  test('odd keys round-trip byte-identically through put, get, head, list and delete', {
    timeout: 120_000,
  }, async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'keys' }));
    for (const [i, key] of keys.entries()) {
      await s3.send(new PutObjectCommand({ Bucket: 'keys', Key: key, Body: `body ${i}` }));
      assert.equal((await bytesOf(key, 'keys')).toString(), `body ${i}`, key);
      assert.equal(
        (await s3.send(new HeadObjectCommand({ Bucket: 'keys', Key: key }))).ContentLength,
        `body ${i}`.length,
      );
    }
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'keys' }));
    assert.deepEqual(
      listed.Contents!.map((c) => c.Key),
      [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
    );
    for (const key of keys) await s3.send(new DeleteObjectCommand({ Bucket: 'keys', Key: key }));
    assert.equal((await s3.send(new ListObjectsV2Command({ Bucket: 'keys' }))).KeyCount, 0);
  });

  test('a 1025-byte key is KeyTooLongError', { timeout: 120_000 }, async () => {
    await rejects(
      () => s3.send(new PutObjectCommand({ Bucket: B, Key: 'k'.repeat(1025), Body: 'x' })),
      'KeyTooLongError',
      400,
    );
    await rejects(
      () => s3.send(new PutObjectCommand({ Bucket: B, Key: 'é'.repeat(512) + 'k', Body: 'x' })),
      'KeyTooLongError',
      400,
    );
    await rejects(
      () => s3.send(new CopyObjectCommand({ Bucket: B, Key: 'k'.repeat(1025), CopySource: `${B}/meta.txt` })),
      'KeyTooLongError',
      400,
    );
  });
});
