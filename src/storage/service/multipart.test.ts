import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { isStorageError, type StorageErrorCode } from '../errors.js';
import type { UploadInfo } from '../meta/multipart-repo.js';
import { MIN_PART_SIZE } from './multipart.js';
import { Storage } from './storage.js';

async function withStorage(
  fn: (s: Storage, dir: string) => Promise<void>,
  opts: { multipartMaxAgeMs?: number } = {},
): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cellar-mpu-unit-'));
  const s = await Storage.open({ dataDir: dir, maxObjectSize: 64 * 1024 * 1024, gcGraceMs: 0, ...opts });
  try {
    await fn(s, dir);
  } finally {
    s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function setup(s: Storage, bucket = 'bucket-one'): string {
  const owner = s.createAddon({ name: 'o' });
  s.createBucket(owner, bucket, 'us-east-1', null);
  return owner.id;
}

const create = (s: Storage, ownerId: string, key: string, bucket = 'bucket-one'): UploadInfo =>
  s.multipart.create({
    bucket,
    key,
    ownerId,
    headers: { 'content-type': 'x/y' },
    acl: null,
    checksumAlgorithm: null,
    checksumType: null,
  });

const part = (s: Storage, u: UploadInfo, partNumber: number, body: Buffer | Readable) =>
  s.multipart.uploadPart({
    bucket: u.bucket,
    key: u.key,
    uploadId: u.id,
    partNumber,
    body: Buffer.isBuffer(body) ? Readable.from([body]) : body,
  });

function blobFiles(dir: string): number {
  return readdirSync(path.join(dir, 'blobs')).reduce((n, d) => n + readdirSync(path.join(dir, 'blobs', d)).length, 0);
}

async function fails(p: Promise<unknown> | (() => unknown), code: StorageErrorCode): Promise<void> {
  await assert.rejects(
    async () => (typeof p === 'function' ? p() : p),
    (e: unknown) => isStorageError(e) && e.code === code,
  );
}

/** What ListMultipartUploads must return over all pages: uploads and rolled-up prefixes in order. */
function reference(uploads: UploadInfo[], prefix: string, delimiter: string): string[] {
  const sorted = [...uploads].sort((a, b) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : a.initiated.getTime() - b.initiated.getTime() || (a.id < b.id ? -1 : 1),
  );
  const out: string[] = [];
  for (const u of sorted) {
    if (!u.key.startsWith(prefix)) continue;
    const idx = delimiter ? u.key.indexOf(delimiter, prefix.length) : -1;
    const item = idx >= 0 ? `prefix:${u.key.slice(0, idx + delimiter.length)}` : `upload:${u.id}`;
    if (out.at(-1) !== item) out.push(item);
  }
  return out;
}

test('ListMultipartUploads pages, concatenated, equal a brute-force listing for every prefix, delimiter and page size', {
  timeout: 30_000,
}, async () => {
  await withStorage(async (s) => {
    const owner = setup(s);
    const alphabet = ['a', 'b', '/', '-'];
    const uploads: UploadInfo[] = [];
    for (let i = 0; i < 80; i++) {
      const key = Array.from({ length: 1 + (i % 5) }, () => alphabet[randomBytes(1)[0]! % 4]).join('');
      uploads.push(create(s, owner, i % 7 === 0 && uploads.length > 0 ? uploads[0]!.key : key));
    }
    for (const prefix of ['', 'a', 'a/', 'b/a', '/']) {
      for (const delimiter of ['', '/', '-', 'a/']) {
        for (const maxUploads of [1, 2, 3, 7, 1000]) {
          const got: string[] = [];
          let keyMarker = '';
          let uploadIdMarker = '';
          for (let pages = 0; ; pages++) {
            assert.ok(pages < 200, 'pagination terminates');
            const page = s.multipart.listUploads('bucket-one', {
              prefix,
              delimiter,
              keyMarker,
              uploadIdMarker,
              maxUploads,
            });
            assert.ok(page.uploads.length + page.commonPrefixes.length <= maxUploads);
            const items = [
              ...page.uploads.map((u) => ({ key: u.key, item: `upload:${u.id}` })),
              ...page.commonPrefixes.map((p) => ({ key: p, item: `prefix:${p}` })),
            ];
            items.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
            got.push(...items.map((x) => x.item));
            if (!page.isTruncated) break;
            keyMarker = page.nextKeyMarker;
            uploadIdMarker = page.nextUploadIdMarker;
          }
          assert.deepEqual(
            got,
            reference(uploads, prefix, delimiter),
            `prefix ${JSON.stringify(prefix)} delimiter ${JSON.stringify(delimiter)} max ${maxUploads}`,
          );
        }
      }
    }
  });
});

test('a part racing with an abort is refused and leaves no file; a replaced part frees the old file', {
  timeout: 30_000,
}, async () => {
  await withStorage(async (s, dir) => {
    const owner = setup(s);
    const u = create(s, owner, 'k');
    const files = blobFiles(dir);
    await part(s, u, 1, Buffer.from('one'));
    await part(s, u, 1, Buffer.from('two'));
    assert.equal(blobFiles(dir), files + 1);
    assert.equal(
      s.multipart.listParts('bucket-one', 'k', u.id, 0, 10).parts[0]!.etag,
      createHash('md5').update('two').digest('hex'),
    );
    const slow = new PassThrough();
    const inFlight = part(s, u, 2, slow);
    slow.write(Buffer.alloc(1000));
    await new Promise((r) => setTimeout(r, 20));
    await s.multipart.abort('bucket-one', 'k', u.id);
    slow.end(Buffer.alloc(1000));
    await fails(inFlight, 'NoSuchUpload');
    assert.equal(blobFiles(dir), files);
  });
});

test('completion: no copy, old object and unlisted parts freed, repeated completion answers the same object', {
  timeout: 30_000,
}, async () => {
  await withStorage(async (s, dir) => {
    const owner = setup(s);
    await s.putObject({
      bucket: 'bucket-one',
      key: 'k',
      ownerId: owner,
      body: Readable.from([Buffer.from('old')]),
      headers: {},
      acl: null,
    });
    const files = blobFiles(dir);
    const u = create(s, owner, 'k');
    const p1 = await part(s, u, 1, randomBytes(MIN_PART_SIZE));
    const p2 = await part(s, u, 2, Buffer.from('last'));
    await part(s, u, 3, Buffer.from('unlisted'));
    const events: string[] = [];
    s.events.on('change', (e) => events.push(`${e.type}:${e.bucket}`));
    const done = await s.multipart.complete({
      bucket: 'bucket-one',
      key: 'k',
      uploadId: u.id,
      parts: [p1, p2].map((p) => ({ partNumber: p.partNumber, etag: `"${p.etag}"`, checksum: {} })),
    });
    assert.equal(done.repeated, false);
    assert.deepEqual(events, ['object:bucket-one']);
    assert.equal(done.object.size, MIN_PART_SIZE + 4);
    assert.deepEqual(done.object.headers, { 'content-type': 'x/y' });
    assert.deepEqual(
      done.object.blobs.map((b) => b.id),
      [p1.blobId, p2.blobId],
    );
    assert.equal(blobFiles(dir), files - 1 + 2, 'old object and unlisted part freed, the two parts kept');
    const again = await s.multipart.complete({ bucket: 'bucket-one', key: 'k', uploadId: u.id, parts: [] });
    assert.equal(again.repeated, true);
    assert.equal(again.object.etag, done.object.etag);
    assert.deepEqual(events, ['object:bucket-one'], 'a repeated completion changes nothing');
    await fails(
      s.multipart.complete({ bucket: 'bucket-one', key: 'other', uploadId: u.id, parts: [] }),
      'NoSuchUpload',
    );
  });
});

test('expiry aborts uploads older than the maximum age; deleting the bucket drops the rest', {
  timeout: 30_000,
}, async () => {
  await withStorage(
    async (s, dir) => {
      const owner = setup(s);
      const files = blobFiles(dir);
      const old = create(s, owner, 'old');
      await part(s, old, 1, Buffer.from('x'));
      const fresh = create(s, owner, 'fresh');
      await part(s, fresh, 1, Buffer.from('y'));
      assert.equal(await s.multipart.expire(old.initiated.getTime() + 1000 - 1), 0);
      assert.equal(await s.multipart.expire(fresh.initiated.getTime() + 1000 + 1), 2);
      assert.equal(blobFiles(dir), files);
      const kept = create(s, owner, 'kept');
      await part(s, kept, 1, Buffer.from('z'));
      s.deleteBucket('bucket-one');
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(blobFiles(dir), files);
      await fails(() => s.multipart.listParts('bucket-one', 'kept', kept.id, 0, 10), 'NoSuchBucket');
    },
    { multipartMaxAgeMs: 1000 },
  );
});
