import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { validateLifecycleConfig } from '../lifecycle/index.js';
import { Storage } from './storage.js';

const DAY = 1_000;

test("the worker walks only the rules' key ranges, page by page, and expires exactly the due objects", {
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cellar-lifecycle-unit-'));
  // Pages of 3 rows: every range below spans several pages, and page edges fall inside and outside prefixes.
  const s = await Storage.open({
    dataDir: dir,
    maxObjectSize: 1 << 20,
    gcGraceMs: 0,
    lifecycleDayMs: DAY,
    lifecycleBatchSize: 3,
  });
  try {
    const addon = s.createAddon({ name: 'o' });
    s.createBucket(addon, 'lc-unit', 'us-east-1', null);
    const keys = [
      ...Array.from({ length: 7 }, (_, i) => `a/${i}`),
      'a/x/deep',
      'aa',
      ...Array.from({ length: 4 }, (_, i) => `b/${i}`),
      'c/0',
      'c/1',
    ];
    for (const key of keys)
      await s.putObject({
        bucket: 'lc-unit',
        key,
        ownerId: addon.id,
        body: Readable.from([Buffer.from(key)]),
        headers: {},
        acl: null,
      });
    s.setBucketLifecycle(
      'lc-unit',
      validateLifecycleConfig([
        { id: 'a', status: 'Enabled', filter: { prefix: 'a/' }, expiration: { days: '1' } },
        { id: 'ax', status: 'Enabled', filter: { prefix: 'a/x/' }, expiration: { days: '1' } },
        { id: 'b', status: 'Enabled', filter: { prefix: 'b/' }, expiration: { days: '5' } },
        { id: 'c', status: 'Disabled', filter: { prefix: 'c/' }, expiration: { days: '1' } },
      ]),
    );
    const newest = Math.max(...keys.map((k) => s.headObject('lc-unit', k)!.lastModified.getTime()));
    // Two days on: a/ is due, b/ (five days) is not; c/ is disabled and never walked.
    const first = await s.applyLifecycle(newest + 2 * DAY);
    assert.deepEqual(first, { scanned: 12, expired: 8, noncurrent: 0, markers: 0, aborted: 0 });
    const left = s
      .listObjects('lc-unit', { prefix: '', delimiter: '', after: '', maxKeys: 100 })
      .contents.map((o) => o.key);
    assert.deepEqual(left, ['aa', 'b/0', 'b/1', 'b/2', 'b/3', 'c/0', 'c/1']);
    const second = await s.applyLifecycle(newest + 6 * DAY);
    assert.deepEqual(second, { scanned: 4, expired: 4, noncurrent: 0, markers: 0, aborted: 0 });
    assert.equal(s.usageTotals().objects, 3);
  } finally {
    s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('passes run one after another; a closed store stops a pass', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cellar-lifecycle-unit-'));
  const s = await Storage.open({
    dataDir: dir,
    maxObjectSize: 1 << 20,
    gcGraceMs: 0,
    lifecycleDayMs: DAY,
    lifecycleBatchSize: 2,
  });
  try {
    const addon = s.createAddon({ name: 'o' });
    s.createBucket(addon, 'lc-unit', 'us-east-1', null);
    for (let i = 0; i < 6; i++)
      await s.putObject({
        bucket: 'lc-unit',
        key: `k${i}`,
        ownerId: addon.id,
        body: Readable.from([Buffer.from('x')]),
        headers: {},
        acl: null,
      });
    s.setBucketLifecycle(
      'lc-unit',
      validateLifecycleConfig([{ id: 'all', status: 'Enabled', filter: {}, expiration: { days: '1' } }]),
    );
    const later = Date.now() + 10 * DAY;
    const [one, two] = await Promise.all([s.applyLifecycle(later), s.applyLifecycle(later)]);
    // The second pass started after the first had removed everything.
    assert.deepEqual([one.expired, two.expired, two.scanned], [6, 0, 0]);
  } finally {
    s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
