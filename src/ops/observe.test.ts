import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requestIds } from './observe.js';

test('request ids: 16 upper-case hex digits, unique, per-process prefix', { timeout: 5000 }, () => {
  const a = requestIds();
  const b = requestIds();
  const ids = Array.from({ length: 1000 }, () => a());
  for (const id of ids) assert.match(id, /^[0-9A-F]{16}$/);
  assert.equal(new Set(ids).size, ids.length);
  assert.equal(ids[1]!.slice(0, 6), ids[0]!.slice(0, 6));
  // Another process (another generator) draws another prefix (2^-24 chance of a clash).
  assert.notEqual(b().slice(0, 6), ids[0]!.slice(0, 6));
});
