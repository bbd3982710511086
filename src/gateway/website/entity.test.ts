import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { contentTypeOf, objectEntry, representation, type Variant } from './entity.js';
import type { WebsiteObject } from './source.js';

const types: Array<[string, string, string | undefined, string]> = [
  ['stored type wins', 'x.css', 'text/x-scss', 'text/x-scss'],
  ['stored type with parameters wins', 'x.html', 'text/html; charset=iso-8859-1', 'text/html; charset=iso-8859-1'],
  ['text/plain (python-magic on CSS) yields to the extension', 'x.css', 'text/plain', 'text/css; charset=utf-8'],
  ['text/plain with a charset yields too', 'app.js', 'text/plain; charset=us-ascii', 'text/javascript; charset=utf-8'],
  ['text/plain stays for .txt', 'notes.txt', 'text/plain', 'text/plain'],
  ['text/plain stays without an extension', 'README', 'text/plain', 'text/plain'],
  ['binary/octet-stream falls back to the extension', 'x.css', 'binary/octet-stream', 'text/css; charset=utf-8'],
  ['application/octet-stream falls back too', 'app.js', 'application/octet-stream', 'text/javascript; charset=utf-8'],
  ['html gets a charset', 'page.html', 'binary/octet-stream', 'text/html; charset=utf-8'],
  ['image', 'a/b/logo.png', 'binary/octet-stream', 'image/png'],
  ['unknown extension keeps the stored type', 'data.zzz', 'binary/octet-stream', 'binary/octet-stream'],
  ['no extension keeps the stored type', 'LICENSE', 'application/octet-stream', 'application/octet-stream'],
  ['nothing stored, no extension', 'LICENSE', undefined, 'application/octet-stream'],
];
for (const [name, key, stored, expected] of types) {
  test(`contentTypeOf: ${name}`, { timeout: 30_000 }, () => assert.equal(contentTypeOf(key, stored), expected));
}

function obj(key: string, size: number, headers: Record<string, string>): WebsiteObject {
  return {
    key,
    size,
    etag: `e-${key}`,
    lastModified: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
    acl: null,
    headers,
    open: async () => Readable.from([]),
  };
}

const DEFAULTS = { html: 'public, max-age=0, must-revalidate', other: 'public, max-age=60' };

function headerMap(list: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < list.length; i += 2) m.set(list[i]!.toLowerCase(), list[i + 1]!);
  return m;
}

test('objectEntry: defaults for Cache-Control by type, stored values win', { timeout: 30_000 }, () => {
  assert.equal(
    objectEntry('b', obj('a.html', 10, { 'content-type': 'text/html' }), DEFAULTS).cacheControl,
    DEFAULTS.html,
  );
  assert.equal(
    objectEntry('b', obj('a.png', 10, { 'content-type': 'image/png' }), DEFAULTS).cacheControl,
    DEFAULTS.other,
  );
  assert.equal(
    objectEntry('b', obj('a.html', 10, { 'content-type': 'text/html', 'cache-control': 'no-cache' }), DEFAULTS)
      .cacheControl,
    'no-cache',
  );
});

test('objectEntry: compressible only for text-like types over 1 KiB and not already encoded', {
  timeout: 30_000,
}, () => {
  assert.equal(objectEntry('b', obj('a.css', 2000, { 'content-type': 'text/css' }), DEFAULTS).compressible, true);
  assert.equal(objectEntry('b', obj('a.css', 500, { 'content-type': 'text/css' }), DEFAULTS).compressible, false);
  assert.equal(objectEntry('b', obj('a.png', 5000, { 'content-type': 'image/png' }), DEFAULTS).compressible, false);
  assert.equal(
    objectEntry('b', obj('a.css', 5000, { 'content-type': 'text/css', 'content-encoding': 'gzip' }), DEFAULTS)
      .compressible,
    false,
  );
});

test('representation: a compressible 200 page has three renderings with distinct validators', {
  timeout: 30_000,
}, () => {
  const e = objectEntry('b', obj('a.css', 2000, { 'content-type': 'text/css', 'content-language': 'fr' }), DEFAULTS);
  const rep = representation(e, 200, { br: null, gzip: null });
  const id = headerMap(rep.identity.full!);
  assert.equal(id.get('etag'), '"e-a.css"');
  assert.equal(id.get('content-length'), '2000');
  assert.equal(id.get('last-modified'), 'Tue, 02 Jan 2024 03:04:05 GMT');
  assert.equal(id.get('vary'), 'Accept-Encoding');
  assert.equal(id.get('x-content-type-options'), 'nosniff');
  assert.equal(id.get('accept-ranges'), 'bytes');
  assert.equal(id.get('content-language'), 'fr');
  const br = rep.br as Variant;
  assert.equal(br.dynamic, true);
  assert.equal(br.full, null, 'length unknown until compressed');
  assert.equal(headerMap(br.head).get('etag'), 'W/"e-a.css"');
  assert.equal(headerMap(br.head).get('content-encoding'), 'br');
  assert.equal(headerMap(br.head).get('accept-ranges'), undefined);
  assert.notEqual(rep.br!.bodyKey, rep.gzip!.bodyKey);
  assert.equal(headerMap(rep.identity.notModified).get('vary'), 'Accept-Encoding');
});

test('representation: a sidecar brings its own bytes, length and ETag, with the original type', {
  timeout: 30_000,
}, () => {
  const e = objectEntry('b', obj('app.js', 500, { 'content-type': 'text/javascript' }), DEFAULTS);
  const side = objectEntry('b', obj('app.js.br', 120, { 'content-type': 'binary/octet-stream' }), DEFAULTS);
  const rep = representation(e, 200, { br: side, gzip: null });
  assert.equal(rep.gzip, null);
  const h = headerMap(rep.br!.full!);
  assert.equal(h.get('content-type'), 'text/javascript');
  assert.equal(h.get('content-encoding'), 'br');
  assert.equal(h.get('content-length'), '120');
  assert.equal(h.get('etag'), '"e-app.js.br"');
  assert.equal(headerMap(rep.identity.full!).get('vary'), 'Accept-Encoding');
});

test('representation: an error document carries no validators and no Vary when not compressible', {
  timeout: 30_000,
}, () => {
  const e = objectEntry('b', obj('404.html', 300, { 'content-type': 'text/html' }), DEFAULTS);
  const rep = representation(e, 404, { br: null, gzip: null });
  const h = headerMap(rep.identity.full!);
  assert.equal(rep.conditional, false);
  assert.equal(h.get('etag'), undefined);
  assert.equal(h.get('last-modified'), undefined);
  assert.equal(h.get('vary'), undefined);
  assert.equal(h.get('content-type'), 'text/html');
});
