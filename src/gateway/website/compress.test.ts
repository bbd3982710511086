import { test } from 'node:test';
import assert from 'node:assert/strict';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { AcceptsCache, compressBuffer, compressStream, isCompressibleType } from './compress.js';

const types: Array<[string, boolean]> = [
  ['text/html', true],
  ['text/html; charset=utf-8', true],
  ['text/css', true],
  ['text/javascript', true],
  ['application/javascript', true],
  ['application/json', true],
  ['application/ld+json', true],
  ['application/rss+xml', true],
  ['image/svg+xml', true],
  ['application/wasm', true],
  ['font/ttf', true],
  ['image/png', false],
  ['image/jpeg', false],
  ['font/woff2', false],
  ['application/octet-stream', false],
  ['application/zip', false],
  ['video/mp4', false],
  ['text', false],
];
for (const [type, expected] of types) {
  test(`isCompressibleType(${type}) = ${expected}`, { timeout: 30_000 }, () =>
    assert.equal(isCompressibleType(type), expected),
  );
}

const accepts: Array<[string | undefined, { br: boolean; gzip: boolean }]> = [
  [undefined, { br: false, gzip: false }],
  ['', { br: false, gzip: false }],
  ['gzip, deflate, br, zstd', { br: true, gzip: true }],
  ['gzip', { br: false, gzip: true }],
  ['br', { br: true, gzip: false }],
  ['BR;q=1.0, GZIP;q=0.5', { br: true, gzip: true }],
  ['br;q=0, gzip', { br: false, gzip: true }],
  ['x-gzip', { br: false, gzip: true }],
  ['*', { br: true, gzip: true }],
  ['*, br;q=0', { br: false, gzip: true }],
  ['identity', { br: false, gzip: false }],
  ['deflate', { br: false, gzip: false }],
];
for (const [header, expected] of accepts) {
  test(`AcceptsCache.get(${JSON.stringify(header)})`, { timeout: 30_000 }, () => {
    const accepts = new AcceptsCache();
    assert.deepEqual({ ...accepts.get(header) }, expected);
    assert.deepEqual({ ...accepts.get(header) }, expected, 'remembered parse is the same');
  });
}

test('compressBuffer round-trips with both codings and shrinks text', { timeout: 30_000 }, async () => {
  const text = Buffer.from('<p>hello website</p>\n'.repeat(200));
  const br = await compressBuffer('br', text);
  const gz = await compressBuffer('gzip', text);
  assert.ok(br.length < text.length / 5 && gz.length < text.length / 5);
  assert.deepEqual(brotliDecompressSync(br), text);
  assert.deepEqual(gunzipSync(gz), text);
});

test('compressStream produces a decodable stream', { timeout: 30_000 }, async () => {
  const text = Buffer.from('a'.repeat(100_000));
  for (const [coding, decode] of [
    ['br', brotliDecompressSync],
    ['gzip', gunzipSync],
  ] as const) {
    const z = compressStream(coding);
    const chunks: Buffer[] = [];
    z.on('data', (c: Buffer) => chunks.push(c));
    const done = new Promise((r) => z.on('end', r));
    z.end(text);
    await done;
    assert.deepEqual(decode(Buffer.concat(chunks)), text);
  }
});
