/**
 * Bucket versioning against a real server with the current AWS SDK and hand-signed requests:
 * PutBucketVersioning/GetBucketVersioning, version ids on writes and reads, delete markers,
 * versioned reads, deletes, copies, tagging, ACLs and attributes, ListObjectVersions, the
 * suspended bucket's `null` version, DeleteObjects with versions, DeleteBucket, conditional
 * writes over a delete marker, and blob accounting once the server has stopped.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectAclCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
  type ListObjectVersionsCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { assertS3Error, raw, type RawResponse } from './helpers/raw.js';
import { rejects } from './helpers/s3-assert.js';

const T = { timeout: 60_000 };
let t: TestCellar;
let s3: S3Client;

before(async () => {
  t = await startTestCellar();
  s3 = t.client();
});
// stop() checks the blob accounting of the data directory (test/helpers/cellar.ts).
after(() => t.stop());

const enable = (Bucket: string, Status: 'Enabled' | 'Suspended' = 'Enabled') =>
  s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status } }));
const put = async (Bucket: string, Key: string, Body: string) => s3.send(new PutObjectCommand({ Bucket, Key, Body }));
const text = async (Bucket: string, Key: string, VersionId?: string): Promise<string> =>
  (await s3.send(new GetObjectCommand({ Bucket, Key, VersionId }))).Body!.transformToString();
const versions = (Bucket: string, extra: Partial<{ Prefix: string; Delimiter: string }> = {}) =>
  s3.send(new ListObjectVersionsCommand({ Bucket, ...extra }));
const signed = (method: string, path: string, body?: string, headers?: Record<string, string>): Promise<RawResponse> =>
  raw(t.endpoint, { method, path, body, headers, auth: { type: 'v4', addon: t.owner } });

/** Every entry of a listing, versions and markers, in the order AWS lists them (key, then newest first). */
function entries(
  out: ListObjectVersionsCommandOutput,
): { key: string; id: string; latest: boolean; marker: boolean }[] {
  const all = [
    ...(out.Versions ?? []).map((v) => ({ v, marker: false })),
    ...(out.DeleteMarkers ?? []).map((v) => ({ v, marker: true })),
  ];
  return all.map(({ v, marker }) => ({ key: v.Key!, id: v.VersionId!, latest: v.IsLatest!, marker }));
}

describe('PutBucketVersioning and GetBucketVersioning', T, () => {
  before(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'vconf' }));
  });

  test('a new bucket answers an empty configuration; Enabled and Suspended are stored', T, async () => {
    const fresh = await signed('GET', '/vconf?versioning');
    assert.equal(fresh.status, 200);
    assert.doesNotMatch(fresh.text, /<Status>/);
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: 'vconf' }))).Status, undefined);
    await enable('vconf');
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: 'vconf' }))).Status, 'Enabled');
    await enable('vconf', 'Suspended');
    const got = await s3.send(new GetBucketVersioningCommand({ Bucket: 'vconf' }));
    assert.equal(got.Status, 'Suspended');
    assert.equal(got.MFADelete, undefined);
  });

  test(
    'anything but Enabled or Suspended is MalformedXML; a versioned bucket cannot become unversioned',
    T,
    async () => {
      for (const body of [
        '<VersioningConfiguration><Status>Disabled</Status></VersioningConfiguration>',
        '<VersioningConfiguration><Status>enabled</Status></VersioningConfiguration>',
        '<VersioningConfiguration></VersioningConfiguration>',
        '<VersioningConfiguration><Status>Enabled</Status><Other>1</Other></VersioningConfiguration>',
        '<Versioning><Status>Enabled</Status></Versioning>',
        '<VersioningConfiguration><Status>Enabled</Status><Status>Enabled</Status></VersioningConfiguration>',
        'not xml',
        '',
      ]) {
        assertS3Error(await signed('PUT', '/vconf?versioning', body), 400, 'MalformedXML');
      }
      assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: 'vconf' }))).Status, 'Suspended');
    },
  );

  test('MfaDelete is refused as AWS refuses it without a valid x-amz-mfa, even with the header', T, async () => {
    for (const mfa of ['Enabled', 'Disabled']) {
      const body = `<VersioningConfiguration><Status>Enabled</Status><MfaDelete>${mfa}</MfaDelete></VersioningConfiguration>`;
      const res = await signed('PUT', '/vconf?versioning', body);
      assertS3Error(res, 403, 'AccessDenied');
      assert.match(res.text, /Mfa Authentication must be used for this request/);
      assertS3Error(
        await signed('PUT', '/vconf?versioning', body, { 'x-amz-mfa': '20899872 301749' }),
        403,
        'AccessDenied',
      );
    }
    assertS3Error(
      await signed(
        'PUT',
        '/vconf?versioning',
        '<VersioningConfiguration><Status>Enabled</Status><MfaDelete>On</MfaDelete></VersioningConfiguration>',
      ),
      400,
      'MalformedXML',
    );
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: 'vconf' }))).Status, 'Suspended');
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: 'vconf' }))).MFADelete, undefined);
  });

  test('another add-on may not change or read it; a missing bucket is NoSuchBucket', T, async () => {
    const other = t.client(t.newAddon('stranger'));
    await rejects(
      () =>
        other.send(new PutBucketVersioningCommand({ Bucket: 'vconf', VersioningConfiguration: { Status: 'Enabled' } })),
      'AccessDenied',
      403,
    );
    await rejects(() => other.send(new GetBucketVersioningCommand({ Bucket: 'vconf' })), 'AccessDenied', 403);
    await rejects(() => enable('no-such-bucket-v'), 'NoSuchBucket', 404);
  });
});

