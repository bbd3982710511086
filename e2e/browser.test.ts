/**
 * A real browser on a Cellar-hosted site: Debian's Chromium, driven by playwright-core, opens a
 * site published with `s3cmd sync` at its custom domain, follows a link to a clean URL, checks
 * that the stylesheet applied and the image decoded, loads a deep SPA link, and makes a
 * cross-origin fetch() to another bucket that works only once that bucket's CORS allows it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliCompressSync } from 'node:zlib';
import {
  PutBucketCorsCommand,
  PutBucketPolicyCommand,
  PutBucketWebsiteCommand,
  CreateBucketCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './helpers/chromium.js';
import { run } from './helpers/run.js';
import { sdkClient, startServer, type E2eServer } from './helpers/server.js';

const SHOP = 'www.shop.test';
const API = 'api.shop.test';
// A 1x1 PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
const APP_JS = 'document.getElementById("route").textContent = location.pathname;\n';

const SITE: Record<string, string | Buffer> = {
  'index.html': `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Shop</title><link rel="stylesheet" href="/css/site.css"></head>
<body><h1>Shop</h1><img id="logo" src="/images/logo.png" alt="logo"><a id="login" href="/login">Log in</a>
<p id="route"></p><script src="/js/app.js"></script></body></html>`,
  'login.html': `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Log in</title><link rel="stylesheet" href="/css/site.css"></head>
<body><h1 id="title">Log in</h1><form><input name="user"></form></body></html>`,
  'cors.html': `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Data</title></head><body><script>
window.loadData = async () => {
  try {
    const r = await fetch('http://${API}:' + location.port + '/data.json', { cache: 'no-store' });
    return 'ok ' + (await r.text());
  } catch (e) {
    return 'blocked ' + e.name;
  }
};
</script></body></html>`,
  // Over the compression threshold, so the browser gets it compressed on the fly.
  'css/site.css': 'h1 { color: rgb(12, 34, 56); }\nbody { margin: 7px; }\n' + '/* padding */\n'.repeat(100),
  'js/app.js': APP_JS,
  'js/app.js.br': brotliCompressSync(APP_JS),
  'images/logo.png': PNG,
};

let server: E2eServer;
let s3: S3Client;
let work: string;
let context: BrowserContext;
let page: Page;

const url = (host: string, p: string): string => `http://${host}:${server.port}${p}`;

before(async () => {
  server = await startServer();
  s3 = sdkClient(server);
  work = mkdtempSync(path.join(tmpdir(), 'cellar-e2e-browser-'));
  const siteDir = path.join(work, 'site');
  for (const [rel, body] of Object.entries(SITE)) {
    mkdirSync(path.dirname(path.join(siteDir, rel)), { recursive: true });
    writeFileSync(path.join(siteDir, rel), body);
  }
  const policyFile = path.join(work, 'policy.json');
  writeFileSync(
    policyFile,
    JSON.stringify({
      Id: 'Policy1587216857769',
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'Stmt1587216727444',
          Action: ['s3:GetObject'],
          Effect: 'Allow',
          Resource: `arn:aws:s3:::${SHOP}/*`,
          Principal: '*',
        },
      ],
    }),
  );
  const s3cmd = async (args: string[]): Promise<void> => {
    const r = await run('s3cmd', ['-c', server.s3cfgPath, ...args], {
      env: { ...process.env, LC_ALL: 'C.UTF-8' },
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 0, `s3cmd ${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
  };
  // As Cellar's docs publish a custom-domain site: a bucket named like the domain.
  await s3cmd(['mb', `s3://${SHOP}`]);
  await s3cmd(['sync', `${siteDir}/`, `s3://${SHOP}/`]);
  await s3cmd(['setpolicy', policyFile, `s3://${SHOP}`]);

  await s3.send(new CreateBucketCommand({ Bucket: API }));
  await s3.send(
    new PutBucketPolicyCommand({
      Bucket: API,
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${API}/*` }],
      }),
    }),
  );
  await s3.send(
    new PutObjectCommand({ Bucket: API, Key: 'data.json', Body: '{"items":3}', ContentType: 'application/json' }),
  );

  context = await launchChromium(path.join(work, 'profile'));
  page = context.pages()[0] ?? (await context.newPage());
});

after(async () => {
  await context?.close();
  s3?.destroy();
  await server?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

const color = (p: Page, selector: string): Promise<string> => p.$eval(selector, (el) => getComputedStyle(el).color);

test('home page at the custom domain: CSS applied, image decoded, script ran', { timeout: 300_000 }, async () => {
  const res = await page.goto(url(SHOP, '/'));
  assert.equal(res?.status(), 200);
  assert.equal(await page.title(), 'Shop');
  assert.equal(await color(page, 'h1'), 'rgb(12, 34, 56)');
  assert.equal(await page.$eval('body', (el) => getComputedStyle(el).marginTop), '7px');
  await page.waitForFunction(() => (document.getElementById('logo') as HTMLImageElement).complete);
  assert.ok((await page.$eval('#logo', (img) => (img as HTMLImageElement).naturalWidth)) > 0, 'the image decoded');
  assert.equal(await page.textContent('#route'), '/');
});

test('clicking through to /login serves login.html with its styles', { timeout: 300_000 }, async () => {
  await Promise.all([page.waitForURL(url(SHOP, '/login')), page.click('#login')]);
  assert.equal(await page.title(), 'Log in');
  assert.equal(await page.textContent('#title'), 'Log in');
  assert.equal(await color(page, '#title'), 'rgb(12, 34, 56)');
  assert.equal(new URL(page.url()).pathname, '/login');
});

test('a deep SPA link loads the app with 200', { timeout: 300_000 }, async () => {
  await s3.send(
    new PutBucketWebsiteCommand({
      Bucket: SHOP,
      WebsiteConfiguration: {
        IndexDocument: { Suffix: 'index.html' },
        RoutingRules: [
          {
            Condition: { HttpErrorCodeReturnedEquals: '404' },
            Redirect: { ReplaceKeyWith: 'index.html', HttpRedirectCode: '200' },
          },
        ],
      },
    }),
  );
  const res = await page.goto(url(SHOP, '/products/42/reviews'));
  assert.equal(res?.status(), 200);
  assert.equal(await page.textContent('#route'), '/products/42/reviews');
  assert.equal(await color(page, 'h1'), 'rgb(12, 34, 56)');
});

test('a cross-origin fetch() to another bucket fails until its CORS allows the origin', {
  timeout: 300_000,
}, async () => {
  await page.goto(url(SHOP, '/cors.html'));
  assert.equal(
    await page.evaluate(() => (window as unknown as { loadData(): Promise<string> }).loadData()),
    'blocked TypeError',
  );
  await s3.send(
    new PutBucketCorsCommand({
      Bucket: API,
      CORSConfiguration: {
        CORSRules: [{ AllowedOrigins: [`http://${SHOP}:${server.port}`], AllowedMethods: ['GET'] }],
      },
    }),
  );
  assert.equal(
    await page.evaluate(() => (window as unknown as { loadData(): Promise<string> }).loadData()),
    'ok {"items":3}',
  );
});
