import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StorageError } from '../errors.js';
import { awsUriEncode } from './canonical.js';
import { parseAuth, signV2, verifyAuth, type AuthRequest, type VerifiedAuth } from './index.js';
import { canonicalAmzHeadersV2, canonicalResourceV2, signatureV2, stringToSignV2 } from './sigv2.js';

// RESTAuthentication.html examples: the current page (AKIAIOSFODNN7EXAMPLE, bucket
// awsexamplebucket1) and the earlier edition (0PN5J17HBGZHT7JJ3X82, bucket johnsmith).
const NEW_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const OLD_SECRET = 'uV3F3YluFJax1cknvbcGwgjvx4QpvB+leU8dUj2o';

interface Example {
  name: string;
  secret: string;
  method: string;
  rawPath: string;
  rawQuery: string;
  headers: Record<string, string | string[]>;
  vhostBucket: string | null;
  authorization: string;
  stringToSign?: string;
}

const EXAMPLES: Example[] = [
  {
    name: 'Object GET',
    secret: NEW_SECRET,
    method: 'GET',
    rawPath: '/photos/puppy.jpg',
    rawQuery: '',
    headers: { host: 'awsexamplebucket1.us-west-1.s3.amazonaws.com', date: 'Tue, 27 Mar 2007 19:36:42 +0000' },
    vhostBucket: 'awsexamplebucket1',
    authorization: 'AWS AKIAIOSFODNN7EXAMPLE:qgk2+6Sv9/oM7G3qLEjTH1a1l1g=',
    stringToSign: 'GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg',
  },
  {
    name: 'Object PUT',
    secret: NEW_SECRET,
    method: 'PUT',
    rawPath: '/photos/puppy.jpg',
    rawQuery: '',
    headers: { 'content-type': 'image/jpeg', 'content-length': '94328', date: 'Tue, 27 Mar 2007 21:15:45 +0000' },
    vhostBucket: 'awsexamplebucket1',
    authorization: 'AWS AKIAIOSFODNN7EXAMPLE:iqRzw+ileNPu1fhspnRs8nOjjIA=',
    stringToSign: 'PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 +0000\n/awsexamplebucket1/photos/puppy.jpg',
  },
  {
    name: 'List',
    secret: NEW_SECRET,
    method: 'GET',
    rawPath: '/',
    rawQuery: 'prefix=photos&max-keys=50&marker=puppy',
    headers: { 'user-agent': 'Mozilla/5.0', date: 'Tue, 27 Mar 2007 19:42:41 +0000' },
    vhostBucket: 'awsexamplebucket1',
    authorization: 'AWS AKIAIOSFODNN7EXAMPLE:m0WP8eCtspQl5Ahe6L1SozdX9YA=',
    stringToSign: 'GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/awsexamplebucket1/',
  },
  {
    name: 'Fetch (?acl)',
    secret: NEW_SECRET,
    method: 'GET',
    rawPath: '/',
    rawQuery: 'acl',
    headers: { date: 'Tue, 27 Mar 2007 19:44:46 +0000' },
    vhostBucket: 'awsexamplebucket1',
    authorization: 'AWS AKIAIOSFODNN7EXAMPLE:82ZHiFIjc+WbcwFKGUVEQspPn+0=',
    stringToSign: 'GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/awsexamplebucket1/?acl',
  },
  {
    name: 'List all my buckets',
    secret: NEW_SECRET,
    method: 'GET',
    rawPath: '/',
    rawQuery: '',
    headers: { date: 'Wed, 28 Mar 2007 01:29:59 +0000' },
    vhostBucket: null,
    authorization: 'AWS AKIAIOSFODNN7EXAMPLE:qGdzdERIC03wnaRNKh6OqZehG9s=',
  },
  {
    name: 'Unicode keys (path signed as sent, lower-case escapes included)',
    secret: NEW_SECRET,
    method: 'GET',
    rawPath: '/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re',
    rawQuery: '',
    headers: { date: 'Wed, 28 Mar 2007 01:49:49 +0000' },
    vhostBucket: null,
    authorization: 'AWS AKIAIOSFODNN7EXAMPLE:DNEZGsoieTZ92F3bUfSPQcbGmlM=',
  },
  {
    name: 'johnsmith Object GET',
    secret: OLD_SECRET,
    method: 'GET',
    rawPath: '/photos/puppy.jpg',
    rawQuery: '',
    headers: { host: 'johnsmith.s3.amazonaws.com', date: 'Tue, 27 Mar 2007 19:36:42 +0000' },
    vhostBucket: 'johnsmith',
    authorization: 'AWS 0PN5J17HBGZHT7JJ3X82:xXjDGYUmKxnwqr5KXNPGldn5LbA=',
  },
  {
    name: 'johnsmith Object PUT',
    secret: OLD_SECRET,
    method: 'PUT',
    rawPath: '/photos/puppy.jpg',
    rawQuery: '',
    headers: { 'content-type': 'image/jpeg', 'content-length': '94328', date: 'Tue, 27 Mar 2007 21:15:45 +0000' },
    vhostBucket: 'johnsmith',
    authorization: 'AWS 0PN5J17HBGZHT7JJ3X82:hcicpDDvL9SsO6AkvxqmIWkmOuQ=',
  },
  {
    name: 'johnsmith Delete (path style, x-amz-date replaces Date)',
    secret: OLD_SECRET,
    method: 'DELETE',
    rawPath: '/johnsmith/photos/puppy.jpg',
    rawQuery: '',
    headers: {
      'user-agent': 'dotnet',
      date: 'Tue, 27 Mar 2007 21:20:27 +0000',
      'x-amz-date': 'Tue, 27 Mar 2007 21:20:26 +0000',
    },
    vhostBucket: null,
    authorization: 'AWS 0PN5J17HBGZHT7JJ3X82:k3nL7gH3+PadhTEVn5Ip83xlYzk=',
    stringToSign: 'DELETE\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:20:26 +0000\n/johnsmith/photos/puppy.jpg',
  },
  {
    name: 'johnsmith Upload (CNAME bucket, amz headers merged and sorted)',
    secret: OLD_SECRET,
    method: 'PUT',
    rawPath: '/db-backup.dat.gz',
    rawQuery: '',
    headers: {
      'user-agent': 'curl/7.15.5',
      host: 'static.johnsmith.net:8080',
      date: 'Tue, 27 Mar 2007 21:06:08 +0000',
      'x-amz-acl': 'public-read',
      'content-type': 'application/x-download',
      'content-md5': '4gJE4saaMU4BqNR0kLY+lw==',
      'x-amz-meta-reviewedby': ['joe@johnsmith.net', 'jane@johnsmith.net'],
      'x-amz-meta-filechecksum': '0x02661779',
      'x-amz-meta-checksumalgorithm': 'crc32',
      'content-disposition': 'attachment; filename=database.dat',
      'content-encoding': 'gzip',
      'content-length': '5913339',
    },
    vhostBucket: 'static.johnsmith.net',
    authorization: 'AWS 0PN5J17HBGZHT7JJ3X82:C0FlOtU8Ylb9KDTpZqYkZPX91iI=',
    stringToSign:
      'PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\nTue, 27 Mar 2007 21:06:08 +0000\nx-amz-acl:public-read\nx-amz-meta-checksumalgorithm:crc32\nx-amz-meta-filechecksum:0x02661779\nx-amz-meta-reviewedby:joe@johnsmith.net,jane@johnsmith.net\n/static.johnsmith.net/db-backup.dat.gz',
  },
];

