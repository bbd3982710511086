/**
 * The version history kept by Storage, through the methods the S3 API and lifecycle use:
 * what each write and delete makes current, keeps or destroys, change events, and the
 * noncurrent versions lifecycle expires (with their rank).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import type { ChangeEvent } from '../types.js';
import { Storage } from './storage.js';

let dir: string;
let s: Storage;
let ownerId: string;
const events: ChangeEvent[] = [];

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'cellar-versions-'));
  s = await Storage.open({ dataDir: dir, maxObjectSize: 1024 * 1024, gcGraceMs: 0, collectOnOpen: false });
  const owner = s.createAddon({ name: 'o' });
  ownerId = owner.id;
  s.createBucket(owner, 'vers', 'us-east-1', null);
  s.events.on('change', (e) => events.push(e));
});
after(() => {
  s.close();
  rmSync(dir, { recursive: true, force: true });
});

const put = (key: string, body: string) =>
  s.putObject({ bucket: 'vers', key, ownerId, body: Readable.from([Buffer.from(body)]), headers: {}, acl: null });
const history = (key: string) =>
  s
    .listObjectVersions('vers', { prefix: key, delimiter: '', keyMarker: '', versionIdMarker: null, maxKeys: 1000 })
    .versions.filter((v) => v.key === key)
    .map((v) => `${v.deleteMarker ? 'M' : s.headObject('vers', key, v.versionId)?.size}${v.isLatest ? '*' : ''}`);
const blobFile = (id: string) => path.join(dir, 'blobs', id.slice(0, 2), id);

test('unversioned: an overwrite frees the old bytes; a delete leaves nothing', { timeout: 30_000 }, async () => {
  const a = await put('u', 'aaaa');
  assert.equal(a.versionId, 'null');
  const b = await put('u', 'bb');
  assert.ok(!existsSync(blobFile(a.blobs[0]!.id)), 'the replaced bytes are gone');
  assert.deepEqual(history('u'), ['2*']);
  const del = await s.deleteObject('vers', 'u');
  assert.deepEqual(del, { deleteMarker: false, versionId: null });
  assert.ok(!existsSync(blobFile(b.blobs[0]!.id)));
  assert.deepEqual(history('u'), []);
});

test('enabled: versions accumulate, a delete adds a marker, removing versions promotes the next', {
  timeout: 30_000,
}, async () => {
  s.setBucketVersioning('vers', 'Enabled');
  const v1 = await put('k', 'one');
  const v2 = await put('k', 'two!');
  assert.deepEqual(history('k'), ['4*', '3']);
  events.length = 0;
  const m = await s.deleteObject('vers', 'k', ownerId);
  assert.equal(m.deleteMarker, true);
  assert.deepEqual(events, [{ type: 'object', bucket: 'vers', key: 'k' }], 'a marker is announced');
  assert.equal(s.headObject('vers', 'k'), null);
  assert.equal(s.currentDeleteMarker('vers', 'k')?.versionId, m.versionId);
  assert.deepEqual(history('k'), ['M*', '4', '3']);
  assert.ok(existsSync(blobFile(v1.blobs[0]!.id)) && existsSync(blobFile(v2.blobs[0]!.id)), 'old bytes kept');
  events.length = 0;
  await s.deleteObjectVersion('vers', 'k', m.versionId!);
  assert.deepEqual(events, [{ type: 'object', bucket: 'vers', key: 'k' }], 'a version removal is announced');
  assert.equal(s.headObject('vers', 'k')?.versionId, v2.versionId);
  await s.deleteObjectVersion('vers', 'k', v2.versionId);
  assert.ok(!existsSync(blobFile(v2.blobs[0]!.id)), 'a removed version frees its bytes');
  assert.equal(s.headObject('vers', 'k')?.versionId, v1.versionId);
  assert.equal(await s.deleteObjectVersion('vers', 'k', 'A'.repeat(32)), null, 'an unknown version is no change');
  assert.deepEqual(history('k'), ['3*']);
});

test('suspended: writes and deletes replace only the null version; bucket deletion waits for every version', {
  timeout: 30_000,
}, async () => {
  s.setBucketVersioning('vers', 'Suspended');
  const a = await put('s', 'null-a');
  const b = await put('s', 'null-bb');
  assert.equal(b.versionId, 'null');
  assert.ok(!existsSync(blobFile(a.blobs[0]!.id)), 'the earlier null version is destroyed');
  const del = await s.deleteObject('vers', 's');
  assert.deepEqual(del, { deleteMarker: true, versionId: 'null' });
  assert.ok(!existsSync(blobFile(b.blobs[0]!.id)));
  assert.deepEqual(history('s'), ['M*']);
  assert.throws(() => s.deleteBucket('vers'), { code: 'BucketNotEmpty' });
});
