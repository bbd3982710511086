import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leaseLive, parseLease } from './lease-lock.js';

test('parseLease: the holder and expiry of a lock body, null for anything else', { timeout: 30_000 }, () => {
  const cases: [string, ReturnType<typeof parseLease>][] = [
    ['{"holder":"gw1:42","expires":1000,"nonce":"ab"}', { holder: 'gw1:42', expires: 1000 }],
    ['{"holder":"","expires":0}', { holder: '', expires: 0 }],
    ['{"holder":"gw1"}', null],
    ['{"expires":5}', null],
    ['{"holder":1,"expires":5}', null],
    ['not json', null],
    ['', null],
  ];
  for (const [body, want] of cases) assert.deepEqual(parseLease(body), want, body);
});

test('leaseLive: only an unexpired, readable lease blocks others', { timeout: 30_000 }, () => {
  const cases: [ReturnType<typeof parseLease>, number, boolean][] = [
    [{ holder: 'a', expires: 2000 }, 1999, true],
    [{ holder: 'a', expires: 2000 }, 2000, false],
    [{ holder: 'a', expires: 2000 }, 5000, false],
    // Released: expiry 0.
    [{ holder: 'a', expires: 0 }, 1, false],
    // Unreadable (an operator's partial edit): never blocks issuance forever.
    [null, 0, false],
  ];
  for (const [lease, now, live] of cases)
    assert.equal(leaseLive(lease, now), live, `${JSON.stringify(lease)} at ${now}`);
});
