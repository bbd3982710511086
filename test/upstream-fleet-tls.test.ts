/**
 * The fleet's shared TLS state against a real Ceph RGW 16.2 (scripts/ceph/up.sh): the RGW
 * behaviour the issuance lock is built on, the lock under races of concurrent contenders, and
 * two certificate managers sharing one system bucket (one order per name, one renewal per fleet).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
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
