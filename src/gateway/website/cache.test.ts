import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { WebsiteCache, pathKeyOf } from './cache.js';
import { objectEntry } from './entity.js';
import type { WebsiteBucket } from './source.js';

const bucket = (name: string): WebsiteBucket => ({
  name,
  website: null,
  cors: null,
  contextFree: true,
  fingerprint: '',
  mayRead: () => true,
});
const entry = (key: string, etag = 'e1') =>
  objectEntry(
    'b',
    {
      key,
      size: 4,
      etag,
      lastModified: new Date(0),
      acl: null,
      headers: {},
      open: async () => Readable.from([Buffer.from('abcd')]),
    },
    { html: '', other: '' },
  );

function setup() {
  const cache = new WebsiteCache<string>({ maxBytes: 10_000, maxEntryBytes: 1000 });
  const slot = cache.makeSlot('b', bucket('b'), cache.seq('b'), 0);
  return { cache, slot };
}

test('an object event drops that key, the paths that looked at it and its bodies, nothing else', {
  timeout: 30_000,
}, () => {
  const { cache, slot } = setup();
  const seq = cache.seq('b');
  const a = entry('a.html');
  cache.setKey(slot, 'a.html', a, seq);
  cache.setKey(slot, 'b.html', entry('b.html'), seq);
  const pa = pathKeyOf(slot, false, 'h', '/a');
  const pb = pathKeyOf(slot, false, 'h', '/b');
  cache.setPath(slot, pa, 'answer-a', ['a', 'a.html'], seq);
  cache.setPath(slot, pb, 'answer-b', ['b', 'b.html'], seq);
  cache.setBody(a.bodyKey, Buffer.from('abcd'));
  cache.setBody(`${a.bodyKey}\0br`, Buffer.from('xx'));

  cache.onChange({ type: 'object', bucket: 'b', key: 'a.html' });
  assert.equal(cache.getKey(slot, 'a.html'), undefined);
  assert.equal(cache.getPath(pa), undefined);
  assert.equal(cache.getBody(a.bodyKey), undefined);
  assert.equal(cache.getBody(`${a.bodyKey}\0br`), undefined);
  assert.equal(cache.getPath(pb), 'answer-b');
  assert.ok(cache.getKey(slot, 'b.html'));
});

test('a cached miss is dropped when the key appears', { timeout: 30_000 }, () => {
  const { cache, slot } = setup();
  const p = pathKeyOf(slot, false, 'h', '/new');
  cache.setKey(slot, 'new', null, cache.seq('b'));
  cache.setPath(slot, p, '404', ['new', 'new.html', 'new/index.html', '404.html'], cache.seq('b'));
  assert.equal(cache.getKey(slot, 'new'), null);
  cache.onChange({ type: 'object', bucket: 'b', key: 'new/index.html' });
  assert.equal(cache.getPath(p), undefined);
  assert.equal(cache.getKey(slot, 'new'), null, 'other keys stay');
});

test('a bucket event drops the bucket and everything under it', { timeout: 30_000 }, () => {
  const { cache, slot } = setup();
  const p = pathKeyOf(slot, false, 'h', '/');
  cache.setKey(slot, 'index.html', entry('index.html'), cache.seq('b'));
  cache.setPath(slot, p, 'index', ['index.html'], cache.seq('b'));
  const before = cache.stats().meta;
  cache.onChange({ type: 'bucket', bucket: 'b', what: 'policy' });
  assert.equal(cache.slot('b'), undefined);
  assert.equal(cache.getPath(p), undefined);
  assert.equal(cache.stats().meta, before - 2);
});

test('an entry computed while the bucket changed is not kept', { timeout: 30_000 }, () => {
  const { cache, slot } = setup();
  const seq = cache.seq('b');
  cache.onChange({ type: 'object', bucket: 'b', key: 'x' });
  cache.setKey(slot, 'x', entry('x', 'old'), seq);
  assert.equal(cache.getKey(slot, 'x'), undefined);
  const p = pathKeyOf(slot, false, 'h', '/x');
  cache.setPath(slot, p, 'old', ['x'], seq);
  assert.equal(cache.getPath(p), undefined);
  // A change elsewhere does not hold this bucket back.
  const now = cache.seq('b');
  cache.onChange({ type: 'object', bucket: 'other', key: 'x' });
  cache.setKey(slot, 'x', entry('x', 'new'), now);
  assert.equal(cache.getKey(slot, 'x')?.obj.etag, 'new');
});