describe('versions in an Enabled bucket', T, () => {
  const B = 'ver';
  let v1: string;
  let v2: string;
  let marker: string;
  before(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    await enable(B);
  });

  test('each PUT gets a new, URL-safe version id; GET by id returns that version', T, async () => {
    v1 = (await put(B, 'k', 'one')).VersionId!;
    v2 = (await put(B, 'k', 'two')).VersionId!;
    assert.match(v1, /^[A-Za-z0-9_-]{32}$/);
    assert.notEqual(v1, v2);
    assert.equal(await text(B, 'k'), 'two');
    assert.equal(await text(B, 'k', v1), 'one');
    const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'k', VersionId: v1 }));
    assert.equal(got.VersionId, v1);
    const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'k' }));
    assert.equal(head.VersionId, v2);
    assert.equal(head.ContentLength, 3);
    const listed = entries(await versions(B, { Prefix: 'k' }));
    assert.deepEqual(listed, [
      { key: 'k', id: v2, latest: true, marker: false },
      { key: 'k', id: v1, latest: false, marker: false },
    ]);
  });

  test('a DELETE adds a delete marker; reads answer 404 NoSuchKey with x-amz-delete-marker', T, async () => {
    const del = await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'k' }));
    assert.equal(del.DeleteMarker, true);
    marker = del.VersionId!;
    assert.match(marker, /^[A-Za-z0-9_-]{32}$/);
    const get = await signed('GET', `/${B}/k`);
    assertS3Error(get, 404, 'NoSuchKey');
    assert.equal(get.headers['x-amz-delete-marker'], 'true');
    assert.equal(get.headers['x-amz-version-id'], marker);
    const head = await signed('HEAD', `/${B}/k`);
    assert.equal(head.status, 404);
    assert.equal(head.headers['x-amz-delete-marker'], 'true');
    const listing = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'k' }));
    assert.equal(listing.KeyCount, 0, 'ListObjectsV2 shows no key whose current version is a marker');
    const listed = entries(await versions(B, { Prefix: 'k' }));
    assert.deepEqual(
      listed.filter((e) => e.marker),
      [{ key: 'k', id: marker, latest: true, marker: true }],
    );
    assert.deepEqual(
      listed.filter((e) => !e.marker).map((e) => [e.id, e.latest]),
      [
        [v2, false],
        [v1, false],
      ],
    );
    const raw = await signed('GET', `/${B}?versions&prefix=k`);
    assert.match(
      raw.text,
      new RegExp(`<DeleteMarker><Key>k</Key><VersionId>${marker}</VersionId><IsLatest>true</IsLatest>`),
    );
  });

  test(
    'GET and HEAD naming the marker are 405 MethodNotAllowed with x-amz-delete-marker and Last-Modified',
    T,
    async () => {
      for (const method of ['GET', 'HEAD']) {
        const res = await signed(method, `/${B}/k?versionId=${marker}`);
        assertS3Error(res, 405, 'MethodNotAllowed', method);
        assert.equal(res.headers['x-amz-delete-marker'], 'true');
        assert.equal(res.headers['x-amz-version-id'], marker);
        assert.ok(!Number.isNaN(Date.parse(String(res.headers['last-modified']))), 'Last-Modified is a date');
      }
    },
  );

  test('old versions stay readable by id while the marker is current', T, async () => {
    assert.equal(await text(B, 'k', v2), 'two');
    assert.equal(await text(B, 'k', v1), 'one');
  });

  test('deleting the marker by id restores the previous version as current', T, async () => {
    const del = await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'k', VersionId: marker }));
    assert.equal(del.DeleteMarker, true);
    assert.equal(del.VersionId, marker);
    assert.equal(await text(B, 'k'), 'two');
    const listing = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'k' }));
    assert.equal(listing.KeyCount, 1);
  });

  test('deleting the current version by id makes the next newest current; the version is gone', T, async () => {
    const del = await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'k', VersionId: v2 }));
    assert.equal(del.VersionId, v2);
    assert.equal(del.DeleteMarker, undefined);
    assert.equal(await text(B, 'k'), 'one');
    await rejects(() => s3.send(new GetObjectCommand({ Bucket: B, Key: 'k', VersionId: v2 })), 'NoSuchVersion', 404);
    assert.deepEqual(entries(await versions(B, { Prefix: 'k' })), [{ key: 'k', id: v1, latest: true, marker: false }]);
  });

  test(
    'a malformed version id is 400 InvalidArgument; an unknown one NoSuchVersion (GET) or 204 (DELETE)',
    T,
    async () => {
      for (const bad of ['abc', 'v1', '%20', '', 'x'.repeat(33)]) {
        assertS3Error(await signed('GET', `/${B}/k?versionId=${bad}`), 400, 'InvalidArgument');
        assertS3Error(await signed('DELETE', `/${B}/k?versionId=${bad}`), 400, 'InvalidArgument');
      }
      const unknown = 'A'.repeat(32);
      const get = await signed('GET', `/${B}/k?versionId=${unknown}`);
      assertS3Error(get, 404, 'NoSuchVersion');
      assert.match(get.text, new RegExp(`<VersionId>${unknown}</VersionId>`));
      const del = await signed('DELETE', `/${B}/k?versionId=${unknown}`);
      assert.equal(del.status, 204);
      assert.equal(del.headers['x-amz-version-id'], unknown);
      assert.equal(await text(B, 'k'), 'one', 'nothing else was touched');
    },
  );

  test('a DELETE of a key that never existed still adds a marker', T, async () => {
    const del = await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'ghost' }));
    assert.equal(del.DeleteMarker, true);
    const listed = entries(await versions(B, { Prefix: 'ghost' }));
    assert.deepEqual(listed, [{ key: 'ghost', id: del.VersionId!, latest: true, marker: true }]);
    // A second DELETE adds another marker on top, as AWS does.
    const again = await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'ghost' }));
    assert.notEqual(again.VersionId, del.VersionId);
    assert.deepEqual(
      entries(await versions(B, { Prefix: 'ghost' })).map((e) => [e.id, e.latest]),
      [
        [again.VersionId, true],
        [del.VersionId, false],
      ],
    );
  });
});

