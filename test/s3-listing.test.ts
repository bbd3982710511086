import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { assertS3Error, raw } from './helpers/raw.js';
import { rejects } from './helpers/s3-assert.js';

let t: TestCellar;
let s3: S3Client;

/** Small tree for the semantics of prefix, delimiter and markers. */
const TREE = ['a.txt', 'dir/1', 'dir/2', 'dir/sub/3', 'dir/sub/4', 'dir2/x', 'other/y', 'z'];
const BIG = 2500;
const bigKey = (i: number): string => `f/${String(i).padStart(5, '0')}`;

async function putAll(bucket: string, keys: string[], concurrency = 32): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < keys.length) {
        const key = keys[next++]!;
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
      }
    }),
  );
}

before(async () => {
  t = await startTestCellar();
  s3 = t.client();
  await s3.send(new CreateBucketCommand({ Bucket: 'tree' }));
  await s3.send(new CreateBucketCommand({ Bucket: 'big' }));
  await putAll('tree', TREE);
  await putAll(
    'big',
    Array.from({ length: BIG }, (_, i) => bigKey(i)),
  );
});
after(() => t.stop());

describe('ListObjects (v1)', () => {
  test('everything, in order, with owner, size and ETag', { timeout: 120_000 }, async () => {
    const out = await s3.send(new ListObjectsCommand({ Bucket: 'tree' }));
    assert.deepEqual(
      out.Contents!.map((c) => c.Key),
      TREE,
    );
    assert.equal(out.IsTruncated, false);
    assert.equal(out.MaxKeys, 1000);
    const first = out.Contents![0]!;
    assert.equal(first.Size, 'a.txt'.length);
    assert.match(first.ETag!, /^"[0-9a-f]{32}"$/);
    assert.equal(first.Owner?.ID, t.owner.id);
    assert.equal(first.StorageClass, 'STANDARD');
  });

  test('prefix and delimiter', { timeout: 120_000 }, async () => {
    const root = await s3.send(new ListObjectsCommand({ Bucket: 'tree', Delimiter: '/' }));
    assert.deepEqual(
      root.Contents!.map((c) => c.Key),
      ['a.txt', 'z'],
    );
    assert.deepEqual(
      root.CommonPrefixes!.map((p) => p.Prefix),
      ['dir/', 'dir2/', 'other/'],
    );
    const dir = await s3.send(new ListObjectsCommand({ Bucket: 'tree', Prefix: 'dir/', Delimiter: '/' }));
    assert.equal(dir.Prefix, 'dir/');
    assert.equal(dir.Delimiter, '/');
    assert.deepEqual(
      dir.Contents!.map((c) => c.Key),
      ['dir/1', 'dir/2'],
    );
    assert.deepEqual(
      dir.CommonPrefixes!.map((p) => p.Prefix),
      ['dir/sub/'],
    );
    const none = await s3.send(new ListObjectsCommand({ Bucket: 'tree', Prefix: 'nothing-here' }));
    assert.equal(none.Contents, undefined);
  });

  test('marker and max-keys, NextMarker only with a delimiter', { timeout: 120_000 }, async () => {
    const p1 = await s3.send(new ListObjectsCommand({ Bucket: 'tree', MaxKeys: 3 }));
    assert.deepEqual(
      p1.Contents!.map((c) => c.Key),
      ['a.txt', 'dir/1', 'dir/2'],
    );
    assert.equal(p1.IsTruncated, true);
    assert.equal(p1.NextMarker, undefined);
    const p2 = await s3.send(new ListObjectsCommand({ Bucket: 'tree', MaxKeys: 3, Marker: 'dir/2' }));
    assert.equal(p2.Marker, 'dir/2');
    assert.deepEqual(
      p2.Contents!.map((c) => c.Key),
      ['dir/sub/3', 'dir/sub/4', 'dir2/x'],
    );
    const d1 = await s3.send(new ListObjectsCommand({ Bucket: 'tree', MaxKeys: 2, Delimiter: '/' }));
    assert.equal(d1.IsTruncated, true);
    assert.deepEqual(
      [...(d1.Contents ?? []).map((c) => c.Key), ...(d1.CommonPrefixes ?? []).map((p) => p.Prefix)],
      ['a.txt', 'dir/'],
    );
    assert.equal(d1.NextMarker, 'dir/');
    const d2 = await s3.send(
      new ListObjectsCommand({ Bucket: 'tree', MaxKeys: 2, Delimiter: '/', Marker: d1.NextMarker }),
    );
    assert.deepEqual(
      d2.CommonPrefixes!.map((p) => p.Prefix),
      ['dir2/', 'other/'],
    );
    assert.equal(d2.NextMarker, 'other/');
    const d3 = await s3.send(
      new ListObjectsCommand({ Bucket: 'tree', MaxKeys: 2, Delimiter: '/', Marker: d2.NextMarker }),
    );
    assert.deepEqual(
      d3.Contents!.map((c) => c.Key),
      ['z'],
    );
    assert.equal(d3.IsTruncated, false);
  });

  test('paginating 2500 keys with the last key as marker visits each key once', { timeout: 120_000 }, async () => {
    const seen: string[] = [];
    let marker: string | undefined;
    for (;;) {
      const out = await s3.send(new ListObjectsCommand({ Bucket: 'big', Marker: marker }));
      seen.push(...out.Contents!.map((c) => c.Key!));
      if (!out.IsTruncated) break;
      marker = seen[seen.length - 1];
    }
    assert.deepEqual(
      seen,
      Array.from({ length: BIG }, (_, i) => bigKey(i)),
    );
  });

  test('a bad max-keys is InvalidArgument', { timeout: 120_000 }, async () => {
    const res = await raw(t.endpoint, { path: '/tree?max-keys=abc', auth: { type: 'v4', addon: t.owner } });
    assertS3Error(res, 400, 'InvalidArgument');
    const enc = await raw(t.endpoint, { path: '/tree?encoding-type=base64', auth: { type: 'v4', addon: t.owner } });
    assertS3Error(enc, 400, 'InvalidArgument');
  });
});

