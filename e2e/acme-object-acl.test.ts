/**
 * A site published the s3cmd way, `s3cmd put --acl-public index.html s3://<domain>/` (an object
 * ACL, no bucket ACL, no policy), gets its certificate: the gate asks the same anonymous-read
 * question the website answers. And an object ACL on some other key does not make a site of a
 * bucket whose index is private. Real s3cmd, Debian's Pebble and challtestsrv as the DNS.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Pebble } from './helpers/pebble.js';
import { run, type RunResult } from './helpers/run.js';
import { freePort, startServer, type E2eServer } from './helpers/server.js';
import { handshake, httpRequest } from './helpers/tls.js';

const SITE = 'www.acl-public.test';
const PRIVATE_INDEX = 'www.acl-elsewhere.test';
const INDEX = `<!DOCTYPE html><title>${SITE}</title><h1>Published with s3cmd --acl-public</h1>\n`;
const OTHER = '<!DOCTYPE html><title>other</title><p>a public page, not the index</p>\n';
const ALERT = 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE';

let pebble: Pebble;
let server: E2eServer;
let httpsPort: number;
let work: string;
let s3cfg: string;

async function s3cmd(args: string[]): Promise<RunResult> {
  const r = await run('s3cmd', ['-c', s3cfg, ...args], { cwd: work, timeoutMs: 60_000 });
  assert.equal(r.code, 0, `s3cmd ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

before(
  async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cellar-e2e-acme-acl-'));
    pebble = await Pebble.prepare();
    httpsPort = await freePort();
    server = await startServer({
      CELLAR_DOMAIN: 'cellar.test',
      CELLAR_HTTPS_PORT: String(httpsPort),
      CELLAR_CERTS_DIR: path.join(work, 'certs'),
      CELLAR_ACME_DIRECTORY: pebble.directoryUrl,
      CELLAR_ACME_EMAIL: 'ops@cellar.test',
      CELLAR_DNS_RESOLVER: pebble.dnsServer,
      CELLAR_SERVICE_ADDRESSES: '127.0.0.1',
      CELLAR_ACME_BACKOFF_MIN_MS: '50',
      CELLAR_ACME_HTTP_RETRIES: '0',
      NODE_EXTRA_CA_CERTS: pebble.listenerCaPath,
    });
    await pebble.start(server.port);
    // The service domain (cellar.test) resolves nowhere on this machine: s3cmd talks path-style
    // to the loopback port, as it would to any S3 endpoint given by address.
    s3cfg = path.join(work, 's3cfg');
    writeFileSync(
      s3cfg,
      [
        '[default]',
        `access_key = ${server.owner.accessKeyId}`,
        `secret_key = ${server.owner.secretAccessKey}`,
        `host_base = 127.0.0.1:${server.port}`,
        `host_bucket = 127.0.0.1:${server.port}`,
        'bucket_location = us-east-1',
        'use_https = False',
        'signature_v2 = False',
        '',
      ].join('\n'),
    );
    writeFileSync(path.join(work, 'index.html'), INDEX);
    writeFileSync(path.join(work, 'other.html'), OTHER);

    await s3cmd(['mb', `s3://${SITE}`]);
    await s3cmd(['put', '--acl-public', 'index.html', `s3://${SITE}/`]);
    await s3cmd(['mb', `s3://${PRIVATE_INDEX}`]);
    await s3cmd(['put', 'index.html', `s3://${PRIVATE_INDEX}/`]);
    await s3cmd(['put', '--acl-public', 'other.html', `s3://${PRIVATE_INDEX}/`]);
    // The owners point their domains at the service.
    await pebble.addA(SITE, ['127.0.0.1']);
    await pebble.addA(PRIVATE_INDEX, ['127.0.0.1']);
  },
  { timeout: 90_000 },
);

after(
  async () => {
    await server?.dispose();
    await pebble?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  },
  { timeout: 30_000 },
);

test('s3cmd put --acl-public index.html: the first HTTPS request gets a Pebble certificate and the page; then HTTP redirects', {
  timeout: 60_000,
}, async () => {
  // Published as the website sees it, before any certificate.
  const plain = await httpRequest(server.port, SITE, '/');
  assert.equal(plain.status, 200);
  assert.equal(plain.body, INDEX);

  const before = pebble.orders();
  const r = await run(
    'curl',
    [
      '-sS',
      '--max-time',
      '30',
      '--resolve',
      `${SITE}:${httpsPort}:127.0.0.1`,
      '--cacert',
      pebble.rootPath,
      '-w',
      '\n%{ssl_verify_result}',
      `https://${SITE}:${httpsPort}/`,
    ],
    { timeoutMs: 40_000 },
  );
  assert.equal(r.code, 0, `${r.stderr}\n${server.stderr()}`);
  assert.equal(r.stdout, `${INDEX}\n0`, "the page, over a chain that verifies against Pebble's root");
  assert.equal(pebble.orders(), before + 1);
  const h = await handshake(httpsPort, SITE, pebble.rootPem);
  assert.equal(h.ok, true, h.error);
  assert.equal(h.subjectAltName, `DNS:${SITE}`);
  assert.match(h.issuer ?? '', /^Pebble Intermediate CA/);

  for (const method of ['GET', 'HEAD']) {
    const redirect = await httpRequest(server.port, SITE, '/', method);
    assert.equal(redirect.status, 308, method);
    assert.equal(redirect.headers.location, `https://${SITE}:${httpsPort}/`);
  }

  const check = await server.cli(['domain', 'check', SITE]);
  assert.equal(check.code, 0, check.stdout);
  assert.match(check.stdout, /website\s+ok\s+the ACL of index\.html grants READ to AllUsers/);
});

test('an object ACL public on another key, a private index.html: no certificate, no order reaches Pebble', {
  timeout: 60_000,
}, async () => {
  // The website agrees: the public page is served, the private index is refused.
  const other = await httpRequest(server.port, PRIVATE_INDEX, '/other.html');
  assert.equal(other.status, 200);
  assert.equal(other.body, OTHER);
  assert.equal((await httpRequest(server.port, PRIVATE_INDEX, '/')).status, 403);

  const before = pebble.orders();
  const h = await handshake(httpsPort, PRIVATE_INDEX, pebble.rootPem);
  assert.equal(h.ok, false);
  assert.equal(h.error, ALERT, 'a TLS alert, not a hang or a reset');
  assert.equal(pebble.orders(), before, pebble.log());
  assert.doesNotMatch(pebble.log(), new RegExp(PRIVATE_INDEX.replace(/\./g, '\\.')));

  const check = await server.cli(['domain', 'check', PRIVATE_INDEX]);
  assert.equal(check.code, 1);
  assert.match(
    check.stdout,
    /website\s+FAIL\s+private: no website configuration, and anonymous visitors may not read index\.html/,
  );
  // Still plain HTTP: no certificate, no redirect.
  assert.equal((await httpRequest(server.port, PRIVATE_INDEX, '/other.html')).status, 200);
});
