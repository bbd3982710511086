/**
 * The fleet's shared TLS state against a real Ceph RGW 16.2 (scripts/ceph/up.sh): the RGW
 * behaviour the issuance lock is built on, the lock under races of concurrent contenders, and
 * two certificate managers sharing one system bucket (one order per name, one renewal per fleet),
 * the fleet's domain-proof secret, and two gateways whose certificate list, metrics and domain
 * tokens come from the fleet while each serves its own operator certificates first.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { startCeph, type Rgw } from '../e2e/helpers/ceph.js';
import { createLogger } from '../src/shared/logger.js';
import type { IssuedPair, Issuer } from '../src/gateway/tls/acme.js';
import { selfSigned } from '../src/gateway/tls/certs.testutil.js';
import { CertificateManager, type Gate } from '../src/gateway/tls/manager.js';
import { CertRegistry } from '../src/gateway/tls/registry.js';
import { BucketCertVault } from '../src/gateway/upstream/cert-vault.js';
import { BucketChallenges } from '../src/gateway/upstream/challenges.js';
import { BucketLock, parseLease } from '../src/gateway/upstream/lease-lock.js';
import { SystemBucket } from '../src/gateway/upstream/system-bucket.js';
import { FleetProofSecret, PROOF_SECRET_KEY } from '../src/gateway/upstream/proof-secret.js';
import { proofToken } from '../src/gateway/tls/proof.js';
import { loadConfig } from '../src/config/index.js';
import { startUpstreamGateway, type RunningGateway } from '../src/main.js';

let rgw: Rgw;
let sdk: S3Client;
let round = 0;

before(
  async () => {
    rgw = await startCeph();
    sdk = new S3Client({
      endpoint: rgw.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: rgw.accessKey, secretAccessKey: rgw.secretKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
  },
  { timeout: 660_000 },
);

after(
  async () => {
    sdk?.destroy();
    await rgw?.down();
  },
  { timeout: 120_000 },
);

/** A fresh system bucket per test, as a gateway would make it. */
async function systemBucket(): Promise<SystemBucket> {
  const b = bucketClient(`fleet-${process.pid}-${round++}`);
  await b.ensure();
  return b;
}

/** One more client of the same bucket: another gateway (its own connections). */
function bucketClient(bucket: string): SystemBucket {
  return new SystemBucket({
    url: rgw.url,
    accessKey: rgw.accessKey,
    secretKey: rgw.secretKey,
    bucket,
    timeoutMs: 10_000,
  });
}

test('RGW 16.2: If-None-Match: * and a bare If-Match ETag hold on PUT; a quoted ETag never matches; versioned buckets and DELETE ignore them', {
  timeout: 120_000,
}, async () => {
  const b = await systemBucket();
  const first = await b.put('probe', 'one', { ifNoneMatch: '*' });
  assert.notEqual(first, 'conflict');
  assert.equal(await b.put('probe', 'two', { ifNoneMatch: '*' }), 'conflict');
  const etag = (first as { etag: string }).etag;
  assert.equal(await b.put('probe', 'two', { ifMatch: `"${etag}"` }), 'conflict', 'RFC 9110 spelling: no match');
  assert.equal(await b.put('probe', 'two', { ifMatch: 'not-the-etag' }), 'conflict');
  assert.notEqual(await b.put('probe', 'two', { ifMatch: etag }), 'conflict');
  assert.equal((await b.get('probe'))?.body.toString(), 'two');

  // DELETE with a wrong If-Match still deletes: why the lock never releases by DELETE.
  await sdk.send(new DeleteObjectCommand({ Bucket: b.name, Key: 'probe', IfMatch: '"0123456789abcdef"' }));
  assert.equal(await b.get('probe'), null);

  // In a versioned bucket the second "create only" PUT succeeds: why ensure() refuses one.
  const versioned = `fleet-versioned-${process.pid}`;
  await sdk.send(new CreateBucketCommand({ Bucket: versioned }));
  await sdk.send(new PutBucketVersioningCommand({ Bucket: versioned, VersioningConfiguration: { Status: 'Enabled' } }));
  await sdk.send(new PutObjectCommand({ Bucket: versioned, Key: 'k', Body: 'a', IfNoneMatch: '*' }));
  await sdk.send(new PutObjectCommand({ Bucket: versioned, Key: 'k', Body: 'b', IfNoneMatch: '*' }));
  await assert.rejects(bucketClient(versioned).ensure(), /versioning Enabled/);
});

