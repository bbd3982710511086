import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StorageError, type StorageErrorCode } from '../errors.js';
import {
  CORS_VARY,
  corsResponseHeaders,
  matchCorsRule,
  parseCorsRequestHeaders,
  validateCorsRules,
  type CorsRule,
} from './rules.js';

const rule = (over: Partial<CorsRule> = {}): CorsRule => ({
  allowedOrigins: ['*'],
  allowedMethods: ['GET'],
  allowedHeaders: [],
  exposeHeaders: [],
  ...over,
});

// The two rules of Cellar's documented cors.xml (https://www.clever.cloud/developers/doc/addons/cellar/).
const console: CorsRule = {
  allowedOrigins: ['https://console.clever-cloud.com'],
  allowedMethods: ['PUT', 'POST', 'DELETE'],
  allowedHeaders: ['*'],
  exposeHeaders: ['ETag'],
};
const anyGet: CorsRule = {
  allowedOrigins: ['*'],
  allowedMethods: ['GET'],
  allowedHeaders: [],
  exposeHeaders: [],
  maxAgeSeconds: 3000,
};
const cellarDoc = [console, anyGet];

test('validateCorsRules accepts the Cellar documentation example', { timeout: 30_000 }, () => {
  assert.equal(validateCorsRules(cellarDoc), cellarDoc);
});