describe('ListObjectsV2', () => {
  test('continuation-token pagination over 2500 keys', { timeout: 120_000 }, async () => {
    const pages: ListObjectsV2CommandOutput[] = [];
    let token: string | undefined;
    do {
      const out = await s3.send(new ListObjectsV2Command({ Bucket: 'big', ContinuationToken: token }));
      assert.equal(out.ContinuationToken, token);
      pages.push(out);
      token = out.NextContinuationToken;
      assert.equal(out.IsTruncated, token !== undefined);
    } while (token);
    assert.deepEqual(
      pages.map((p) => p.KeyCount),
      [1000, 1000, 500],
    );
    assert.deepEqual(
      pages.flatMap((p) => p.Contents!.map((c) => c.Key)),
      Array.from({ length: BIG }, (_, i) => bigKey(i)),
    );
  });

  test('max-keys, start-after and key-count', { timeout: 120_000 }, async () => {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: 'big', MaxKeys: 7, StartAfter: bigKey(2490) }));
    assert.equal(out.StartAfter, bigKey(2490));
    assert.equal(out.KeyCount, 7);
    assert.equal(out.MaxKeys, 7);
    assert.deepEqual(
      out.Contents!.map((c) => c.Key),
      Array.from({ length: 7 }, (_, i) => bigKey(2491 + i)),
    );
    const rest = await s3.send(
      new ListObjectsV2Command({
        Bucket: 'big',
        MaxKeys: 7,
        StartAfter: bigKey(2490),
        ContinuationToken: out.NextContinuationToken,
      }),
    );
    assert.deepEqual(
      rest.Contents!.map((c) => c.Key),
      [bigKey(2498), bigKey(2499)],
    );
    assert.equal(rest.IsTruncated, false);
    assert.equal(rest.KeyCount, 2);
    const past = await s3.send(new ListObjectsV2Command({ Bucket: 'big', StartAfter: 'g' }));
    assert.equal(past.KeyCount, 0);
    assert.equal(past.Contents, undefined);
  });

  test('fetch-owner adds Owner, which is absent otherwise', { timeout: 120_000 }, async () => {
    const without = await s3.send(new ListObjectsV2Command({ Bucket: 'tree', MaxKeys: 1 }));
    assert.equal(without.Contents![0]!.Owner, undefined);
    const withOwner = await s3.send(new ListObjectsV2Command({ Bucket: 'tree', MaxKeys: 1, FetchOwner: true }));
    assert.equal(withOwner.Contents![0]!.Owner?.ID, t.owner.id);
    assert.equal(withOwner.Contents![0]!.Owner?.DisplayName, t.owner.name);
  });

  test('delimiter and prefix: common prefixes across pages are each listed once', { timeout: 120_000 }, async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'photos' }));
    const keys: string[] = [];
    for (const year of ['2019', '2020', '2021', '2022'])
      for (const n of ['a', 'b', 'c']) keys.push(`photos/${year}/${n}.jpg`);
    keys.push('photos/index.html', 'photos/z.txt', 'readme');
    await putAll('photos', keys);
    const got: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const out = await s3.send(
        new ListObjectsV2Command({
          Bucket: 'photos',
          Prefix: 'photos/',
          Delimiter: '/',
          MaxKeys: 2,
          ContinuationToken: token,
        }),
      );
      pages++;
      assert.ok(out.KeyCount! <= 2);
      assert.equal(out.KeyCount, (out.Contents?.length ?? 0) + (out.CommonPrefixes?.length ?? 0));
      got.push(...(out.CommonPrefixes ?? []).map((p) => p.Prefix!), ...(out.Contents ?? []).map((c) => c.Key!));
      token = out.NextContinuationToken;
    } while (token);
    assert.equal(pages, 3);
    assert.deepEqual(got.sort(), [
      'photos/2019/',
      'photos/2020/',
      'photos/2021/',
      'photos/2022/',
      'photos/index.html',
      'photos/z.txt',
    ]);
  });

  test('a forged continuation token is InvalidArgument', { timeout: 120_000 }, async () => {
    await rejects(
      () => s3.send(new ListObjectsV2Command({ Bucket: 'tree', ContinuationToken: 'not a token!' })),
      'InvalidArgument',
      400,
    );
  });

  test('a missing bucket is NoSuchBucket', { timeout: 120_000 }, async () => {
    await rejects(() => s3.send(new ListObjectsV2Command({ Bucket: 'no-such-bucket-zz' })), 'NoSuchBucket', 404);
  });
});

