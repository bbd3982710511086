import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isVersionIdSyntax, newVersionId, versionIdStamp } from './ids.js';

test('version ids are 32 URL-safe characters whose stamps grow, even when the clock stalls or goes back', {
  timeout: 5_000,
}, () => {
  const times = [1_800_000_000_000, 1_800_000_000_000, 1_799_999_999_000, 1_800_000_000_001, 1_900_000_000_000];
  const ids = times.map((ms) => newVersionId(ms));
  for (const id of ids) assert.ok(isVersionIdSyntax(id), id);
  const stamps = ids.map((id) => versionIdStamp(id)!);
  for (let i = 1; i < stamps.length; i++) assert.ok(stamps[i]! > stamps[i - 1]!, `stamp ${i}`);
  assert.equal(stamps.at(-1), 1_900_000_000_000n << 16n);
});

test('versionIdStamp reads only ids of the issued shape', { timeout: 5_000 }, () => {
  const cases: [string, bigint | null][] = [
    ['null', null],
    ['', null],
    ['short', null],
    ['A'.repeat(33), null],
    ['AAAAAAAAAAEA' + 'x'.repeat(20), 1n],
  ];
  for (const [id, want] of cases) assert.equal(versionIdStamp(id), want, id);
});
