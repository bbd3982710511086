import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { StorageError } from '../errors.js';
import { awsUriEncode, canonicalQueryString } from './canonical.js';
import {
  EMPTY_SHA256,
  chunkSignature,
  deriveSigningKey,
  parseAuth,
  presignV4,
  signV4,
  trailerSignature,
  verifyAuth,
  type AuthRequest,
  type VerifiedAuth,
} from './index.js';
import { canonicalRequest, credentialScope, signatureHex, stringToSign } from './sigv4.js';

// Inputs and outputs of "Signature Calculations for the Authorization Header: Transferring
// Payload in a Single Chunk", "... in Multiple Chunks" and sigv4-query-string-auth.html.
const AKID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const DOC_TIME = new Date('2013-05-24T00:00:00Z');
const CRED = { accessKeyId: AKID, secretKey: SECRET, region: 'us-east-1', now: DOC_TIME };
const HOST = 'https://examplebucket.s3.amazonaws.com';
const sha256 = (d: string | Buffer): string => createHash('sha256').update(d).digest('hex');

function wire(method: string, url: URL, headers: Record<string, string | string[]>): AuthRequest {
  return { method, rawPath: url.pathname, rawQuery: url.search.slice(1), headers };
}

function verify(req: AuthRequest, opts: { now?: Date; secret?: string; maxSkewMs?: number } = {}): VerifiedAuth {
  const info = parseAuth(req);
  assert.notEqual(info.type, 'anonymous');
  if (info.type === 'anonymous') throw new Error('unreachable');
  return verifyAuth(req, info, opts.secret ?? SECRET, {
    now: opts.now ?? new Date('2013-05-24T00:05:00Z'),
    vhostBucket: null,
    ...(opts.maxSkewMs === undefined ? {} : { maxSkewMs: opts.maxSkewMs }),
  });
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

function flipLastChar(s: string): string {
  return s.slice(0, -1) + (s.endsWith('0') ? '1' : '0');
}

interface DocExample {
  name: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  payloadHash: string;
  authorization: string;
  /** A change to the request that must break the signature. */
  tamper: Record<string, string>;
}

const DOC_EXAMPLES: DocExample[] = [
  {
    name: 'GET Object with Range',
    method: 'GET',
    url: `${HOST}/test.txt`,
    headers: { range: 'bytes=0-9' },
    payloadHash: EMPTY_SHA256,
    authorization:
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    tamper: { range: 'bytes=0-8' },
  },
  {
    name: 'PUT Object',
    method: 'PUT',
    url: `${HOST}/test$file.text`,
    headers: { date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-storage-class': 'REDUCED_REDUNDANCY' },
    payloadHash: sha256('Welcome to Amazon S3.'),
    authorization:
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd',
    tamper: { 'x-amz-storage-class': 'STANDARD' },
  },
  {
    name: 'GET Bucket Lifecycle',
    method: 'GET',
    url: `${HOST}/?lifecycle`,
    headers: {},
    payloadHash: EMPTY_SHA256,
    authorization:
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543',
    tamper: { host: 'examplebucket.s3.amazonaws.co' },
  },
  {
    name: 'GET Bucket (List Objects) with max-keys and prefix',
    method: 'GET',
    url: `${HOST}/?max-keys=2&prefix=J`,
    headers: {},
    payloadHash: EMPTY_SHA256,
    authorization:
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7',
    tamper: { 'x-amz-date': '20130524T000001Z' },
  },
];

for (const ex of DOC_EXAMPLES) {
  test(`AWS example "${ex.name}": signV4 reproduces the published Authorization header`, { timeout: 30_000 }, () => {
    const headers = signV4({
      method: ex.method,
      url: new URL(ex.url),
      headers: ex.headers,
      payloadHash: ex.payloadHash,
      ...CRED,
    });
    assert.equal(headers['authorization'], ex.authorization);
    assert.equal(headers['x-amz-date'], '20130524T000000Z');
    assert.equal(headers['x-amz-content-sha256'], ex.payloadHash);
    assert.equal(headers['host'], 'examplebucket.s3.amazonaws.com');
  });

  test(`AWS example "${ex.name}": verifyAuth accepts the published signature, rejects a changed one`, {
    timeout: 30_000,
  }, () => {
    const url = new URL(ex.url);
    const headers = {
      ...signV4({ method: ex.method, url, headers: ex.headers, payloadHash: ex.payloadHash, ...CRED }),
      authorization: ex.authorization,
    };
    const ok = verify(wire(ex.method, url, headers));
    const signature = ex.authorization.slice(-64);
    assert.equal(ok.accessKeyId, AKID);
    assert.equal(ok.v4?.seedSignature, signature);
    assert.equal(ok.v4?.scope, '20130524/us-east-1/s3/aws4_request');
    assert.deepEqual(ok.v4?.signingKey, deriveSigningKey(SECRET, '20130524', 'us-east-1', 's3'));

    const flipped = { ...headers, authorization: flipLastChar(ex.authorization) };
    rejects(
      () => verify(wire(ex.method, url, flipped)),
      'SignatureDoesNotMatch',
      /does not match the signature you provided/,
    );
    rejects(() => verify(wire(ex.method, url, { ...headers, ...ex.tamper })), 'SignatureDoesNotMatch');
    rejects(() => verify(wire(ex.method === 'GET' ? 'HEAD' : 'POST', url, headers)), 'SignatureDoesNotMatch');
  });
}

test('the PUT example verifies whether the key travels as test$file.text or test%24file.text', {
  timeout: 30_000,
}, () => {
  const ex = DOC_EXAMPLES[1]!;
  const headers = {
    ...signV4({ method: 'PUT', url: new URL(ex.url), headers: ex.headers, payloadHash: ex.payloadHash, ...CRED }),
  };
  for (const rawPath of ['/test$file.text', '/test%24file.text', '/test%24file%2Etext']) {
    assert.equal(verify({ method: 'PUT', rawPath, rawQuery: '', headers }).accessKeyId, AKID, rawPath);
  }
  rejects(
    () => verify({ method: 'PUT', rawPath: '/test%25file.text', rawQuery: '', headers }),
    'SignatureDoesNotMatch',
  );
});

test('a wrong secret is SignatureDoesNotMatch, with the canonical request and string to sign for debugging', {
  timeout: 30_000,
}, () => {
  const ex = DOC_EXAMPLES[0]!;
  const url = new URL(ex.url);
  const headers = signV4({ method: 'GET', url, headers: ex.headers, payloadHash: ex.payloadHash, ...CRED });
  const err = rejects(
    () => verify(wire('GET', url, headers), { secret: SECRET.replace('K7', 'K8') }),
    'SignatureDoesNotMatch',
  );
  assert.equal(err.details['AWSAccessKeyId'], AKID);
  assert.equal(
    err.details['CanonicalRequest'],
    'GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\nx-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  );
  assert.equal(
    err.details['StringToSign'],
    'AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972',
  );
});

const PRESIGNED_DOC_URL =
  'https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';

test('AWS presigned URL example: presignV4 reproduces it byte for byte', { timeout: 30_000 }, () => {
  const url = presignV4({ method: 'GET', url: new URL(`${HOST}/test.txt`), ...CRED, expiresSeconds: 86400 });
  assert.equal(url.href, PRESIGNED_DOC_URL);
});

test('AWS presigned URL example: accepted within its validity window only', { timeout: 30_000 }, () => {
  const url = new URL(PRESIGNED_DOC_URL);
  const req = wire('GET', url, { host: url.host });
  const cases: [string, string | null, RegExp?][] = [
    ['2013-05-24T00:00:00Z', null],
    ['2013-05-24T23:59:59Z', null],
    ['2013-05-25T00:00:00Z', null],
    ['2013-05-23T23:50:00Z', null], // 10 minutes early: inside the clock-skew allowance
    ['2013-05-25T00:00:01Z', 'AccessDenied', /^Request has expired$/],
    ['2013-06-30T00:00:00Z', 'AccessDenied', /^Request has expired$/],
    ['2013-05-23T23:40:00Z', 'AccessDenied', /^Request is not valid yet$/],
  ];
  for (const [now, code, message] of cases) {
    if (code === null) {
      const ok = verify(req, { now: new Date(now) });
      assert.equal(ok.v4?.seedSignature, 'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404', now);
    } else {
      rejects(() => verify(req, { now: new Date(now) }), code, message);
    }
  }
  const err = rejects(() => verify(req, { now: new Date('2013-05-26T00:00:00Z') }), 'AccessDenied');
  assert.equal(err.details['Expires'], '2013-05-25T00:00:00.000Z');
  assert.equal(err.details['X-Amz-Expires'], '86400');
});

test('presigned URL: any change to the signed parts is refused', { timeout: 30_000 }, () => {
  const url = new URL(PRESIGNED_DOC_URL);
  const variants = [
    url.search.replace('X-Amz-Expires=86400', 'X-Amz-Expires=86401'),
    url.search.replace(/.$/, '5'),
    url.search + '&response-content-type=text%2Fhtml',
  ];
  for (const search of variants) {
    const changed = new URL(url.href);
    changed.search = search;
    rejects(() => verify(wire('GET', changed, { host: url.host })), 'SignatureDoesNotMatch', undefined);
  }
  rejects(() => verify(wire('GET', url, { host: 'other.s3.amazonaws.com' })), 'SignatureDoesNotMatch');
  rejects(() => verify(wire('PUT', url, { host: url.host })), 'SignatureDoesNotMatch');
});

test('presignV4 keeps existing query parameters and its URL verifies', { timeout: 30_000 }, () => {
  const url = presignV4({
    method: 'GET',
    url: new URL(
      'http://127.0.0.1:9000/bucket/a%20b+c.txt?response-content-disposition=attachment%3B%20filename%3D%22x.txt%22',
    ),
    ...CRED,
    region: 'eu-west-3',
    expiresSeconds: 604800,
  });
  assert.match(url.search, /^\?response-content-disposition=attachment%3B%20filename%3D%22x.txt%22&X-Amz-Algorithm=/);
  assert.equal(verify(wire('GET', url, { host: '127.0.0.1:9000' })).accessKeyId, AKID);
});

test('AWS chunked upload example: seed signature verified, then each chunk signature', { timeout: 30_000 }, () => {
  const req: AuthRequest = {
    method: 'PUT',
    rawPath: '/examplebucket/chunkObject.txt',
    rawQuery: '',
    headers: {
      host: 's3.amazonaws.com',
      'x-amz-date': '20130524T000000Z',
      'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
      'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': '66560',
      'content-length': '66824',
    },
  };
  const info = parseAuth(req);
  assert.equal(info.type === 'v4' && info.payloadHash, 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD');
  const seed = verify(req).v4!;
  assert.equal(seed.seedSignature, '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9');
  const chunks: [number, string][] = [
    [65536, 'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648'],
    [1024, '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497'],
    [0, 'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9'],
  ];
  let previousSignature = seed.seedSignature;
  for (const [size, expected] of chunks) {
    const chunkSha256Hex = sha256(Buffer.alloc(size, 'a'));
    previousSignature = chunkSignature({ ...seed, previousSignature, chunkSha256Hex });
    assert.equal(previousSignature, expected, `chunk of ${size} bytes`);
  }
  const altered = chunkSignature({
    ...seed,
    previousSignature: seed.seedSignature,
    chunkSha256Hex: sha256(Buffer.alloc(65536, 'b')),
  });
  assert.notEqual(altered, chunks[0]![1]);
});

test('trailer signature follows the final chunk (vector from aws-crt ChunkSignerTests)', { timeout: 30_000 }, () => {
  const signingKey = deriveSigningKey(SECRET, '20130524', 'us-east-1', 's3');
  const base = { signingKey, amzDate: '20130524T000000Z', scope: '20130524/us-east-1/s3/aws4_request' };
  const previousSignature = 'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9';
  const trailerText = 'first:1st\nsecond:2nd\nthird:3rd\n';
  assert.equal(
    trailerSignature({ ...base, previousSignature, trailerText }),
    'df5735bd9f3295cd9386572292562fefc93ba94e80a0a1ddcbd652c4e0a75e6c',
  );
  assert.notEqual(
    trailerSignature({ ...base, previousSignature, trailerText: 'first:1st\nsecond:2nd\nthird:3rf\n' }),
    'df5735bd9f3295cd9386572292562fefc93ba94e80a0a1ddcbd652c4e0a75e6c',
  );
});

test('header auth: clock skew beyond the allowance is RequestTimeTooSkewed', { timeout: 30_000 }, () => {
  const url = new URL(`${HOST}/test.txt`);
  const req = wire('GET', url, signV4({ method: 'GET', url, headers: {}, payloadHash: EMPTY_SHA256, ...CRED }));
  const cases: [string, number | undefined, boolean][] = [
    ['2013-05-24T00:14:59Z', undefined, true],
    ['2013-05-23T23:45:00Z', undefined, true],
    ['2013-05-24T00:15:01Z', undefined, false],
    ['2013-05-23T23:44:59Z', undefined, false],
    ['2013-05-24T01:00:00Z', 2 * 3600 * 1000, true],
    ['2013-05-24T00:01:00Z', 30 * 1000, false],
  ];
  for (const [now, maxSkewMs, ok] of cases) {
    const run = (): unknown => verify(req, { now: new Date(now), ...(maxSkewMs === undefined ? {} : { maxSkewMs }) });
    if (ok) assert.equal((run() as VerifiedAuth).accessKeyId, AKID, now);
    else {
      const err = rejects(
        run,
        'RequestTimeTooSkewed',
        /difference between the request time and the current time is too large/,
      );
      assert.equal(err.details['RequestTime'], '20130524T000000Z');
    }
  }
});

test('header auth with Date instead of x-amz-date signs the ISO form of Date', { timeout: 30_000 }, () => {
  const url = new URL(`${HOST}/photo.jpg`);
  const signed = signV4({ method: 'GET', url, headers: {}, payloadHash: EMPTY_SHA256, ...CRED });
  const scope = credentialScope('20130524', 'us-east-1', 's3');
  const headers = {
    host: signed['host']!,
    date: 'Fri, 24 May 2013 00:00:00 GMT',
    'x-amz-content-sha256': EMPTY_SHA256,
  };
  const canonical = canonicalRequest({
    method: 'GET',
    canonicalUri: '/photo.jpg',
    canonicalQuery: '',
    headers,
    signedHeaders: ['date', 'host', 'x-amz-content-sha256'],
    payloadHash: EMPTY_SHA256,
  });
  const sig = signatureHex(
    deriveSigningKey(SECRET, '20130524', 'us-east-1', 's3'),
    stringToSign('20130524T000000Z', scope, canonical),
  );
  const authorization = `AWS4-HMAC-SHA256 Credential=${AKID}/${scope}, SignedHeaders=date;host;x-amz-content-sha256, Signature=${sig}`;
  assert.equal(verify(wire('GET', url, { ...headers, authorization })).v4?.amzDate, '20130524T000000Z');
});

test('an HTTP/2 client signing :authority instead of host (the AWS SDK over h2) verifies', { timeout: 30_000 }, () => {
  const url = new URL(`${HOST}/photo.jpg`);
  const scope = credentialScope('20130524', 'us-east-1', 's3');
  // Written out, not built with canonicalRequest(): the pseudo-header's value is the authority.
  const canonical = [
    'GET',
    '/photo.jpg',
    '',
    ':authority:examplebucket.s3.amazonaws.com',
    `x-amz-content-sha256:${EMPTY_SHA256}`,
    'x-amz-date:20130524T000000Z',
    '',
    ':authority;x-amz-content-sha256;x-amz-date',
    EMPTY_SHA256,
  ].join('\n');
  const sig = signatureHex(
    deriveSigningKey(SECRET, '20130524', 'us-east-1', 's3'),
    stringToSign('20130524T000000Z', scope, canonical),
  );
  // The gateway hands an HTTP/2 request over with its :authority as host.
  const headers = {
    host: 'examplebucket.s3.amazonaws.com',
    'x-amz-content-sha256': EMPTY_SHA256,
    'x-amz-date': '20130524T000000Z',
    authorization: `AWS4-HMAC-SHA256 Credential=${AKID}/${scope}, SignedHeaders=:authority;x-amz-content-sha256;x-amz-date, Signature=${sig}`,
  };
  assert.equal(verify(wire('GET', url, headers)).accessKeyId, AKID);
  assert.throws(
    () => verify(wire('GET', url, { ...headers, host: 'otherbucket.s3.amazonaws.com' })),
    (e: unknown) => e instanceof StorageError && e.code === 'SignatureDoesNotMatch',
  );
});

test('x-amz-* headers and Host must be signed', { timeout: 30_000 }, () => {
  const url = new URL(`${HOST}/test.txt`);
  const signed = signV4({ method: 'PUT', url, headers: {}, payloadHash: EMPTY_SHA256, ...CRED });
  const err = rejects(
    () => verify(wire('PUT', url, { ...signed, 'x-amz-acl': 'public-read' })),
    'AccessDenied',
    /headers present in the request which were not signed/,
  );
  assert.equal(err.details['HeadersNotSigned'], 'x-amz-acl');
  const noHost = signed['authorization']!.replace('SignedHeaders=host;', 'SignedHeaders=');
  rejects(() => verify(wire('PUT', url, { ...signed, authorization: noHost })), 'AccessDenied', /not signed/);
});

test('header values are trimmed, inner spaces collapsed and repeated headers joined by commas', {
  timeout: 30_000,
}, () => {
  const url = new URL(`${HOST}/k`);
  const signed = signV4({
    method: 'PUT',
    url,
    headers: { 'x-amz-meta-a': 'one two', 'x-amz-meta-b': 'x,y' },
    payloadHash: EMPTY_SHA256,
    ...CRED,
  });
  const sent = { ...signed, 'x-amz-meta-a': '   one    two  ', 'x-amz-meta-b': [' x ', 'y'] };
  assert.equal(verify(wire('PUT', url, sent)).accessKeyId, AKID);
  rejects(() => verify(wire('PUT', url, { ...signed, 'x-amz-meta-b': 'x, y' })), 'SignatureDoesNotMatch');
});

// Keys a client may send with more or fewer characters escaped than AWS's canonical form.
const AWKWARD_KEYS: [string, string][] = [
  ['my file.txt', 'my%20file.txt'],
  ['ünïcödé/ключ.txt', '%c3%bcn%c3%afc%c3%b6d%c3%a9/%d0%ba%d0%bb%d1%8e%d1%87.txt'],
  ['a+b.txt', 'a+b.txt'],
  ['100%.txt', '100%25.txt'],
  ['a&b=c;d,e.txt', 'a&b=c;d,e.txt'],
  ['what?.txt', 'what%3F.txt'],
  ['hash#tag.txt', 'hash%23tag.txt'],
  ["it's (1)!*@:$.txt", "it's%20(1)!*@:$.txt"],
  ['dir//double/', 'dir//double/'],
  ['tilde~-_.txt', 'tilde%7E-_.txt'],
];

function signWithCanonicalUri(rawPath: string, canonicalUri: string): AuthRequest {
  const headers = { host: 'localhost:9000', 'x-amz-date': '20130524T000000Z', 'x-amz-content-sha256': EMPTY_SHA256 };
  const signedHeaders = ['host', 'x-amz-content-sha256', 'x-amz-date'];
  const scope = credentialScope('20130524', 'us-east-1', 's3');
  const canonical = canonicalRequest({
    method: 'GET',
    canonicalUri,
    canonicalQuery: '',
    headers,
    signedHeaders,
    payloadHash: EMPTY_SHA256,
  });
  const sig = signatureHex(
    deriveSigningKey(SECRET, '20130524', 'us-east-1', 's3'),
    stringToSign('20130524T000000Z', scope, canonical),
  );
  const authorization = `AWS4-HMAC-SHA256 Credential=${AKID}/${scope},SignedHeaders=${signedHeaders.join(';')},Signature=${sig}`;
  return { method: 'GET', rawPath, rawQuery: '', headers: { ...headers, authorization } };
}

for (const [key, lightlyEncoded] of AWKWARD_KEYS) {
  test(`key ${JSON.stringify(key)}: accepted with the AWS-encoded or the raw canonical path`, {
    timeout: 30_000,
  }, () => {
    const awsPath = '/bucket/' + awsUriEncode(key, true);
    const wirePath = '/bucket/' + lightlyEncoded;
    // SDK style: AWS encoding signed, whatever escaping on the wire.
    assert.equal(verify(signWithCanonicalUri(wirePath, awsPath)).accessKeyId, AKID);
    assert.equal(verify(signWithCanonicalUri(awsPath, awsPath)).accessKeyId, AKID);
    // Naive client style: the wire path itself signed.
    assert.equal(verify(signWithCanonicalUri(wirePath, wirePath)).accessKeyId, AKID);
    rejects(() => verify(signWithCanonicalUri('/bucket/other', awsPath)), 'SignatureDoesNotMatch');
    rejects(
      () => verify(signWithCanonicalUri(wirePath, '/bucket/' + awsUriEncode(key + 'x', true))),
      'SignatureDoesNotMatch',
    );
  });
}

test('query parameters: decoded then re-encoded, so %20 and + and unusual escapes all verify', {
  timeout: 30_000,
}, () => {
  const url = new URL(`${HOST}/?list-type=2&prefix=a%20b%2Bc%2F%C3%A9&delimiter=%2F`);
  const headers = signV4({ method: 'GET', url, headers: {}, payloadHash: EMPTY_SHA256, ...CRED });
  const rawQueries = [
    'list-type=2&prefix=a%20b%2Bc%2F%C3%A9&delimiter=%2F',
    'delimiter=/&prefix=a+b%2bc/%c3%a9&list-type=2',
    'prefix=%61%20b%2Bc/%C3%A9&list-type=2&delimiter=%2f',
  ];
  for (const rawQuery of rawQueries) {
    assert.equal(verify({ method: 'GET', rawPath: '/', rawQuery, headers }).accessKeyId, AKID, rawQuery);
  }
  rejects(
    () =>
      verify({ method: 'GET', rawPath: '/', rawQuery: 'list-type=2&prefix=a%2Bb%2Bc%2F%C3%A9&delimiter=%2F', headers }),
    'SignatureDoesNotMatch',
  );
  assert.equal(canonicalQueryString('b=2&a=x+y&a=%2B&c=&d'), 'a=%2B&a=x%20y&b=2&c=&d=');
});
