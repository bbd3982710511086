/**
 * The blob accounting every integration test file runs when its server stops
 * (e2e/helpers/blob-audit.ts): it must see a leaked file, a missing one and a row named by nothing.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { Storage } from '#storage';
import { auditBlobs } from '../e2e/helpers/blob-audit.js';

test('the blob audit passes a clean store and names leaked, missing and unnamed blobs', {
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cellar-audit-'));
  try {
    const s = await Storage.open({ dataDir: dir, maxObjectSize: 1024 * 1024, gcGraceMs: 0, collectOnOpen: false });
    const owner = s.createAddon({ name: 'o' });
    s.createBucket(owner, 'bkt', 'us-east-1', null);
    s.setBucketVersioning('bkt', 'Enabled');
    const put = (key: string, body: string) =>
      s.putObject({
        bucket: 'bkt',
        key,
        ownerId: owner.id,
        body: Readable.from([Buffer.from(body)]),
        headers: {},
        acl: null,
      });
    await put('k', 'one');
    const current = await put('k', 'two');
    await put('gone', 'x');
    s.close();
    const clean = auditBlobs(dir);
    assert.deepEqual(clean.problems, []);
    assert.equal(clean.referenced, 3, 'two versions of k and gone');
    assert.equal(clean.files, 3);

    const blob = current.blobs[0]!.id;
    unlinkSync(path.join(dir, 'blobs', blob.slice(0, 2), blob));
    mkdirSync(path.join(dir, 'blobs', 'zz'), { recursive: true });
    writeFileSync(path.join(dir, 'blobs', 'zz', 'zzorphan'), 'leaked');
    const db = new Database(path.join(dir, 'meta.db'));
    db.prepare('INSERT INTO blobs (id, size) VALUES (?, ?)').run('unnamed', 1);
    db.close();
    const problems = auditBlobs(dir).problems.join('\n');
    assert.match(problems, new RegExp(`blob file of objects bkt/k \\(${blob}\\) is missing`));
    assert.match(problems, /blob file zz\/zzorphan is named by nothing \(leaked\)/);
    assert.match(problems, /blobs row unnamed is named by nothing/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
