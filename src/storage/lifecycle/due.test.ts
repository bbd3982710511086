import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LifecycleConfig, LifecycleRule } from './config.js';
import {
  DEFAULT_DAY_MS,
  deleteMarkerDue,
  dueAfterDays,
  noncurrentDue,
  noncurrentVersionDue,
  objectExpiration,
  uploadAbortDue,
} from './due.js';

const DAY = DEFAULT_DAY_MS;
const at = (iso: string): number => Date.parse(iso);
const rule = (over: Partial<LifecycleRule>): LifecycleRule => ({ id: 'r', status: 'Enabled', filter: {}, ...over });

test('days are added, then rounded up to the next day boundary', { timeout: 5_000 }, () => {
  const cases: Array<[string, number, number, number, number]> = [
    // AWS's own example: created 2014-01-15 10:30 UTC, 3 days -> 2014-01-19 00:00 UTC (lifecycle-expire-general-considerations).
    ['AWS example', at('2014-01-15T10:30:00Z'), 3, DAY, at('2014-01-19T00:00:00Z')],
    ['created at midnight', at('2014-01-15T00:00:00Z'), 1, DAY, at('2014-01-16T00:00:00Z')],
    ['one millisecond after midnight', at('2014-01-15T00:00:00.001Z'), 1, DAY, at('2014-01-17T00:00:00Z')],
    ['2 s days', 10_500, 1, 2_000, 14_000],
    ['2 s days, on a boundary', 10_000, 2, 2_000, 14_000],
  ];
  for (const [name, from, days, dayMs, want] of cases) assert.equal(dueAfterDays(from, days, dayMs), want, name);
});

test('objectExpiration picks the earliest enabled matching rule', { timeout: 5_000 }, () => {
  const created = new Date('2024-05-01T12:00:00Z');
  const cfg: LifecycleConfig = {
    rules: [
      rule({ id: 'late', expiration: { days: 30 } }),
      rule({ id: 'early', filter: { prefix: 'logs/' }, expiration: { days: 2 } }),
      rule({ id: 'off', status: 'Disabled', expiration: { days: 1 } }),
      rule({ id: 'date', filter: { prefix: 'tmp/' }, expiration: { date: '2024-05-10T00:00:00.000Z' } }),
      rule({ id: 'uploads', abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } }),
    ],
  };
  const cases: Array<[string, string, { at: number; ruleId: string } | null]> = [
    ['logs/a', 'earliest of two', { at: at('2024-05-04T00:00:00Z'), ruleId: 'early' }],
    ['x', 'only the 30-day rule', { at: at('2024-06-01T00:00:00Z'), ruleId: 'late' }],
    ['tmp/x', 'a date rule earlier than the days rule', { at: at('2024-05-10T00:00:00Z'), ruleId: 'date' }],
  ];
  for (const [key, name, want] of cases)
    assert.deepEqual(objectExpiration(cfg, { key, size: 1, lastModified: created }, DAY), want, name);
  assert.equal(objectExpiration(null, { key: 'x', size: 1, lastModified: created }, DAY), null);
  assert.equal(
    objectExpiration(
      { rules: [rule({ id: 'off', status: 'Disabled', expiration: { days: 1 } })] },
      { key: 'x', size: 1, lastModified: created },
      DAY,
    ),
    null,
  );
});

test('uploadAbortDue honours the prefix, the status and the rounded due time', { timeout: 5_000 }, () => {
  const cfg: LifecycleConfig = {
    rules: [
      rule({ filter: { prefix: 'big/' }, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } }),
      rule({ id: 'off', status: 'Disabled', abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } }),
    ],
  };
  const cases: Array<[string, string, number, number, boolean]> = [
    ['due', 'big/x', 500, 4_000, true],
    ['not yet: rounded up', 'big/x', 500, 3_999, false],
    ['other prefix (only a disabled rule)', 'small/x', 500, 100_000, false],
  ];
  for (const [name, key, initiated, now, want] of cases)
    assert.equal(uploadAbortDue(cfg, key, initiated, now, 2_000), want, name);
});

test('noncurrentDue keeps the newest noncurrent versions and waits for the day', { timeout: 5_000 }, () => {
  const r = rule({ noncurrentVersionExpiration: { noncurrentDays: 1, newerNoncurrentVersions: 2 } });
  const cases: Array<[string, number, number, number, boolean]> = [
    ['old enough, beyond the kept ones', 0, 2, 2_000, true],
    ['old enough, but among the 2 newest', 0, 1, 2_000, false],
    ['too young', 1, 5, 2_000, false],
  ];
  for (const [name, since, rank, now, want] of cases)
    assert.equal(noncurrentDue(r, since, rank, now, 2_000), want, name);
  assert.equal(noncurrentDue(rule({ expiration: { days: 1 } }), 0, 9, 1e12, 2_000), false, 'no such action');
});

test('noncurrentVersionDue and deleteMarkerDue', { timeout: 5_000 }, () => {
  const cfg: LifecycleConfig = {
    rules: [
      rule({
        id: 'nc',
        filter: { prefix: 'v/' },
        noncurrentVersionExpiration: { noncurrentDays: 1, newerNoncurrentVersions: 1 },
      }),
      rule({ id: 'eodm', filter: { prefix: 'm/' }, expiration: { expiredObjectDeleteMarker: true } }),
      rule({ id: 'days', filter: { prefix: 'd/' }, expiration: { days: 2 } }),
      rule({
        id: 'tagged',
        filter: { tag: { key: 'k', value: 'v' } },
        noncurrentVersionExpiration: { noncurrentDays: 1 },
      }),
    ],
  };
  const nc: Array<[string, string, number, number, boolean]> = [
    ['rank 1, a day old', 'v/a', 1, 2_000, true],
    ['rank 0 is kept', 'v/a', 0, 2_000, false],
    ['not yet a day', 'v/a', 1, 1_999, false],
    ['no rule for the prefix', 'x/a', 5, 1e9, false],
  ];
  for (const [name, key, rank, now, want] of nc)
    assert.equal(noncurrentVersionDue(cfg, { key, size: 1, noncurrentSinceMs: 0 }, rank, now, 2_000), want, name);
  assert.equal(
    noncurrentVersionDue(
      cfg,
      { key: 'x', size: 1, tags: [{ key: 'k', value: 'v' }], noncurrentSinceMs: 0 },
      0,
      2_000,
      2_000,
    ),
    true,
    "a tag filter applies to the version's own tags",
  );
  const markers: Array<[string, string, number, boolean]> = [
    ['ExpiredObjectDeleteMarker: at once', 'm/a', 0, true],
    ['Days: once the marker is that old', 'd/a', 4_000, true],
    ['Days: not yet', 'd/a', 3_999, false],
    ['no rule', 'v/a', 1e9, false],
  ];
  for (const [name, key, now, want] of markers)
    assert.equal(deleteMarkerDue(cfg, { key, lastModified: new Date(0) }, now, 2_000), want, name);
});