test('a slot read while its bucket changed is not cached; a replaced slot takes no entries', {
  timeout: 30_000,
}, () => {
  const cache = new WebsiteCache<string>({ maxBytes: 1000, maxEntryBytes: 100 });
  const seq = cache.seq('b');
  cache.onChange({ type: 'bucket', bucket: 'b', what: 'website' });
  const stale = cache.makeSlot('b', bucket('b'), seq, 0);
  assert.equal(cache.slot('b'), undefined);
  cache.setKey(stale, 'k', null, cache.seq('b'));
  assert.equal(cache.getKey(stale, 'k'), undefined);
  const fresh = cache.makeSlot('b', bucket('b'), cache.seq('b'), 0);
  assert.equal(cache.slot('b'), fresh);
  assert.ok(cache.isCurrent(fresh) && !cache.isCurrent(stale));
});

test('bodies are bounded by total bytes and by entry size', { timeout: 30_000 }, () => {
  const cache = new WebsiteCache<string>({ maxBytes: 3000, maxEntryBytes: 1000 });
  cache.setBody('big', Buffer.alloc(1001));
  assert.equal(cache.getBody('big'), undefined);
  for (let i = 0; i < 10; i++) cache.setBody(`k${i}`, Buffer.alloc(900));
  const s = cache.stats();
  assert.ok(s.bodyBytes <= 3000, `bytes ${s.bodyBytes}`);
  assert.ok(cache.getBody('k9'), 'the most recent stays');
  assert.equal(cache.getBody('k0'), undefined, 'the oldest was evicted');
});

test('a zero byte budget caches no bodies but still caches metadata', { timeout: 30_000 }, () => {
  const cache = new WebsiteCache<string>({ maxBytes: 0, maxEntryBytes: 1000 });
  cache.setBody('k', Buffer.from('x'));
  assert.equal(cache.getBody('k'), undefined);
  const slot = cache.makeSlot('b', bucket('b'), 0, 0);
  cache.setKey(slot, 'k', null, 0);
  assert.equal(cache.getKey(slot, 'k'), null);
});

test('evicted paths leave no dependency behind', { timeout: 30_000 }, () => {
  const cache = new WebsiteCache<string>({ maxBytes: 1000, maxEntryBytes: 100, maxMetaEntries: 2 });
  const slot = cache.makeSlot('b', bucket('b'), 0, 0);
  for (let i = 0; i < 5; i++) cache.setPath(slot, pathKeyOf(slot, false, 'h', `/p${i}`), `v${i}`, [`k${i}`], 0);
  assert.equal(slot.dependents.size, 2);
  assert.equal(slot.members.size, 2);
});

test('entries remember when the source last confirmed them; a path can be dropped alone', { timeout: 30_000 }, () => {
  const { cache, slot } = setup();
  const seq = cache.seq('b');
  cache.setKey(slot, 'a.html', entry('a.html'), seq, 1000);
  cache.setKey(slot, 'gone.html', null, seq, 1500);
  assert.equal(cache.getKeyChecked(slot, 'a.html')?.checkedAt, 1000);
  assert.deepEqual(cache.getKeyChecked(slot, 'gone.html'), { ...cache.getKeyChecked(slot, 'gone.html'), entry: null });
  cache.touchKey(slot, 'a.html', 2000);
  assert.equal(cache.getKeyChecked(slot, 'a.html')?.checkedAt, 2000);
  // Touching a key that is not cached caches nothing.
  cache.touchKey(slot, 'other.html', 2000);
  assert.equal(cache.getKeyChecked(slot, 'other.html'), undefined);

  const pa = pathKeyOf(slot, false, 'h', '/a');
  cache.setPath(slot, pa, 'answer-a', ['a', 'a.html'], seq, 1000);
  assert.deepEqual(
    { value: cache.getPathChecked(pa)?.value, checkedAt: cache.getPathChecked(pa)?.checkedAt },
    { value: 'answer-a', checkedAt: 1000 },
  );
  cache.dropPath(pa);
  assert.equal(cache.getPath(pa), undefined);
  assert.ok(cache.getKey(slot, 'a.html'), 'the keys it looked at stay');
  // Once dropped, the path can be cached again with a newer check time.
  cache.setPath(slot, pa, 'answer-a2', ['a', 'a.html'], seq, 3000);
  assert.equal(cache.getPathChecked(pa)?.checkedAt, 3000);
});
