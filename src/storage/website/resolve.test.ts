import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RoutingRule } from './config.js';
import {
  applyRoutingRules,
  candidateKeys,
  encodeWebsitePath,
  pathToKey,
  redirectAll,
  type RuleOutcome,
} from './resolve.js';

const BAD = { error: 'bad-path' } as const;

const pathRows: Array<[string, string, ReturnType<typeof pathToKey>]> = [
  ['root', '/', { key: '' }],
  ['plain key', '/index.html', { key: 'index.html' }],
  ['folder keeps its trailing slash', '/docs/', { key: 'docs/' }],
  ['nested', '/a/b/c.css', { key: 'a/b/c.css' }],
  ['percent-encoded space', '/file%20.jpg', { key: 'file .jpg' }],
  ['plus is literal in a path', '/a+b', { key: 'a+b' }],
  ['percent-encoded plus', '/a%2Bb', { key: 'a+b' }],
  ['lower-case hex escape', '/caf%c3%a9', { key: 'café' }],
  ['percent-encoded UTF-8', '/caf%C3%A9/menu', { key: 'café/menu' }],
  ['raw unicode', '/日本/ファイル.html', { key: '日本/ファイル.html' }],
  ['emoji (astral plane)', '/%F0%9F%98%80.png', { key: '😀.png' }],
  ['encoded slash becomes a slash', '/a%2Fb', { key: 'a/b' }],
  ['encoded percent', '/100%25', { key: '100%' }],
  ['double slash kept literally', '/a//b', { key: 'a//b' }],
  ['leading double slash', '//x', { key: '/x' }],
  ['dot segment kept literally', '/./a', { key: './a' }],
  ['inner .. that stays inside', '/a/../b', { key: 'a/../b' }],
  ['.. after two segments', '/a/b/../../c', { key: 'a/b/../../c' }],
  ['dots inside a name', '/a..b/...', { key: 'a..b/...' }],
  ['.. escaping the root', '/../etc/passwd', BAD],
  ['.. escaping after one segment', '/a/../../b', BAD],
  ['encoded .. escaping', '/%2e%2e/secret', BAD],
  ['encoded slash + .. escaping', '/..%2Fx', BAD],
  ['lone ..', '/..', BAD],
  ['truncated escape', '/abc%2', BAD],
  ['non-hex escape', '/abc%zz', BAD],
  ['bare percent', '/50%', BAD],
  ['invalid UTF-8', '/%C3%28', BAD],
  ['overlong UTF-8', '/%C0%AF', BAD],
  ['encoded NUL', '/a%00b', BAD],
  ['raw NUL', '/a\u0000b', BAD],
  ['relative path', 'index.html', BAD],
  ['empty path', '', BAD],
];

for (const [name, raw, expected] of pathRows) {
  test(`pathToKey: ${name}`, { timeout: 30_000 }, () => {
    assert.deepEqual(pathToKey(raw), expected);
  });
}

const candidateRows: Array<[string, string, string, ReturnType<typeof candidateKeys>]> = [
  ['root', '', 'index.html', { tryKeys: ['index.html'] }],
  ['root with a custom suffix', '', 'home.htm', { tryKeys: ['home.htm'] }],
  ['folder', 'a/', 'index.html', { tryKeys: ['a/index.html'] }],
  ['nested folder', 'a/b/', 'index.html', { tryKeys: ['a/b/index.html'] }],
  [
    'clean URL',
    'login',
    'index.html',
    {
      tryKeys: ['login', 'login.html'],
      slashRedirectIfExists: { key: 'login/index.html', location: '/login/' },
    },
  ],
  [
    'nested clean URL',
    'docs/intro',
    'index.html',
    {
      tryKeys: ['docs/intro', 'docs/intro.html'],
      slashRedirectIfExists: { key: 'docs/intro/index.html', location: '/docs/intro/' },
    },
  ],
  [
    '.html key gets no .html.html',
    'x.html',
    'index.html',
    {
      tryKeys: ['x.html'],
      slashRedirectIfExists: { key: 'x.html/index.html', location: '/x.html/' },
    },
  ],
  [
    'key with an extension',
    'app.js',
    'index.html',
    {
      tryKeys: ['app.js', 'app.js.html'],
      slashRedirectIfExists: { key: 'app.js/index.html', location: '/app.js/' },
    },
  ],
  [
    'unicode and space are encoded in Location',
    'mes photos/été',
    'index.html',
    {
      tryKeys: ['mes photos/été', 'mes photos/été.html'],
      slashRedirectIfExists: { key: 'mes photos/été/index.html', location: '/mes%20photos/%C3%A9t%C3%A9/' },
    },
  ],
  [
    'reserved characters are encoded in Location',
    'a?b#c%d',
    'index.html',
    {
      tryKeys: ['a?b#c%d', 'a?b#c%d.html'],
      slashRedirectIfExists: { key: 'a?b#c%d/index.html', location: '/a%3Fb%23c%25d/' },
    },
  ],
  [
    'a key starting with / is no protocol-relative Location (issue 12 F7, found by test/fuzz/website.test.ts)',
    '/evil.example',
    'index.html',
    {
      tryKeys: ['/evil.example', '/evil.example.html'],
      slashRedirectIfExists: { key: '/evil.example/index.html', location: '/%2Fevil.example/' },
    },
  ],
];