describe('a versioning-suspended bucket and the null version', T, () => {
  const B = 'susp';
  before(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: B }));
  });

  test('a bucket never versioned sends no x-amz-version-id; its objects are the null version', T, async () => {
    const res = await signed('PUT', `/${B}/k`, 'plain');
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-amz-version-id'], undefined);
    const get = await signed('GET', `/${B}/k`);
    assert.equal(get.headers['x-amz-version-id'], undefined);
    assert.equal(await text(B, 'k', 'null'), 'plain');
    assert.deepEqual(entries(await versions(B)), [{ key: 'k', id: 'null', latest: true, marker: false }]);
  });

  test('after enabling, the null version is kept as noncurrent; suspended PUTs replace only it', T, async () => {
    await enable(B);
    const v = (await put(B, 'k', 'versioned')).VersionId!;
    assert.notEqual(v, 'null');
    await enable(B, 'Suspended');
    const p1 = await put(B, 'k', 'null-1');
    assert.equal(p1.VersionId, 'null');
    assert.deepEqual(
      entries(await versions(B)).map((e) => [e.id, e.latest]),
      [
        ['null', true],
        [v, false],
      ],
      'the earlier null version was replaced, the versioned one kept',
    );
    await put(B, 'k', 'null-2');
    assert.equal(await text(B, 'k'), 'null-2');
    assert.equal(await text(B, 'k', 'null'), 'null-2');
    assert.equal(await text(B, 'k', v), 'versioned');
    assert.equal(entries(await versions(B)).length, 2);
  });

  test('a suspended DELETE replaces the null version by a null delete marker and keeps the others', T, async () => {
    const del = await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'k' }));
    assert.equal(del.DeleteMarker, true);
    assert.equal(del.VersionId, 'null');
    const listed = entries(await versions(B));
    assert.equal(listed.length, 2);
    assert.deepEqual(
      listed.find((e) => e.marker),
      { key: 'k', id: 'null', latest: true, marker: true },
    );
    await rejects(() => s3.send(new GetObjectCommand({ Bucket: B, Key: 'k' })), 'NoSuchKey', 404);
    // A PUT over the null marker replaces it: the key has its versioned version and the new null one.
    await put(B, 'k', 'back');
    const after = entries(await versions(B));
    assert.equal(after.filter((e) => e.marker).length, 0);
    assert.equal(after.length, 2);
  });

  test('a noncurrent null version is replaced by a suspended PUT too', T, async () => {
    await enable(B);
    const v = (await put(B, 'n', 'a')).VersionId!;
    await enable(B, 'Suspended');
    await put(B, 'n', 'null-a');
    await enable(B);
    const w = (await put(B, 'n', 'b')).VersionId!;
    await enable(B, 'Suspended');
    await put(B, 'n', 'null-b');
    assert.deepEqual(
      entries(await versions(B, { Prefix: 'n' })).map((e) => e.id),
      ['null', w, v],
    );
    assert.equal(await text(B, 'n', 'null'), 'null-b');
  });
});

