import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { WebsiteConfig } from '#storage';
import { WebsiteCache } from './cache.js';
import { objectEntry } from './entity.js';
import { resolvePath, type Resolved } from './resolve.js';
import type { WebsiteBucket, WebsiteObject } from './source.js';

const DEFAULTS = { html: 'public, max-age=0, must-revalidate', other: '' };

function obj(key: string, headers: Record<string, string> = {}, size = 10): WebsiteObject {
  return {
    key,
    size,
    etag: `etag-${key}`,
    lastModified: new Date(0),
    acl: null,
    headers,
    open: async () => Readable.from([Buffer.alloc(size)]),
  };
}

interface Site {
  keys: string[];
  /** Keys nobody may read (they exist, private). */
  privateKeys?: string[];
  /** Whether a missing key may be read (public policy on the whole bucket). */
  publicMissing?: boolean;
  website?: WebsiteConfig | null;
  headers?: Record<string, Record<string, string>>;
}

async function resolve(site: Site, rawPath: string): Promise<{ value: Resolved; keys: string[] }> {
  const bucket: WebsiteBucket = {
    name: 'b',
    website: site.website ?? null,
    cors: null,
    contextFree: true,
    fingerprint: '',
    mayRead: (key, o) => (o === null ? (site.publicMissing ?? true) : !(site.privateKeys ?? []).includes(key)),
  };
  const cache = new WebsiteCache<Resolved>({ maxBytes: 1024, maxEntryBytes: 1024 });
  const slot = cache.makeSlot('b', bucket, 0, 0);
  const all = [...site.keys, ...(site.privateKeys ?? [])];
  return resolvePath({ slot, rawPath, protocol: 'http', host: 'b.localhost:8080', context: () => ({}) }, async (key) =>
    all.includes(key) ? objectEntry('b', obj(key, site.headers?.[key]), DEFAULTS) : null,
  );
}

/** A compact reading of an answer: `200 key`, `404 key`, `404 builtin`, `302 /x/`, `bad-path`. */
function summary(r: Resolved): string {
  switch (r.kind) {
    case 'object':
      return `${r.rep.status} ${r.rep.identity.source.obj.key}`;
    case 'error':
      return `${r.status} ${r.page === null ? 'builtin' : r.page.identity.source.obj.key}`;
    case 'redirect':
      return `${r.status} ${r.location}`;
    case 'bad-path':
      return 'bad-path';
  }
}

const SITE: Site = {
  keys: ['index.html', 'login.html', 'about/index.html', '404.html', 'app.js', 'docs/guide', 'café.html'],
};
const spa: WebsiteConfig = {
  indexDocument: { suffix: 'index.html' },
  routingRules: [
    {
      condition: { httpErrorCodeReturnedEquals: '404' },
      redirect: { replaceKeyWith: 'index.html', httpRedirectCode: '200' },
    },
  ],
};

