/**
 * The website cache never serves stale content: every acknowledged write through the S3 API is
 * visible to the very next page view, whatever the cache held.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { brotliCompressSync, brotliDecompressSync, gunzipSync } from 'node:zlib';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectCommand,
  PutBucketPolicyCommand,
  PutBucketWebsiteCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Storage } from '#storage';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';

let t: TestCellar;
let s3: S3Client;
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

/** One page view on a kept-alive connection, as a browser makes them. */
function view(bucket: string, path: string, headers: Record<string, string> = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: t.port, path, agent, headers: { host: `${bucket}.localhost:${t.port}`, ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode!, headers: res.headers, body, text: body.toString() });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const policy = (b: string, extra: object = {}): string =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/*`, ...extra }],
  });

async function publicBucket(b: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: b }));
  await s3.send(new PutBucketPolicyCommand({ Bucket: b, Policy: policy(b) }));
}

const put = (Bucket: string, Key: string, Body: string | Buffer, ContentType = 'text/html'): Promise<unknown> =>
  s3.send(new PutObjectCommand({ Bucket, Key, Body, ContentType }));

before(async () => {
  t = await startTestCellar();
  s3 = t.client();
});
after(async () => {
  agent.destroy();
  await t.stop();
});

describe('freshness', () => {
  test('500 overwrite-then-GET iterations never return the old body', { timeout: 120_000 }, async () => {
    await publicBucket('fresh');
    const pad = 'x'.repeat(2000); // over the compression threshold: compressed renderings are cached too
    await put('fresh', 'page.html', `v-1 ${pad}`);
    const encodings = ['', 'gzip', 'br, gzip'];
    for (let i = 0; i < 500; i++) {
      // Warm every cache layer with the current version first, so the write must invalidate.
      const enc = encodings[i % 3]!;
      const before = await view('fresh', '/page', enc ? { 'accept-encoding': enc } : {});
      assert.equal(before.status, 200);
      await put('fresh', 'page.html', `v${i} ${pad}`);
      const r = await view('fresh', i % 2 === 0 ? '/page' : '/page.html', enc ? { 'accept-encoding': enc } : {});
      const body =
        r.headers['content-encoding'] === 'gzip'
          ? gunzipSync(r.body).toString()
          : r.headers['content-encoding'] === 'br'
            ? brotliDecompressSync(r.body).toString()
            : r.text;
      assert.equal(body, `v${i} ${pad}`, `iteration ${i} (${enc || 'identity'})`);
    }
    const stats = t.cellar.website.cache.stats();
    assert.ok(stats.meta > 0 && stats.bodies > 0, `the cache was in use: ${JSON.stringify(stats)}`);
  });

  test('concurrent page views during overwrites: each view after an acknowledged write sees it', {
    timeout: 120_000,
  }, async () => {
    await publicBucket('race');
    await put('race', 'index.html', 'start');
    let stop = false;
    const hammer = (async () => {
      while (!stop) await view('race', '/');
    })();
    for (let i = 0; i < 100; i++) {
      await put('race', 'index.html', `gen ${i}`);
      assert.equal((await view('race', '/')).text, `gen ${i}`);
    }
    stop = true;
    await hammer;
  });
});

describe('invalidation', () => {
  before(() => publicBucket('inv'));

  test('a cached 404 turns into the page the moment it is uploaded', { timeout: 120_000 }, async () => {
    assert.equal((await view('inv', '/new')).status, 404);
    assert.equal((await view('inv', '/new')).status, 404);
    await put('inv', 'new.html', 'now here');
    assert.equal((await view('inv', '/new')).text, 'now here');
  });

  test('a folder index appearing turns a 404 into the slash redirect', { timeout: 120_000 }, async () => {
    assert.equal((await view('inv', '/blog')).status, 404);
    await put('inv', 'blog/index.html', 'blog');
    const r = await view('inv', '/blog');
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, '/blog/');
  });

  test('deleting and copying objects', { timeout: 120_000 }, async () => {
    await put('inv', 'gone.html', 'soon gone');
    assert.equal((await view('inv', '/gone')).status, 200);
    await s3.send(new DeleteObjectCommand({ Bucket: 'inv', Key: 'gone.html' }));
    assert.equal((await view('inv', '/gone')).status, 404);
    await s3.send(new CopyObjectCommand({ Bucket: 'inv', Key: 'gone.html', CopySource: 'inv/new.html' }));
    assert.equal((await view('inv', '/gone')).text, 'now here');
  });

  test('a new error document, a new sidecar', { timeout: 120_000 }, async () => {
    assert.equal((await view('inv', '/nothing')).text.includes('custom'), false);
    await put('inv', '404.html', 'custom not found');
    const r = await view('inv', '/nothing');
    assert.equal(r.status, 404);
    assert.equal(r.text, 'custom not found');

    await put('inv', 'lib.js', 'const a = 1;', 'text/javascript');
    assert.equal((await view('inv', '/lib.js', { 'accept-encoding': 'br' })).headers['content-encoding'], undefined);
    const br = brotliCompressSync('const a = 1;');
    await put('inv', 'lib.js.br', br, 'application/x-brotli');
    const after = await view('inv', '/lib.js', { 'accept-encoding': 'br' });
    assert.equal(after.headers['content-encoding'], 'br');
    assert.deepEqual(after.body, br);
  });

  test('policy, object ACL and website configuration changes apply at once', { timeout: 120_000 }, async () => {
    await put('inv', 'index.html', 'home');
    assert.equal((await view('inv', '/')).status, 200);
    await s3.send(new DeleteBucketPolicyCommand({ Bucket: 'inv' }));
    assert.equal((await view('inv', '/')).status, 403);
    await s3.send(new PutObjectAclCommand({ Bucket: 'inv', Key: 'index.html', ACL: 'public-read' }));
    assert.equal((await view('inv', '/')).text, 'home');
    await s3.send(new PutObjectAclCommand({ Bucket: 'inv', Key: 'index.html', ACL: 'private' }));
    assert.equal((await view('inv', '/')).status, 403);
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'inv', Policy: policy('inv') }));
    assert.equal((await view('inv', '/')).text, 'home');
    await put('inv', 'start.html', 'start page');
    await s3.send(
      new PutBucketWebsiteCommand({ Bucket: 'inv', WebsiteConfiguration: { IndexDocument: { Suffix: 'start.html' } } }),
    );
    assert.equal((await view('inv', '/')).text, 'start page');
  });

  test('a policy that reads the request is decided per request, never from the cache', {
    timeout: 120_000,
  }, async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'hotlink' }));
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: 'hotlink',
        Policy: policy('hotlink', { Condition: { StringLike: { 'aws:Referer': ['http://good.example/*'] } } }),
      }),
    );
    await put('hotlink', 'img.html', 'picture');
    for (let i = 0; i < 3; i++) {
      assert.equal((await view('hotlink', '/img', { referer: 'http://good.example/page' })).text, 'picture');
      assert.equal((await view('hotlink', '/img', { referer: 'http://evil.example/' })).status, 403);
      assert.equal((await view('hotlink', '/img')).status, 403);
    }
  });

  test('a change written by another process (the cellar CLI) is picked up within seconds', {
    timeout: 120_000,
  }, async () => {
    await publicBucket('outside');
    await put('outside', 'index.html', 'index');
    await put('outside', 'home.html', 'home');
    assert.equal((await view('outside', '/')).text, 'index');
    const other = await Storage.open({
      dataDir: t.cellar.config.dataDir,
      maxObjectSize: 1 << 20,
      gcGraceMs: 3_600_000,
      collectOnOpen: false,
    });
    try {
      other.setBucketWebsite('outside', { indexDocument: { suffix: 'home.html' } });
    } finally {
      other.close();
    }
    const deadline = Date.now() + 5000;
    let text = '';
    while (Date.now() < deadline && text !== 'home') {
      text = (await view('outside', '/')).text;
      if (text !== 'home') await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(text, 'home');
  });
});
