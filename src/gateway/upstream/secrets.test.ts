import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SecretCache } from './secrets.js';

test('one upstream look-up per key while cached; misses remembered briefly; failures not cached', {
  timeout: 30_000,
}, async () => {
  const calls: string[] = [];
  let fail = false;
  const cache = new SecretCache(
    {
      async secretOf(key) {
        calls.push(key);
        await new Promise((r) => setTimeout(r, 5));
        if (fail) throw new Error('rgw down');
        return key === 'KNOWN' ? { uid: 'cellar_a', secret: 's3cr3t' } : null;
      },
    },
    { maxEntries: 2, ttlMs: 60_000, negativeTtlMs: 60_000 },
  );
  const [x, y] = await Promise.all([cache.get('KNOWN'), cache.get('KNOWN')]);
  assert.deepEqual(x, { uid: 'cellar_a', secret: 's3cr3t' });
  assert.deepEqual(y, x);
  assert.equal(await cache.get('UNKNOWN'), null);
  assert.equal(await cache.get('UNKNOWN'), null);
  assert.deepEqual(calls, ['KNOWN', 'UNKNOWN']);

  fail = true;
  await assert.rejects(cache.get('OTHER'), /rgw down/);
  await assert.rejects(cache.get('OTHER'), /rgw down/);
  assert.deepEqual(calls, ['KNOWN', 'UNKNOWN', 'OTHER', 'OTHER']);
  // Bounded: a third key evicts the least recently used one.
  fail = false;
  await cache.get('THIRD');
  await cache.get('KNOWN');
  assert.equal(calls.filter((k) => k === 'KNOWN').length, 2);
});

test('forget drops a secret at once; suspect drops it only once it is old enough', { timeout: 30_000 }, async () => {
  let secret = 'old';
  let calls = 0;
  const cache = new SecretCache(
    {
      async secretOf() {
        calls++;
        return { uid: 'cellar_a', secret };
      },
    },
    { maxEntries: 10, ttlMs: 60_000, negativeTtlMs: 5_000 },
  );
  assert.equal((await cache.get('K'))?.secret, 'old');
  secret = 'new';
  // Just fetched: a refusal from RGW right now is not a reason to ask again.
  cache.suspect('K', 60_000);
  assert.equal((await cache.get('K'))?.secret, 'old');
  assert.equal(calls, 1);
  cache.suspect('K', 0);
  assert.equal((await cache.get('K'))?.secret, 'new');
  assert.equal(calls, 2);
  secret = 'newer';
  cache.forget('K');
  assert.equal((await cache.get('K'))?.secret, 'newer');
  assert.equal(calls, 3);
  // Unknown keys are left alone.
  cache.suspect('NOPE', 0);
  assert.equal(calls, 3);
});