describe('versioned copies, multipart uploads, tagging, ACLs and attributes', T, () => {
  const B = 'vops';
  let v1: string;
  let v2: string;
  before(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    await enable(B);
    v1 = (await put(B, 'src', 'first')).VersionId!;
    v2 = (await put(B, 'src', 'second')).VersionId!;
  });

  test('CopyObject from a named version: x-amz-copy-source-version-id and a new version id', T, async () => {
    const out = await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'dst', CopySource: `${B}/src?versionId=${v1}` }));
    assert.equal(out.CopySourceVersionId, v1);
    assert.match(out.VersionId!, /^[A-Za-z0-9_-]{32}$/);
    assert.equal(await text(B, 'dst'), 'first');
    const current = await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'dst2', CopySource: `${B}/src` }));
    assert.equal(current.CopySourceVersionId, v2);
    assert.equal(await text(B, 'dst2'), 'second');
    await rejects(
      () => s3.send(new CopyObjectCommand({ Bucket: B, Key: 'x', CopySource: `${B}/src?versionId=${'B'.repeat(32)}` })),
      'NoSuchVersion',
      404,
    );
    await rejects(
      () => s3.send(new CopyObjectCommand({ Bucket: B, Key: 'x', CopySource: `${B}/src?versionId=bad` })),
      'InvalidArgument',
      400,
    );
  });

  test('copying an old version onto its own key restores it as the newest version', T, async () => {
    const good = (await put(B, 'restore', 'good')).VersionId!;
    await put(B, 'restore', 'bad');
    const out = await s3.send(
      new CopyObjectCommand({ Bucket: B, Key: 'restore', CopySource: `${B}/restore?versionId=${good}` }),
    );
    assert.equal(out.CopySourceVersionId, good);
    assert.equal(await text(B, 'restore'), 'good');
    assert.equal((await versions(B, { Prefix: 'restore' })).Versions!.length, 3);
  });

  test('copying a delete marker: by id InvalidRequest, as current version NoSuchKey', T, async () => {
    await put(B, 'gone', 'x');
    const m = (await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'gone' }))).VersionId!;
    await rejects(
      () => s3.send(new CopyObjectCommand({ Bucket: B, Key: 'y', CopySource: `${B}/gone?versionId=${m}` })),
      'InvalidRequest',
      400,
    );
    await rejects(
      () => s3.send(new CopyObjectCommand({ Bucket: B, Key: 'y', CopySource: `${B}/gone` })),
      'NoSuchKey',
      404,
    );
  });

  test('CompleteMultipartUpload answers the new version id and keeps the previous version', T, async () => {
    const before = (await put(B, 'mp', 'small')).VersionId!;
    const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'mp' }));
    const part = await s3.send(
      new UploadPartCommand({ Bucket: B, Key: 'mp', UploadId: up.UploadId, PartNumber: 1, Body: 'multipart body' }),
    );
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: B,
        Key: 'mp',
        UploadId: up.UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    assert.match(done.VersionId!, /^[A-Za-z0-9_-]{32}$/);
    assert.notEqual(done.VersionId, before);
    assert.equal(await text(B, 'mp'), 'multipart body');
    assert.equal(await text(B, 'mp', before), 'small');
  });

  test('tags belong to a version: Put/Get/DeleteObjectTagging with versionId', T, async () => {
    await s3.send(
      new PutObjectTaggingCommand({
        Bucket: B,
        Key: 'src',
        VersionId: v1,
        Tagging: { TagSet: [{ Key: 'old', Value: '1' }] },
      }),
    );
    const t1 = await s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'src', VersionId: v1 }));
    assert.deepEqual(t1.TagSet, [{ Key: 'old', Value: '1' }]);
    assert.equal(t1.VersionId, v1);
    const current = await s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'src' }));
    assert.deepEqual(current.TagSet, []);
    assert.equal(current.VersionId, v2);
    const del = await signed('DELETE', `/${B}/src?tagging&versionId=${v1}`);
    assert.equal(del.status, 204);
    assert.equal(del.headers['x-amz-version-id'], v1);
    assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'src', VersionId: v1 }))).TagSet, []);
    await rejects(
      () => s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'src', VersionId: 'C'.repeat(32) })),
      'NoSuchVersion',
      404,
    );
  });

  test('ACLs belong to a version: Put/GetObjectAcl with versionId', T, async () => {
    await s3.send(new PutObjectAclCommand({ Bucket: B, Key: 'src', VersionId: v1, ACL: 'public-read' }));
    const a1 = await s3.send(new GetObjectAclCommand({ Bucket: B, Key: 'src', VersionId: v1 }));
    assert.ok(a1.Grants!.some((g) => g.Grantee?.URI?.endsWith('/AllUsers') && g.Permission === 'READ'));
    const a2 = await s3.send(new GetObjectAclCommand({ Bucket: B, Key: 'src' }));
    assert.ok(!a2.Grants!.some((g) => g.Grantee?.URI?.endsWith('/AllUsers')), 'the current version stays private');
    // The public version is readable anonymously by id; the private current one is not.
    const anonOld = await raw(t.endpoint, { path: `/${B}/src?versionId=${v1}` });
    assert.equal(anonOld.status, 200);
    assert.equal(anonOld.text, 'first');
    assertS3Error(await raw(t.endpoint, { path: `/${B}/src?versionId=${v2}` }), 403, 'AccessDenied');
  });

  test('GetObjectAttributes of a named version', T, async () => {
    const out = await s3.send(
      new GetObjectAttributesCommand({
        Bucket: B,
        Key: 'src',
        VersionId: v1,
        ObjectAttributes: ['ObjectSize', 'ETag'],
      }),
    );
    assert.equal(out.ObjectSize, 5);
    assert.equal(out.VersionId, v1);
  });
});