test('ensure(): a private bucket, made once even when gateways start together', { timeout: 120_000 }, async () => {
  const name = `fleet-ensure-${process.pid}`;
  await Promise.all(Array.from({ length: 4 }, () => bucketClient(name).ensure()));
  await bucketClient(name).put('certs/x.json', 'secret');
  const anonymous = await fetch(`${rgw.url}/${name}/certs/x.json`);
  assert.equal(anonymous.status, 403);
  await anonymous.arrayBuffer();
  const listing = await fetch(`${rgw.url}/${name}`);
  assert.equal(listing.status, 403);
  await listing.arrayBuffer();
});

test('the lock: of N gateways racing for a free lock exactly one wins, every round', { timeout: 180_000 }, async () => {
  const b = await systemBucket();
  const N = 12;
  const locks = Array.from(
    { length: N },
    (_, i) => new BucketLock(bucketClient(b.name), { holder: `gw${i}`, leaseMs: 60_000 }),
  );
  for (let r = 0; r < 5; r++) {
    const leases = await Promise.all(locks.map((l) => l.acquire(`race-${r}.test`)));
    const winners = leases.filter((l) => l !== null);
    assert.equal(winners.length, 1, `round ${r}`);
    assert.equal(await locks[0]!.held(`race-${r}.test`), true);
    // While held, nobody else gets it.
    assert.equal(await locks[1]!.acquire(`race-${r}.test`), null);
    await winners[0]!.release();
    assert.equal(await locks[0]!.held(`race-${r}.test`), false);
    // Released: the next taker gets it at once.
    const next = await locks[2]!.acquire(`race-${r}.test`);
    assert.notEqual(next, null);
    await next!.release();
  }
});

test('the lock: an expired lease is taken over by exactly one of N, and the late holder cannot release its successor', {
  timeout: 180_000,
}, async () => {
  const b = await systemBucket();
  const clock = { t: Date.now() };
  const now = (): number => clock.t;
  const stale = new BucketLock(bucketClient(b.name), { holder: 'crashed', leaseMs: 1000, now });
  const old = await stale.acquire('takeover.test');
  assert.notEqual(old, null);
  clock.t += 5000;
  const N = 12;
  const leases = await Promise.all(
    Array.from({ length: N }, (_, i) =>
      new BucketLock(bucketClient(b.name), { holder: `gw${i}`, leaseMs: 60_000, now }).acquire('takeover.test'),
    ),
  );
  assert.equal(leases.filter((l) => l !== null).length, 1);
  const holder = parseLease((await b.get('locks/takeover.test'))!.body)!.holder;
  assert.match(holder, /^gw\d+$/);
  // The crashed holder comes back and releases: a conditional write that no longer matches.
  await old!.release();
  assert.equal(parseLease((await b.get('locks/takeover.test'))!.body)!.holder, holder);
  assert.equal(await stale.held('takeover.test'), true);
});

test('challenge answers written by one gateway are read through by another', { timeout: 120_000 }, async () => {
  const b = await systemBucket();
  const a = new BucketChallenges(bucketClient(b.name));
  const other = new BucketChallenges(bucketClient(b.name));
  assert.equal(await other.get('tok-1'), undefined);
  await a.set('tok-1', 'tok-1.thumbprint');
  assert.equal(a.get('tok-1'), 'tok-1.thumbprint', 'the writer answers from memory');
  // The miss above is remembered only briefly.
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(await other.get('tok-1'), 'tok-1.thumbprint');
  // Cached: a second read costs no round trip.
  assert.equal(other.get('tok-1'), 'tok-1.thumbprint');
  await a.delete('tok-1');
  assert.equal(await b.get('challenges/tok-1'), null);
});

test('the account key: two gateways creating it at once end up with the same one', { timeout: 120_000 }, async () => {
  const b = await systemBucket();
  let made = 0;
  const create = async (): Promise<string> => `key-${made++}\n`;
  const [k1, k2] = await Promise.all([
    new BucketCertVault(bucketClient(b.name)).accountKey(create),
    new BucketCertVault(bucketClient(b.name)).accountKey(create),
  ]);
  assert.equal(k1, k2);
  assert.equal((await b.get('acme/account-key.pem'))!.body.toString(), k1);
});

