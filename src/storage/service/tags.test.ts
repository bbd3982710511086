import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { Storage } from './storage.js';

const open = (dir: string) => Storage.open({ dataDir: dir, maxObjectSize: 1024 * 1024, gcGraceMs: 0 });
const body = (s: string) => Readable.from([Buffer.from(s)]);

test('tags are stored with the object and the bucket, survive a reopen, and follow overwrite semantics', {
  timeout: 20_000,
}, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cellar-tags-unit-'));
  try {
    let s = await open(dir);
    const owner = s.createAddon({ name: 'o' });
    s.createBucket(owner, 'tagged', 'us-east-1', null);
    await s.putObject({
      bucket: 'tagged',
      key: 'a',
      ownerId: owner.id,
      body: body('one'),
      headers: {},
      acl: null,
      tags: [{ key: 'k', value: 'v' }],
    });
    await s.putObject({ bucket: 'tagged', key: 'b', ownerId: owner.id, body: body('two'), headers: {}, acl: null });
    s.setBucketTags('tagged', [{ key: 'cost', value: '1' }]);
    const before = s.headObject('tagged', 'b')!;
    s.setObjectTags('tagged', 'b', [
      { key: 'x', value: 'y' },
      { key: 'w', value: '' },
    ]);
    s.close();

    s = await open(dir);
    assert.deepEqual(s.headObject('tagged', 'a')!.tags, [{ key: 'k', value: 'v' }]);
    const b = s.headObject('tagged', 'b')!;
    assert.deepEqual(
      b.tags,
      [
        { key: 'x', value: 'y' },
        { key: 'w', value: '' },
      ],
      'the order is kept',
    );
    assert.equal(b.etag, before.etag);
    assert.equal(b.lastModified.getTime(), before.lastModified.getTime(), 'retagging is not a write of the object');
    assert.deepEqual(s.bucket('tagged')!.tags, [{ key: 'cost', value: '1' }]);

    await s.putObject({ bucket: 'tagged', key: 'a', ownerId: owner.id, body: body('three'), headers: {}, acl: null });
    assert.deepEqual(s.headObject('tagged', 'a')!.tags, [], 'an overwrite without tags clears them');
    s.setObjectTags('tagged', 'b', []);
    assert.deepEqual(s.headObject('tagged', 'b')!.tags, []);
    s.setBucketTags('tagged', null);
    assert.equal(s.bucket('tagged')!.tags, null);
    assert.throws(() => s.setObjectTags('tagged', 'missing', []), { code: 'NoSuchKey' });
    s.close();

    // Empty sets are stored as NULL: one spelling of "no tags".
    const db = new Database(path.join(dir, 'meta.db'), { readonly: true });
    assert.deepEqual(db.prepare('SELECT key, tags FROM objects ORDER BY key').all(), [
      { key: 'a', tags: null },
      { key: 'b', tags: null },
    ]);
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