const validRows: Array<[string, CorsRule[]]> = [
  ['all five methods', [rule({ allowedMethods: ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'] })]],
  [
    'one wildcard in origin and header',
    [rule({ allowedOrigins: ['https://*.example.com'], allowedHeaders: ['x-amz-*'] })],
  ],
  ['empty origin string (accepted by AWS)', [rule({ allowedOrigins: [''] })]],
  ['100 rules', Array.from({ length: 100 }, () => rule())],
  ['ID of 255 characters and MaxAgeSeconds 0', [rule({ id: 'i'.repeat(255), maxAgeSeconds: 0 })]],
];
for (const [name, rules] of validRows) {
  test(`validateCorsRules accepts: ${name}`, { timeout: 30_000 }, () => {
    assert.equal(validateCorsRules(rules), rules);
  });
}

const MALFORMED = /^The XML you provided was not well-formed/;
const invalidRows: Array<[string, CorsRule[], StorageErrorCode, string | RegExp]> = [
  ['no rules', [], 'MalformedXML', MALFORMED],
  ['101 rules', Array.from({ length: 101 }, () => rule()), 'InvalidRequest', /maximum of 100 CORSRules/],
  ['no origin', [rule({ allowedOrigins: [] })], 'MalformedXML', MALFORMED],
  ['no method', [rule({ allowedMethods: [] })], 'MalformedXML', MALFORMED],
  [
    'unsupported method',
    [rule({ allowedMethods: ['GET', 'MYMETHOD'] })],
    'InvalidRequest',
    'Found unsupported HTTP method in CORS config. Unsupported method is MYMETHOD',
  ],
  [
    'OPTIONS is not allowed',
    [rule({ allowedMethods: ['OPTIONS'] })],
    'InvalidRequest',
    'Found unsupported HTTP method in CORS config. Unsupported method is OPTIONS',
  ],
  [
    'lower-case method',
    [rule({ allowedMethods: ['get'] })],
    'InvalidRequest',
    'Found unsupported HTTP method in CORS config. Unsupported method is get',
  ],
  [
    'empty method',
    [rule({ allowedMethods: [''] })],
    'InvalidRequest',
    'Found unsupported HTTP method in CORS config. Unsupported method is ',
  ],
  [
    'two wildcards in an origin',
    [rule({ allowedOrigins: ['*example*.com'] })],
    'InvalidRequest',
    'AllowedOrigin "*example*.com" can not have more than one wildcard.',
  ],
  [
    'two wildcards in a header',
    [rule({ allowedHeaders: ['*-amz-*'] })],
    'InvalidRequest',
    'AllowedHeader "*-amz-*" can not have more than one wildcard.',
  ],
  [
    'wildcard in an expose header',
    [rule({ exposeHeaders: ['x-amz-*'] })],
    'InvalidRequest',
    'ExposeHeader "x-amz-*" contains wildcard. We currently do not support wildcard for ExposeHeader.',
  ],
  ['ID over 255 characters', [rule({ id: 'i'.repeat(256) })], 'InvalidArgument', /255 characters/],
  ['negative MaxAgeSeconds', [rule({ maxAgeSeconds: -1 })], 'InvalidArgument', /MaxAgeSeconds/],
  ['fractional MaxAgeSeconds', [rule({ maxAgeSeconds: 1.5 })], 'InvalidArgument', /MaxAgeSeconds/],
  [
    'a bad rule after a good one',
    [rule(), rule({ allowedMethods: ['PATCH'] })],
    'InvalidRequest',
    /Unsupported method is PATCH/,
  ],
];
for (const [name, rules, code, message] of invalidRows) {
  test(`validateCorsRules refuses: ${name}`, { timeout: 30_000 }, () => {
    assert.throws(
      () => validateCorsRules(rules),
      (e: unknown) => {
        assert.ok(e instanceof StorageError);
        assert.equal(e.code, code);
        if (typeof message === 'string') assert.equal(e.message, message);
        else assert.match(e.message, message);
        return true;
      },
    );
  });
}

const CONSOLE = 'https://console.clever-cloud.com';
type MatchRow = [string, CorsRule[], string, string, string[], CorsRule | null];
const matchRows: MatchRow[] = [
  // The Cellar documentation example
  ['doc: console PUT', cellarDoc, CONSOLE, 'PUT', [], console],
  [
    'doc: console POST with any headers',
    cellarDoc,
    CONSOLE,
    'POST',
    ['content-type', 'x-amz-meta-foo', 'Authorization'],
    console,
  ],
  ['doc: console DELETE', cellarDoc, CONSOLE, 'DELETE', [], console],
  ['doc: console GET falls to the any-origin rule', cellarDoc, CONSOLE, 'GET', [], anyGet],
  ['doc: GET from any origin', cellarDoc, 'https://example.org', 'GET', [], anyGet],
  ['doc: non-matching origin for PUT', cellarDoc, 'https://evil.example', 'PUT', [], null],
  ['doc: console origin over http does not match', cellarDoc, 'http://console.clever-cloud.com', 'PUT', [], null],
  ['doc: non-matching method HEAD', cellarDoc, 'https://example.org', 'HEAD', [], null],
  [
    'doc: GET with a requested header is refused (no AllowedHeader)',
    cellarDoc,
    'https://example.org',
    'GET',
    ['x-custom'],
    null,
  ],
  // Origins
  [
    'origin with a port must match exactly',
    [rule({ allowedOrigins: ['http://www.example.com'] })],
    'http://www.example.com:80',
    'GET',
    [],
    null,
  ],
  [
    'trailing slash does not match',
    [rule({ allowedOrigins: ['http://*.origin.com'] })],
    'http://test.origin.com/',
    'GET',
    [],
    null,
  ],
  [
    'wildcard subdomain',
    [rule({ allowedOrigins: ['http://*.origin.com'] })],
    'http://test.origin.com',
    'GET',
    [],
    rule({ allowedOrigins: ['http://*.origin.com'] }),
  ],
  [
    'wildcard matches the empty string',
    [rule({ allowedOrigins: ['start*end'] })],
    'startend',
    'GET',
    [],
    rule({ allowedOrigins: ['start*end'] }),
  ],
  ['wildcard is anchored at both ends', [rule({ allowedOrigins: ['start*end'] })], '0start12end', 'GET', [], null],
  [
    'suffix wildcard',
    [rule({ allowedOrigins: ['*suffix'] })],
    'foo.suffix',
    'GET',
    [],
    rule({ allowedOrigins: ['*suffix'] }),
  ],
  ['suffix wildcard is anchored', [rule({ allowedOrigins: ['*suffix'] })], 'foo.suffix.get', 'GET', [], null],
  [
    'prefix wildcard',
    [rule({ allowedOrigins: ['prefix*'] })],
    'prefix.suffix',
    'GET',
    [],
    rule({ allowedOrigins: ['prefix*'] }),
  ],
  [
    'origin matching is case-sensitive',
    [rule({ allowedOrigins: ['https://Example.com'] })],
    'https://example.com',
    'GET',
    [],
    null,
  ],
  ['empty Origin is never a CORS request', [rule()], '', 'GET', [], null],
  // Methods
  ['method matching is exact', [rule()], 'https://a.test', 'get', [], null],
  // Headers
  [
    'requested header case-insensitive',
    [rule({ allowedHeaders: ['X-AMZ-Expected-Bucket-Owner'] })],
    'https://a.test',
    'GET',
    ['x-amz-expected-BUCKET-owner'],
    rule({ allowedHeaders: ['X-AMZ-Expected-Bucket-Owner'] }),
  ],
  [
    'header wildcard',
    [rule({ allowedHeaders: ['x-amz-*'] })],
    'https://a.test',
    'GET',
    ['X-Amz-Date', 'x-amz-meta-a'],
    rule({ allowedHeaders: ['x-amz-*'] }),
  ],
  [
    'every requested header must be allowed',
    [rule({ allowedHeaders: ['x-amz-*'] })],
    'https://a.test',
    'GET',
    ['x-amz-date', 'content-type'],
    null,
  ],
  ['blank requested names are ignored', [rule()], 'https://a.test', 'GET', ['', ' '], rule()],
  [
    'first matching rule wins',
    [rule({ id: 'one' }), rule({ id: 'two' })],
    'https://a.test',
    'GET',
    [],
    rule({ id: 'one' }),
  ],
  [
    'skips a rule whose headers fail',
    [rule({ id: 'one' }), rule({ id: 'two', allowedHeaders: ['*'] })],
    'https://a.test',
    'GET',
    ['x-y'],
    rule({ id: 'two', allowedHeaders: ['*'] }),
  ],
];
for (const [name, rules, origin, method, hdrs, expected] of matchRows) {
  test(`matchCorsRule: ${name}`, { timeout: 30_000 }, () => {
    assert.deepEqual(matchCorsRule(rules, origin, method, hdrs), expected);
  });
}

test('matchCorsRule returns the stored rule object itself', { timeout: 30_000 }, () => {
  assert.equal(matchCorsRule(cellarDoc, CONSOLE, 'PUT', []), console);
});

type HeaderRow = [
  string,
  CorsRule,
  string,
  { preflight: boolean; requestHeaders: string[]; method: string },
  Record<string, string>,
];
const headerRows: HeaderRow[] = [
  [
    'doc: console preflight for PUT with headers',
    console,
    CONSOLE,
    { preflight: true, requestHeaders: ['Content-Type', 'x-amz-meta-a'], method: 'PUT' },
    {
      'Access-Control-Allow-Origin': CONSOLE,
      'Access-Control-Allow-Credentials': 'true',
      'Access-Control-Allow-Methods': 'PUT, POST, DELETE',
      'Access-Control-Allow-Headers': 'content-type, x-amz-meta-a',
      'Access-Control-Expose-Headers': 'ETag',
      Vary: CORS_VARY,
    },
  ],
  [
    'doc: console actual PUT exposes ETag, no Allow-Headers',
    console,
    CONSOLE,
    { preflight: false, requestHeaders: ['content-type'], method: 'PUT' },
    {
      'Access-Control-Allow-Origin': CONSOLE,
      'Access-Control-Allow-Credentials': 'true',
      'Access-Control-Allow-Methods': 'PUT, POST, DELETE',
      'Access-Control-Expose-Headers': 'ETag',
      Vary: CORS_VARY,
    },
  ],
  [
    'doc: any-origin GET preflight: *, Max-Age 3000, no credentials',
    anyGet,
    'https://example.org',
    { preflight: true, requestHeaders: [], method: 'GET' },
    {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Methods': 'GET',
      'Access-Control-Max-Age': '3000',
      Vary: CORS_VARY,
    },
  ],
  [
    'doc: any-origin actual GET',
    anyGet,
    'https://example.org',
    { preflight: false, requestHeaders: [], method: 'GET' },
    {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Methods': 'GET',
      'Access-Control-Max-Age': '3000',
      Vary: CORS_VARY,
    },
  ],
  [
    'wildcard-pattern origin is echoed with credentials',
    rule({ allowedOrigins: ['https://*.a.test'], allowedMethods: ['GET', 'PUT'] }),
    'https://x.a.test',
    { preflight: true, requestHeaders: [], method: 'PUT' },
    {
      'Access-Control-Allow-Origin': 'https://x.a.test',
      'Access-Control-Allow-Credentials': 'true',
      'Access-Control-Allow-Methods': 'GET, PUT',
      Vary: CORS_VARY,
    },
  ],
  [
    'expose header with a control character is left out',
    rule({ exposeHeaders: ['ETag', 'bad\r\nX: y', 'x-amz-id-2'] }),
    'https://a.test',
    { preflight: false, requestHeaders: [], method: 'GET' },
    {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Methods': 'GET',
      'Access-Control-Expose-Headers': 'ETag, x-amz-id-2',
      Vary: CORS_VARY,
    },
  ],
];
for (const [name, r, origin, opts, expected] of headerRows) {
  test(`corsResponseHeaders: ${name}`, { timeout: 30_000 }, () => {
    assert.deepEqual(corsResponseHeaders(r, origin, opts), expected);
  });
}

const parseRows: Array<[string | string[] | undefined, string[]]> = [
  [undefined, []],
  ['', []],
  ['X-Amz-Date', ['x-amz-date']],
  ['content-type,x-amz-meta-a', ['content-type', 'x-amz-meta-a']],
  [' A , ,B ', ['a', 'b']],
  [
    ['a', 'b, c'],
    ['a', 'b', 'c'],
  ],
];
for (const [value, expected] of parseRows) {
  test(`parseCorsRequestHeaders: ${JSON.stringify(value)}`, { timeout: 30_000 }, () => {
    assert.deepEqual(parseCorsRequestHeaders(value), expected);
  });
}
