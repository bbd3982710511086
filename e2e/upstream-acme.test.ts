/**
 * Certificates across gateways in upstream mode, end to end: one Ceph RGW (scripts/ceph/up.sh),
 * two gateways, Debian's Pebble as the CA with challtestsrv as its DNS. Pebble validates HTTP-01
 * on gateway B's HTTP port only, while the first HTTPS hit goes to gateway A: the answer A wrote
 * must reach B through the system bucket. Orders are counted in Pebble's own log. `cellar cert
 * list`, the admin API, the metrics and `cellar domain token` show the fleet's state on every gateway.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startCeph, type Rgw } from './helpers/ceph.js';
import { startGateway, type Gateway } from './helpers/gateway.js';
import { Pebble } from './helpers/pebble.js';
import { run, type RunResult } from './helpers/run.js';
import { freePort } from './helpers/server.js';
import { handshake, httpRequest } from './helpers/tls.js';

const DOMAIN = 'cellar.test';
const SHOP = `shop-${process.pid}`;
const BLOG = `blog-${process.pid}`;
const SYSTEM_BUCKET = `fleet-system-${process.pid}`;
const ALERT = 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE';
const page = (name: string): string => `<!DOCTYPE html><title>${name}</title><h1>${name} over HTTPS</h1>\n`;

let rgw: Rgw;
let pebble: Pebble;
let a: Gateway;
let b: Gateway;
let httpsA: number;
let httpsB: number;
let work: string;
let s3cfg: string;

/** s3cmd through gateway A, path style (`localhost` is a service domain of the gateways). */
function s3cmd(args: string[]): Promise<RunResult> {
  return run('s3cmd', ['-c', s3cfg, `--host=localhost:${a.port}`, `--host-bucket=localhost:${a.port}`, ...args], {
    timeoutMs: 60_000,
    cwd: work,
  });
}

/** The page at `https://<bucket>.cellar.test/` through `port`, verified against Pebble's root. */
function curlHttps(bucket: string, port: number): Promise<RunResult> {
  const host = `${bucket}.${DOMAIN}`;
  return run(
    'curl',
    [
      '-sS',
      '--max-time',
      '40',
      '--resolve',
      `${host}:${port}:127.0.0.1`,
      '--cacert',
      pebble.rootPath,
      `https://${host}:${port}/`,
    ],
    { timeoutMs: 50_000 },
  );
}