describe('ListObjectVersions', T, () => {
  const B = 'vlist';
  const ids = new Map<string, string[]>();
  before(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    await put(B, 'a', 'unversioned a');
    ids.set('a', ['null']);
    await enable(B);
    for (const key of ['a', 'b', 'dir/x', 'dir/y', 'dir/sub/z', 'e f&<>']) {
      for (let i = 0; i < 2; i++) {
        const v = (await put(B, key, `${key} #${i}`)).VersionId!;
        ids.set(key, [v, ...(ids.get(key) ?? [])]);
      }
    }
    const m = (await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'b' }))).VersionId!;
    ids.set('b', [m, ...ids.get('b')!]);
  });

  test('max-keys 1 walks every version in order with NextKeyMarker and NextVersionIdMarker', T, async () => {
    const seen: string[] = [];
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    for (let page = 0; page < 50; page++) {
      const out = await s3.send(
        new ListObjectVersionsCommand({ Bucket: B, MaxKeys: 1, KeyMarker: keyMarker, VersionIdMarker: versionMarker }),
      );
      const e = entries(out);
      assert.equal(e.length, 1);
      seen.push(`${e[0]!.key}@${e[0]!.id}`);
      if (!out.IsTruncated) break;
      keyMarker = out.NextKeyMarker;
      versionMarker = out.NextVersionIdMarker;
      assert.equal(`${keyMarker}@${versionMarker}`, seen.at(-1));
    }
    const want = [...ids.keys()].sort().flatMap((k) => ids.get(k)!.map((id) => `${k}@${id}`));
    assert.deepEqual(seen, want);
  });

  test('a key-marker alone starts after every version of that key', T, async () => {
    const out = await s3.send(new ListObjectVersionsCommand({ Bucket: B, KeyMarker: 'a' }));
    assert.ok(entries(out).every((e) => e.key > 'a'));
    assert.equal(out.KeyMarker, 'a');
  });

  test('prefix and delimiter roll keys up into CommonPrefixes, counted once each', T, async () => {
    const out = await versions(B, { Prefix: 'dir/', Delimiter: '/' });
    assert.deepEqual(
      out.CommonPrefixes?.map((p) => p.Prefix),
      ['dir/sub/'],
    );
    assert.deepEqual(
      entries(out).map((e) => e.key),
      ['dir/x', 'dir/x', 'dir/y', 'dir/y'],
    );
    const paged = await s3.send(
      new ListObjectVersionsCommand({ Bucket: B, Prefix: 'dir/', Delimiter: '/', MaxKeys: 4 }),
    );
    assert.equal(paged.IsTruncated, true);
    assert.deepEqual(
      paged.CommonPrefixes?.map((p) => p.Prefix),
      ['dir/sub/'],
    );
    assert.deepEqual(
      entries(paged).map((e) => e.key),
      ['dir/x', 'dir/x', 'dir/y'],
    );
    const next = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: B,
        Prefix: 'dir/',
        Delimiter: '/',
        KeyMarker: paged.NextKeyMarker,
        VersionIdMarker: paged.NextVersionIdMarker,
      }),
    );
    assert.equal(next.CommonPrefixes, undefined);
    assert.deepEqual(
      entries(next).map((e) => e.id),
      [ids.get('dir/y')![1]],
    );
    // A page ending on a common prefix: NextKeyMarker is the prefix, and the next page resumes after the group.
    const first = await s3.send(
      new ListObjectVersionsCommand({ Bucket: B, Prefix: 'dir/', Delimiter: '/', MaxKeys: 1 }),
    );
    assert.equal(first.NextKeyMarker, 'dir/sub/');
    assert.equal(first.NextVersionIdMarker, undefined);
    const rest = await s3.send(
      new ListObjectVersionsCommand({ Bucket: B, Prefix: 'dir/', Delimiter: '/', KeyMarker: first.NextKeyMarker }),
    );
    assert.equal(rest.CommonPrefixes, undefined);
    assert.equal(entries(rest).length, 4);
  });

  test('encoding-type=url encodes keys and markers', T, async () => {
    const res = await signed('GET', `/${B}?versions&encoding-type=url&prefix=e`);
    assert.equal(res.status, 200);
    assert.match(res.text, /<Key>e%20f%26%3C%3E<\/Key>/);
    assert.match(res.text, /<EncodingType>url<\/EncodingType>/);
  });

  test('a version-id-marker without a key-marker, or malformed, is InvalidArgument', T, async () => {
    assertS3Error(await signed('GET', `/${B}?versions&version-id-marker=null`), 400, 'InvalidArgument');
    assertS3Error(await signed('GET', `/${B}?versions&key-marker=a&version-id-marker=zz`), 400, 'InvalidArgument');
    assertS3Error(await signed('GET', `/${B}?versions&max-keys=x`), 400, 'InvalidArgument');
  });

  test('ListObjects shows only current versions that are not delete markers', T, async () => {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: B }));
    assert.deepEqual(
      out.Contents!.map((c) => c.Key),
      ['a', 'dir/sub/z', 'dir/x', 'dir/y', 'e f&<>'],
    );
  });
});