class CountingIssuer implements Issuer {
  calls: string[] = [];
  constructor(private readonly days = 30) {}
  async issue(name: string): Promise<IssuedPair> {
    this.calls.push(name);
    // An ACME order takes a while: long enough for every contender to arrive meanwhile.
    await new Promise((r) => setTimeout(r, 300));
    return selfSigned([name], this.days);
  }
}

const allow: Gate = {
  check: async (name) => ({ name, allowed: true, reason: 'ok', steps: [] }),
  checkSite: async (name) => ({ name, allowed: true, reason: 'ok', steps: [] }),
};

/** A gateway's certificate manager over the shared bucket. */
function gateway(bucket: string, issuer: Issuer, renewWindowMs = 0) {
  const s = bucketClient(bucket);
  const registry = new CertRegistry();
  const manager = new CertificateManager({
    store: new BucketCertVault(s),
    lock: new BucketLock(s, { holder: 'gw', leaseMs: 60_000 }),
    peerPollMs: 50,
    registry,
    gate: allow,
    issuer,
    logger: createLogger('silent'),
    retryBaseMs: 1000,
    ordersPerMinute: 100,
    renewWindowMs,
    renewCheckMs: 60_000,
  });
  return { manager, registry };
}

test('two gateways, first handshakes at the same moment: one order, the same certificate on both', {
  timeout: 120_000,
}, async () => {
  const b = await systemBucket();
  const issuer = new CountingIssuer();
  const gws = Array.from({ length: 3 }, () => gateway(b.name, issuer));
  const certs = await Promise.all(gws.map((g) => g.manager.obtain('www.fleet.test')));
  assert.deepEqual(issuer.calls, ['www.fleet.test']);
  assert.equal(new Set(certs.map((c) => c.fingerprint)).size, 1);
  // A gateway started later finds it in the bucket: no order.
  const late = gateway(b.name, issuer);
  assert.equal((await late.manager.obtain('www.fleet.test')).fingerprint, certs[0]!.fingerprint);
  assert.equal(issuer.calls.length, 1);
  assert.equal(await new BucketLock(b, { holder: 'x', leaseMs: 1 }).held('www.fleet.test'), false, 'lock released');
});

test('renewal is done once per fleet, and every gateway then serves the renewed certificate', {
  timeout: 120_000,
}, async () => {
  const b = await systemBucket();
  const name = 'renew.fleet.test';
  // A certificate a day from expiry with a two-day renewal window: due on every gateway.
  const vault = new BucketCertVault(b);
  const old = await vault.saveIssued(name, ...((p) => [p.keyPem, p.certPem] as const)(selfSigned([name], 1)), {});
  const issuer = new CountingIssuer(30);
  const gws = Array.from({ length: 3 }, () => gateway(b.name, issuer, 2 * 86_400_000));
  for (const g of gws) assert.equal((await g.manager.obtain(name)).fingerprint, old.fingerprint);
  await Promise.all(gws.map((g) => g.manager.renewDue()));
  assert.deepEqual(issuer.calls, [name]);
  const served = gws.map((g) => g.registry.lookup(name, Date.now())!.cert.fingerprint);
  assert.equal(new Set(served).size, 1);
  assert.notEqual(served[0], old.fingerprint);
  // Another pass anywhere: nothing is due any more.
  await Promise.all(gws.map((g) => g.manager.renewDue()));
  assert.equal(issuer.calls.length, 1);
  assert.ok(await sdk.send(new HeadObjectCommand({ Bucket: b.name, Key: `certs/${name}.json` })));
});

test('a failed order is not repeated by the gateways that waited for it: they take over its backoff', {
  timeout: 120_000,
}, async () => {
  const b = await systemBucket();
  const name = 'fails.fleet.test';
  const issuer = new CountingIssuer();
  const failing: Issuer = {
    issue: async (n) => {
      issuer.calls.push(n);
      await new Promise((r) => setTimeout(r, 300));
      throw new Error('HTTP-01 validation failed: connection refused');
    },
  };
  const gws = Array.from({ length: 3 }, () => gateway(b.name, failing));
  const outcomes = await Promise.allSettled(gws.map((g) => g.manager.obtain(name)));
  assert.deepEqual(issuer.calls, [name], 'one order for the fleet');
  assert.ok(outcomes.every((o) => o.status === 'rejected'));
  // Every gateway now knows the backoff, and a later handshake anywhere orders nothing.
  for (const g of gws) assert.equal(g.manager.status(name)?.failures, 1);
  const late = gateway(b.name, failing);
  await assert.rejects(late.manager.obtain(name), /backing off after 1 failure/);
  assert.equal(issuer.calls.length, 1);
  assert.match((await b.get(`status/${name}.json`))!.body.toString(), /connection refused/);
});

