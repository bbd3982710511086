/**
 * The dashboard end to end, as an add-on owner in Debian's Chromium (playwright-core): log in
 * with the keyboard, create a bucket named like a domain, drop a small site and a 20 MiB file on
 * the drop zone (a real drop event carrying a DataTransfer built in the page), make the bucket
 * public, turn on the SPA fallback, open the site in another tab, download the s3cfg and list
 * the bucket with s3cmd, turn versioning on and restore an older index.html, refuse to delete a non-empty bucket, then walk the custom-domain steps
 * against Pebble's challtestsrv DNS until the page shows the issued certificate; last, the
 * operator view lists the add-on and the certificate. Screenshots go to artifacts/dashboard/.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './helpers/chromium.js';
import { Pebble } from './helpers/pebble.js';
import { run } from './helpers/run.js';
import { freePort, sdkClient, startServer, type E2eServer } from './helpers/server.js';

const BUCKET = 'www.dash-site.test';
const OPERATOR_TOKEN = 'e2e-dashboard-operator-token';
const BIG_SIZE = 20 * 1024 * 1024;
/** The 20 MiB file's bytes, built the same way here and in the page: byte i = (i * 31 + 7) mod 256. */
const bigByte = (i: number): number => (i * 31 + 7) & 0xff;
// A 1x1 PNG.
const PNG_B64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const INDEX = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Dash site</title>
<link rel="stylesheet" href="/site.css"></head>
<body><h1 id="title">Hello from the dashboard</h1><img id="logo" src="/logo.png" alt="logo"></body></html>`;
const CSS = 'h1 { color: rgb(12, 34, 56); }\n';

/** artifacts/dashboard/ at the repository root (this file runs from dist/e2e/). */
const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../artifacts/dashboard');

let pebble: Pebble;
let server: E2eServer;
let s3: S3Client;
let work: string;
let httpsPort: number;
let dashboard: string;
let context: BrowserContext;
let page: Page;

async function shot(name: string): Promise<void> {
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot: ${file}`);
}

