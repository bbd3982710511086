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

test('request ids count up in hex, carrying from digit to digit', { timeout: 5000 }, () => {
  const next = requestIds();
  const seen: string[] = [];
  for (let i = 1; i <= 70_000; i++) {
    const id = next();
    if ([1, 9, 10, 15, 16, 17, 255, 256, 4095, 4096, 65535, 65536, 70_000].includes(i)) seen.push(id.slice(6));
  }
  assert.deepEqual(
    seen,
    [1, 9, 10, 15, 16, 17, 255, 256, 4095, 4096, 65535, 65536, 70_000].map((n) =>
      n.toString(16).toUpperCase().padStart(10, '0'),
    ),
  );
});