const rows: Array<[string, Site, string, string]> = [
  ['root -> index', SITE, '/', '200 index.html'],
  ['clean URL', SITE, '/login', '200 login.html'],
  ['exact .html', SITE, '/login.html', '200 login.html'],
  ['exact key wins over .html', { keys: ['docs/guide', 'docs/guide.html'] }, '/docs/guide', '200 docs/guide'],
  ['folder without slash -> 302', SITE, '/about', '302 /about/'],
  ['folder with slash -> its index', SITE, '/about/', '200 about/index.html'],
  ['folder without index -> 404 page', SITE, '/docs/', '404 404.html'],
  ['percent-encoded unicode clean URL', SITE, '/caf%C3%A9', '200 café.html'],
  ['raw unicode clean URL', SITE, '/café', '200 café.html'],
  ['double slash is a different key', SITE, '//login', '404 404.html'],
  ['.. above the root', SITE, '/../index.html', 'bad-path'],
  ['bad escape', SITE, '/%zz', 'bad-path'],
  ['missing -> 404.html', SITE, '/nope', '404 404.html'],
  ['missing without 404.html -> builtin', { keys: ['index.html'] }, '/nope', '404 builtin'],
  ['missing, not readable -> 403', { ...SITE, publicMissing: false }, '/nope', '403 404.html'],
  [
    'private object -> 403 with 404.html',
    { keys: ['index.html', '404.html'], privateKeys: ['secret.html'] },
    '/secret',
    '403 404.html',
  ],
  [
    'private object, no 404.html -> builtin 403',
    { keys: ['index.html'], privateKeys: ['secret.html'] },
    '/secret',
    '403 builtin',
  ],
  ['private first candidate is not bypassed', { keys: ['x.html'], privateKeys: ['x'] }, '/x', '403 builtin'],
  ['private folder index -> no redirect, 404', { keys: [], privateKeys: ['p/index.html'] }, '/p', '404 builtin'],
  [
    'configured error document, 404',
    {
      keys: ['index.html', 'oops.html'],
      website: { indexDocument: { suffix: 'index.html' }, errorDocument: { key: 'oops.html' } },
    },
    '/x',
    '404 oops.html',
  ],
  [
    'configured error document, 403',
    {
      keys: ['oops.html'],
      privateKeys: ['s.html'],
      website: { indexDocument: { suffix: 'index.html' }, errorDocument: { key: 'oops.html' } },
    },
    '/s.html',
    '403 oops.html',
  ],
  [
    'configured but missing error document',
    {
      keys: ['index.html', '404.html'],
      website: { indexDocument: { suffix: 'index.html' }, errorDocument: { key: 'gone.html' } },
    },
    '/x',
    '404 builtin',
  ],
  [
    'custom index suffix',
    { keys: ['home.htm', 'a/home.htm'], website: { indexDocument: { suffix: 'home.htm' } } },
    '/a/',
    '200 a/home.htm',
  ],
  [
    'custom index suffix drives the slash redirect',
    { keys: ['a/home.htm'], website: { indexDocument: { suffix: 'home.htm' } } },
    '/a',
    '302 /a/',
  ],
  [
    'object redirect',
    { keys: ['old.html'], headers: { 'old.html': { 'x-amz-website-redirect-location': '/new' } } },
    '/old',
    '301 /new',
  ],
  [
    'SPA: deep link -> index.html with 200',
    { keys: ['index.html', 'app.js'], website: spa },
    '/app/users/42',
    '200 index.html',
  ],
  ['SPA: real files still served', { keys: ['index.html', 'app.js'], website: spa }, '/app.js', '200 app.js'],
  [
    'SPA rule does not turn a 403 into a 200',
    { keys: ['index.html'], privateKeys: ['p.html'], website: spa },
    '/p.html',
    '403 builtin',
  ],
  ['404.html must be readable to serve', { keys: ['index.html'], privateKeys: ['404.html'] }, '/x', '404 builtin'],
  [
    'prefix rule before lookup',
    {
      keys: ['docs/a'],
      website: {
        indexDocument: { suffix: 'index.html' },
        routingRules: [{ condition: { keyPrefixEquals: 'docs/' }, redirect: { replaceKeyPrefixWith: 'documents/' } }],
      },
    },
    '/docs/a',
    '301 http://b.localhost:8080/documents/a',
  ],
  [
    '404 rule to another host',
    {
      keys: [],
      website: {
        indexDocument: { suffix: 'index.html' },
        routingRules: [
          {
            condition: { httpErrorCodeReturnedEquals: '404' },
            redirect: { hostName: 'old.example.com', httpRedirectCode: '302' },
          },
        ],
      },
    },
    '/x',
    '302 http://old.example.com/x',
  ],
  [
    'routing rule wins over object redirect',
    {
      keys: ['r'],
      headers: { r: { 'x-amz-website-redirect-location': '/elsewhere' } },
      website: {
        indexDocument: { suffix: 'index.html' },
        routingRules: [{ condition: { keyPrefixEquals: 'r' }, redirect: { replaceKeyWith: 'rule' } }],
      },
    },
    '/r',
    '301 http://b.localhost:8080/rule',
  ],
  [
    'serve-with-404 rule',
    {
      keys: ['nf.html'],
      website: {
        indexDocument: { suffix: 'index.html' },
        routingRules: [
          {
            condition: { httpErrorCodeReturnedEquals: '404' },
            redirect: { replaceKeyWith: 'nf.html', httpRedirectCode: '404' },
          },
        ],
      },
    },
    '/x',
    '404 nf.html',
  ],
];

for (const [name, site, path, expected] of rows) {
  test(`resolvePath: ${name}`, { timeout: 30_000 }, async () => {
    assert.equal(summary((await resolve(site, path)).value), expected);
  });
}

test('resolvePath records every key it looked at (the cache drops the answer when any changes)', {
  timeout: 30_000,
}, async () => {
  assert.deepEqual((await resolve(SITE, '/about')).keys, ['about', 'about.html', 'about/index.html']);
  assert.deepEqual((await resolve(SITE, '/nope')).keys, ['nope', 'nope.html', 'nope/index.html', '404.html']);
  assert.deepEqual((await resolve(SITE, '/app.js')).keys, ['app.js', 'app.js.br', 'app.js.gz']);
});

test('resolvePath attaches readable precompressed sidecars', { timeout: 30_000 }, async () => {
  const r = (await resolve({ keys: ['app.js', 'app.js.br'], privateKeys: ['app.js.gz'] }, '/app.js')).value;
  assert.equal(r.kind, 'object');
  if (r.kind !== 'object') return;
  assert.equal(r.rep.br?.source.obj.key, 'app.js.br');
  assert.equal(r.rep.br?.dynamic, false);
  assert.equal(r.rep.gzip, null, 'a private sidecar is not served (and the object is too small to compress)');
});

test('resolvePath: status and conditionals of the error document', { timeout: 30_000 }, async () => {
  const r = (await resolve(SITE, '/nope')).value;
  assert.equal(r.kind, 'error');
  if (r.kind !== 'error') return;
  assert.equal(r.page?.status, 404);
  assert.equal(r.page?.conditional, false);
});
