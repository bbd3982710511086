import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isStorageError } from '#storage';
import { addonRecord, addonS3cfg, localAddonDirectory } from './addons.js';
import { withStorage } from './storage.js';

test('add-ons: create, list, s3cfg, delete on a real data directory', { timeout: 30_000 }, async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'cellar-admin-'));
  try {
    await withStorage({ dataDir, maxObjectSize: 1024 * 1024, gcGraceSeconds: 0 }, async (s) => {
      const d = localAddonDirectory(s);
      const a = await d.create({
        name: 'blog',
        email: 'me@example.com',
        accessKeyId: 'AKIAADMINTEST1',
        secretAccessKey: 'admin-secret-1',
      });
      assert.deepEqual(addonRecord(a), {
        id: a.id,
        name: 'blog',
        email: 'me@example.com',
        accessKeyId: 'AKIAADMINTEST1',
        secretAccessKey: 'admin-secret-1',
      });
      assert.deepEqual(
        (await d.list()).map((x) => x.id),
        [a.id],
      );
      const found = await d.get(a.id);
      assert.ok(found);
      const cfg = addonS3cfg(found, { endpoint: new URL('https://s3.example.com'), region: 'eu-1' });
      assert.match(cfg, /^access_key = AKIAADMINTEST1$/m);
      assert.match(cfg, /^bucket_location = eu-1$/m);
      assert.equal(await d.get('cellar_nosuchaddon'), null);
      assert.equal((await d.byAccessKey('AKIAADMINTEST1'))?.id, a.id);
      assert.equal(await d.byAccessKey('AKIANOSUCHKEY1'), null);
      await assert.rejects(
        d.create({ accessKeyId: 'ONLYKEY' }),
        (e: unknown) => isStorageError(e) && e.code === 'InvalidArgument',
      );
      await d.delete(a.id);
      assert.deepEqual(await d.list(), []);
      await assert.rejects(d.delete(a.id), (e: unknown) => isStorageError(e) && e.code === 'InvalidArgument');
    });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