test('the domain-proof secret: gateways creating it at once agree, even before the bucket exists; a local key seeds it', {
  timeout: 120_000,
}, async () => {
  const fresh = `fleet-proof-${process.pid}`;
  const secrets = await Promise.all(
    Array.from({ length: 6 }, () => new FleetProofSecret(bucketClient(fresh), () => null).get()),
  );
  assert.equal(new Set(secrets.map((k) => k.toString('hex'))).size, 1);
  assert.equal(secrets[0]!.length, 32);
  const stored = await bucketClient(fresh).get(PROOF_SECRET_KEY);
  assert.equal(stored?.body.toString('utf8').trim(), secrets[0]!.toString('hex'));

  const b = await systemBucket();
  const legacy = randomBytes(32);
  assert.deepEqual(await new FleetProofSecret(bucketClient(b.name), () => legacy).get(), legacy);
  // Later gateways take the fleet's, whatever their own file says.
  assert.deepEqual(await new FleetProofSecret(bucketClient(b.name), () => randomBytes(32)).get(), legacy);
  assert.deepEqual(await new FleetProofSecret(bucketClient(b.name), () => null).get(), legacy);
});

/** The certificate a handshake for `servername` gets (its SHA-256 fingerprint), or the TLS error. */
function served(port: number, servername: string): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false });
    const timer = setTimeout(() => {
      s.destroy();
      resolve('TIMEOUT');
    }, 15_000);
    s.once('secureConnect', () => {
      clearTimeout(timer);
      resolve(s.getPeerCertificate().fingerprint256);
      s.destroy();
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(e.code ?? e.message);
    });
  });
}

/** An upstream gateway in this process, HTTPS and admin API on free ports, no ACME. */
async function startFleetGateway(dataDir: string, systemBucketName: string): Promise<RunningGateway> {
  const config = loadConfig(
    {},
    {
      dataDir,
      certsDir: path.join(dataDir, 'certs'),
      httpPort: 0,
      httpsPort: 0,
      adminPort: 0,
      host: '127.0.0.1',
      domain: 'fleet.test',
      logLevel: 'silent',
      accessLog: 'off',
      upstreamUrl: rgw.url,
      upstreamAccessKey: rgw.accessKey,
      upstreamSecretKey: rgw.secretKey,
      upstreamTimeoutMs: 10_000,
      systemBucket: systemBucketName,
      domainProof: true,
    },
  );
  return startUpstreamGateway(config, createLogger('silent'));
}

