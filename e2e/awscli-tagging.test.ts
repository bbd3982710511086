/**
 * Tagging and GetObjectAttributes driven by Debian's aws cli against a real server process:
 * the s3api commands a user would type, their JSON output and their errors.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { awsCli, type AwsCli } from './helpers/awscli.js';
import { startServer, type E2eServer } from './helpers/server.js';

const BUCKET = 'tagged-bucket';
const T = { timeout: 120_000 };

let server: E2eServer;
let cli: AwsCli;
let work: string;

interface TagSet {
  TagSet: { Key: string; Value: string }[];
}

before(async () => {
  server = await startServer();
  cli = awsCli(server, 'cellar-e2e-aws-tags-');
  work = cli.work;
  await cli.ok(['s3api', 'create-bucket', '--bucket', BUCKET]);
});

after(async () => {
  await server?.dispose();
  cli?.dispose();
});

test('put-object --tagging, then get-, put- and delete-object-tagging', T, async () => {
  const file = path.join(work, 'doc.txt');
  writeFileSync(file, 'tagged document');
  await cli.ok([
    's3api',
    'put-object',
    '--bucket',
    BUCKET,
    '--key',
    'doc.txt',
    '--body',
    file,
    '--tagging',
    'team=web&env=prod',
  ]);
  const first = await cli.json<TagSet>(['s3api', 'get-object-tagging', '--bucket', BUCKET, '--key', 'doc.txt']);
  assert.deepEqual(first.TagSet, [
    { Key: 'team', Value: 'web' },
    { Key: 'env', Value: 'prod' },
  ]);

  const got = await cli.json<{ TagCount?: number }>([
    's3api',
    'get-object',
    '--bucket',
    BUCKET,
    '--key',
    'doc.txt',
    path.join(work, 'out.txt'),
  ]);
  assert.equal(got.TagCount, 2);
  assert.equal(readFileSync(path.join(work, 'out.txt'), 'utf8'), 'tagged document');

  await cli.ok([
    's3api',
    'put-object-tagging',
    '--bucket',
    BUCKET,
    '--key',
    'doc.txt',
    '--tagging',
    '{"TagSet":[{"Key":"stage","Value":"reviewed"}]}',
  ]);
  const second = await cli.json<TagSet>(['s3api', 'get-object-tagging', '--bucket', BUCKET, '--key', 'doc.txt']);
  assert.deepEqual(second.TagSet, [{ Key: 'stage', Value: 'reviewed' }]);

  await cli.ok(['s3api', 'delete-object-tagging', '--bucket', BUCKET, '--key', 'doc.txt']);
  const none = await cli.json<TagSet>(['s3api', 'get-object-tagging', '--bucket', BUCKET, '--key', 'doc.txt']);
  assert.deepEqual(none.TagSet, []);
});

test("put-object-tagging beyond AWS's limits fails with AWS's errors and keeps the old tags", T, async () => {
  const file = path.join(work, 'limits.txt');
  writeFileSync(file, 'x');
  await cli.ok([
    's3api',
    'put-object',
    '--bucket',
    BUCKET,
    '--key',
    'limits.txt',
    '--body',
    file,
    '--tagging',
    'keep=me',
  ]);
  const eleven = JSON.stringify({ TagSet: Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })) });
  await cli.fails(
    ['s3api', 'put-object-tagging', '--bucket', BUCKET, '--key', 'limits.txt', '--tagging', eleven],
    'BadRequest',
  );
  await cli.fails(
    [
      's3api',
      'put-object-tagging',
      '--bucket',
      BUCKET,
      '--key',
      'limits.txt',
      '--tagging',
      JSON.stringify({ TagSet: [{ Key: 'k'.repeat(129), Value: 'v' }] }),
    ],
    'InvalidTag',
  );
  await cli.fails(
    [
      's3api',
      'put-object-tagging',
      '--bucket',
      BUCKET,
      '--key',
      'limits.txt',
      '--tagging',
      '{"TagSet":[{"Key":"aws:owner","Value":"me"}]}',
    ],
    'InvalidTag',
  );
  await cli.fails(['s3api', 'get-object-tagging', '--bucket', BUCKET, '--key', 'missing.txt'], 'NoSuchKey');
  const kept = await cli.json<TagSet>(['s3api', 'get-object-tagging', '--bucket', BUCKET, '--key', 'limits.txt']);
  assert.deepEqual(kept.TagSet, [{ Key: 'keep', Value: 'me' }]);
});

test('put-, get- and delete-bucket-tagging; get-bucket-tagging on an untagged bucket is NoSuchTagSet', T, async () => {
  await cli.fails(['s3api', 'get-bucket-tagging', '--bucket', BUCKET], 'NoSuchTagSet');
  await cli.ok([
    's3api',
    'put-bucket-tagging',
    '--bucket',
    BUCKET,
    '--tagging',
    '{"TagSet":[{"Key":"cost-center","Value":"42"}]}',
  ]);
  const tags = await cli.json<TagSet>(['s3api', 'get-bucket-tagging', '--bucket', BUCKET]);
  assert.deepEqual(tags.TagSet, [{ Key: 'cost-center', Value: '42' }]);
  await cli.ok(['s3api', 'delete-bucket-tagging', '--bucket', BUCKET]);
  await cli.fails(['s3api', 'get-bucket-tagging', '--bucket', BUCKET], 'NoSuchTagSet');
});

interface Attributes {
  ETag?: string;
  Checksum?: { ChecksumSHA256?: string };
  ObjectParts?: {
    TotalPartsCount?: number;
    IsTruncated?: boolean;
    NextPartNumberMarker?: number;
    MaxParts?: number;
    Parts?: { PartNumber: number; Size: number }[];
  };
  StorageClass?: string;
  ObjectSize?: number;
  LastModified?: string;
}

test('get-object-attributes of a simple object: ETag, Checksum, StorageClass, ObjectSize', T, async () => {
  const body = randomBytes(4096);
  const file = path.join(work, 'simple.bin');
  writeFileSync(file, body);
  await cli.ok([
    's3api',
    'put-object',
    '--bucket',
    BUCKET,
    '--key',
    'simple.bin',
    '--body',
    file,
    '--checksum-algorithm',
    'SHA256',
  ]);
  const a = await cli.json<Attributes>([
    's3api',
    'get-object-attributes',
    '--bucket',
    BUCKET,
    '--key',
    'simple.bin',
    '--object-attributes',
    'ETag',
    'Checksum',
    'ObjectParts',
    'StorageClass',
    'ObjectSize',
  ]);
  assert.equal(a.ETag, createHash('md5').update(body).digest('hex'));
  assert.equal(a.Checksum?.ChecksumSHA256, createHash('sha256').update(body).digest('base64'));
  assert.equal(a.StorageClass, 'STANDARD');
  assert.equal(a.ObjectSize, 4096);
  assert.equal(a.ObjectParts, undefined);
  assert.ok(a.LastModified, JSON.stringify(a));
});

test(
  'get-object-attributes of a multipart upload (aws s3 cp) lists its parts, a page at a time with --max-parts',
  T,
  async () => {
    const file = path.join(work, 'big.bin');
    writeFileSync(file, randomBytes(20 * 1024 * 1024));
    // The cli's defaults: 8 MiB parts above an 8 MiB threshold, so three parts.
    await cli.ok(['s3', 'cp', file, `s3://${BUCKET}/big.bin`]);
    const a = await cli.json<Attributes>([
      's3api',
      'get-object-attributes',
      '--bucket',
      BUCKET,
      '--key',
      'big.bin',
      '--object-attributes',
      'ObjectParts',
      'ObjectSize',
    ]);
    assert.equal(a.ObjectSize, 20 * 1024 * 1024);
    assert.equal(a.ObjectParts?.TotalPartsCount, 3);
    assert.deepEqual(
      a.ObjectParts?.Parts?.map((p) => [p.PartNumber, p.Size]),
      [
        [1, 8 * 1024 * 1024],
        [2, 8 * 1024 * 1024],
        [3, 4 * 1024 * 1024],
      ],
    );
    const page = await cli.json<Attributes>([
      's3api',
      'get-object-attributes',
      '--bucket',
      BUCKET,
      '--key',
      'big.bin',
      '--object-attributes',
      'ObjectParts',
      '--max-parts',
      '1',
      '--part-number-marker',
      '1',
    ]);
    assert.equal(page.ObjectParts?.IsTruncated, true);
    assert.equal(page.ObjectParts?.NextPartNumberMarker, 2);
    assert.deepEqual(
      page.ObjectParts?.Parts?.map((p) => p.PartNumber),
      [2],
    );
    await cli.fails(
      ['s3api', 'get-object-attributes', '--bucket', BUCKET, '--key', 'nope.bin', '--object-attributes', 'ETag'],
      'NoSuchKey',
    );
  },
);