describe('DeleteObjects with versions, DeleteBucket and conditional writes', T, () => {
  const B = 'vdel';
  before(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    await enable(B);
  });

  test('DeleteObjects reports markers it adds and versions it removes', T, async () => {
    const v = (await put(B, 'x', 'x1')).VersionId!;
    await put(B, 'y', 'y1');
    const out = await s3.send(
      new DeleteObjectsCommand({
        Bucket: B,
        Delete: {
          Objects: [
            { Key: 'x', VersionId: v },
            { Key: 'y' },
            { Key: 'z', VersionId: 'D'.repeat(32) },
            { Key: 'w', VersionId: 'bad' },
          ],
        },
      }),
    );
    const byKey = new Map(out.Deleted!.map((d) => [d.Key!, d]));
    assert.equal(byKey.get('x')!.VersionId, v);
    assert.equal(byKey.get('x')!.DeleteMarker, undefined);
    assert.equal(byKey.get('y')!.DeleteMarker, true);
    assert.match(byKey.get('y')!.DeleteMarkerVersionId!, /^[A-Za-z0-9_-]{32}$/);
    assert.equal(byKey.get('z')!.VersionId, 'D'.repeat(32), 'an unknown version is reported deleted, as AWS');
    assert.deepEqual(
      out.Errors!.map((e) => [e.Key, e.Code]),
      [['w', 'NoSuchVersion']],
    );
    const marker = byKey.get('y')!.DeleteMarkerVersionId!;
    const again = await s3.send(
      new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: [{ Key: 'y', VersionId: marker }] } }),
    );
    assert.equal(again.Deleted![0]!.DeleteMarker, true);
    assert.equal(again.Deleted![0]!.DeleteMarkerVersionId, marker);
    assert.equal(await text(B, 'y'), 'y1', 'removing the marker brought y back');
  });

  test('If-None-Match: * succeeds over a current delete marker; If-Match finds no object', T, async () => {
    await put(B, 'c', 'c1');
    await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'c' }));
    await rejects(
      () => s3.send(new PutObjectCommand({ Bucket: B, Key: 'c', Body: 'c2', IfMatch: '"whatever"' })),
      'NoSuchKey',
      404,
    );
    const created = await s3.send(new PutObjectCommand({ Bucket: B, Key: 'c', Body: 'c2', IfNoneMatch: '*' }));
    assert.match(created.VersionId!, /^[A-Za-z0-9_-]{32}$/);
    await rejects(
      () => s3.send(new PutObjectCommand({ Bucket: B, Key: 'c', Body: 'c3', IfNoneMatch: '*' })),
      'PreconditionFailed',
      412,
    );
  });

  test('DeleteBucket is BucketNotEmpty while any version or marker remains', T, async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'vempty' }));
    await enable('vempty');
    const v = (await put('vempty', 'k', 'x')).VersionId!;
    const m = (await s3.send(new DeleteObjectCommand({ Bucket: 'vempty', Key: 'k' }))).VersionId!;
    assert.equal((await s3.send(new ListObjectsV2Command({ Bucket: 'vempty' }))).KeyCount, 0);
    await rejects(() => s3.send(new DeleteBucketCommand({ Bucket: 'vempty' })), 'BucketNotEmpty', 409);
    await s3.send(new DeleteObjectCommand({ Bucket: 'vempty', Key: 'k', VersionId: v }));
    await rejects(() => s3.send(new DeleteBucketCommand({ Bucket: 'vempty' })), 'BucketNotEmpty', 409);
    await s3.send(new DeleteObjectCommand({ Bucket: 'vempty', Key: 'k', VersionId: m }));
    await s3.send(new DeleteBucketCommand({ Bucket: 'vempty' }));
  });
});

