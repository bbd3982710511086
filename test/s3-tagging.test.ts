/**
 * Object and bucket tagging with the current AWS SDK: the tagging operations, x-amz-tagging on
 * writes, AWS's limits and errors, x-amz-tagging-count, and the tag condition keys of policies.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketTaggingCommand,
  DeleteObjectCommand,
  DeleteObjectTaggingCommand,
  GetBucketTaggingCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutBucketWebsiteCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
  type S3Client,
  type Tag,
} from '@aws-sdk/client-s3';
import type { Addon } from '#storage';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { assertS3Error, md5Base64, raw } from './helpers/raw.js';
import { rejects } from './helpers/s3-assert.js';

const T = { timeout: 30_000 };
const B = 'tagging';
let t: TestCellar;
let s3: S3Client;

before(async () => {
  t = await startTestCellar();
  s3 = t.client();
  await s3.send(new CreateBucketCommand({ Bucket: B }));
});
after(() => t.stop());

const tags = (n: number, prefix = 'k'): Tag[] =>
  Array.from({ length: n }, (_, i) => ({ Key: `${prefix}${i}`, Value: `v${i}` }));
const getTags = async (key: string, bucket = B, c = s3): Promise<Tag[]> =>
  (await c.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }))).TagSet ?? [];
const put = (key: string, Tagging?: string, c = s3, bucket = B) =>
  c.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `body of ${key}`, Tagging }));

describe('object tagging operations', T, () => {
  test('Put, Get and DeleteObjectTagging; the object itself is unchanged', T, async () => {
    const before = await put('obj');
    assert.deepEqual(await getTags('obj'), []);
    const set = [
      { Key: 'team', Value: 'web' },
      { Key: 'empty', Value: '' },
      { Key: 'Ünïcode key', Value: '東京 +-=._:/@' },
    ];
    await s3.send(new PutObjectTaggingCommand({ Bucket: B, Key: 'obj', Tagging: { TagSet: set } }));
    assert.deepEqual(await getTags('obj'), set);
    const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'obj' }));
    assert.equal(head.ETag, before.ETag);
    // A new set replaces the old one whole.
    await s3.send(
      new PutObjectTaggingCommand({ Bucket: B, Key: 'obj', Tagging: { TagSet: [{ Key: 'only', Value: 'one' }] } }),
    );
    assert.deepEqual(await getTags('obj'), [{ Key: 'only', Value: 'one' }]);
    await s3.send(new DeleteObjectTaggingCommand({ Bucket: B, Key: 'obj' }));
    assert.deepEqual(await getTags('obj'), []);
    const body = await (await s3.send(new GetObjectCommand({ Bucket: B, Key: 'obj' }))).Body!.transformToString();
    assert.equal(body, 'body of obj');
  });

  test('on a missing key every tagging operation is NoSuchKey; on a missing bucket NoSuchBucket', T, async () => {
    await rejects(() => s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'nope' })), 'NoSuchKey', 404);
    await rejects(
      () =>
        s3.send(
          new PutObjectTaggingCommand({ Bucket: B, Key: 'nope', Tagging: { TagSet: [{ Key: 'a', Value: 'b' }] } }),
        ),
      'NoSuchKey',
      404,
    );
    await rejects(() => s3.send(new DeleteObjectTaggingCommand({ Bucket: B, Key: 'nope' })), 'NoSuchKey', 404);
    await rejects(
      () => s3.send(new GetObjectTaggingCommand({ Bucket: 'no-such-bucket', Key: 'k' })),
      'NoSuchBucket',
      404,
    );
  });

  test('a version id other than "null" is InvalidArgument', T, async () => {
    await put('versioned');
    await rejects(
      () => s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'versioned', VersionId: 'v1' })),
      'InvalidArgument',
      400,
    );
    assert.deepEqual(
      (await s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'versioned', VersionId: 'null' }))).TagSet,
      [],
    );
  });

  const refused: [string, Tag[], string][] = [
    ['11 tags', tags(11), 'BadRequest'],
    ['a 129-character key', [{ Key: 'k'.repeat(129), Value: 'v' }], 'InvalidTag'],
    ['a 257-character value', [{ Key: 'k', Value: 'v'.repeat(257) }], 'InvalidTag'],
    [
      'a repeated key',
      [
        { Key: 'k', Value: '1' },
        { Key: 'k', Value: '2' },
      ],
      'InvalidTag',
    ],
    ['a key with a character outside the set', [{ Key: 'a#b', Value: 'v' }], 'InvalidTag'],
    ['a value with a character outside the set', [{ Key: 'k', Value: 'a*b' }], 'InvalidTag'],
    ['the reserved aws: prefix', [{ Key: 'aws:createdBy', Value: 'me' }], 'InvalidTag'],
    ['an empty key', [{ Key: '', Value: 'v' }], 'InvalidTag'],
  ];
  for (const [name, set, code] of refused) {
    test(`PutObjectTagging with ${name}: ${code}, and the tags stay as they were`, T, async () => {
      await put('limits', 'keep=me');
      await rejects(
        () => s3.send(new PutObjectTaggingCommand({ Bucket: B, Key: 'limits', Tagging: { TagSet: set } })),
        code,
        400,
      );
      assert.deepEqual(await getTags('limits'), [{ Key: 'keep', Value: 'me' }]);
    });
  }

  test('the limits themselves pass: 10 tags, a 128-character key, a 256-character value', T, async () => {
    await put('at-limits');
    await s3.send(new PutObjectTaggingCommand({ Bucket: B, Key: 'at-limits', Tagging: { TagSet: tags(10) } }));
    assert.equal((await getTags('at-limits')).length, 10);
    const long = [{ Key: 'k'.repeat(128), Value: 'v'.repeat(256) }];
    await s3.send(new PutObjectTaggingCommand({ Bucket: B, Key: 'at-limits', Tagging: { TagSet: long } }));
    assert.deepEqual(await getTags('at-limits'), long);
  });

  test('a document that is not a Tagging is MalformedXML; an empty body MissingRequestBodyError', T, async () => {
    await put('malformed');
    const auth = { type: 'v4' as const, addon: t.owner };
    for (const body of [
      '<Tagging><Tag><Key>a</Key><Value>b</Value></Tag></Tagging>',
      '<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>',
      'not xml',
    ]) {
      const res = await raw(t.endpoint, {
        method: 'PUT',
        path: `/${B}/malformed?tagging`,
        body,
        headers: { 'content-md5': md5Base64(body) },
        auth,
      });
      assertS3Error(res, 400, 'MalformedXML', 'PUT');
    }
    const empty = await raw(t.endpoint, { method: 'PUT', path: `/${B}/malformed?tagging`, body: '', auth });
    assertS3Error(empty, 400, 'MissingRequestBodyError', 'PUT');
  });
});

describe('tags on object writes', T, () => {
  test('PutObject with x-amz-tagging stores the tags; GET and HEAD say how many (x-amz-tagging-count)', T, async () => {
    await put('written', 'team=web&env=prod%20eu&flag');
    assert.deepEqual(await getTags('written'), [
      { Key: 'team', Value: 'web' },
      { Key: 'env', Value: 'prod eu' },
      { Key: 'flag', Value: '' },
    ]);
    assert.equal((await s3.send(new GetObjectCommand({ Bucket: B, Key: 'written' }))).TagCount, 3);
    const head = await raw(t.endpoint, { method: 'HEAD', path: `/${B}/written`, auth: { type: 'v4', addon: t.owner } });
    assert.equal(head.headers['x-amz-tagging-count'], '3');
    await put('untagged');
    const plain = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'untagged' }));
    assert.equal(plain.TagCount, undefined, 'no header when the object has no tags');
  });

  test('an overwrite without x-amz-tagging clears the tags, as on AWS; a delete forgets them', T, async () => {
    await put('overwritten', 'a=1');
    await put('overwritten');
    assert.deepEqual(await getTags('overwritten'), []);
    await put('overwritten', 'b=2');
    assert.deepEqual(await getTags('overwritten'), [{ Key: 'b', Value: '2' }]);
    await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'overwritten' }));
    await put('overwritten');
    assert.deepEqual(await getTags('overwritten'), []);
  });

  const badHeaders: [string, string, string][] = [
    ['11 tags', Array.from({ length: 11 }, (_, i) => `k${i}=v`).join('&'), 'BadRequest'],
    ['a repeated name', 'a=1&a=2', 'InvalidArgument'],
    ['a bad character', 'a%23b=1', 'InvalidTag'],
    ['the reserved prefix', 'aws%3Ax=1', 'InvalidTag'],
  ];
  for (const [name, header, code] of badHeaders) {
    test(`PutObject with x-amz-tagging holding ${name}: ${code}, nothing stored`, T, async () => {
      const key = `bad-${code}-${name.length}`;
      await rejects(() => put(key, header), code, 400);
      await rejects(() => s3.send(new HeadObjectCommand({ Bucket: B, Key: key })), null, 404);
    });
  }

  test("CopyObject copies the source tags (COPY, the default) or takes the request's (REPLACE)", T, async () => {
    await put('copy-src', 'from=source');
    await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'copy-default', CopySource: `${B}/copy-src` }));
    assert.deepEqual(await getTags('copy-default'), [{ Key: 'from', Value: 'source' }]);
    await s3.send(
      new CopyObjectCommand({
        Bucket: B,
        Key: 'copy-copy',
        CopySource: `${B}/copy-src`,
        TaggingDirective: 'COPY',
        Tagging: 'ignored=yes',
      }),
    );
    assert.deepEqual(await getTags('copy-copy'), [{ Key: 'from', Value: 'source' }]);
    await s3.send(
      new CopyObjectCommand({
        Bucket: B,
        Key: 'copy-replace',
        CopySource: `${B}/copy-src`,
        TaggingDirective: 'REPLACE',
        Tagging: 'from=request',
      }),
    );
    assert.deepEqual(await getTags('copy-replace'), [{ Key: 'from', Value: 'request' }]);
    await s3.send(
      new CopyObjectCommand({ Bucket: B, Key: 'copy-none', CopySource: `${B}/copy-src`, TaggingDirective: 'REPLACE' }),
    );
    assert.deepEqual(await getTags('copy-none'), []);
    await rejects(
      () =>
        s3.send(
          new CopyObjectCommand({
            Bucket: B,
            Key: 'copy-bad',
            CopySource: `${B}/copy-src`,
            TaggingDirective: 'REPLACE',
            Tagging: 'a=1&a=2',
          }),
        ),
      'InvalidArgument',
      400,
    );
  });

  test(
    'CreateMultipartUpload with x-amz-tagging: the tags appear on the object when the upload completes',
    T,
    async () => {
      const { UploadId } = await s3.send(
        new CreateMultipartUploadCommand({ Bucket: B, Key: 'mp', Tagging: 'stage=done' }),
      );
      const part = await s3.send(
        new UploadPartCommand({ Bucket: B, Key: 'mp', UploadId, PartNumber: 1, Body: 'only part' }),
      );
      await rejects(() => s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'mp' })), 'NoSuchKey', 404);
      await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: B,
          Key: 'mp',
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
        }),
      );
      assert.deepEqual(await getTags('mp'), [{ Key: 'stage', Value: 'done' }]);
      await rejects(
        () => s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'mp-bad', Tagging: 'aws%3Ax=1' })),
        'InvalidTag',
        400,
      );
    },
  );
});

describe('bucket tagging', T, () => {
  test('GetBucketTagging answers NoSuchTagSet until tags are set and after they are deleted', T, async () => {
    const bucket = 'bucket-tags';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await rejects(() => s3.send(new GetBucketTaggingCommand({ Bucket: bucket })), 'NoSuchTagSet', 404);
    await s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: tags(50, 'cost') } }));
    assert.deepEqual((await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }))).TagSet, tags(50, 'cost'));
    await rejects(
      () => s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: tags(51) } })),
      'BadRequest',
      400,
    );
    await rejects(
      () =>
        s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: [{ Key: 'aws:x', Value: 'y' }] } })),
      'InvalidTag',
      400,
    );
    assert.equal(
      (await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }))).TagSet?.length,
      50,
      'a refused set changes nothing',
    );
    await s3.send(new DeleteBucketTaggingCommand({ Bucket: bucket }));
    await rejects(() => s3.send(new GetBucketTaggingCommand({ Bucket: bucket })), 'NoSuchTagSet', 404);
  });
});

describe('tags in bucket policies', T, () => {
  const P = 'tag-policy';
  let other: Addon;
  let o: S3Client;

  before(async () => {
    other = t.newAddon('tag-reader');
    o = t.client(other);
    await s3.send(new CreateBucketCommand({ Bucket: P }));
    const arn = `arn:aws:s3:::${P}/*`;
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: P,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            // Anyone may read what is tagged public=yes (the AWS user guide's example).
            {
              Effect: 'Allow',
              Principal: '*',
              Action: 's3:GetObject',
              Resource: arn,
              Condition: { StringEquals: { 's3:ExistingObjectTag/public': 'yes' } },
            },
            // The other add-on may write objects tagged team=web, and only with the team tag.
            {
              Effect: 'Allow',
              Principal: { CanonicalUser: other.id },
              Action: ['s3:PutObject', 's3:PutObjectTagging'],
              Resource: arn,
              Condition: {
                StringEquals: { 's3:RequestObjectTag/team': 'web' },
                'ForAllValues:StringEquals': { 's3:RequestObjectTagKeys': ['team'] },
              },
            },
          ],
        }),
      }),
    );
  });

  test('s3:ExistingObjectTag opens exactly the tagged objects, to anonymous callers too', T, async () => {
    await put('open', 'public=yes', s3, P);
    await put('closed', 'public=no', s3, P);
    assert.equal((await raw(t.endpoint, { path: `/${P}/open` })).text, 'body of open');
    assertS3Error(await raw(t.endpoint, { path: `/${P}/closed` }), 403, 'AccessDenied');
    assert.equal(
      await (await o.send(new GetObjectCommand({ Bucket: P, Key: 'open' }))).Body!.transformToString(),
      'body of open',
    );
    await rejects(() => o.send(new GetObjectCommand({ Bucket: P, Key: 'closed' })), 'AccessDenied', 403);
    // Retagging changes the answer at once.
    await s3.send(
      new PutObjectTaggingCommand({ Bucket: P, Key: 'closed', Tagging: { TagSet: [{ Key: 'public', Value: 'yes' }] } }),
    );
    assert.equal((await raw(t.endpoint, { path: `/${P}/closed` })).status, 200);
  });

  test('s3:RequestObjectTag and s3:RequestObjectTagKeys decide writes that carry tags', T, async () => {
    await put('by-other', 'team=web', o, P);
    assert.deepEqual(await getTags('by-other', P), [{ Key: 'team', Value: 'web' }]);
    await rejects(() => put('by-other-ops', 'team=ops', o, P), 'AccessDenied', 403);
    await rejects(() => put('by-other-none', undefined, o, P), 'AccessDenied', 403);
    await rejects(() => put('by-other-extra', 'team=web&secret=1', o, P), 'AccessDenied', 403);
    await o.send(
      new PutObjectTaggingCommand({ Bucket: P, Key: 'by-other', Tagging: { TagSet: [{ Key: 'team', Value: 'web' }] } }),
    );
    await rejects(
      () =>
        o.send(
          new PutObjectTaggingCommand({
            Bucket: P,
            Key: 'by-other',
            Tagging: { TagSet: [{ Key: 'team', Value: 'ops' }] },
          }),
        ),
      'AccessDenied',
      403,
    );
    await rejects(
      () =>
        o.send(
          new PutObjectTaggingCommand({
            Bucket: P,
            Key: 'by-other',
            Tagging: {
              TagSet: [
                { Key: 'team', Value: 'web' },
                { Key: 'x', Value: 'y' },
              ],
            },
          }),
        ),
      'AccessDenied',
      403,
    );
    assert.deepEqual(await getTags('by-other', P), [{ Key: 'team', Value: 'web' }], 'refused requests changed nothing');
  });

  test('the website serves what the policy opens by tag, and follows a retagging at once', T, async () => {
    await s3.send(
      new PutBucketWebsiteCommand({ Bucket: P, WebsiteConfiguration: { IndexDocument: { Suffix: 'index.html' } } }),
    );
    await put('page.html', 'public=yes', s3, P);
    await put('draft.html', 'public=no', s3, P);
    const web = (file: string) =>
      raw(t.endpoint, { path: '/', wirePath: `/${file}`, headers: { host: `${P}.localhost:${t.port}` } });
    const page = await web('page.html');
    assert.equal(page.status, 200);
    assert.equal(page.text, 'body of page.html');
    const draft = await web('draft.html');
    assert.equal(draft.status, 403);
    assert.match(String(draft.headers['content-type']), /^text\/html/, 'the website answered, not the S3 API');
    await s3.send(
      new PutObjectTaggingCommand({
        Bucket: P,
        Key: 'draft.html',
        Tagging: { TagSet: [{ Key: 'public', Value: 'yes' }] },
      }),
    );
    assert.equal((await web('draft.html')).text, 'body of draft.html');
    await s3.send(new DeleteObjectTaggingCommand({ Bucket: P, Key: 'page.html' }));
    assert.equal((await web('page.html')).status, 403);
  });

  test('x-amz-tagging-count is only for callers who may read the tags', T, async () => {
    await put('counted', 'public=yes&b=2', s3, P);
    assert.equal((await s3.send(new GetObjectCommand({ Bucket: P, Key: 'counted' }))).TagCount, 2);
    const anon = await raw(t.endpoint, { path: `/${P}/counted` });
    assert.equal(anon.status, 200);
    assert.equal(anon.headers['x-amz-tagging-count'], undefined);
    await rejects(() => o.send(new GetObjectTaggingCommand({ Bucket: P, Key: 'counted' })), 'AccessDenied', 403);
  });
});
