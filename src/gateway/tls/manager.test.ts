import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls, { type SecureContext } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../shared/logger.js';
import type { IssuedPair, Issuer } from './acme.js';
import { selfSigned } from './certs.testutil.js';
import type { GateDecision } from './gate.js';
import { CertificateManager, IssuanceRefused, renewalDue, type ManagerOptions } from './manager.js';
import { CertRegistry } from './registry.js';
import { CertStore, type StoredCert } from './store.js';

const root = mkdtempSync(path.join(tmpdir(), 'cellar-manager-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;

class FakeIssuer implements Issuer {
  calls: string[] = [];
  fail: string | null = null;
  async issue(name: string): Promise<IssuedPair> {
    this.calls.push(name);
    await new Promise((r) => setTimeout(r, 20));
    if (this.fail) throw new Error(this.fail);
    return selfSigned([name]);
  }
}

const decision = (name: string, allowed: boolean): GateDecision => ({
  name,
  allowed,
  reason: allowed ? 'ok' : 'website: private',
  steps: [],
});

function setup(
  over: Partial<ManagerOptions> & { allow?: (n: string) => boolean; siteOk?: (n: string) => boolean } = {},
) {
  const store = new CertStore(path.join(root, `m${dirs++}`));
  const registry = new CertRegistry();
  const issuer = over.issuer === undefined ? new FakeIssuer() : over.issuer;
  const clock = { t: Date.now() };
  const gateCalls: string[] = [];
  const manager = new CertificateManager({
    store,
    registry,
    issuer,
    gate: {
      check: async (n) => {
        gateCalls.push(n);
        return decision(n, (over.allow ?? (() => true))(n));
      },
      checkSite: async (n) => decision(n, (over.siteOk ?? (() => true))(n)),
    },
    logger: createLogger('silent'),
    now: () => clock.t,
    retryBaseMs: 1000,
    ordersPerMinute: over.ordersPerMinute ?? 10,
    renewWindowMs: over.renewWindowMs ?? 0,
    renewCheckMs: 1000,
  });
  return { manager, store, registry, issuer: issuer as FakeIssuer, clock, gateCalls };
}

function sni(m: CertificateManager, name: string): Promise<SecureContext> {
  return new Promise((resolve, reject) => m.sniCallback(name, (err, ctx) => (err ? reject(err) : resolve(ctx!))));
}

test('renewalDue: a third of the lifetime by default, else the configured window', { timeout: 30_000 }, () => {
  const day = 86_400_000;
  const c = { notBefore: new Date(0), notAfter: new Date(90 * day) } as StoredCert;
  const cases: [number, number, boolean][] = [
    [59 * day, 0, false],
    [60 * day, 0, true],
    [10 * day, 85 * day, true],
    [10 * day, 70 * day, false],
  ];
  for (const [now, window, due] of cases)
    assert.equal(renewalDue(c, now, window), due, `now=${now / day}d window=${window / day}d`);
});

test('on-demand: concurrent handshakes share one gate check and one issuance; later ones hit the cache', {
  timeout: 30_000,
}, async () => {
  const { manager, registry, store, issuer, gateCalls } = setup();
  const ctxs = await Promise.all(Array.from({ length: 5 }, () => sni(manager, 'New.Site.test.')));
  assert.deepEqual(issuer.calls, ['new.site.test']);
  assert.deepEqual(gateCalls, ['new.site.test']);
  const served = registry.lookup('new.site.test', Date.now())!.context();
  for (const c of ctxs) assert.equal(c, served);
  assert.equal(await sni(manager, 'new.site.test'), served);
  assert.equal(issuer.calls.length, 1);
  assert.deepEqual(
    store.load().certs.map((c) => c.dir),
    ['new.site.test'],
  );
  assert.equal(manager.hasCertificate('new.site.test'), true);
  assert.equal(manager.hasCertificate('other.test'), false);
});

test('refusals never reach the issuer: gate says no, or issuance is off', { timeout: 30_000 }, async () => {
  const refused = setup({ allow: () => false });
  const ctx = await sni(refused.manager, 'private.test');
  assert.deepEqual(refused.issuer.calls, []);
  await assert.rejects(
    refused.manager.obtain('private.test'),
    (e: Error) => e instanceof IssuanceRefused && /website: private/.test(e.message),
  );
  // The same refusal context every time: a context without a certificate.
  assert.equal(await sni(refused.manager, 'other.test'), ctx);

  const off = setup({ issuer: null });
  assert.equal(typeof (await sni(off.manager, 'www.site.test')), 'object');
  assert.deepEqual(off.gateCalls, []);
});

test('a failed issuance is recorded and backs off exponentially; success clears it', { timeout: 30_000 }, async () => {
  const { manager, issuer, store, clock } = setup();
  issuer.fail = 'HTTP-01 validation of broken.test failed: connection refused';
  await assert.rejects(manager.obtain('broken.test'), /connection refused/);
  const first = manager.status('broken.test')!;
  assert.equal(first.failures, 1);
  assert.equal(first.nextAttemptAt.getTime() - first.lastErrorAt.getTime(), 1000);
  assert.deepEqual(
    store.load().statuses.map((s) => [s.name, s.failures, s.lastError]),
    [['broken.test', 1, issuer.fail]],
  );

  await assert.rejects(
    manager.obtain('broken.test'),
    (e: Error) => e instanceof IssuanceRefused && /backing off/.test(e.message),
  );
  assert.equal(issuer.calls.length, 1);

  clock.t += 1001;
  await assert.rejects(manager.obtain('broken.test'), /connection refused/);
  const second = manager.status('broken.test')!;
  assert.equal(second.failures, 2);
  assert.equal(second.nextAttemptAt.getTime() - second.lastErrorAt.getTime(), 2000);

  clock.t += 2001;
  issuer.fail = null;
  await manager.obtain('broken.test');
  assert.equal(manager.status('broken.test'), undefined);
  assert.deepEqual(store.load().statuses, []);
  assert.equal(issuer.calls.length, 3);
});

test('the global rate limit refuses new orders until tokens refill', { timeout: 30_000 }, async () => {
  const { manager, issuer, clock } = setup({ ordersPerMinute: 2 });
  await manager.obtain('a.test');
  await manager.obtain('b.test');
  await assert.rejects(
    manager.obtain('c.test'),
    (e: Error) => e instanceof IssuanceRefused && /rate limit/.test(e.message),
  );
  assert.deepEqual(issuer.calls, ['a.test', 'b.test']);
  clock.t += 30_000;
  await manager.obtain('c.test');
  assert.deepEqual(issuer.calls, ['a.test', 'b.test', 'c.test']);
});

test('renewal: due managed certificates are replaced live; others are left alone', { timeout: 30_000 }, async () => {
  const due = setup({ renewWindowMs: 365 * 86_400_000 });
  await due.manager.obtain('r.test');
  const before = due.registry.lookup('r.test', Date.now())!.cert.fingerprint;
  await due.manager.renewDue();
  assert.deepEqual(due.issuer.calls, ['r.test', 'r.test']);
  const after = due.registry.lookup('r.test', Date.now())!;
  assert.notEqual(after.cert.fingerprint, before);
  assert.equal(await sni(due.manager, 'r.test'), after.context());
  assert.equal(due.store.load().certs[0]!.fingerprint, after.cert.fingerprint);

  const fresh = setup();
  await fresh.manager.obtain('r.test');
  await fresh.manager.renewDue();
  assert.equal(fresh.issuer.calls.length, 1, 'not due yet');

  const gone = setup({ renewWindowMs: 365 * 86_400_000, siteOk: () => false });
  await gone.manager.obtain('r.test');
  await gone.manager.renewDue();
  assert.equal(gone.issuer.calls.length, 1, 'site no longer qualifies');

  const operator = setup({ renewWindowMs: 365 * 86_400_000 });
  const pair = selfSigned(['op.test']);
  operator.registry.add({ ...operator.store.saveIssued('op.test', pair.keyPem, pair.certPem, {}), managed: false });
  await operator.manager.renewDue();
  assert.deepEqual(operator.issuer.calls, []);
});

test('over a real TLS socket: known names complete the handshake, refused ones get a handshake_failure alert', {
  timeout: 30_000,
}, async () => {
  const { manager } = setup({ allow: (n) => n === 'ok.test' });
  const server = https.createServer({ SNICallback: manager.sniCallback }, (_req, res) => res.end('hi'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const connect = (servername: string): Promise<{ san?: string; error?: string }> =>
    new Promise((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false });
      s.once('secureConnect', () => {
        resolve({ san: s.getPeerCertificate().subjectaltname });
        s.end();
      });
      s.once('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code }));
    });
  try {
    assert.deepEqual(await connect('ok.test'), { san: 'DNS:ok.test' });
    assert.deepEqual(await connect('nope.test'), { error: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' });
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