for (const [name, key, suffix, expected] of candidateRows) {
  test(`candidateKeys: ${name}`, { timeout: 30_000 }, () => {
    assert.deepEqual(candidateKeys(key, suffix), expected);
  });
}

const encodeRows: Array<[string, string]> = [
  ['a/b-c_d.e~f', 'a/b-c_d.e~f'],
  ["!$&'()*,;=:@", "!$&'()*,;=:@"],
  ['a b', 'a%20b'],
  ['a+b', 'a%2Bb'],
  ['?#%"<>`{}|\\^[]', '%3F%23%25%22%3C%3E%60%7B%7D%7C%5C%5E%5B%5D'],
  ['\r\n', '%0D%0A'],
  ['é', '%C3%A9'],
];
for (const [key, expected] of encodeRows) {
  test(`encodeWebsitePath: ${JSON.stringify(key)}`, { timeout: 30_000 }, () => {
    assert.equal(encodeWebsitePath(key), expected);
    assert.equal(decodeURIComponent(encodeWebsitePath(key)), key);
  });
}

const req = { protocol: 'http' as const, host: 'site.localhost:8080' };
const docsRule: RoutingRule = {
  condition: { keyPrefixEquals: 'docs/' },
  redirect: { replaceKeyPrefixWith: 'documents/' },
};
const notFoundRule: RoutingRule = {
  condition: { httpErrorCodeReturnedEquals: '404' },
  redirect: { hostName: 'ec2.example.com', replaceKeyPrefixWith: 'report-404/' },
};
const spaRule: RoutingRule = {
  condition: { httpErrorCodeReturnedEquals: '404' },
  redirect: { replaceKeyWith: 'index.html', httpRedirectCode: '200' },
};