async function statusSays(text: RegExp, timeout = 30_000): Promise<void> {
  await page.waitForFunction(
    (re) => new RegExp(re).test(document.getElementById('status')?.textContent ?? ''),
    text.source,
    { timeout },
  );
}

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  work = mkdtempSync(path.join(tmpdir(), 'cellar-e2e-dashboard-'));
  pebble = await Pebble.prepare();
  httpsPort = await freePort();
  server = await startServer({
    CELLAR_HTTPS_PORT: String(httpsPort),
    CELLAR_CERTS_DIR: path.join(work, 'certs'),
    CELLAR_ACME_DIRECTORY: pebble.directoryUrl,
    CELLAR_ACME_EMAIL: 'ops@cellar.test',
    CELLAR_DNS_RESOLVER: pebble.dnsServer,
    // No service addresses: challtestsrv's default A record (127.0.0.1) does not pass the gate,
    // only the CNAME the page asks for does. And the TXT proof is required.
    CELLAR_DOMAIN_PROOF: 'true',
    CELLAR_ACME_BACKOFF_MIN_MS: '50',
    CELLAR_ACME_HTTP_RETRIES: '0',
    CELLAR_ADMIN_TOKEN: OPERATOR_TOKEN,
    NODE_EXTRA_CA_CERTS: pebble.listenerCaPath,
  });
  await pebble.start(server.port);
  s3 = sdkClient(server);
  const m = /Admin API: (http:\/\/127\.0\.0\.1:\d+)\/api\/v1/.exec(server.stdout());
  assert.ok(m, server.stdout());
  dashboard = `${m[1]}/`;
  context = await launchChromium(path.join(work, 'profile'), {
    acceptDownloads: true,
    viewport: { width: 1100, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
});

after(async () => {
  await context?.close();
  s3?.destroy();
  await server?.dispose();
  await pebble?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('log in with the keyboard as the add-on owner', { timeout: 60_000 }, async () => {
  await page.goto(dashboard);
  await page.locator('#access-key').waitFor({ state: 'visible' });
  // A wrong secret is refused with a message, and no session is made.
  await page.fill('#access-key', server.owner.accessKeyId);
  await page.fill('#secret-key', 'not-the-secret');
  await page.press('#secret-key', 'Enter');
  await statusSays(/Wrong access key or secret key/);
  assert.equal((await context.cookies()).length, 0);

  await page.fill('#access-key', '');
  await page.fill('#secret-key', '');
  await page.focus('#access-key');
  await page.keyboard.type(server.owner.accessKeyId);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'secret-key');
  // Keyboard focus is visible.
  assert.equal(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle), 'solid');
  await page.keyboard.type(server.owner.secretAccessKey);
  await page.keyboard.press('Enter');
  await page.locator('#owner').waitFor({ state: 'visible' });
  assert.match((await page.textContent('#who')) ?? '', new RegExp(server.owner.id));
  const [cookie] = await context.cookies();
  assert.equal(cookie?.name, 'cellar_session');
  assert.equal(cookie?.httpOnly, true);
  assert.equal(cookie?.sameSite, 'Strict');
  // The session cookie is invisible to scripts.
  assert.equal(await page.evaluate(() => document.cookie), '');
  // Every form control has a label (the owner, operator and login views are all in the page).
  const unlabelled = await page.$$eval('input, select', (els) =>
    els.filter((e) => (e as HTMLInputElement).labels?.length === 0).map((e) => e.id || e.outerHTML),
  );
  assert.deepEqual(unlabelled, []);
  await shot('01-logged-in');
});

test('create a bucket, drop a small site and a 20 MiB file, see the progress bars finish', {
  timeout: 300_000,
}, async () => {
  await page.fill('#new-bucket', BUCKET);
  await page.press('#new-bucket', 'Enter');
  await statusSays(new RegExp(`Bucket ${BUCKET.replace(/\./g, '\\.')} created`));
  await page.locator('#bucket').waitFor({ state: 'visible' });
  assert.equal(await page.textContent('#bucket-title'), `Bucket ${BUCKET}`);

  // Every value the progress bars take, to see the 20 MiB one move through the middle.
  await page.evaluate(() => {
    const seen: [number, number][] = [];
    (window as unknown as { progressSeen: typeof seen }).progressSeen = seen;
    new MutationObserver((records) => {
      for (const r of records) if (r.target instanceof HTMLProgressElement) seen.push([r.target.value, r.target.max]);
    }).observe(document.getElementById('uploads')!, { subtree: true, attributes: true, attributeFilter: ['value'] });
  });
  await page.evaluate(
    ({ index, css, png, size }) => {
      const big = new Uint8Array(size);
      for (let i = 0; i < size; i++) big[i] = (i * 31 + 7) & 0xff;
      const dt = new DataTransfer();
      dt.items.add(new File([index], 'index.html', { type: 'text/html' }));
      dt.items.add(new File([css], 'site.css', { type: 'text/css' }));
      dt.items.add(new File([Uint8Array.from(atob(png), (c) => c.charCodeAt(0))], 'logo.png', { type: 'image/png' }));
      dt.items.add(new File([big], 'big.bin', { type: 'application/octet-stream' }));
      const zone = document.getElementById('drop')!;
      zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    },
    { index: INDEX, css: CSS, png: PNG_B64, size: BIG_SIZE },
  );
  await page.waitForFunction(() => document.querySelectorAll('#uploads [data-done="true"]').length === 4, null, {
    timeout: 240_000,
  });
  await statusSays(/Uploaded 4 file\(s\)/);
  const bars = await page.$$eval('#uploads progress', (ps) =>
    ps.map((p) => [(p as HTMLProgressElement).value, (p as HTMLProgressElement).max]),
  );
  assert.equal(bars.length, 4);
  for (const [value, max] of bars) assert.equal(value, max);
  const seen = await page.evaluate(() => (window as unknown as { progressSeen: [number, number][] }).progressSeen);
  const between = seen.filter(([v, max]) => max === BIG_SIZE && v > 0 && v < BIG_SIZE);
  assert.ok(between.length > 0, `the 20 MiB bar never showed partial progress: ${JSON.stringify(seen)}`);
  await page.waitForFunction(() => (document.getElementById('files')?.textContent ?? '').includes('big.bin'));
  await shot('02-uploaded');

  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'index.html' }));
  assert.equal(head.ContentType, 'text/html');
  // Sent in parts (8 MiB each): the ETag is a multipart one, and the bytes are exact.
  const big = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'big.bin' }));
  assert.match(big.ETag ?? '', /-3"$/);
  assert.equal(big.ContentLength, BIG_SIZE);
  const expected = createHash('sha256');
  const chunk = Buffer.alloc(1024 * 1024);
  for (let off = 0; off < BIG_SIZE; off += chunk.length) {
    for (let i = 0; i < chunk.length; i++) chunk[i] = bigByte(off + i);
    expected.update(chunk);
  }
  const got = createHash('sha256');
  for await (const c of big.Body as AsyncIterable<Uint8Array>) got.update(c);
  assert.equal(got.digest('hex'), expected.digest('hex'));
  // The bucket table counts them.
  const row = page.locator('#buckets tbody tr', { hasText: BUCKET });
  await row.locator('td', { hasText: /^4$/ }).waitFor();
});