describe('encoding-type=url', () => {
  const weird = [
    'enc/sp ace',
    'enc/plus+sign',
    'enc/pct%41',
    'enc/amp&lt',
    'enc/ctl\u0001char',
    'enc/üñí',
    'enc/tab\there',
    'enc/q?#',
  ];
  before(() => putAll('tree', weird));
  after(() =>
    s3.send(new DeleteObjectsCommand({ Bucket: 'tree', Delete: { Objects: weird.map((Key) => ({ Key })) } })),
  );

  /** What botocore does with such listings (unquote_plus), which both %20 and + survive. */
  const decode = (s: string): string => decodeURIComponent(s.replace(/\+/g, ' '));

  for (const version of ['v1', 'v2'] as const) {
    test(`${version}: every name in the answer decodes to the exact key`, { timeout: 120_000 }, async () => {
      const q = version === 'v2' ? 'list-type=2&' : '';
      const res = await raw(t.endpoint, {
        path: `/tree?${q}prefix=enc%2F&encoding-type=url`,
        auth: { type: 'v4', addon: t.owner },
      });
      assert.equal(res.status, 200, res.text);
      assert.match(res.text, /<EncodingType>url<\/EncodingType>/);
      // Control characters are not allowed in XML 1.0: they must arrive encoded.
      assert.doesNotMatch(res.text, /[\u0001\t]/);
      const keys = [...res.text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => decode(m[1]!));
      assert.deepEqual(
        keys,
        [...weird].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
      );
      assert.match(res.text, /<Prefix>enc\/<\/Prefix>/);
    });
  }

  test('with a delimiter, common prefixes are encoded too', { timeout: 120_000 }, async () => {
    const res = await raw(t.endpoint, {
      path: '/tree?list-type=2&delimiter=%20&prefix=enc%2F&encoding-type=url',
      auth: { type: 'v4', addon: t.owner },
    });
    assert.equal(res.status, 200);
    const prefixes = [...res.text.matchAll(/<CommonPrefixes><Prefix>([^<]*)<\/Prefix><\/CommonPrefixes>/g)].map((m) =>
      decode(m[1]!),
    );
    assert.deepEqual(prefixes, ['enc/sp ']);
    assert.match(res.text, /<Delimiter>(%20|\+)<\/Delimiter>/);
  });

  test('through the SDK (which leaves decoding to the caller) the keys decode to the originals', {
    timeout: 120_000,
  }, async () => {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: 'tree', Prefix: 'enc/', EncodingType: 'url' }));
    assert.equal(out.EncodingType, 'url');
    assert.deepEqual(out.Contents!.map((c) => decode(c.Key!)).sort(), [...weird].sort());
  });
});