type RuleRow = [string, RoutingRule[], string, number | null, RuleOutcome];
const ruleRows: RuleRow[] = [
  ['no rules', [], 'a', null, { type: 'none' }],
  [
    'prefix rule keeps the rest of the key (default 301, own host)',
    [docsRule],
    'docs/a/b.html',
    null,
    { type: 'redirect', status: 301, location: 'http://site.localhost:8080/documents/a/b.html' },
  ],
  ['prefix rule does not match another prefix', [docsRule], 'doc/a', null, { type: 'none' }],
  [
    'prefix rule also matches in the error phase',
    [docsRule],
    'docs/x',
    404,
    { type: 'redirect', status: 301, location: 'http://site.localhost:8080/documents/x' },
  ],
  [
    'prefix replaced by empty',
    [{ condition: { keyPrefixEquals: 'old/' }, redirect: { replaceKeyPrefixWith: '' } }],
    'old/page',
    null,
    { type: 'redirect', status: 301, location: 'http://site.localhost:8080/page' },
  ],
  [
    'ReplaceKeyWith',
    [{ condition: { keyPrefixEquals: 'ExamplePage.html' }, redirect: { replaceKeyWith: 'NewPage.html' } }],
    'ExamplePage.html',
    null,
    { type: 'redirect', status: 301, location: 'http://site.localhost:8080/NewPage.html' },
  ],
  [
    'ReplaceKeyPrefixWith without a prefix condition prepends',
    [{ redirect: { replaceKeyPrefixWith: 'v2/' } }],
    'a',
    null,
    { type: 'redirect', status: 301, location: 'http://site.localhost:8080/v2/a' },
  ],
  [
    'unconditional HostName + Protocol keeps the key',
    [{ redirect: { hostName: 'new.example.com', protocol: 'https' } }],
    'a/b',
    null,
    { type: 'redirect', status: 301, location: 'https://new.example.com/a/b' },
  ],
  [
    'unconditional rule at the root',
    [{ redirect: { hostName: 'new.example.com' } }],
    '',
    null,
    { type: 'redirect', status: 301, location: 'http://new.example.com/' },
  ],
  [
    'Protocol alone keeps the request host',
    [{ redirect: { protocol: 'https' } }],
    'k',
    null,
    { type: 'redirect', status: 301, location: 'https://site.localhost:8080/k' },
  ],
  [
    'explicit 302',
    [{ redirect: { hostName: 'x.test', httpRedirectCode: '302' } }],
    'k',
    null,
    { type: 'redirect', status: 302, location: 'http://x.test/k' },
  ],
  [
    'explicit 308',
    [{ redirect: { replaceKeyWith: 'y', httpRedirectCode: '308' } }],
    'k',
    null,
    { type: 'redirect', status: 308, location: 'http://site.localhost:8080/y' },
  ],
  ['error rule skipped before the lookup', [notFoundRule], 'ExamplePage.html', null, { type: 'none' }],
  [
    'error rule on its error',
    [notFoundRule],
    'ExamplePage.html',
    404,
    { type: 'redirect', status: 301, location: 'http://ec2.example.com/report-404/ExamplePage.html' },
  ],
  ['error rule on another error', [notFoundRule], 'ExamplePage.html', 403, { type: 'none' }],
  [
    'both conditions must hold (prefix fails)',
    [{ condition: { keyPrefixEquals: 'a/', httpErrorCodeReturnedEquals: '404' }, redirect: { replaceKeyWith: 'e' } }],
    'b/x',
    404,
    { type: 'none' },
  ],
  [
    'both conditions must hold (both ok)',
    [{ condition: { keyPrefixEquals: 'a/', httpErrorCodeReturnedEquals: '404' }, redirect: { replaceKeyWith: 'e' } }],
    'a/x',
    404,
    { type: 'redirect', status: 301, location: 'http://site.localhost:8080/e' },
  ],
  [
    'first match wins',
    [docsRule, { redirect: { hostName: 'other.test' } }],
    'docs/a',
    null,
    { type: 'redirect', status: 301, location: 'http://site.localhost:8080/documents/a' },
  ],
  [
    'later rule when the first does not match',
    [docsRule, { redirect: { hostName: 'other.test' } }],
    'img/a',
    null,
    { type: 'redirect', status: 301, location: 'http://other.test/img/a' },
  ],
  [
    'SPA: 404 -> index.html served with 200',
    [spaRule],
    'app/route',
    404,
    { type: 'serve', key: 'index.html', status: 200 },
  ],
  ['SPA rule does nothing before the lookup', [spaRule], 'app/route', null, { type: 'none' }],
  [
    'shared not-found page served with 404',
    [
      {
        condition: { httpErrorCodeReturnedEquals: '404' },
        redirect: { replaceKeyWith: 'missing.html', httpRedirectCode: '404' },
      },
    ],
    'nope',
    404,
    { type: 'serve', key: 'missing.html', status: 404 },
  ],
  [
    'serve with a prefix rewrite',
    [
      {
        condition: { keyPrefixEquals: 'blog/', httpErrorCodeReturnedEquals: '404' },
        redirect: { replaceKeyPrefixWith: 'blog-v1/', httpRedirectCode: '200' },
      },
    ],
    'blog/post',
    404,
    { type: 'serve', key: 'blog-v1/post', status: 200 },
  ],
  [
    'Location is percent-encoded',
    [{ condition: { keyPrefixEquals: 'photos/' }, redirect: { replaceKeyPrefixWith: 'mes images/' } }],
    'photos/été #1.jpg',
    null,
    { type: 'redirect', status: 301, location: 'http://site.localhost:8080/mes%20images/%C3%A9t%C3%A9%20%231.jpg' },
  ],
];

for (const [name, rules, key, err, expected] of ruleRows) {
  test(`applyRoutingRules: ${name}`, { timeout: 30_000 }, () => {
    assert.deepEqual(applyRoutingRules(rules, key, err, req), expected);
  });
}

const allRows: Array<[string, { hostName: string; protocol?: 'http' | 'https' }, string, 'http' | 'https', string]> = [
  ['keeps path and query', { hostName: 'example.com' }, '/a/b?x=1&y=%20', 'http', 'http://example.com/a/b?x=1&y=%20'],
  ['request protocol by default', { hostName: 'example.com' }, '/', 'https', 'https://example.com/'],
  ['configured protocol wins', { hostName: 'example.com', protocol: 'https' }, '/k', 'http', 'https://example.com/k'],
  [
    'already-encoded path kept as sent',
    { hostName: 'example.com' },
    '/caf%C3%A9',
    'http',
    'http://example.com/caf%C3%A9',
  ],
  ['raw non-ASCII and spaces escaped', { hostName: 'example.com' }, '/é x', 'http', 'http://example.com/%C3%A9%20x'],
  ['missing leading slash added', { hostName: 'example.com' }, '', 'http', 'http://example.com/'],
];
for (const [name, cfg, raw, proto, expected] of allRows) {
  test(`redirectAll: ${name}`, { timeout: 30_000 }, () => {
    assert.equal(redirectAll(cfg, raw, proto), expected);
  });
}