function dateOf(headers: Record<string, string | string[]>): Date {
  return new Date(Date.parse(String(headers['x-amz-date'] ?? headers['date'])));
}

function verify(request: AuthRequest, secret: string, vhostBucket: string | null, now: Date): VerifiedAuth {
  const info = parseAuth(request);
  if (info.type === 'anonymous') assert.fail('expected credentials');
  return verifyAuth(request, info, secret, { now, vhostBucket });
}

function rejects(fn: () => unknown, code: string, message?: RegExp): StorageError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof StorageError, String(e));
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected ${code}`);
}

for (const ex of EXAMPLES) {
  test(`SigV2 doc example "${ex.name}": accepted, and refused once changed`, { timeout: 30_000 }, () => {
    const request: AuthRequest = {
      method: ex.method,
      rawPath: ex.rawPath,
      rawQuery: ex.rawQuery,
      headers: { ...ex.headers, authorization: ex.authorization },
    };
    const now = dateOf(ex.headers);
    assert.equal(
      verify(request, ex.secret, ex.vhostBucket, now).accessKeyId,
      ex.authorization.slice(4, ex.authorization.indexOf(':')),
    );
    if (ex.stringToSign !== undefined) {
      const resource = canonicalResourceV2(ex.rawPath, ex.rawQuery, ex.vhostBucket);
      assert.equal(stringToSignV2({ method: ex.method, headers: ex.headers, resource }), ex.stringToSign);
    }
    const flipped = ex.authorization.replace(/.=$/, (m) => (m[0] === 'A' ? 'B=' : 'A='));
    rejects(
      () =>
        verify({ ...request, headers: { ...request.headers, authorization: flipped } }, ex.secret, ex.vhostBucket, now),
      'SignatureDoesNotMatch',
    );
    rejects(
      () => verify(request, ex.secret.replace(/.$/, 'x'), ex.vhostBucket, now),
      'SignatureDoesNotMatch',
      /does not match the signature you provided/,
    );
    rejects(
      () => verify(request, ex.secret, ex.vhostBucket === null ? 'otherbucket' : null, now),
      'SignatureDoesNotMatch',
    );
    rejects(() => verify({ ...request, method: 'POST' }, ex.secret, ex.vhostBucket, now), 'SignatureDoesNotMatch');
  });
}

const QUERY_EXAMPLES: [string, string, string, string, string | null, number][] = [
  // [name, secret, rawPath, rawQuery, vhostBucket, Expires]
  [
    'current doc, johnsmith',
    NEW_SECRET,
    '/photos/puppy.jpg',
    'AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620',
    'johnsmith',
    1175139620,
  ],
  [
    'earlier doc, johnsmith',
    OLD_SECRET,
    '/photos/puppy.jpg',
    'AWSAccessKeyId=0PN5J17HBGZHT7JJ3X82&Expires=1175139620&Signature=rucSbH0yNEcP9oM2XNlouVI3BH4%3D',
    'johnsmith',
    1175139620,
  ],
  [
    'quotes/nelson, path style',
    'OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV',
    '/quotes/nelson',
    'AWSAccessKeyId=44CF9590006BF252F707&Expires=1141889120&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D',
    null,
    1141889120,
  ],
];

for (const [name, secret, rawPath, rawQuery, vhostBucket, expires] of QUERY_EXAMPLES) {
  test(`SigV2 query-string example "${name}": valid until Expires, then AccessDenied`, { timeout: 30_000 }, () => {
    const request: AuthRequest = { method: 'GET', rawPath, rawQuery, headers: {} };
    assert.ok(verify(request, secret, vhostBucket, new Date((expires - 3600) * 1000)).accessKeyId.length > 0);
    assert.ok(verify(request, secret, vhostBucket, new Date(expires * 1000)).accessKeyId.length > 0);
    const err = rejects(
      () => verify(request, secret, vhostBucket, new Date(expires * 1000 + 1000)),
      'AccessDenied',
      /^Request has expired$/,
    );
    assert.equal(err.details['Expires'], new Date(expires * 1000).toISOString());
    const later = { ...request, rawQuery: rawQuery.replace(`Expires=${expires}`, `Expires=${expires + 1}`) };
    rejects(() => verify(later, secret, vhostBucket, new Date((expires - 3600) * 1000)), 'SignatureDoesNotMatch');
  });
}

test('SigV2 header auth: Date (or x-amz-date) must be present and within the skew allowance', {
  timeout: 30_000,
}, () => {
  const ex = EXAMPLES[0]!;
  const request: AuthRequest = {
    method: 'GET',
    rawPath: ex.rawPath,
    rawQuery: '',
    headers: { ...ex.headers, authorization: ex.authorization },
  };
  const at = dateOf(ex.headers).getTime();
  const minute = 60 * 1000;
  assert.ok(verify(request, ex.secret, ex.vhostBucket, new Date(at + 14 * minute)));
  assert.ok(verify(request, ex.secret, ex.vhostBucket, new Date(at - 14 * minute)));
  for (const offset of [16 * minute, -16 * minute, 365 * 24 * 60 * minute]) {
    rejects(
      () => verify(request, ex.secret, ex.vhostBucket, new Date(at + offset)),
      'RequestTimeTooSkewed',
      /too large/,
    );
  }
  const undated = { ...request, headers: { authorization: ex.authorization } };
  rejects(
    () => verify(undated, ex.secret, ex.vhostBucket, new Date(at)),
    'AccessDenied',
    /^AWS authentication requires a valid Date or x-amz-date header$/,
  );
  const badDate = { ...request, headers: { date: 'yesterday', authorization: ex.authorization } };
  rejects(() => verify(badDate, ex.secret, ex.vhostBucket, new Date(at)), 'AccessDenied', /valid Date or x-amz-date/);
});

test('canonical resource: sub-resources sorted with decoded values; other parameters left out', {
  timeout: 30_000,
}, () => {
  const cases: [string, string, string | null, string][] = [
    ['/b/k', 'versionId=3%2F4&acl', null, '/b/k?acl&versionId=3/4'],
    ['/k', 'uploadId=abc&partNumber=2&x-id=UploadPart', 'b', '/b/k?partNumber=2&uploadId=abc'],
    ['/', 'prefix=a&delimiter=%2F&max-keys=2', 'b', '/b/'],
    [
      '/b/k',
      'response-content-disposition=attachment%3B%20filename%3D%22a%20b%22&response-content-type=text%2Fplain',
      null,
      '/b/k?response-content-disposition=attachment; filename="a b"&response-content-type=text/plain',
    ],
    ['/b', 'uploads=&tagging', null, '/b?tagging&uploads='],
    [
      '/b',
      'delete&cors&lifecycle&website&policy&location&logging&notification&versioning&versions&requestPayment&torrent&restore',
      null,
      '/b?cors&delete&lifecycle&location&logging&notification&policy&requestPayment&restore&torrent&versioning&versions&website',
    ],
  ];
  for (const [path, query, bucket, expected] of cases)
    assert.equal(canonicalResourceV2(path, query, bucket), expected, query);
});

test('canonical amz headers: lower-cased, sorted, values trimmed and repeated values joined', {
  timeout: 30_000,
}, () => {
  assert.equal(
    canonicalAmzHeadersV2({
      'x-amz-meta-b': [' 2 ', '3'],
      'x-amz-meta-a': '1',
      'content-type': 'x',
      'x-amz-date': 'D',
      'x-amzn-trace-id': 't',
      'x-amz-unset': undefined,
    }),
    'x-amz-date:D\nx-amz-meta-a:1\nx-amz-meta-b:2,3\n',
  );
});

const AWKWARD_KEYS = [
  'my file.txt',
  'ünïcödé/ключ.txt',
  'a+b.txt',
  '100%.txt',
  'a&b=c.txt',
  'what?.txt',
  'hash#tag.txt',
  "it's (1)!*.txt",
];

for (const key of AWKWARD_KEYS) {
  test(`SigV2 key ${JSON.stringify(key)}: signed as sent or in AWS encoding, both verify`, { timeout: 30_000 }, () => {
    const now = new Date('2024-01-01T00:00:00Z');
    const awsPath = '/bucket/' + awsUriEncode(key, true);
    const lightPath =
      '/bucket/' +
      key
        .replace(/%/g, '%25')
        .replace(/ /g, '%20')
        .replace(/\?/g, '%3F')
        .replace(/#/g, '%23')
        .replace(/[^\x20-\x7e]/g, (c) => encodeURIComponent(c).toLowerCase());
    for (const [signedPath, wirePath] of [
      [lightPath, lightPath],
      [awsPath, awsPath],
      [awsPath, lightPath],
    ] as const) {
      const headers = signV2({
        method: 'PUT',
        url: new URL('http://localhost' + signedPath),
        headers: { 'content-type': 'text/plain' },
        accessKeyId: 'AK',
        secretKey: 'sk',
        now,
      });
      assert.equal(
        verify({ method: 'PUT', rawPath: wirePath, rawQuery: '', headers }, 'sk', null, now).accessKeyId,
        'AK',
        `${signedPath} sent as ${wirePath}`,
      );
      rejects(
        () => verify({ method: 'PUT', rawPath: wirePath + 'x', rawQuery: '', headers }, 'sk', null, now),
        'SignatureDoesNotMatch',
      );
    }
  });
}

test('signatureV2 is base64 HMAC-SHA1 of the string to sign', { timeout: 30_000 }, () => {
  assert.equal(
    signatureV2(OLD_SECRET, 'GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg'),
    'xXjDGYUmKxnwqr5KXNPGldn5LbA=',
  );
});