test('make it public, turn on the SPA fallback, and see the site in another tab', { timeout: 90_000 }, async () => {
  await page.check('#public');
  await statusSays(/is public\./);
  await page.check('#spa');
  await page.click('#website button[type="submit"]');
  await statusSays(/Website settings saved/);

  const [tab] = await Promise.all([context.waitForEvent('page'), page.click('#site-link')]);
  await tab.waitForLoadState('load');
  assert.equal(new URL(tab.url()).hostname, `${BUCKET}.localhost`);
  assert.equal(await tab.textContent('#title'), 'Hello from the dashboard');
  assert.equal(await tab.$eval('#title', (h) => getComputedStyle(h).color), 'rgb(12, 34, 56)');
  await tab.waitForFunction(() => (document.getElementById('logo') as HTMLImageElement).naturalWidth === 1);
  // A deep link of the single-page app, at the custom domain itself.
  const deep = await tab.goto(`http://${BUCKET}:${server.port}/app/deep/link`);
  assert.equal(deep?.status(), 200);
  assert.equal(await tab.textContent('#title'), 'Hello from the dashboard');
  await tab.screenshot({ path: path.join(ARTIFACTS, '03-site-tab.png'), fullPage: true });
  console.log(`screenshot: ${path.join(ARTIFACTS, '03-site-tab.png')}`);
  await tab.close();
  await shot('04-public-spa');
});

test('download the s3cfg and list the bucket with s3cmd', { timeout: 60_000 }, async () => {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#s3cfg')]);
  assert.equal(download.suggestedFilename(), 's3cfg');
  const cfg = path.join(work, 'downloaded.s3cfg');
  await download.saveAs(cfg);
  const r = await run('s3cmd', ['-c', cfg, 'ls', `s3://${BUCKET}`], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  for (const key of ['index.html', 'site.css', 'logo.png', 'big.bin'])
    assert.match(r.stdout, new RegExp(`s3://${BUCKET.replace(/\./g, '\\.')}/${key.replace('.', '\\.')}$`, 'm'));
  assert.match(r.stdout, new RegExp(`^.*\\s${BIG_SIZE}\\s+s3://.*/big\\.bin$`, 'm'));
});

test('versions: turn versioning on, upload index.html twice, see both versions, restore the first', {
  timeout: 120_000,
}, async () => {
  await page.check('#versioning');
  await statusSays(/keeps every version\./);
  const done = () => page.$$eval('#uploads [data-done="true"]', (els) => els.length);
  const dropIndex = async (html: string) => {
    const before = await done();
    await page.evaluate((text) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], 'index.html', { type: 'text/html' }));
      const zone = document.getElementById('drop')!;
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, html);
    await page.waitForFunction(
      (n) => document.querySelectorAll('#uploads [data-done="true"]').length === n,
      before + 1,
    );
    return (await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'index.html' }))).VersionId!;
  };
  const site = async () => {
    const host = `${BUCKET}.localhost:${server.port}`;
    const r = await run('curl', ['-sS', '--max-time', '20', '--resolve', `${host}:127.0.0.1`, `http://${host}/`], {
      timeoutMs: 30_000,
    });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const first = await dropIndex(INDEX.replace('</h1>', ' (first)</h1>'));
  const second = await dropIndex(INDEX.replace('</h1>', ' (second)</h1>'));
  assert.notEqual(first, second);
  assert.match(await site(), /Hello from the dashboard \(second\)/);

  await page.click('#files button[aria-label="Versions of index.html"]');
  // The two uploads, newest first, then the version written before versioning was on.
  await page.waitForFunction(() => document.querySelectorAll('#versions tbody tr').length === 3);
  const rows = await page.$$eval('#versions tbody tr', (trs) =>
    trs.map((tr) => [tr.getAttribute('data-version'), tr.querySelector('button') !== null, tr.textContent ?? '']),
  );
  assert.deepEqual(
    rows.map(([id, restorable]) => [id, restorable]),
    [
      [second, false],
      [first, true],
      ['null', true],
    ],
  );
  assert.match(String(rows[0]?.[2]), /current/);
  await shot('05-versions');

  await page.click(`#versions tr[data-version="${first}"] button`);
  await statusSays(/Restored the version of index\.html/);
  await page.waitForFunction(() => document.querySelectorAll('#versions tbody tr').length === 4);
  assert.match(await site(), /Hello from the dashboard \(first\)/);
  const current = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'index.html' }));
  assert.ok(![first, second].includes(current.VersionId!));
  assert.equal(await page.$eval('#versions tbody tr', (tr) => tr.getAttribute('data-version')), current.VersionId);
  await shot('05-versions-restored');
});

