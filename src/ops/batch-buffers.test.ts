import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchBuffers } from './batch-buffers.js';

test('a batch is reused only once every byte up to its end is reported written', { timeout: 5000 }, () => {
  const pool = new BatchBuffers(64, 2);
  const a = pool.take();
  const b = pool.take();
  assert.notEqual(a, b);
  pool.handedOver(a, 40);
  pool.handedOver(b, 30);
  // Partial writes: a ends at byte 40, b at 70.
  pool.wrote(39);
  assert.notEqual(pool.take(), a, 'one byte of a still unwritten');
  pool.wrote(1);
  assert.equal(pool.take(), a, 'a reused once its 40 bytes are out');
  pool.wrote(29);
  const c = pool.take();
  assert.notEqual(c, b, 'b not yet out');
  pool.wrote(1);
  assert.equal(pool.take(), b);
});

test('a dropped batch is reused at once and does not shift the count of the others', { timeout: 5000 }, () => {
  const pool = new BatchBuffers(64, 4);
  const a = pool.take();
  const b = pool.take();
  const c = pool.take();
  pool.handedOver(a, 10);
  pool.handedOver(b, 20);
  pool.droppedLast();
  assert.equal(pool.take(), b, 'the dropped batch comes straight back');
  pool.handedOver(c, 5);
  // a (10) and c (5) are what the writer has: 10 bytes free a, 5 more free c.
  pool.wrote(10);
  assert.equal(pool.take(), a);
  pool.wrote(4);
  assert.notEqual(pool.take(), c);
  pool.wrote(1);
  assert.equal(pool.take(), c);
});

test('buffers of another size are never kept, and at most `spare` are', { timeout: 5000 }, () => {
  const pool = new BatchBuffers(16, 1);
  const odd = Buffer.alloc(100);
  pool.handedOver(odd, 100);
  pool.wrote(100);
  const fresh = pool.take();
  assert.notEqual(fresh, odd);
  assert.equal(fresh.length, 16);
  const x = pool.take();
  pool.handedOver(fresh, 16);
  pool.handedOver(x, 16);
  pool.wrote(32);
  const back = [pool.take(), pool.take()];
  assert.equal(back.filter((b) => b === fresh || b === x).length, 1, 'one spare kept');
});

test('a writer that stops reporting (a synchronous flush) only costs reuse', { timeout: 5000 }, () => {
  const pool = new BatchBuffers(8, 4);
  const a = pool.take();
  pool.handedOver(a, 8);
  for (let i = 0; i < 5; i++) assert.notEqual(pool.take(), a);
});
