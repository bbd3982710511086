/**
 * HTTPS for every site, end to end against Debian's Pebble: on-demand issuance behind the gate,
 * an operator wildcard, dotted buckets, failures with backoff, the HTTP -> HTTPS redirect and a
 * restart that serves the stored certificate. Pebble's HTTP-01 validations come to the
 * gateway's HTTP port; challtestsrv is the DNS of both Pebble and the gateway's gate.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, PutBucketPolicyCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Pebble, makeCa, signLeaf } from './helpers/pebble.js';
import { run } from './helpers/run.js';
import { freePort, sdkClient, startServer, type E2eServer } from './helpers/server.js';
import { handshake, httpRequest } from './helpers/tls.js';

const SITE = 'www.site-one.test';
const page = (bucket: string): string => `<!DOCTYPE html><title>${bucket}</title><h1>Hello from ${bucket}</h1>\n`;
const INDEX = page(SITE);
const ALERT = 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE';

let pebble: Pebble;
let server: E2eServer;
let s3: S3Client;
let httpsPort: number;
let work: string;
/** The operator's CA, which signed the wildcard of the service domain. */
let operatorCa: string;

const publicPolicy = (bucket: string): string =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'public',
        Effect: 'Allow',
        Principal: '*',
        Action: ['s3:GetObject'],
        Resource: `arn:aws:s3:::${bucket}/*`,
      },
    ],
  });

async function site(bucket: string, opts: { public: boolean }): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: 'index.html', Body: page(bucket), ContentType: 'text/html' }),
  );
  if (opts.public) await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: publicPolicy(bucket) }));
}

function curl(name: string, extra: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return run('curl', [
    '-sS',
    '--max-time',
    '20',
    '--resolve',
    `${name}:${httpsPort}:127.0.0.1`,
    '--cacert',
    pebble.rootPath,
    ...extra,
    `https://${name}:${httpsPort}/`,
  ]);
}

interface CertRow {
  name: string;
  issuer: string | null;
  notAfter: string | null;
  status: string;
  lastError: string | null;
  lastErrorAt: string | null;
  failures: number;
  nextAttemptAt: string | null;
}

async function certList(): Promise<CertRow[]> {
  const r = await server.cli(['cert', 'list', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as CertRow[];
}

before(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'cellar-e2e-acme-'));
  pebble = await Pebble.prepare();
  // The operator's wildcard for the service domain, from a CA of its own, dropped into the store.
  const caDir = path.join(work, 'operator-ca');
  mkdirSync(caDir);
  makeCa(caDir, 'operator test CA');
  const wild = signLeaf(caDir, 'wildcard', 'DNS:*.cellar.test,DNS:cellar.test', 365);
  operatorCa = readFileSync(path.join(caDir, 'ca.pem'), 'utf8');
  const certsDir = path.join(work, 'certs');
  mkdirSync(path.join(certsDir, 'service-wildcard'), { recursive: true });
  writeFileSync(path.join(certsDir, 'service-wildcard', 'cert.pem'), readFileSync(wild.certPath));
  writeFileSync(path.join(certsDir, 'service-wildcard', 'key.pem'), readFileSync(wild.keyPath), { mode: 0o600 });

  httpsPort = await freePort();
  server = await startServer({
    CELLAR_DOMAIN: 'cellar.test',
    CELLAR_HTTPS_PORT: String(httpsPort),
    CELLAR_CERTS_DIR: certsDir,
    CELLAR_ACME_DIRECTORY: pebble.directoryUrl,
    CELLAR_ACME_EMAIL: 'ops@cellar.test',
    CELLAR_DNS_RESOLVER: pebble.dnsServer,
    CELLAR_SERVICE_ADDRESSES: '127.0.0.1,::1',
    CELLAR_ACME_BACKOFF_MIN_MS: '50',
    CELLAR_ACME_HTTP_RETRIES: '0',
    // Long enough that the probe right after a failure lands inside the backoff on a loaded machine.
    CELLAR_ACME_RETRY_BASE_SECONDS: '5',
    NODE_EXTRA_CA_CERTS: pebble.listenerCaPath,
  });
  await pebble.start(server.port);
  s3 = sdkClient(server);
  await site(SITE, { public: true });
  await site('private.example.test', { public: false });
  await site('elsewhere.example.test', { public: true });
  await site('broken.example.test', { public: true });
  await site('docs.v2', { public: true });
  await site('plain', { public: true });
  await site('many.example.test', { public: true });
  // The owner of elsewhere.example.test points it at another host.
  await pebble.addA('elsewhere.example.test', ['10.9.9.9']);
  // An AAAA to an address that is ours on paper but where nothing listens: the gate passes,
  // Pebble's VA prefers IPv6 and its validation fails with "connection refused".
  await pebble.addAaaa('broken.example.test', ['::1']);
});

