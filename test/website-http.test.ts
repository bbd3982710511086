/**
 * HTTP behaviour of the website side: validators and 304, Range, HEAD, Content-Type and
 * Cache-Control, compression (on the fly and precompressed), CORS, large objects.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { brotliCompressSync, brotliDecompressSync, gunzipSync } from 'node:zlib';
import {
  CreateBucketCommand,
  DeleteBucketCorsCommand,
  PutBucketCorsCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { raw, type RawResponse } from './helpers/raw.js';

let t: TestCellar;
let s3: S3Client;

const CSS = 'body { color: rgb(1, 2, 3); }\n'.repeat(100);
const JS = 'export const answer = 42;\n'.repeat(100);
const JS_BR = brotliCompressSync(Buffer.from(JS));
const BIG = randomBytes(300 * 1024);
const BIG_TEXT = 'lorem ipsum dolor sit amet '.repeat(20_000);

function web(path: string, headers: Record<string, string> = {}, method = 'GET', host = 'web'): Promise<RawResponse> {
  return raw(t.endpoint, { method, path, headers: { host: `${host}.localhost:${t.port}`, ...headers } });
}

before(async () => {
  // A small per-entry limit so that "too big to cache" is exercised with small objects.
  t = await startTestCellar({ cacheMaxEntryBytes: 256 * 1024 });
  s3 = t.client();
  for (const b of ['web', 'api']) {
    await s3.send(new CreateBucketCommand({ Bucket: b }));
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: b,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/*` }],
        }),
      }),
    );
  }
  const put = (Key: string, Body: string | Buffer, extra: Record<string, string> = {}) =>
    s3.send(new PutObjectCommand({ Bucket: 'web', Key, Body, ...extra }));
  await put('index.html', '<h1>hi</h1>', { ContentType: 'text/html' });
  await put('style.css', CSS, { ContentType: 'text/css' });
  await put('small.css', 'a{}', { ContentType: 'text/css' });
  await put('app.js', JS, { ContentType: 'application/javascript' });
  await put('app.js.br', JS_BR, { ContentType: 'binary/octet-stream' });
  await put('guessed.css', CSS, { ContentType: 'binary/octet-stream' });
  await put('logo.png', randomBytes(4000), { ContentType: 'binary/octet-stream' });
  await put('immutable.js', JS, {
    ContentType: 'text/javascript',
    CacheControl: 'public, max-age=31536000, immutable',
  });
  await put('big.bin', BIG, { ContentType: 'application/octet-stream' });
  await put('big.txt', BIG_TEXT, { ContentType: 'text/plain' });
  await s3.send(
    new PutObjectCommand({ Bucket: 'api', Key: 'data.json', Body: '{"ok":true}', ContentType: 'application/json' }),
  );
});
after(() => t.stop());

describe('validators, 304 and 412', () => {
  test('ETag and Last-Modified; If-None-Match and If-Modified-Since give 304', { timeout: 120_000 }, async () => {
    const r = await web('/');
    const etag = String(r.headers.etag);
    const lastModified = String(r.headers['last-modified']);
    assert.match(etag, /^"[0-9a-f]{32}"$/);
    assert.ok(!Number.isNaN(Date.parse(lastModified)));
    const inm = await web('/', { 'if-none-match': etag });
    assert.equal(inm.status, 304);
    assert.equal(inm.body.length, 0);
    assert.equal(inm.headers.etag, etag);
    assert.equal(inm.headers['cache-control'], 'public, max-age=0, must-revalidate');
    assert.equal((await web('/', { 'if-modified-since': lastModified })).status, 304);
    assert.equal((await web('/', { 'if-modified-since': 'Thu, 01 Jan 1970 00:00:00 GMT' })).status, 200);
    assert.equal((await web('/', { 'if-none-match': '"other"' })).status, 200);
    assert.equal((await web('/', { 'if-match': '"other"' })).status, 412);
    assert.equal((await web('/', { 'if-none-match': etag }, 'HEAD')).status, 304);
  });
});

describe('Range and HEAD', () => {
  test('206 for a range, 416 past the end, suffix ranges', { timeout: 120_000 }, async () => {
    const r = await web('/style.css', { range: 'bytes=5-14' });
    assert.equal(r.status, 206);
    assert.equal(r.text, CSS.slice(5, 15));
    assert.equal(r.headers['content-range'], `bytes 5-14/${CSS.length}`);
    assert.equal(r.headers['content-encoding'], undefined, 'ranges are never compressed');
    const suffix = await web('/style.css', { range: 'bytes=-4', 'accept-encoding': 'gzip' });
    assert.equal(suffix.text, CSS.slice(-4));
    const headRange = await web('/style.css', { range: 'bytes=0-9' }, 'HEAD');
    assert.equal(headRange.status, 206);
    assert.equal(headRange.body.length, 0);
    assert.equal(headRange.headers['content-length'], '10');
    const past = await web('/style.css', { range: `bytes=${CSS.length}-` });
    assert.equal(past.status, 416);
    assert.equal(past.headers['content-range'], `bytes */${CSS.length}`);
  });

  test('ranges of an object too big to cache stream from storage', { timeout: 120_000 }, async () => {
    const r = await web('/big.bin', { range: 'bytes=100000-100099' });
    assert.equal(r.status, 206);
    assert.deepEqual(r.body, BIG.subarray(100000, 100100));
  });

  test('HEAD: the GET headers without a body', { timeout: 120_000 }, async () => {
    const get = await web('/style.css');
    const head = await web('/style.css', {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    for (const h of ['content-type', 'content-length', 'etag', 'last-modified', 'cache-control', 'vary']) {
      assert.equal(head.headers[h], get.headers[h], h);
    }
    const headGz = await web('/style.css', { 'accept-encoding': 'gzip' }, 'HEAD');
    assert.equal(headGz.headers['content-encoding'], 'gzip');
    assert.ok(Number(headGz.headers['content-length']) < CSS.length);
  });
});

describe('headers from the object', () => {
  test('Content-Type from the object, else by extension; nosniff always', { timeout: 120_000 }, async () => {
    assert.equal((await web('/style.css')).headers['content-type'], 'text/css');
    assert.equal((await web('/guessed.css')).headers['content-type'], 'text/css; charset=utf-8');
    assert.equal((await web('/logo.png')).headers['content-type'], 'image/png');
    assert.equal((await web('/big.bin', {}, 'HEAD')).headers['content-type'], 'application/octet-stream');
    assert.equal((await web('/logo.png')).headers['x-content-type-options'], 'nosniff');
  });

  test('Cache-Control from the object overrides the default', { timeout: 120_000 }, async () => {
    assert.equal((await web('/immutable.js')).headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal((await web('/style.css')).headers['cache-control'], 'public, max-age=0, must-revalidate');
  });
});

describe('compression', () => {
  test('gzip and brotli when accepted, with Vary and a weak ETag; identity otherwise', {
    timeout: 120_000,
  }, async () => {
    const plain = await web('/style.css');
    assert.equal(plain.text, CSS);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.headers.vary, 'Accept-Encoding');
    const gz = await web('/style.css', { 'accept-encoding': 'gzip, deflate' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gz.headers.vary, 'Accept-Encoding');
    assert.equal(gunzipSync(gz.body).toString(), CSS);
    assert.equal(Number(gz.headers['content-length']), gz.body.length);
    assert.equal(gz.headers.etag, `W/${plain.headers.etag}`);
    const br = await web('/style.css', { 'accept-encoding': 'gzip, deflate, br' });
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(brotliDecompressSync(br.body).toString(), CSS);
    assert.ok(br.body.length < CSS.length / 10);
    assert.equal(
      (await web('/style.css', { 'accept-encoding': 'br', 'if-none-match': String(br.headers.etag) })).status,
      304,
    );
  });

  test('small bodies and non-text types are not compressed', { timeout: 120_000 }, async () => {
    assert.equal((await web('/small.css', { 'accept-encoding': 'br, gzip' })).headers['content-encoding'], undefined);
    const png = await web('/logo.png', { 'accept-encoding': 'br, gzip' });
    assert.equal(png.headers['content-encoding'], undefined);
    assert.equal(png.headers.vary, undefined);
  });

  test('a precompressed x.br is served for x when brotli is accepted', { timeout: 120_000 }, async () => {
    const br = await web('/app.js', { 'accept-encoding': 'gzip, br' });
    assert.equal(br.headers['content-encoding'], 'br');
    assert.deepEqual(br.body, JS_BR, 'the stored .br bytes, not a fresh compression');
    assert.match(String(br.headers['content-type']), /javascript/);
    assert.notEqual(br.headers.etag, (await web('/app.js')).headers.etag);
    const gz = await web('/app.js', { 'accept-encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(gz.body).toString(), JS);
    assert.equal((await web('/app.js')).text, JS);
  });

  test('a text object too big to cache is compressed on the way', { timeout: 120_000 }, async () => {
    const r = await web('/big.txt', { 'accept-encoding': 'gzip' });
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(r.body).toString(), BIG_TEXT);
    assert.equal((await web('/big.txt')).text, BIG_TEXT);
  });
});

describe('CORS', () => {
  const origin = 'http://web.localhost:1234';

  test('no CORS headers until the bucket allows the origin, then on GET, 304 and errors', {
    timeout: 120_000,
  }, async () => {
    assert.equal((await web('/data.json', { origin }, 'GET', 'api')).headers['access-control-allow-origin'], undefined);
    await s3.send(
      new PutBucketCorsCommand({
        Bucket: 'api',
        CORSConfiguration: {
          CORSRules: [
            {
              AllowedOrigins: [origin],
              AllowedMethods: ['GET', 'HEAD'],
              AllowedHeaders: ['*'],
              ExposeHeaders: ['ETag'],
              MaxAgeSeconds: 600,
            },
          ],
        },
      }),
    );
    const r = await web('/data.json', { origin }, 'GET', 'api');
    assert.equal(r.status, 200);
    assert.equal(r.headers['access-control-allow-origin'], origin);
    assert.equal(r.headers['access-control-expose-headers'], 'ETag');
    assert.match(String(r.headers.vary), /Origin/);
    const nm = await web('/data.json', { origin, 'if-none-match': String(r.headers.etag) }, 'GET', 'api');
    assert.equal(nm.status, 304);
    assert.equal(nm.headers['access-control-allow-origin'], origin);
    assert.equal((await web('/missing', { origin }, 'GET', 'api')).headers['access-control-allow-origin'], origin);
    assert.equal(
      (await web('/data.json', { origin: 'http://evil.test' }, 'GET', 'api')).headers['access-control-allow-origin'],
      undefined,
    );
  });

  test('preflight on a bucket host answers from the rules', { timeout: 120_000 }, async () => {
    const ok = await web(
      '/data.json',
      { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'X-Custom' },
      'OPTIONS',
      'api',
    );
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['access-control-allow-origin'], origin);
    assert.equal(ok.headers['access-control-allow-headers'], 'x-custom');
    assert.equal(ok.headers['access-control-max-age'], '600');
    const refused = await web('/data.json', { origin, 'access-control-request-method': 'DELETE' }, 'OPTIONS', 'api');
    assert.equal(refused.status, 403);
    assert.match(String(refused.headers['content-type']), /^text\/html/);
    await s3.send(new DeleteBucketCorsCommand({ Bucket: 'api' }));
    assert.equal(
      (await web('/data.json', { origin, 'access-control-request-method': 'GET' }, 'OPTIONS', 'api')).status,
      403,
    );
    assert.equal((await web('/data.json', { origin }, 'OPTIONS', 'nosuch')).status, 404);
  });
});