/** An anonymous page view of the bucket's website (Host `<bucket>.localhost`). */
function view(bucket: string, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: t.port, path, agent: false, headers: { host: `${bucket}.localhost:${t.port}` } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('the website of a versioned bucket', T, () => {
  const B = 'vsite';
  before(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: B,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${B}/*` }],
        }),
      }),
    );
    await enable(B);
  });

  test(
    'serves the current version; a delete marker is a missing page; removing versions shows the previous one at once',
    T,
    async () => {
      const v1 = (await put(B, 'page.html', 'version one')).VersionId!;
      assert.equal((await view(B, '/page.html')).text, 'version one');
      const v2 = (await put(B, 'page.html', 'version two')).VersionId!;
      assert.equal((await view(B, '/page.html')).text, 'version two', 'a new version replaces the cached page');
      const marker = (await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'page.html' }))).VersionId!;
      assert.equal((await view(B, '/page.html')).status, 404, 'a current delete marker is no page');
      await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'page.html', VersionId: marker }));
      const back = await view(B, '/page.html');
      assert.equal(back.status, 200, 'removing the marker brings the page back');
      assert.equal(back.text, 'version two');
      await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'page.html', VersionId: v2 }));
      assert.equal(
        (await view(B, '/page.html')).text,
        'version one',
        'removing the current version serves the previous',
      );
      await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'page.html', VersionId: v1 }));
      assert.equal((await view(B, '/page.html')).status, 404);
    },
  );
});

describe('the *Version actions of a bucket policy', T, () => {
  const B = 'vpolicy';
  let other: S3Client;
  let v1: string;
  before(async () => {
    const addon = t.newAddon('versions-reader');
    other = t.client(addon);
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    await enable(B);
    v1 = (await put(B, 'k', 'one')).VersionId!;
    await put(B, 'k', 'two');
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: B,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: addon.id },
              Action: ['s3:GetObjectVersion', 's3:DeleteObjectVersion'],
              Resource: `arn:aws:s3:::${B}/*`,
            },
          ],
        }),
      }),
    );
  });

  test('s3:GetObjectVersion reads a named version, not the current object', T, async () => {
    const got = await other.send(new GetObjectCommand({ Bucket: B, Key: 'k', VersionId: v1 }));
    assert.equal(await got.Body!.transformToString(), 'one');
    await rejects(() => other.send(new GetObjectCommand({ Bucket: B, Key: 'k' })), 'AccessDenied', 403);
  });

  test('s3:DeleteObjectVersion removes named versions in DeleteObjects, never adds a marker', T, async () => {
    const out = await other.send(
      new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: [{ Key: 'k', VersionId: v1 }, { Key: 'k' }] } }),
    );
    assert.deepEqual(
      out.Deleted?.map((d) => d.VersionId),
      [v1],
    );
    assert.deepEqual(
      out.Errors?.map((e) => [e.Key, e.Code]),
      [['k', 'AccessDenied']],
    );
    assert.equal(await text(B, 'k'), 'two');
    await rejects(() => s3.send(new GetObjectCommand({ Bucket: B, Key: 'k', VersionId: v1 })), 'NoSuchVersion', 404);
  });
});

describe('versioning follow-ups', () => {
  const B = 'vfollow';
  before(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    await enable(B);
  });

  test('ListObjectVersions interleaves Version and DeleteMarker entries in listing order', T, async () => {
    const order: string[] = [];
    // Newest first per key: a = marker, version, marker, version; b = version, marker.
    const del = async (Key: string) => (await s3.send(new DeleteObjectCommand({ Bucket: B, Key }))).VersionId!;
    const a1 = (await put(B, 'il/a', 'a1')).VersionId!;
    const a2 = await del('il/a');
    const a3 = (await put(B, 'il/a', 'a3')).VersionId!;
    const a4 = await del('il/a');
    const b1 = await del('il/b');
    const b2 = (await put(B, 'il/b', 'b2')).VersionId!;
    order.push(`D:il/a@${a4}`, `V:il/a@${a3}`, `D:il/a@${a2}`, `V:il/a@${a1}`, `V:il/b@${b2}`, `D:il/b@${b1}`);
    const res = await signed('GET', `/${B}?versions&prefix=il/`);
    assert.equal(res.status, 200, res.text);
    const seen = [...res.text.matchAll(/<(Version|DeleteMarker)><Key>([^<]*)<\/Key><VersionId>([^<]*)</g)].map(
      (m) => `${m[1] === 'Version' ? 'V' : 'D'}:${m[2]}@${m[3]}`,
    );
    assert.deepEqual(seen, order);
    // The SDK still reads both lists out of the interleaved document.
    const out = await versions(B, { Prefix: 'il/' });
    assert.deepEqual(
      out.Versions?.map((v) => v.VersionId),
      [a3, a1, b2],
    );
    assert.deepEqual(
      out.DeleteMarkers?.map((m) => m.VersionId),
      [a4, a2, b1],
    );
    assert.equal(out.DeleteMarkers?.[0]?.IsLatest, true);
    assert.equal(out.Versions?.[2]?.IsLatest, true);
  });

  test('x-amz-mfa on a bucket without MFA delete is ignored, as AWS ignores it there', T, async () => {
    const v1 = (await put(B, 'mfa', 'one')).VersionId!;
    await put(B, 'mfa', 'two');
    const mfa = { 'x-amz-mfa': '20899872 301749' };
    const marker = await signed('DELETE', `/${B}/mfa`, undefined, mfa);
    assert.equal(marker.status, 204, marker.text);
    assert.equal(marker.headers['x-amz-delete-marker'], 'true');
    const gone = await signed('DELETE', `/${B}/mfa?versionId=${encodeURIComponent(v1)}`, undefined, mfa);
    assert.equal(gone.status, 204, gone.text);
    assert.equal(gone.headers['x-amz-version-id'], v1);
    await rejects(() => s3.send(new GetObjectCommand({ Bucket: B, Key: 'mfa', VersionId: v1 })), 'NoSuchVersion', 404);
  });

  test('usage counts the bytes of every stored version; objects are the current ones', T, async () => {
    const U = 'vusage';
    const storage = t.cellar.storage;
    await s3.send(new CreateBucketCommand({ Bucket: U }));
    await enable(U);
    const start = storage.usageTotals();
    await put(U, 'k', 'x'.repeat(100));
    await put(U, 'k', 'y'.repeat(30));
    await put(U, 'gone', 'z'.repeat(7));
    await s3.send(new DeleteObjectCommand({ Bucket: U, Key: 'gone' }));
    // k: two versions (130 bytes), gone: one noncurrent version (7) under a delete marker (0).
    assert.deepEqual(storage.bucketUsage(U), { objects: 1, bytes: 137 });
    const end = storage.usageTotals();
    assert.equal(end.bytes - start.bytes, 137);
    assert.equal(end.objects - start.objects, 1);
  });
});
