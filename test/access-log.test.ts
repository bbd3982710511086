/**
 * The access log: one JSON line per request whose request id is the one the client saw
 * (x-amz-request-id on S3 answers, x-request-id on website answers), and a file that is reopened
 * after logrotate moved it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  PutBucketCorsCommand,
  PutBucketWebsiteCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { startTestCellar } from './helpers/cellar.js';

type Line = Record<string, unknown>;

function lines(file: string): Line[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);
}

function get(
  port: number,
  p: string,
  host: string,
  o: { method?: string; headers?: Record<string, string> } = {},
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    http
      .request(
        { host: '127.0.0.1', port, path: p, method: o.method ?? 'GET', headers: { host, ...o.headers } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res));
        },
      )
      .on('error', reject)
      .end();
  });
}

type LoggedCellar = Awaited<ReturnType<typeof startTestCellar>>;

/** A server whose access log goes to a file of a fresh directory, removed afterwards. */
async function withLoggedCellar(fn: (t: LoggedCellar, file: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cellar-log-'));
  try {
    const file = path.join(dir, 'access.log');
    await fn(await startTestCellar({ accessLog: file }), file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('S3, website and admin requests each log one line carrying the id the client saw', {
  timeout: 30_000,
}, async () => {
  await withLoggedCellar(async (t, file) => {
    const s3 = t.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'logged' }));
    await s3.send(new PutObjectCommand({ Bucket: 'logged', Key: 'index.html', Body: '<p>hi</p>', ACL: 'public-read' }));
    const failed = await fetch(`${t.endpoint}/logged/missing.txt`);
    await failed.arrayBuffer();
    assert.equal(failed.status, 403); // anonymous: AccessDenied, not NoSuchKey
    const s3Id = failed.headers.get('x-amz-request-id');
    assert.match(s3Id ?? '', /^[0-9A-F]{16}$/);
    const site1 = await get(t.port, '/', `logged.localhost:${t.port}`);
    const site2 = await get(t.port, '/', `logged.localhost:${t.port}`);
    assert.equal(site2.statusCode, 200);
    const siteId = site2.headers['x-request-id'];
    assert.match(String(siteId), /^[0-9A-F]{16}$/);
    assert.notEqual(siteId, site1.headers['x-request-id']);
    const adminRes = await fetch(`http://127.0.0.1:${t.cellar.admin.port}/api/v1/addons`);
    await adminRes.arrayBuffer();
    assert.equal(adminRes.status, 401);

    await t.stop();
    const all = lines(file);
    const s3Line = all.find((l) => l.requestId === s3Id);
    assert.ok(s3Line, `no line for ${s3Id}`);
    assert.equal(s3Line.side, 's3');
    assert.equal(s3Line.op, 'GetObject');
    assert.equal(s3Line.bucket, 'logged');
    assert.equal(s3Line.addon, null);
    assert.equal(s3Line.status, 403);
    assert.equal(s3Line.error, 'AccessDenied');
    assert.equal(s3Line.method, 'GET');
    assert.equal(s3Line.path, '/logged/missing.txt');
    assert.equal(s3Line.remote, '127.0.0.1');
    assert.ok(typeof s3Line.ms === 'number' && s3Line.ms >= 0);
    assert.ok(typeof s3Line.bytesOut === 'number' && s3Line.bytesOut > 0);
    assert.ok(!Number.isNaN(Date.parse(String(s3Line.time))));

    const put = all.find((l) => l.op === 'PutObject');
    assert.equal(put?.addon, t.owner.id);
    assert.ok((put?.bytesIn as number) >= 9);

    const siteLines = all.filter((l) => l.side === 'website');
    assert.equal(siteLines.length, 2);
    assert.deepEqual(
      siteLines.map((l) => l.cache),
      ['miss', 'hit'],
    );
    const siteLine = siteLines.find((l) => l.requestId === siteId);
    assert.equal(siteLine?.status, 200);
    assert.equal(siteLine?.host, `logged.localhost:${t.port}`);
    assert.equal(siteLine?.bucket, 'logged');

    const adminLine = all.find((l) => l.side === 'admin');
    assert.equal(adminLine?.status, 401);
    assert.equal(adminLine?.path, '/api/v1/addons');
    // Every request id is unique.
    assert.equal(new Set(all.map((l) => l.requestId)).size, all.length);
  });
});

test('after logrotate moves the file, reopening writes a new one', { timeout: 30_000 }, async () => {
  await withLoggedCellar(async (t, file) => {
    const first = await fetch(`${t.endpoint}/before`);
    await first.arrayBuffer();
    t.cellar.obs.flush();
    renameSync(file, `${file}.1`);
    await t.cellar.reopenLogs();
    const second = await fetch(`${t.endpoint}/after`);
    await second.arrayBuffer();
    await t.stop();
    assert.deepEqual(
      lines(`${file}.1`).map((l) => l.path),
      ['/before'],
    );
    assert.deepEqual(
      lines(file).map((l) => l.path),
      ['/after'],
    );
  });
});

test('every kind of website answer carries x-request-id, and its log line has the same id', {
  timeout: 30_000,
}, async () => {
  await withLoggedCellar(async (t, file) => {
    const s3 = t.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'kinds', ACL: 'public-read' }));
    await s3.send(
      new PutObjectCommand({
        Bucket: 'kinds',
        Key: 'index.html',
        Body: '<p>k</p>',
        ACL: 'public-read',
        ContentType: 'text/html',
      }),
    );
    await s3.send(
      new PutBucketWebsiteCommand({
        Bucket: 'kinds',
        WebsiteConfiguration: {
          IndexDocument: { Suffix: 'index.html' },
          RoutingRules: [{ Condition: { KeyPrefixEquals: 'old/' }, Redirect: { ReplaceKeyPrefixWith: 'new/' } }],
        },
      }),
    );
    await s3.send(
      new PutBucketCorsCommand({
        Bucket: 'kinds',
        CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['https://app.example'], AllowedMethods: ['GET'] }] },
      }),
    );
    const host = `kinds.localhost:${t.port}`;
    const first = await get(t.port, '/index.html', host);
    const etag = String(first.headers.etag);
    const answers: [string, http.IncomingMessage, number][] = [
      ['miss', first, 200],
      ['hit', await get(t.port, '/index.html', host), 200],
      ['304', await get(t.port, '/index.html', host, { headers: { 'if-none-match': etag } }), 304],
      ['range', await get(t.port, '/index.html', host, { headers: { range: 'bytes=0-1' } }), 206],
      ['HEAD', await get(t.port, '/index.html', host, { method: 'HEAD' }), 200],
      ['error page', await get(t.port, '/missing.html', host), 404],
      ['routing redirect', await get(t.port, '/old/page.html', host), 301],
      ['CORS GET', await get(t.port, '/index.html', host, { headers: { origin: 'https://app.example' } }), 200],
      [
        'preflight',
        await get(t.port, '/index.html', host, {
          method: 'OPTIONS',
          headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' },
        }),
        200,
      ],
      [
        'refused preflight',
        await get(t.port, '/index.html', host, {
          method: 'OPTIONS',
          headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
        }),
        403,
      ],
    ];
    await t.stop();
    const byId = new Map(lines(file).map((l) => [l.requestId, l]));
    for (const [name, res, status] of answers) {
      assert.equal(res.statusCode, status, name);
      const id = res.headers['x-request-id'];
      assert.match(String(id), /^[0-9A-F]{16}$/, `${name}: x-request-id`);
      const line = byId.get(id);
      assert.ok(line, `${name}: no log line for ${String(id)}`);
      assert.equal(line.status, status, name);
      assert.equal(line.side, 'website', name);
    }
    assert.equal(new Set(answers.map(([, r]) => r.headers['x-request-id'])).size, answers.length);
  });
});