before(
  async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cellar-upstream-acme-'));
    [rgw, pebble, httpsA, httpsB] = await Promise.all([startCeph(), Pebble.prepare(), freePort(), freePort()]);
    const env = {
      CELLAR_DOMAIN: DOMAIN,
      CELLAR_EXTRA_DOMAINS: 'localhost',
      CELLAR_SYSTEM_BUCKET: SYSTEM_BUCKET,
      CELLAR_UPSTREAM_TIMEOUT_MS: '5000',
      CELLAR_ACME_DIRECTORY: pebble.directoryUrl,
      CELLAR_ACME_EMAIL: 'ops@cellar.test',
      CELLAR_DNS_RESOLVER: pebble.dnsServer,
      CELLAR_SERVICE_ADDRESSES: '127.0.0.1',
      CELLAR_ACME_BACKOFF_MIN_MS: '50',
      CELLAR_ACME_HTTP_RETRIES: '0',
      NODE_EXTRA_CA_CERTS: pebble.listenerCaPath,
    };
    [a, b] = await Promise.all([
      startGateway(rgw, { ...env, CELLAR_HTTPS_PORT: String(httpsA) }),
      startGateway(rgw, { ...env, CELLAR_HTTPS_PORT: String(httpsB) }),
    ]);
    // Every HTTP-01 validation Pebble makes goes to gateway B.
    await pebble.start(b.port);

    const created = await a.cli(['addon', 'create', '--name', 'site-owner', '--json']);
    assert.equal(created.code, 0, created.stderr);
    const owner = JSON.parse(created.stdout) as { id: string };
    s3cfg = path.join(work, 's3cfg');
    writeFileSync(s3cfg, (await a.cli(['addon', 's3cfg', owner.id])).stdout);
    for (const bucket of [SHOP, BLOG]) {
      writeFileSync(path.join(work, 'index.html'), page(bucket));
      for (const args of [
        ['mb', `s3://${bucket}`],
        ['put', '--acl-public', 'index.html', `s3://${bucket}/`],
      ]) {
        const r = await s3cmd(args);
        assert.equal(r.code, 0, `s3cmd ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
      }
    }
  },
  { timeout: 720_000 },
);

after(
  async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await pebble?.stop();
    await rgw?.down();
    if (work) rmSync(work, { recursive: true, force: true });
  },
  { timeout: 120_000 },
);

test('first HTTPS hit on A issues; Pebble validates on B; B serves the same certificate; one order', {
  timeout: 180_000,
}, async () => {
  const host = `${SHOP}.${DOMAIN}`;
  // Published, over plain HTTP, on both gateways.
  for (const g of [a, b]) assert.equal((await httpRequest(g.port, host, '/')).body, page(SHOP));

  const before = pebble.orders();
  const r = await curlHttps(SHOP, httpsA);
  assert.equal(r.code, 0, `${r.stderr}\nA: ${a.stderr()}\nB: ${b.stderr()}\n${pebble.log()}`);
  assert.equal(r.stdout, page(SHOP), "the page over a chain that verifies against Pebble's root");
  assert.equal(pebble.orders(), before + 1, pebble.log());
  // The challenge was fetched from B's port, the only one Pebble knows, and passed.
  assert.match(pebble.log(), new RegExp(`${host}:${b.port}/\\.well-known/acme-challenge/`));

  const onA = await handshake(httpsA, host, pebble.rootPem);
  const onB = await handshake(httpsB, host, pebble.rootPem);
  assert.equal(onA.ok, true, onA.error);
  assert.equal(onB.ok, true, onB.error);
  assert.equal(onB.fingerprint, onA.fingerprint, 'one certificate for the fleet');
  assert.equal(onB.subjectAltName, `DNS:${host}`);
  assert.match(onB.issuer ?? '', /^Pebble Intermediate CA/);
  assert.equal((await curlHttps(SHOP, httpsB)).stdout, page(SHOP));
  assert.equal(pebble.orders(), before + 1, 'B found the certificate in the system bucket: no order of its own');

  // Both gateways now send plain-HTTP visitors to HTTPS.
  for (const g of [a, b]) {
    const redirect = await httpRequest(g.port, host, '/');
    assert.equal(redirect.status, 308);
    assert.equal(redirect.headers.location, `https://${host}:${g === a ? httpsA : httpsB}/`);
  }
});

test('A and B get their first handshake at the same moment: one order, both serve it', {
  timeout: 180_000,
}, async () => {
  const host = `${BLOG}.${DOMAIN}`;
  const before = pebble.orders();
  const [onA, onB] = await Promise.all([
    handshake(httpsA, host, pebble.rootPem, 60_000),
    handshake(httpsB, host, pebble.rootPem, 60_000),
  ]);
  assert.equal(onA.ok, true, `${onA.error}\nA: ${a.stderr()}\nB: ${b.stderr()}`);
  assert.equal(onB.ok, true, `${onB.error}\nA: ${a.stderr()}\nB: ${b.stderr()}`);
  assert.equal(onA.fingerprint, onB.fingerprint);
  assert.equal(pebble.orders(), before + 1, pebble.log());
  for (const port of [httpsA, httpsB]) assert.equal((await curlHttps(BLOG, port)).stdout, page(BLOG));
});

test('the system bucket is no site, gets no certificate, and add-ons cannot read its private keys', {
  timeout: 120_000,
}, async () => {
  const host = `${SYSTEM_BUCKET}.${DOMAIN}`;
  const before = pebble.orders();
  // Exactly what a bucket that does not exist gets.
  const visit = await httpRequest(b.port, host, `/certs/${SHOP}.${DOMAIN}.json`);
  const none = await httpRequest(b.port, `no-such-bucket-${process.pid}.${DOMAIN}`, `/certs/${SHOP}.${DOMAIN}.json`);
  assert.equal(visit.status, 404);
  assert.equal(visit.body, none.body);
  const h = await handshake(httpsA, host, pebble.rootPem);
  assert.equal(h.ok, false);
  assert.equal(h.error, ALERT);
  assert.equal(pebble.orders(), before);

  // Through the S3 API the add-on is refused: RGW's verdict on a private bucket of the system user.
  const get = await s3cmd(['get', `s3://${SYSTEM_BUCKET}/certs/${SHOP}.${DOMAIN}.json`, path.join(work, 'stolen')]);
  assert.notEqual(get.code, 0);
  assert.match(get.stderr, /403|AccessDenied/);
  const ls = await s3cmd(['ls', `s3://${SYSTEM_BUCKET}/`]);
  assert.notEqual(ls.code, 0);
  assert.match(ls.stderr, /403|AccessDenied/);
  // The name is taken: an add-on cannot create a bucket of that name either.
  const mb = await s3cmd(['mb', `s3://${SYSTEM_BUCKET}`]);
  assert.notEqual(mb.code, 0);
  assert.match(mb.stderr, /409|BucketAlreadyExists/);
});

test("cellar cert list, the admin API and /metrics show the fleet's certificates on every gateway; domain token is the fleet's", {
  timeout: 120_000,
}, async () => {
  type Row = { name: string; issuer: string | null; status: string; managed: boolean };
  // Straight from the system bucket, with A's settings (no server asked).
  const direct = await a.cli(['cert', 'list', '--json']);
  assert.equal(direct.code, 0, direct.stderr);
  const rows = JSON.parse(direct.stdout) as Row[];
  for (const bucket of [SHOP, BLOG]) {
    const row = rows.find((r) => r.name === `${bucket}.${DOMAIN}`);
    assert.ok(row, direct.stdout);
    assert.match(row.issuer ?? '', /^Pebble Intermediate CA/);
    assert.equal(row.status, 'valid');
    assert.equal(row.managed, true);
  }
  // Through B's admin API: the same list.
  const adminB = /Admin API: (\S+)\/api\/v1/.exec(b.stdout())?.[1];
  const tokenB = /admin token \(shown once[^)]*\): (\S+)/.exec(b.stdout())?.[1];
  assert.ok(adminB && tokenB, b.stdout());
  const remote = await a.cli(['cert', 'list', '--json', '--url', adminB, '--token', tokenB]);
  assert.equal(remote.code, 0, remote.stderr);
  assert.deepEqual(JSON.parse(remote.stdout), rows);
  const table = await b.cli(['cert', 'list']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(
    table.stdout,
    new RegExp(`^${SHOP}\\.${DOMAIN.replace('.', '\\.')}\\s+Pebble Intermediate CA.*\\svalid\\b`, 'm'),
  );
  const wrongToken = await a.cli(['cert', 'list', '--url', adminB, '--token', 'not-the-token-at-all']);
  assert.equal(wrongToken.code, 1);
  assert.match(wrongToken.stderr, /401/);

  const metrics = await (await fetch(`${adminB}/metrics`)).text();
  assert.equal(Number(/^cellar_certificates\{state="valid"\} (\d+)$/m.exec(metrics)?.[1]), rows.length, metrics);
  assert.ok(
    Number(/^cellar_certificate_earliest_expiry_timestamp_seconds (\S+)$/m.exec(metrics)?.[1]) > Date.now() / 1000,
  );

  // Asked of both gateways at once, before either had the secret: one token.
  const tokens = await Promise.all([a, b].map((g) => g.cli(['domain', 'token', 'www.custom.test', '--json'])));
  for (const t of tokens) assert.equal(t.code, 0, t.stderr);
  assert.equal(tokens[0]!.stdout, tokens[1]!.stdout);
  assert.match(tokens[0]!.stdout, /"name":"_cellar-challenge\.www\.custom\.test","type":"TXT","value":"[0-9a-f]{40}"/);
});