describe('ListObjectVersions on an unversioned bucket', () => {
  test('every object is its only version, VersionId null, IsLatest', { timeout: 120_000 }, async () => {
    const out = await s3.send(new ListObjectVersionsCommand({ Bucket: 'tree' }));
    assert.deepEqual(
      out.Versions!.map((v) => v.Key),
      TREE,
    );
    for (const v of out.Versions!) {
      assert.equal(v.VersionId, 'null');
      assert.equal(v.IsLatest, true);
      assert.match(v.ETag!, /^"[0-9a-f]{32}"$/);
      assert.equal(v.Owner?.ID, t.owner.id);
    }
    assert.equal(out.DeleteMarkers, undefined);
    assert.equal(out.IsTruncated, false);
  });

  test('pagination with key-marker and version-id-marker', { timeout: 120_000 }, async () => {
    const seen: string[] = [];
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    for (let i = 0; i < 10; i++) {
      const out = await s3.send(
        new ListObjectVersionsCommand({
          Bucket: 'tree',
          MaxKeys: 3,
          KeyMarker: keyMarker,
          VersionIdMarker: versionMarker,
        }),
      );
      seen.push(...out.Versions!.map((v) => v.Key!));
      if (!out.IsTruncated) break;
      keyMarker = out.NextKeyMarker;
      versionMarker = out.NextVersionIdMarker;
      assert.equal(versionMarker, 'null');
    }
    assert.deepEqual(seen, TREE);
  });

  test('prefix and delimiter', { timeout: 120_000 }, async () => {
    const out = await s3.send(new ListObjectVersionsCommand({ Bucket: 'tree', Prefix: 'dir/', Delimiter: '/' }));
    assert.deepEqual(
      out.Versions!.map((v) => v.Key),
      ['dir/1', 'dir/2'],
    );
    assert.deepEqual(
      out.CommonPrefixes!.map((p) => p.Prefix),
      ['dir/sub/'],
    );
  });

  test('emptying a bucket the way clients do: list versions, delete them with VersionId null', {
    timeout: 120_000,
  }, async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'to-empty' }));
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
    await putAll('to-empty', keys);
    let rounds = 0;
    for (;;) {
      const out = await s3.send(new ListObjectVersionsCommand({ Bucket: 'to-empty', MaxKeys: 12 }));
      if (!out.Versions?.length) break;
      const del = await s3.send(
        new DeleteObjectsCommand({
          Bucket: 'to-empty',
          Delete: { Objects: out.Versions.map((v) => ({ Key: v.Key!, VersionId: v.VersionId! })) },
        }),
      );
      assert.equal(del.Errors, undefined);
      rounds++;
    }
    assert.equal(rounds, 3);
    assert.equal((await s3.send(new ListObjectsV2Command({ Bucket: 'to-empty' }))).KeyCount, 0);
  });

  test('a version-id-marker other than null is InvalidArgument', { timeout: 120_000 }, async () => {
    await rejects(
      () => s3.send(new ListObjectVersionsCommand({ Bucket: 'tree', KeyMarker: 'a.txt', VersionIdMarker: 'v123' })),
      'InvalidArgument',
      400,
    );
  });
});
