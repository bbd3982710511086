import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  defaultRetainUntil,
  lockOfNewVersion,
  removalBlock,
  retentionChangeBlock,
  type LockBlock,
  type LockState,
  type Retention,
} from './rules.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const LATER = new Date('2026-07-01T00:00:00.000Z');
const MUCH_LATER = new Date('2027-01-01T00:00:00.000Z');
const PAST = new Date('2026-05-01T00:00:00.000Z');
const gov = (until: Date): Retention => ({ mode: 'GOVERNANCE', retainUntil: until });
const comp = (until: Date): Retention => ({ mode: 'COMPLIANCE', retainUntil: until });

test('removalBlock: legal hold, compliance and governance in force, expired and bypassed', { timeout: 10_000 }, () => {
  const cases: Array<[string, LockState, boolean, LockBlock | null]> = [
    ['nothing', { retention: null, legalHold: null }, false, null],
    ['legal hold off', { retention: null, legalHold: false }, false, null],
    ['legal hold', { retention: null, legalHold: true }, false, 'legal-hold'],
    ['legal hold is never bypassed', { retention: gov(LATER), legalHold: true }, true, 'legal-hold'],
    ['governance in force', { retention: gov(LATER), legalHold: false }, false, 'governance'],
    ['governance bypassed', { retention: gov(LATER), legalHold: false }, true, null],
    ['compliance in force', { retention: comp(LATER), legalHold: false }, false, 'compliance'],
    ['compliance is never bypassed', { retention: comp(LATER), legalHold: false }, true, 'compliance'],
    ['compliance expired', { retention: comp(PAST), legalHold: false }, false, null],
    ['governance expired', { retention: gov(PAST), legalHold: false }, false, null],
    ['ends exactly now', { retention: comp(NOW), legalHold: false }, false, null],
  ];
  for (const [name, state, bypass, want] of cases) assert.equal(removalBlock(state, NOW, bypass), want, name);
});

test('retentionChangeBlock: lengthen freely, shorten or weaken only governance with the bypass', {
  timeout: 10_000,
}, () => {
  const cases: Array<[string, Retention | null, Retention | null, boolean, LockBlock | null]> = [
    ['first retention', null, gov(LATER), false, null],
    ['expired one replaced', comp(PAST), gov(LATER), false, null],
    ['expired one removed', comp(PAST), null, false, null],
    ['governance lengthened', gov(LATER), gov(MUCH_LATER), false, null],
    ['governance kept', gov(LATER), gov(LATER), false, null],
    ['governance to compliance, same date', gov(LATER), comp(LATER), false, null],
    ['governance shortened', gov(MUCH_LATER), gov(LATER), false, 'governance'],
    ['governance shortened with bypass', gov(MUCH_LATER), gov(LATER), true, null],
    ['governance removed', gov(LATER), null, false, 'governance'],
    ['governance removed with bypass', gov(LATER), null, true, null],
    ['compliance lengthened', comp(LATER), comp(MUCH_LATER), false, null],
    ['compliance shortened', comp(MUCH_LATER), comp(LATER), true, 'compliance'],
    ['compliance to governance', comp(LATER), gov(MUCH_LATER), true, 'compliance'],
    ['compliance removed', comp(LATER), null, true, 'compliance'],
  ];
  for (const [name, current, next, bypass, want] of cases)
    assert.equal(retentionChangeBlock(current, next, NOW, bypass), want, name);
});

test('defaultRetainUntil adds calendar days or years to the creation time', { timeout: 10_000 }, () => {
  const cases: Array<[{ days?: number; years?: number }, string, string]> = [
    [{ days: 1 }, '2026-06-01T12:00:00.000Z', '2026-06-02T12:00:00.000Z'],
    [{ days: 30 }, '2026-06-01T12:00:00.000Z', '2026-07-01T12:00:00.000Z'],
    [{ years: 1 }, '2026-06-01T12:00:00.000Z', '2027-06-01T12:00:00.000Z'],
    [{ years: 1 }, '2028-02-29T00:00:00.000Z', '2029-03-01T00:00:00.000Z'],
  ];
  for (const [period, created, want] of cases)
    assert.equal(
      defaultRetainUntil({ mode: 'GOVERNANCE', ...period }, new Date(created)).toISOString(),
      want,
      JSON.stringify(period),
    );
});

test('lockOfNewVersion: the request wins over the bucket default; no default, no retention', {
  timeout: 10_000,
}, () => {
  const config = { enabled: true as const, rule: { mode: 'COMPLIANCE' as const, days: 2 } };
  assert.deepEqual(lockOfNewVersion({ retention: null, legalHold: null }, config, NOW), {
    retention: comp(new Date('2026-06-03T12:00:00.000Z')),
    legalHold: null,
  });
  assert.deepEqual(lockOfNewVersion({ retention: gov(LATER), legalHold: true }, config, NOW), {
    retention: gov(LATER),
    legalHold: true,
  });
  assert.deepEqual(lockOfNewVersion({ retention: null, legalHold: true }, { enabled: true, rule: null }, NOW), {
    retention: null,
    legalHold: true,
  });
});