async function adminGet(g: RunningGateway, route: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${g.admin.url}${route}`, { headers: { authorization: `Bearer ${g.admin.token}` } });
  return { status: res.status, text: await res.text() };
}

test('two gateways: certificates, metrics and domain tokens from the fleet; operator certificates win on their own gateway', {
  timeout: 240_000,
}, async () => {
  const b = await systemBucket();
  const vault = new BucketCertVault(b);
  const SHARED = 'shared.fleet.test';
  const FLEET = 'vault.fleet.test';
  const FAILING = 'failing.fleet.test';
  const save = (name: string) => {
    const p = selfSigned([name]);
    return vault.saveIssued(name, p.keyPem, p.certPem, {});
  };
  const fleetShared = await save(SHARED);
  const fleetOnly = await save(FLEET);
  await vault.writeStatus({
    name: FAILING,
    failures: 2,
    lastError: 'HTTP-01 validation failed',
    lastErrorAt: new Date(),
    nextAttemptAt: new Date(Date.now() + 3_600_000),
  });

  // Gateway A: the operator's certificate for op.fleet.test and shared.fleet.test in its
  // CELLAR_CERTS_DIR, and the domain-proof key it had before the fleet kept one.
  const dirA = mkdtempSync(path.join(tmpdir(), 'cellar-fleet-a-'));
  const dirB = mkdtempSync(path.join(tmpdir(), 'cellar-fleet-b-'));
  // Expiring before the fleet's: local files win by precedence, not by the later expiry.
  const operator = selfSigned(['op.fleet.test', SHARED], 10);
  mkdirSync(path.join(dirA, 'certs', 'operator'), { recursive: true });
  writeFileSync(path.join(dirA, 'certs', 'operator', 'cert.pem'), operator.certPem);
  writeFileSync(path.join(dirA, 'certs', 'operator', 'key.pem'), operator.keyPem);
  const legacy = randomBytes(32);
  writeFileSync(path.join(dirA, 'domain-proof.key'), `${legacy.toString('hex')}\n`);
  const token = async (g: RunningGateway): Promise<string> => {
    const r = await adminGet(g, '/api/v1/domains/www.custom.test/token');
    assert.equal(r.status, 200, r.text);
    return (JSON.parse(r.text) as { value: string }).value;
  };
  const a = await startFleetGateway(dirA, b.name);
  let gb: RunningGateway | undefined;
  try {
    // The fleet has no secret yet: A's old key becomes it, so its published TXT records stay valid.
    assert.equal(await token(a), proofToken(legacy, 'www.custom.test'));
    gb = await startFleetGateway(dirB, b.name);
    const opFingerprint = new X509Certificate(operator.certPem).fingerprint256;
    assert.equal(await served(a.httpsPort!, SHARED), opFingerprint, "A serves its operator's file for its names");
    assert.equal(await served(a.httpsPort!, 'op.fleet.test'), opFingerprint);
    assert.equal(await served(gb.httpsPort!, SHARED), fleetShared.fingerprint, "B serves the fleet's");
    assert.equal(await served(gb.httpsPort!, 'op.fleet.test'), 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE');
    for (const g of [a, gb]) assert.equal(await served(g.httpsPort!, FLEET), fleetOnly.fingerprint);

    // The admin API lists the fleet's certificates and statuses, plus the gateway's own files.
    type Row = { name: string; names: string[]; managed: boolean; status: string; lastError: string | null };
    const list = async (g: RunningGateway): Promise<Row[]> => {
      const r = await adminGet(g, '/api/v1/certificates');
      assert.equal(r.status, 200, r.text);
      return JSON.parse(r.text) as Row[];
    };
    const fleetRows = [
      [FAILING, true, 'failing', 'HTTP-01 validation failed'],
      [SHARED, true, 'valid', null],
      [FLEET, true, 'valid', null],
    ];
    const shape = (rows: Row[]) => rows.map((r) => [r.name, r.managed, r.status, r.lastError]);
    assert.deepEqual(shape(await list(gb)), fleetRows);
    assert.deepEqual(shape(await list(a)), [
      ...fleetRows.slice(0, 1),
      ['operator', false, 'valid', null],
      ...fleetRows.slice(1),
    ]);

    // The certificate metrics count the same.
    const fleetEarliest = Math.min(fleetShared.notAfter.getTime(), fleetOnly.notAfter.getTime()) / 1000;
    for (const [g, valid, earliest] of [
      [a, 3, Date.parse(new X509Certificate(operator.certPem).validTo) / 1000],
      [gb, 2, fleetEarliest],
    ] as const) {
      const metrics = await (await fetch(`${g.admin.url}/metrics`)).text();
      assert.equal(Number(/^cellar_certificates\{state="valid"\} (\d+)$/m.exec(metrics)?.[1]), valid, metrics);
      assert.equal(Number(/^cellar_certificates\{state="failing"\} (\d+)$/m.exec(metrics)?.[1]), 1);
      assert.equal(
        Number(/^cellar_certificate_earliest_expiry_timestamp_seconds (\S+)$/m.exec(metrics)?.[1]),
        earliest,
      );
    }

    // B (no key of its own) hands out the same token.
    assert.equal(await token(gb), proofToken(legacy, 'www.custom.test'));
    assert.equal((await b.get(PROOF_SECRET_KEY))?.body.toString('utf8').trim(), legacy.toString('hex'));
  } finally {
    await Promise.all([a.close(), gb?.close()]);
    rmSync(dirA, { recursive: true, force: true });
    rmSync(dirB, { recursive: true, force: true });
  }
});
