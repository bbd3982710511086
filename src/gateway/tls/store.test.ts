import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { selfSigned } from './certs.testutil.js';
import { CertStore } from './store.js';

const root = mkdtempSync(path.join(tmpdir(), 'cellar-certstore-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshStore = (): CertStore => new CertStore(path.join(root, `s${n++}`));

const A = selfSigned(['www.site.test']);
const B = selfSigned(['www.site.test']);
const WILD = selfSigned(['*.cellar.test', 'cellar.test']);

test('a missing store loads as empty', { timeout: 30_000 }, () => {
  assert.deepEqual(freshStore().load(), { certs: [], statuses: [], problems: [] });
});

test('saveIssued then load: names, issuer, dates, managed, key mode 0600', { timeout: 30_000 }, () => {
  const store = freshStore();
  const saved = store.saveIssued('www.site.test', A.keyPem, A.certPem, { directory: 'https://ca.test/dir' });
  const [loaded] = store.load().certs;
  assert.ok(loaded);
  assert.deepEqual(loaded.names, ['www.site.test']);
  assert.equal(loaded.issuer, 'www.site.test');
  assert.equal(loaded.managed, true);
  assert.equal(loaded.fingerprint, saved.fingerprint);
  assert.ok(loaded.notAfter.getTime() > Date.now() + 29 * 86_400_000);
  assert.equal(statSync(path.join(store.root, 'www.site.test', 'key.pem')).mode & 0o777, 0o600);
  assert.equal(
    JSON.parse(readFileSync(path.join(store.root, 'www.site.test', 'meta.json'), 'utf8')).directory,
    'https://ca.test/dir',
  );
  // A renewal replaces the pair in place.
  store.saveIssued('www.site.test', B.keyPem, B.certPem, {});
  assert.notEqual(store.load().certs[0]!.fingerprint, saved.fingerprint);
});

test('operator certificates: any directory, names from the certificate, not managed; junk is reported, not fatal', {
  timeout: 30_000,
}, () => {
  const store = freshStore();
  mkdirSync(path.join(store.root, 'wildcard'), { recursive: true });
  writeFileSync(path.join(store.root, 'wildcard', 'cert.pem'), WILD.certPem);
  writeFileSync(path.join(store.root, 'wildcard', 'key.pem'), WILD.keyPem);
  mkdirSync(path.join(store.root, 'mismatch'));
  writeFileSync(path.join(store.root, 'mismatch', 'cert.pem'), A.certPem);
  writeFileSync(path.join(store.root, 'mismatch', 'key.pem'), B.keyPem);
  writeFileSync(path.join(store.root, '.gitkeep'), '');
  const { certs, problems } = store.load();
  assert.equal(certs.length, 1);
  assert.deepEqual(certs[0]!.names, ['*.cellar.test', 'cellar.test']);
  assert.equal(certs[0]!.managed, false);
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /mismatch: key.pem does not match/);
});

test('a swap cut short by a crash is rolled back or completed, never mixed', { timeout: 30_000 }, () => {
  const cases = [
    {
      what: 'both .new files present: nothing swapped yet, keep the old pair',
      files: ['key.pem.new', 'cert.pem.new'],
      keyNew: false,
    },
    {
      what: 'only cert.pem.new: the key was swapped, finish with the certificate',
      files: ['cert.pem.new'],
      keyNew: true,
    },
  ];
  for (const c of cases) {
    const store = freshStore();
    const old = store.saveIssued('www.site.test', A.keyPem, A.certPem, {});
    const dir = path.join(store.root, 'www.site.test');
    if (c.keyNew) writeFileSync(path.join(dir, 'key.pem'), B.keyPem);
    for (const f of c.files) writeFileSync(path.join(dir, f), f.startsWith('key') ? B.keyPem : B.certPem);
    // A reader (the CLI) leaves the repair to the server, whose write may still be in progress.
    store.load({ repair: false });
    assert.ok(
      c.files.every((f) => existsSync(path.join(dir, f))),
      c.what,
    );
    const { certs, problems } = store.load();
    assert.deepEqual(problems, [], c.what);
    assert.equal(certs[0]!.fingerprint === old.fingerprint, !c.keyNew, c.what);
    assert.ok(!existsSync(path.join(dir, 'cert.pem.new')) && !existsSync(path.join(dir, 'key.pem.new')), c.what);
  }
});

test('statuses: written, loaded with dates, cleared; a failing name without a certificate is listed', {
  timeout: 30_000,
}, () => {
  const store = freshStore();
  const st = {
    name: 'broken.test',
    failures: 2,
    lastError: 'connection refused',
    lastErrorAt: new Date('2030-01-01T00:00:00Z'),
    nextAttemptAt: new Date('2030-01-01T00:02:00Z'),
  };
  store.writeStatus(st);
  assert.deepEqual(store.load().statuses, [st]);
  assert.deepEqual(store.load().certs, []);
  store.clearStatus('broken.test');
  assert.deepEqual(store.load().statuses, []);
});

test('names that could escape the store are refused', { timeout: 30_000 }, () => {
  const store = freshStore();
  for (const bad of ['../x', '_acme', '.hidden', 'a/b'])
    assert.throws(() => store.clearStatus(bad), /not a certificate name/, bad);
});

test('the account key is created once and kept 0600', { timeout: 30_000 }, async () => {
  const store = freshStore();
  let made = 0;
  const create = async (): Promise<string> => `key-${++made}`;
  assert.equal(await store.accountKey(create), 'key-1');
  assert.equal(await store.accountKey(create), 'key-1');
  assert.equal(statSync(path.join(store.root, '_acme', 'account-key.pem')).mode & 0o777, 0o600);
});
