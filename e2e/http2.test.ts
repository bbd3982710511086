/**
 * HTTP/2 as browsers and curl see it: Debian's Chromium loads an HTTPS site over h2 (the
 * navigation's nextHopProtocol), and `curl --http2` gets the same bytes, ETag and 304 as
 * `curl --http1.1` from the same HTTPS listener.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, PutBucketPolicyCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { BrowserContext } from 'playwright-core';
import { launchChromium } from './helpers/chromium.js';
import { selfSignedLeaf } from './helpers/pebble.js';
import { assertH2LikeH1, curlHttps, type CurlReply } from './helpers/curl-https.js';
import { run } from './helpers/run.js';
import { freePort, sdkClient, startServer, type E2eServer } from './helpers/server.js';

const SITE = 'www.h2site.test';
const CSS = 'h1 { color: rgb(10, 20, 30); }\n' + '/* padding */\n'.repeat(200);
const HTML = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>H2</title><link rel="stylesheet" href="/site.css"></head><body><h1>over h2</h1></body></html>`;

let server: E2eServer;
let s3: S3Client;
let work: string;
let certFile: string;
let httpsPort: number;
let context: BrowserContext;

before(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'cellar-e2e-h2-'));
  const certs = path.join(work, 'certs', 'site');
  mkdirSync(certs, { recursive: true });
  // An operator-provided certificate, dropped into the certificate store.
  certFile = selfSignedLeaf(certs, SITE, 2).certPath;
  httpsPort = await freePort();
  server = await startServer({ CELLAR_HTTPS_PORT: String(httpsPort), CELLAR_CERTS_DIR: path.join(work, 'certs') });
  s3 = sdkClient(server);
  await s3.send(new CreateBucketCommand({ Bucket: SITE }));
  await s3.send(
    new PutBucketPolicyCommand({
      Bucket: SITE,
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${SITE}/*` }],
      }),
    }),
  );
  await s3.send(new PutObjectCommand({ Bucket: SITE, Key: 'index.html', Body: HTML, ContentType: 'text/html' }));
  await s3.send(new PutObjectCommand({ Bucket: SITE, Key: 'site.css', Body: CSS, ContentType: 'text/css' }));
  context = await launchChromium(path.join(work, 'profile'), {
    // The test certificate is self-signed; trusting it this way keeps the profile disposable.
    extraArgs: ['--ignore-certificate-errors'],
  });
});

after(async () => {
  await context?.close();
  s3?.destroy();
  await server?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('Chromium loads the HTTPS site over h2, page and stylesheet alike', { timeout: 300_000 }, async () => {
  const page = context.pages()[0] ?? (await context.newPage());
  const res = await page.goto(`https://${SITE}:${httpsPort}/`);
  assert.equal(res?.status(), 200);
  assert.equal(await page.textContent('h1'), 'over h2');
  assert.equal(await page.$eval('h1', (el) => getComputedStyle(el).color), 'rgb(10, 20, 30)');
  const protocols = await page.evaluate(() => ({
    navigation: (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol,
    resources: (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).map((r) => [
      new URL(r.name).pathname,
      r.nextHopProtocol,
    ]),
  }));
  assert.equal(protocols.navigation, 'h2');
  assert.deepEqual(
    protocols.resources.filter(([p]) => p === '/site.css'),
    [['/site.css', 'h2']],
  );
});

function curl(version: '--http2' | '--http1.1', p: string, extra: string[] = []): Promise<CurlReply> {
  return curlHttps({ version, host: SITE, port: httpsPort, caFile: certFile, path: p, extra });
}

test('curl --http2 gets the same bytes, ETag and 304 as curl --http1.1', { timeout: 300_000 }, async () => {
  const v = await run('curl', ['-V']);
  assert.match(v.stdout, /\bHTTP2\b/, 'this curl supports HTTP/2');
  await assertH2LikeH1(curl, '/site.css', CSS);
  const gz = await curl('--http2', '/site.css', ['--compressed']);
  assert.equal(gz.headers['content-encoding'] !== undefined, true);
  assert.equal(gz.body, CSS);
});

test('metrics and the access log record the protocol; a graceful stop ends the HTTP/2 sessions', {
  timeout: 120_000,
}, async () => {
  const admin = /Admin API: (http:\/\/\S+)\/api\/v1/.exec(server.stdout());
  assert.ok(admin, server.stdout());
  const m = await run('curl', ['-sS', `${admin[1]}/metrics`], { timeoutMs: 30_000 });
  const h2 = /^cellar_requests_by_protocol_total\{protocol="HTTP\/2"\} (\d+)/m.exec(m.stdout);
  assert.ok(h2 && Number(h2[1]) >= 4, m.stdout);
  // The access log is written asynchronously; a graceful stop flushes it.
  assert.deepEqual(await server.stop(), { code: 0, signal: null });
  const lines = readFileSync(path.join(server.dataDir, 'access.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { path: string; protocol: string });
  const protocols = new Set(lines.filter((l) => l.path === '/site.css').map((l) => l.protocol));
  assert.deepEqual([...protocols].sort(), ['HTTP/1.1', 'HTTP/2']);
});