test('deleting asks first; a non-empty bucket is refused with the reason; an empty one goes', {
  timeout: 60_000,
}, async () => {
  await page.click('#delete-bucket');
  await page.locator('#confirm-delete').waitFor({ state: 'visible' });
  // Cancel keeps it.
  await page.keyboard.press('Escape');
  await page.locator('#confirm-delete').waitFor({ state: 'hidden' });
  await page.click('#delete-bucket');
  await page.click('#confirm-delete button[value="delete"]');
  await statusSays(/not empty: delete its files first/);
  assert.notEqual(await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'index.html' })), null);
  await shot('06-delete-refused');

  await page.fill('#new-bucket', 'scratch-bucket');
  await page.press('#new-bucket', 'Enter');
  await statusSays(/Bucket scratch-bucket created/);
  await page.click('#delete-bucket');
  await page.click('#confirm-delete button[value="delete"]');
  await statusSays(/Bucket scratch-bucket deleted/);
  assert.equal(await page.locator('#buckets tbody tr', { hasText: 'scratch-bucket' }).count(), 0);
  await page.click(`#buckets button[aria-label="Manage ${BUCKET}"]`);
  await page.locator('#bucket-title', { hasText: BUCKET }).waitFor();
});

test('custom domain: create the records the page shows, check live, get the certificate', {
  timeout: 180_000,
}, async () => {
  await page.click('#domain-check');
  await page.locator('#domain-steps li').first().waitFor();
  // Not yet: challtestsrv answers 127.0.0.1 for every name, which is no CNAME to the service.
  assert.match((await page.textContent('#domain-steps')) ?? '', /dns: failed/);
  const records = await page.$$eval('#records tbody tr', (rows) =>
    rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent ?? '')),
  );
  const cname = records.find((r) => r[0] === 'CNAME');
  const txt = records.find((r) => r[0] === 'TXT');
  assert.deepEqual(cname?.slice(0, 3), ['CNAME', BUCKET, 'localhost']);
  assert.equal(txt?.[1], `_cellar-challenge.${BUCKET}`);
  assert.equal(txt?.[3], 'yes');
  assert.equal(await page.isVisible('#domain-cert'), false);
  await shot('07-domain-records');

  // The owner creates exactly what the page says, at "their DNS provider".
  await pebble.setCname(cname![1]!, cname![2]!);
  await page.click('#domain-check');
  await page.waitForFunction(() => /dns: ok/.test(document.getElementById('domain-steps')?.textContent ?? ''));
  assert.match((await page.textContent('#domain-steps')) ?? '', /proof: failed/);
  await pebble.setTxt(txt![1]!, txt![2]!);
  await page.click('#domain-check');
  await page.waitForFunction(() =>
    [...document.querySelectorAll('#domain-steps li')].every((li) => li.getAttribute('data-ok') === 'true'),
  );
  await page.locator('#domain-cert').waitFor({ state: 'visible' });
  await page.click('#domain-cert');
  await page.locator('#domain-cert-state[data-state="issued"]').waitFor({ timeout: 120_000 });
  const state = (await page.textContent('#domain-cert-state')) ?? '';
  assert.match(state, /Certificate issued by .*Pebble/i);
  assert.match(state, new RegExp(BUCKET.replace(/\./g, '\\.')));
  await shot('08-certificate-issued');

  // Visitors get it: HTTPS at the custom domain, verified against Pebble's root.
  const r = await run('curl', [
    '-sS',
    '--max-time',
    '20',
    '--resolve',
    `${BUCKET}:${httpsPort}:127.0.0.1`,
    '--cacert',
    pebble.rootPath,
    `https://${BUCKET}:${httpsPort}/`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Hello from the dashboard/);
});

test('the operator view lists the add-on and the certificate', { timeout: 60_000 }, async () => {
  await page.click('#logout');
  await page.locator('#login').waitFor({ state: 'visible' });
  assert.equal((await context.cookies()).length, 0);
  await page.fill('#admin-token', OPERATOR_TOKEN);
  await page.press('#admin-token', 'Enter');
  await page.locator('#operator').waitFor({ state: 'visible' });
  await page.locator('#addons tbody tr', { hasText: server.owner.id }).waitFor();
  const cert = page.locator('#certificates tbody tr', { hasText: BUCKET });
  await cert.waitFor();
  assert.match((await cert.textContent()) ?? '', /valid/);
  await shot('09-operator');
});
