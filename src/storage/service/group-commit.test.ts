import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { GroupCommit } from './group-commit.js';

function setup() {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY)');
  let outer = 0;
  const gc = new GroupCommit(<T>(fn: () => T): T => {
    if (!db.inTransaction) outer++;
    return db.transaction(fn)();
  });
  const keys = () => (db.prepare('SELECT k FROM t ORDER BY k').all() as { k: string }[]).map((r) => r.k);
  const insert = (k: string) => () => db.prepare('INSERT INTO t (k) VALUES (?)').run(k).changes;
  return { db, gc, keys, insert, outer: () => outer };
}

test('commits queued in one turn share one transaction', { timeout: 30_000 }, async () => {
  const s = setup();
  const results = await Promise.all(['a', 'b', 'c'].map((k) => s.gc.run(s.insert(k))));
  assert.deepEqual(results, [1, 1, 1]);
  assert.deepEqual(s.keys(), ['a', 'b', 'c']);
  assert.equal(s.outer(), 1);
});

test('a failing commit rolls back alone; the others in its batch are kept', { timeout: 30_000 }, async () => {
  const s = setup();
  const ps = [
    s.gc.run(s.insert('a')),
    s.gc.run(() => {
      s.insert('b')();
      throw new Error('boom');
    }),
    s.gc.run(s.insert('a')), // primary key violation
    s.gc.run(s.insert('c')),
  ];
  const settled = await Promise.allSettled(ps);
  assert.deepEqual(
    settled.map((r) => r.status),
    ['fulfilled', 'rejected', 'rejected', 'fulfilled'],
  );
  assert.deepEqual(s.keys(), ['a', 'c']);
});

test('commits in later turns get their own transaction', { timeout: 30_000 }, async () => {
  const s = setup();
  await s.gc.run(s.insert('a'));
  await s.gc.run(s.insert('b'));
  assert.equal(s.outer(), 2);
});

test('flush() commits what is queued without waiting for the next turn', { timeout: 30_000 }, () => {
  const s = setup();
  void s.gc.run(s.insert('a'));
  s.gc.flush();
  assert.deepEqual(s.keys(), ['a']);
});

test('a failure of the shared commit rejects every commit in the batch', { timeout: 30_000 }, async () => {
  const s = setup();
  let calls = 0;
  const failing = new GroupCommit(<T>(fn: () => T): T => {
    calls++;
    if (calls === 1) {
      s.db.transaction(fn)();
      throw new Error('disk full');
    }
    return s.db.transaction(fn)();
  });
  const settled = await Promise.allSettled([failing.run(s.insert('x')), failing.run(s.insert('y'))]);
  assert.deepEqual(
    settled.map((r) => r.status),
    ['rejected', 'rejected'],
  );
});
