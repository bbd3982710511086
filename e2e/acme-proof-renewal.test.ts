/**
 * HTTPS with the stricter settings, against its own Pebble: the TXT proof of domain ownership,
 * forced renewal (a renew window longer than Pebble's 5-year certificates, checked every
 * second) replacing the certificate live while the HTTP -> HTTPS redirect is on, and HSTS.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, PutBucketWebsiteCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Pebble } from './helpers/pebble.js';
import { run } from './helpers/run.js';
import { freePort, sdkClient, startServer, type E2eServer } from './helpers/server.js';
import { handshake, httpRequest } from './helpers/tls.js';

const NAME = 'proof.example.test';
const ALERT = 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE';
const BODY = '<!DOCTYPE html><title>proof</title><p>owned</p>\n';

let pebble: Pebble;
let server: E2eServer;
let s3: S3Client;
let httpsPort: number;
let certsDir: string;

before(async () => {
  pebble = await Pebble.prepare();
  certsDir = mkdtempSync(path.join(tmpdir(), 'cellar-e2e-acme-certs-'));
  httpsPort = await freePort();
  server = await startServer({
    CELLAR_DOMAIN: 'cellar.test',
    CELLAR_HTTPS_PORT: String(httpsPort),
    CELLAR_CERTS_DIR: certsDir,
    CELLAR_ACME_DIRECTORY: pebble.directoryUrl,
    CELLAR_DNS_RESOLVER: pebble.dnsServer,
    CELLAR_SERVICE_ADDRESSES: '127.0.0.1',
    CELLAR_DOMAIN_PROOF: 'true',
    CELLAR_ACME_RENEW_WINDOW_SECONDS: String(10 * 365 * 86_400),
    CELLAR_ACME_RENEW_CHECK_SECONDS: '1',
    CELLAR_HSTS_MAX_AGE: '600',
    CELLAR_ACME_BACKOFF_MIN_MS: '50',
    CELLAR_ACME_HTTP_RETRIES: '0',
    NODE_EXTRA_CA_CERTS: pebble.listenerCaPath,
  });
  await pebble.start(server.port);
  s3 = sdkClient(server);
  // Made a site by its website configuration alone (no public policy or ACL).
  await s3.send(new CreateBucketCommand({ Bucket: NAME }));
  await s3.send(
    new PutObjectCommand({ Bucket: NAME, Key: 'index.html', Body: BODY, ContentType: 'text/html', ACL: 'public-read' }),
  );
  await s3.send(
    new PutBucketWebsiteCommand({ Bucket: NAME, WebsiteConfiguration: { IndexDocument: { Suffix: 'index.html' } } }),
  );
});

after(async () => {
  s3?.destroy();
  await server?.dispose();
  await pebble?.stop();
  if (certsDir) rmSync(certsDir, { recursive: true, force: true });
});

test('TXT proof mode: refused without the record, issued once challtestsrv serves it', {
  timeout: 300_000,
}, async () => {
  const before = pebble.orders();
  const refused = await handshake(httpsPort, NAME, pebble.rootPem);
  assert.equal(refused.error, ALERT);
  assert.equal(pebble.orders(), before);
  const check = await server.cli(['domain', 'check', NAME]);
  assert.equal(check.code, 1);
  assert.match(check.stdout, /proof\s+FAIL\s+no TXT record at _cellar-challenge\.proof\.example\.test/);

  const token = await server.cli(['domain', 'token', NAME, '--json']);
  assert.equal(token.code, 0, token.stderr);
  const record = JSON.parse(token.stdout) as { name: string; type: string; value: string };
  assert.equal(record.name, `_cellar-challenge.${NAME}`);
  assert.equal(record.type, 'TXT');
  // The per-install secret behind the token stays private.
  assert.equal(statSync(path.join(server.dataDir, 'domain-proof.key')).mode & 0o777, 0o600);
  await pebble.setTxt('_cellar-challenge.proof.example.test', 'someone-elses-token');
  assert.equal((await handshake(httpsPort, NAME, pebble.rootPem)).error, ALERT);
  assert.equal(pebble.orders(), before);

  await pebble.setTxt(record.name, record.value);
  const ok = await server.cli(['domain', 'check', NAME]);
  assert.equal(ok.code, 0, ok.stdout);
  assert.match(ok.stdout, /proof\s+ok/);
  const issued = await handshake(httpsPort, NAME, pebble.rootPem);
  assert.equal(issued.ok, true, issued.error);
  assert.equal(issued.subjectAltName, `DNS:${NAME}`);
  assert.ok(pebble.orders() > before);
  console.log(`issuance of ${NAME} (TXT proof mode) during the handshake: ${issued.ms.toFixed(0)} ms`);
});

test('forced renewal replaces the certificate live, validated over HTTP while the redirect is on; HSTS over HTTPS', {
  timeout: 300_000,
}, async () => {
  const first = await handshake(httpsPort, NAME, pebble.rootPem);
  assert.equal(first.ok, true, first.error);
  // The redirect is on for this host now, yet renewal's HTTP-01 validation must still reach the token.
  const redirect = await httpRequest(server.port, NAME, '/');
  assert.equal(redirect.status, 308);
  assert.equal(redirect.headers.location, `https://${NAME}:${httpsPort}/`);

  const ordersBefore = pebble.orders();
  const deadline = Date.now() + 15_000;
  let now = first;
  while (now.fingerprint === first.fingerprint && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    now = await handshake(httpsPort, NAME, pebble.rootPem);
    assert.equal(now.ok, true, now.error);
  }
  assert.notEqual(now.fingerprint, first.fingerprint, 'no renewal within 15 s');
  assert.ok(pebble.orders() > ordersBefore);
  assert.match(pebble.log(), /Added order/);
  // Same process all along: one banner, no restart.
  assert.equal(server.stdout().split('Cellar is running at').length, 2);

  const r = await run('curl', [
    '-sS',
    '-i',
    '--resolve',
    `${NAME}:${httpsPort}:127.0.0.1`,
    '--cacert',
    pebble.rootPath,
    `https://${NAME}:${httpsPort}/`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^strict-transport-security: max-age=600\r$/m);
  assert.ok(r.stdout.endsWith(BODY));
  const plain = await httpRequest(server.port, 'nocert.example.test', '/');
  assert.equal(plain.headers['strict-transport-security'], undefined);
});