after(async () => {
  s3?.destroy();
  await server?.dispose();
  await pebble?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('a public bucket: the first HTTPS request obtains a certificate; curl verifies the chain and gets the index page', {
  timeout: 300_000,
}, async () => {
  const before = pebble.orders();
  const r = await curl(SITE, ['-w', '\n%{ssl_verify_result}']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${INDEX}\n0`);
  assert.equal(pebble.orders(), before + 1);
  // Warm: the certificate is in memory now.
  const warm = await curl(SITE);
  assert.equal(warm.stdout, INDEX);
  assert.equal(pebble.orders(), before + 1);
  const row = (await certList()).find((c) => c.name === SITE);
  assert.equal(row?.status, 'valid');
  assert.match(row?.issuer ?? '', /^Pebble Intermediate CA/);
  assert.ok(Date.parse(row!.notAfter!) > Date.now() + 365 * 86_400_000);
});

test('no bucket, a private bucket, DNS pointing elsewhere: no order reaches Pebble and the handshake fails cleanly', {
  timeout: 300_000,
}, async () => {
  const before = pebble.orders();
  for (const name of [
    'nobucket.example.test',
    'private.example.test',
    'elsewhere.example.test',
    'nobucket.deep.cellar.test',
  ]) {
    const h = await handshake(httpsPort, name, pebble.rootPem);
    assert.equal(h.ok, false, name);
    // A hang would end in the probe's own TIMEOUT, a reset in ECONNRESET: only an alert is a refusal.
    assert.equal(h.error, ALERT, `${name}: a TLS alert, not a hang or a reset`);
  }
  assert.equal(pebble.orders(), before, pebble.log());

  const check = await server.cli(['domain', 'check', 'elsewhere.example.test']);
  assert.equal(check.code, 1);
  assert.match(check.stdout, /dns\s+FAIL\s+A\/AAAA 10\.9\.9\.9 not among the service addresses/);
  assert.match(check.stdout, /website\s+ok\s+bucket policy lets anyone read index\.html/);
  const priv = await server.cli(['domain', 'check', 'private.example.test']);
  assert.equal(priv.code, 1);
  assert.match(priv.stdout, /website\s+FAIL\s+private/);
  const none = await server.cli(['domain', 'check', 'nobucket.example.test', '--json']);
  assert.equal(JSON.parse(none.stdout).decision.steps[1].detail, 'no bucket named nobucket.example.test');
  const ok = await server.cli(['domain', 'check', SITE]);
  assert.equal(ok.code, 0, ok.stdout);
  assert.match(ok.stdout, /certificate: www\.site-one\.test from Pebble Intermediate CA/);
});

test('the operator wildcard covers one label; a dotted bucket under the service domain gets its own certificate', {
  timeout: 300_000,
}, async () => {
  const before = pebble.orders();
  const plain = await handshake(httpsPort, 'plain.cellar.test', operatorCa);
  assert.equal(plain.ok, true, plain.error);
  assert.equal(plain.issuer, 'operator test CA');
  assert.equal(pebble.orders(), before);

  const r = await curl('docs.v2.cellar.test');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, page('docs.v2'));
  assert.equal(pebble.orders(), before + 1);
  const h = await handshake(httpsPort, 'docs.v2.cellar.test', pebble.rootPem);
  assert.equal(h.subjectAltName, 'DNS:docs.v2.cellar.test');
});

test('concurrent first handshakes for one name share a single order', { timeout: 300_000 }, async () => {
  const before = pebble.orders();
  const all = await Promise.all(
    Array.from({ length: 8 }, () => handshake(httpsPort, 'many.example.test', pebble.rootPem)),
  );
  for (const h of all) assert.equal(h.ok, true, h.error);
  assert.equal(new Set(all.map((h) => h.fingerprint)).size, 1);
  assert.equal(pebble.orders(), before + 1);
});

test('HTTP -> HTTPS: 308 for website GET/HEAD once the host has a certificate; challenge path and S3 API exempt', {
  timeout: 300_000,
}, async () => {
  const host = `${SITE}:${server.port}`;
  for (const method of ['GET', 'HEAD']) {
    const r = await httpRequest(server.port, host, '/about?x=1', method);
    assert.equal(r.status, 308, method);
    assert.equal(r.headers.location, `https://${SITE}:${httpsPort}/about?x=1`);
  }
  // No certificate yet for this host: served over HTTP as before.
  const noCert = await httpRequest(server.port, 'plain2.example.test', '/');
  assert.notEqual(noCert.status, 308);
  const elsewhere = await httpRequest(server.port, 'elsewhere.example.test', '/');
  assert.equal(elsewhere.status, 200);
  assert.equal(elsewhere.body, page('elsewhere.example.test'));
  // The ACME responder answers before any redirect (an unknown token: 404, not 308).
  const challenge = await httpRequest(server.port, host, '/.well-known/acme-challenge/no-such-token');
  assert.equal(challenge.status, 404);
  assert.equal(challenge.body, 'No such ACME challenge.\n');
  // S3 API requests are never redirected.
  const api = await httpRequest(server.port, host, '/?acl');
  assert.equal(api.status, 403);
  assert.match(api.body, /<Code>AccessDenied<\/Code>/);
});

test('a failing validation: a clear error in `cellar cert list`, then exponential backoff', {
  timeout: 300_000,
}, async () => {
  const name = 'broken.example.test';
  const before = pebble.orders();
  const first = await handshake(httpsPort, name, pebble.rootPem);
  assert.equal(first.error, ALERT);
  assert.equal(pebble.orders(), before + 1);
  // At once, within the backoff: refused without an order.
  const again = await handshake(httpsPort, name, pebble.rootPem);
  assert.equal(again.error, ALERT);
  assert.equal(pebble.orders(), before + 1);

  const row = (await certList()).find((c) => c.name === name);
  assert.equal(row?.status, 'failing');
  assert.equal(row?.failures, 1);
  assert.match(
    row?.lastError ?? '',
    /^HTTP-01 validation of broken\.example\.test failed: .*\[::1\]:\d+: connect: connection refused.*urn:ietf:params:acme:error:/,
  );
  const text = await server.cli(['cert', 'list']);
  assert.match(text.stdout, /^broken\.example\.test\s+-\s+-\s+failing\s+HTTP-01 validation/m);
  assert.match(text.stdout, /^www\.site-one\.test\s+Pebble Intermediate CA \S+\s+\d{4}-\S+\s+valid\s+-$/m);

  // After it (5 s base): one more attempt, then twice the wait.
  await new Promise((r) => setTimeout(r, Date.parse(row!.nextAttemptAt!) - Date.now() + 100));
  await handshake(httpsPort, name, pebble.rootPem);
  assert.equal(pebble.orders(), before + 2);
  const second = (await certList()).find((c) => c.name === name)!;
  assert.equal(second.failures, 2);
  const wait = Date.parse(second.nextAttemptAt!) - Date.parse(second.lastErrorAt!);
  assert.equal(wait, 10_000);
});

test('a warm certificate cache: repeated full handshakes all get the same certificate and order nothing', {
  timeout: 300_000,
}, async () => {
  const before = pebble.orders();
  const first = await handshake(httpsPort, SITE, pebble.rootPem);
  assert.equal(first.ok, true, first.error);
  for (let i = 0; i < 50; i++) {
    const h = await handshake(httpsPort, SITE, pebble.rootPem);
    assert.equal(h.ok, true, h.error);
    assert.equal(h.fingerprint, first.fingerprint);
  }
  assert.equal(pebble.orders(), before);
});

test('the admin API lists the certificates and /metrics counts every ACME order', { timeout: 60_000 }, async () => {
  const admin = /Admin API: (http:\/\/\S+)\/api\/v1/.exec(server.stdout())?.[1];
  assert.ok(admin, server.stdout());
  const token = readFileSync(path.join(server.dataDir, 'admin-token'), 'utf8').trim();
  const res = await fetch(`${admin}/api/v1/certificates`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  const rows = (await res.json()) as CertRow[];
  assert.deepEqual(rows, await certList());
  assert.equal(rows.find((c) => c.name === 'broken.example.test')?.status, 'failing');

  const text = await (await fetch(`${admin}/metrics`)).text();
  const value = (re: RegExp): number => Number(re.exec(text)?.[1] ?? 0);
  const issued =
    value(/^cellar_acme_orders_total\{outcome="issued",reason="on-demand"\} (\d+)$/m) +
    value(/^cellar_acme_orders_total\{outcome="issued",reason="renewal"\} (\d+)$/m);
  const failed =
    value(/^cellar_acme_orders_total\{outcome="failed",reason="on-demand"\} (\d+)$/m) +
    value(/^cellar_acme_orders_total\{outcome="failed",reason="renewal"\} (\d+)$/m);
  assert.ok(issued >= 1, text);
  assert.ok(failed >= 2, text);
  assert.equal(issued + failed, pebble.orders());
  assert.equal(value(/^cellar_certificates\{state="failing"\} (\d+)$/m), 1);
  assert.ok(value(/^cellar_certificate_earliest_expiry_timestamp_seconds ([\d.e+]+)$/m) > Date.now() / 1000);
});

test('restart: the stored certificates are served without a new order', { timeout: 300_000 }, async () => {
  const before = pebble.orders();
  const old = await handshake(httpsPort, SITE, pebble.rootPem);
  await server.restart();
  assert.match(server.stdout(), new RegExp(`HTTPS on port ${httpsPort}`));
  for (const name of [SITE, 'docs.v2.cellar.test']) {
    const h = await handshake(httpsPort, name, pebble.rootPem);
    assert.equal(h.ok, true, `${name}: ${h.error}`);
    if (name === SITE) assert.equal(h.fingerprint, old.fingerprint);
  }
  const r = await curl(SITE);
  assert.equal(r.stdout, INDEX);
  assert.equal(pebble.orders(), before);
  // The failure record survives the restart too: still backing off.
  assert.equal((await certList()).find((c) => c.name === 'broken.example.test')?.failures, 2);
});
