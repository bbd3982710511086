import assert from 'node:assert/strict';
import { test } from 'node:test';
import { csrfProblem } from './routes.js';
import { LoginLimiter, SessionStore, cookieValue, secretMatches, sessionCookie } from './session.js';

test('cookieValue finds one cookie among others', { timeout: 5_000 }, () => {
  const cases: [string | undefined, string | undefined][] = [
    [undefined, undefined],
    ['', undefined],
    ['cellar_session=abc', 'abc'],
    ['a=1; cellar_session=abc; b=2', 'abc'],
    ['a=1;cellar_session=abc', 'abc'],
    ['xcellar_session=abc', undefined],
    ['cellar_session=', ''],
    ['=abc', undefined],
  ];
  for (const [header, want] of cases) assert.equal(cookieValue(header, 'cellar_session'), want, String(header));
});

test('sessionCookie: HttpOnly, SameSite=Strict, Path=/, Secure only on HTTPS', { timeout: 5_000 }, () => {
  assert.equal(sessionCookie('id1', 60, false), 'cellar_session=id1; Path=/; HttpOnly; SameSite=Strict; Max-Age=60');
  assert.equal(
    sessionCookie('id1', 60, true),
    'cellar_session=id1; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure',
  );
});

test('secretMatches compares whole secrets of any length', { timeout: 5_000 }, () => {
  const cases: [string, string, boolean][] = [
    ['secret-key', 'secret-key', true],
    ['secret-key', 'secret-kex', false],
    ['secret-key', 'secret-key ', false],
    ['secret-key', '', false],
    ['', '', true],
  ];
  for (const [a, b, want] of cases) assert.equal(secretMatches(a, b), want, `${a} vs ${b}`);
});

test('sessions expire at their deadline and end per add-on', { timeout: 5_000 }, () => {
  let now = 1_000;
  const s = new SessionStore(10_000, () => now);
  const a = s.create('cellar_a');
  const b = s.create('cellar_b');
  assert.equal(a.maxAgeSeconds, 10);
  assert.match(a.id, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a.id, b.id);
  assert.equal(s.addonOf(a.id), 'cellar_a');
  assert.equal(s.addonOf(undefined), null);
  assert.equal(s.addonOf('nope'), null);
  now = 10_999;
  assert.equal(s.addonOf(a.id), 'cellar_a');
  now = 11_000;
  assert.equal(s.addonOf(a.id), null);
  now = 1_000;
  assert.equal(s.addonOf(a.id), null, 'an expired session is forgotten');
  s.deleteAddon('cellar_b');
  assert.equal(s.addonOf(b.id), null);
  const c = s.create('cellar_c');
  s.delete(c.id);
  assert.equal(s.addonOf(c.id), null);
});

test('the login limiter refuses an address after max failures until its window ends', { timeout: 5_000 }, () => {
  let now = 0;
  const l = new LoginLimiter(3, 60_000, () => now, 2);
  for (let i = 0; i < 3; i++) {
    assert.equal(l.retryAfter('a'), 0);
    l.fail('a');
  }
  assert.equal(l.retryAfter('a'), 60);
  assert.equal(l.retryAfter('b'), 0, 'other addresses are not affected');
  now = 59_001;
  assert.equal(l.retryAfter('a'), 1);
  now = 60_000;
  assert.equal(l.retryAfter('a'), 0);
  l.fail('a');
  l.succeed('a');
  assert.equal(l.retryAfter('a'), 0);
  // Bounded: a third address pushes out the oldest.
  for (let i = 0; i < 3; i++) l.fail('x');
  l.fail('y');
  l.fail('z');
  assert.equal(l.retryAfter('x'), 0);
});

test('csrfProblem: the header is required; cross-site fetch metadata and foreign origins are refused', {
  timeout: 5_000,
}, () => {
  const h = (extra: Record<string, string>) => ({ host: 'admin.test:8081', 'x-cellar-dashboard': '1', ...extra });
  const cases: [Record<string, string>, boolean, RegExp | null][] = [
    [h({}), false, null],
    [h({ 'sec-fetch-site': 'same-origin', origin: 'http://admin.test:8081' }), false, null],
    [h({ origin: 'https://admin.test:8081' }), true, null],
    [{ host: 'admin.test:8081' }, false, /missing the x-cellar-dashboard header/],
    [h({ 'x-cellar-dashboard': '0' }), false, /missing/],
    [h({ 'sec-fetch-site': 'cross-site' }), false, /cross-site/],
    [h({ 'sec-fetch-site': 'same-site' }), false, /same-site/],
    [h({ 'sec-fetch-site': 'none' }), false, /none/],
    [h({ origin: 'http://evil.test' }), false, /evil\.test/],
    [h({ origin: 'http://admin.test:8081' }), true, /http:\/\/admin/],
    [h({ origin: 'null' }), false, /null/],
  ];
  for (const [headers, secure, want] of cases) {
    const got = csrfProblem(headers, secure);
    if (want === null) assert.equal(got, null, JSON.stringify(headers));
    else assert.match(got ?? '', want, JSON.stringify(headers));
  }
});
