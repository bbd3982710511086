import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cachedCatalog, fleetCatalog, localCatalog, operatorCertificates } from './catalog.js';
import { selfSigned } from './certs.testutil.js';
import { certificateRows } from './report.js';
import { CertStore, parseCertificate, type LoadResult } from './store.js';

const root = mkdtempSync(path.join(tmpdir(), 'cellar-catalog-'));
after(() => rmSync(root, { recursive: true, force: true }));

const ISSUED = selfSigned(['www.site.test']);
const OPERATOR = selfSigned(['*.cellar.test', 'www.site.test']);

/** A certificate directory with an issued certificate (meta.json) and an operator's one. */
function directory(name: string): string {
  const dir = path.join(root, name);
  new CertStore(dir).saveIssued('www.site.test', ISSUED.keyPem, ISSUED.certPem, {});
  mkdirSync(path.join(dir, 'wildcard'));
  writeFileSync(path.join(dir, 'wildcard', 'cert.pem'), OPERATOR.certPem);
  writeFileSync(path.join(dir, 'wildcard', 'key.pem'), OPERATOR.keyPem);
  return dir;
}

test('localCatalog: what the directory holds, managed as stored', { timeout: 30_000 }, async () => {
  const loaded = await localCatalog(directory('local')).load();
  assert.deepEqual(
    loaded.certs.map((c) => [c.dir, c.managed]),
    [
      ['wildcard', false],
      ['www.site.test', true],
    ],
  );
  assert.deepEqual(await localCatalog(path.join(root, 'missing')).load(), { certs: [], statuses: [], problems: [] });
});

test('operatorCertificates: every local certificate as an operator one, statuses ignored', { timeout: 30_000 }, () => {
  const dir = directory('operator');
  new CertStore(dir).writeStatus({
    name: 'www.site.test',
    failures: 2,
    lastError: 'local failure',
    lastErrorAt: new Date(),
    nextAttemptAt: new Date(),
  });
  const loaded = operatorCertificates(dir);
  assert.deepEqual(
    loaded.certs.map((c) => [c.dir, c.managed]),
    [
      ['wildcard', false],
      ['www.site.test', false],
    ],
  );
  assert.deepEqual(loaded.statuses, []);
});

test("fleetCatalog: the vault's certificates and statuses, then the gateway's own; rows attach the fleet's status to its certificate", {
  timeout: 30_000,
}, async () => {
  const dir = path.join(root, 'fleet-local');
  mkdirSync(path.join(dir, 'www.site.test'), { recursive: true });
  writeFileSync(path.join(dir, 'www.site.test', 'cert.pem'), OPERATOR.certPem);
  writeFileSync(path.join(dir, 'www.site.test', 'key.pem'), OPERATOR.keyPem);
  const now = Date.now();
  const vault: LoadResult = {
    certs: [parseCertificate('www.site.test', ISSUED.certPem, ISSUED.keyPem, true)],
    statuses: [
      {
        name: 'www.site.test',
        failures: 1,
        lastError: 'renewal failed',
        lastErrorAt: new Date(now),
        nextAttemptAt: new Date(now + 60_000),
      },
    ],
    problems: ['cellar-system/certs/bad.json: not a certificate document'],
  };
  const loaded = await fleetCatalog({ loadAll: async () => vault }, dir).load();
  assert.deepEqual(
    loaded.certs.map((c) => [c.dir, c.managed, c.fingerprint]),
    [
      ['www.site.test', true, vault.certs[0]!.fingerprint],
      ['www.site.test', false, parseCertificate('x', OPERATOR.certPem, OPERATOR.keyPem, false).fingerprint],
    ],
  );
  assert.deepEqual(loaded.problems, vault.problems);
  const { rows } = certificateRows(loaded, now, 0);
  assert.deepEqual(
    rows.map((r) => [r.name, r.managed, r.lastError]),
    [
      ['www.site.test', true, 'renewal failed'],
      ['www.site.test', false, null],
    ],
  );
});

test('cachedCatalog: one load within the TTL, a new one after it; a failed load is not kept', {
  timeout: 30_000,
}, async () => {
  let loads = 0;
  let fail = false;
  const clock = { t: 0 };
  const catalog = cachedCatalog(
    {
      load: async () => {
        loads++;
        if (fail) throw new Error('RGW down');
        return { certs: [], statuses: [], problems: [`load ${loads}`] };
      },
    },
    1000,
    () => clock.t,
  );
  const [a, b] = await Promise.all([catalog.load(), catalog.load()]);
  assert.equal(a, b);
  assert.equal(loads, 1);
  clock.t = 999;
  assert.deepEqual((await catalog.load()).problems, ['load 1']);
  clock.t = 1000;
  fail = true;
  await assert.rejects(catalog.load(), /RGW down/);
  fail = false;
  assert.deepEqual((await catalog.load()).problems, ['load 3']);
  assert.equal(loads, 3);
});
