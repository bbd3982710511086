import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isStorageError, type WebsiteConfig } from '#storage';
import {
  bucketVersioning,
  bucketWebsite,
  removeBucketWebsite,
  setBucketWebsite,
  websiteConfigOf,
  type WebsiteChoice,
} from './buckets.js';
import { withStorage } from './storage.js';

const SPA_RULE = { condition: { httpErrorCodeReturnedEquals: '404' }, redirect: { httpRedirectCode: '200' } };

const choices: [WebsiteChoice, WebsiteConfig | string][] = [
  [{}, { indexDocument: { suffix: 'index.html' } }],
  [{ index: 'home.htm' }, { indexDocument: { suffix: 'home.htm' } }],
  [{ error: '404.html' }, { indexDocument: { suffix: 'index.html' }, errorDocument: { key: '404.html' } }],
  [
    { spa: true },
    {
      indexDocument: { suffix: 'index.html' },
      routingRules: [{ ...SPA_RULE, redirect: { replaceKeyWith: 'index.html', ...SPA_RULE.redirect } }],
    },
  ],
  [
    { index: 'app.html', spa: true },
    {
      indexDocument: { suffix: 'app.html' },
      routingRules: [{ ...SPA_RULE, redirect: { replaceKeyWith: 'app.html', ...SPA_RULE.redirect } }],
    },
  ],
  [{ index: '' }, 'InvalidArgument'],
  [{ index: 'a/b' }, 'InvalidArgument'],
];

test('websiteConfigOf: owner choices become a validated website configuration', { timeout: 30_000 }, () => {
  for (const [choice, want] of choices) {
    if (typeof want === 'string') {
      assert.throws(
        () => websiteConfigOf(choice),
        (e: unknown) => isStorageError(e) && e.code === want,
        JSON.stringify(choice),
      );
    } else {
      assert.deepEqual(websiteConfigOf(choice), want, JSON.stringify(choice));
    }
  }
});

test('bucket website: set, show, remove on a real data directory', { timeout: 30_000 }, async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'cellar-admin-'));
  try {
    const config = { dataDir, maxObjectSize: 1024 * 1024, gcGraceSeconds: 0 };
    await withStorage(config, (s) => s.createBucket(s.createAddon({ name: 'o' }), 'site', 'us-east-1', null));
    await withStorage(config, (s) => {
      assert.equal(bucketWebsite(s, 'site'), null);
      const stored = setBucketWebsite(s, 'site', { index: 'home.html', error: 'oops.html' });
      assert.deepEqual(bucketWebsite(s, 'site'), stored);
      assert.equal(stored.errorDocument?.key, 'oops.html');
      removeBucketWebsite(s, 'site');
      assert.equal(bucketWebsite(s, 'site'), null);
      for (const f of [
        () => bucketWebsite(s, 'nope'),
        () => removeBucketWebsite(s, 'nope'),
        () => setBucketWebsite(s, 'nope', {}),
      ]) {
        assert.throws(f, (e: unknown) => isStorageError(e) && e.code === 'NoSuchBucket');
      }
    });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('bucket versioning: status, on, off on a real data directory; never back to unversioned', {
  timeout: 30_000,
}, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cellar-versioning-'));
  try {
    await withStorage({ dataDir: dir, maxObjectSize: 1024 * 1024, gcGraceSeconds: 0 }, (s) => {
      const owner = s.createAddon({ name: 'o' });
      s.createBucket(owner, 'vbucket', 'us-east-1', null);
      assert.equal(bucketVersioning(s, 'vbucket', 'status'), null);
      assert.equal(bucketVersioning(s, 'vbucket', 'on'), 'Enabled');
      assert.equal(bucketVersioning(s, 'vbucket', 'status'), 'Enabled');
      assert.equal(bucketVersioning(s, 'vbucket', 'off'), 'Suspended');
      assert.equal(s.bucket('vbucket')!.versioning, 'Suspended');
      assert.throws(
        () => bucketVersioning(s, 'nope', 'status'),
        (e: unknown) => isStorageError(e) && e.code === 'NoSuchBucket',
      );
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
