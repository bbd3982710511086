import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CertRegistry, wildcardOf } from './registry.js';
import type { StoredCert } from './store.js';

const NOW = Date.parse('2030-01-01T00:00:00Z');
const DAY = 86_400_000;

function cert(dir: string, names: string[], notAfter = NOW + 30 * DAY): StoredCert {
  return {
    dir,
    names,
    certPem: '',
    keyPem: '',
    issuer: 'test',
    notBefore: new Date(NOW - DAY),
    notAfter: new Date(notAfter),
    serial: dir,
    fingerprint: dir,
    managed: true,
  };
}

test('wildcardOf: one label up, never for a bare domain', { timeout: 30_000 }, () => {
  const cases: [string, string | null][] = [
    ['a.cellar.test', '*.cellar.test'],
    ['a.b.cellar.test', '*.b.cellar.test'],
    ['cellar.test', null],
    ['localhost', null],
  ];
  for (const [name, want] of cases) assert.equal(wildcardOf(name), want, name);
});

test('lookup: exact, else a wildcard one label deep, else nothing', { timeout: 30_000 }, () => {
  const r = new CertRegistry();
  r.add(cert('wild', ['*.cellar.test', 'cellar.test']));
  r.add(cert('www.site.test', ['www.site.test']));
  const cases: [string, string | undefined][] = [
    ['www.site.test', 'www.site.test'],
    ['site.cellar.test', 'wild'],
    ['cellar.test', 'wild'],
    // A dotted bucket under the service domain is two labels deep: the wildcard does not cover it.
    ['docs.v2.cellar.test', undefined],
    ['other.test', undefined],
  ];
  for (const [name, dir] of cases) assert.equal(r.lookup(name, NOW)?.cert.dir, dir, name);
});

test('lookup: an expired exact certificate falls back to the wildcard; expired ones are not served', {
  timeout: 30_000,
}, () => {
  const r = new CertRegistry();
  r.add(cert('old', ['a.cellar.test'], NOW - DAY));
  assert.equal(r.lookup('a.cellar.test', NOW), undefined);
  assert.equal(r.exact('a.cellar.test')?.cert.dir, 'old');
  r.add(cert('wild', ['*.cellar.test']));
  assert.equal(r.lookup('a.cellar.test', NOW)?.cert.dir, 'wild');
});

test('add: the later expiry wins across directories; the same directory always replaces (renewal)', {
  timeout: 30_000,
}, () => {
  const r = new CertRegistry();
  r.add(cert('operator', ['x.test'], NOW + 90 * DAY));
  r.add(cert('x.test', ['x.test'], NOW + 30 * DAY));
  assert.equal(r.lookup('x.test', NOW)?.cert.dir, 'operator');
  const renewed = { ...cert('operator', ['x.test'], NOW + 10 * DAY), fingerprint: 'new' };
  r.add(renewed);
  assert.equal(r.lookup('x.test', NOW)?.cert.fingerprint, 'new');
  // The shadowed certificate is not served, so not listed (nor renewed).
  assert.deepEqual(
    r.all().map((c) => c.fingerprint),
    ['new'],
  );
});

test('pin: an operator certificate wins for its names over any added one while unexpired', { timeout: 30_000 }, () => {
  const r = new CertRegistry();
  r.pin(cert('operator', ['shared.test', 'op.test'], NOW + 10 * DAY));
  r.pin(cert('op-old', ['old.test'], NOW - DAY));
  r.pin(cert('op-wild', ['*.wild.test']));
  // The fleet's certificates arrive later, some expiring later than the operator's.
  r.add(cert('shared.test', ['shared.test'], NOW + 90 * DAY));
  r.add(cert('old.test', ['old.test']));
  r.add(cert('a.wild.test', ['a.wild.test']));
  const cases: [string, string | undefined][] = [
    ['shared.test', 'operator'],
    ['op.test', 'operator'],
    // An expired pinned certificate gives way to the fleet's.
    ['old.test', 'old.test'],
    // Names are exact-first, as without pinning: a pinned wildcard does not shadow an exact one.
    ['a.wild.test', 'a.wild.test'],
    ['b.wild.test', 'op-wild'],
    ['none.test', undefined],
  ];
  for (const [name, dir] of cases) assert.equal(r.lookup(name, NOW)?.cert.dir, dir, name);
  assert.equal(r.exact('shared.test')?.cert.dir, 'operator');
  assert.deepEqual(
    r
      .all()
      .map((c) => c.dir)
      .sort(),
    ['a.wild.test', 'old.test', 'op-old', 'op-wild', 'operator', 'shared.test'],
  );
});
