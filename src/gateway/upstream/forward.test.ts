import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAuth, signV4, verifyAuth, type AuthRequest } from '#storage';
import { http1Headers } from '../http2.js';
import { planForward, queryWithoutAuth, type ClientRequestShape } from './forward.js';

const NOW = new Date('2026-12-01T12:00:00Z');
const KEY = { accessKeyId: 'AKIDEXAMPLE0000000000', secretKey: 'secret-of-the-addon-0000000000000000000' };
const UPSTREAM = '127.0.0.1:7480';

/** A client request signed by the add-on, as the gateway receives it. */
function clientRequest(
  method: string,
  pathAndQuery: string,
  headers: Record<string, string>,
  payloadHash = 'UNSIGNED-PAYLOAD',
  host = 'localhost:8080',
): ClientRequestShape {
  const url = new URL(`http://${host}${pathAndQuery}`);
  const signed = signV4({ method, url, headers, payloadHash, ...KEY, region: 'us-east-1', now: NOW });
  const q = pathAndQuery.indexOf('?');
  return {
    method,
    rawPath: q < 0 ? pathAndQuery : pathAndQuery.slice(0, q),
    rawQuery: q < 0 ? '' : pathAndQuery.slice(q + 1),
    headers: signed,
    vhostBucket: null,
  };
}

/** What RGW does with the forwarded request: verify it with the same secret. */
function verifyForwarded(method: string, plan: ReturnType<typeof planForward>): void {
  const q = plan.path.indexOf('?');
  const ar: AuthRequest = {
    method,
    rawPath: q < 0 ? plan.path : plan.path.slice(0, q),
    rawQuery: q < 0 ? '' : plan.path.slice(q + 1),
    headers: plan.headers,
  };
  const info = parseAuth(ar);
  if (info.type !== 'v4') throw new Error(`forwarded request is ${info.type}`);
  assert.equal(info.accessKeyId, KEY.accessKeyId);
  verifyAuth(ar, info, KEY.secretKey, { now: NOW, vhostBucket: null });
}

const signer = { ...KEY, region: 'us-east-1', now: NOW };

test('forwarded requests are path style, AWS-encoded, signed as the same user, and verify', { timeout: 30_000 }, () => {
  const cases: { name: string; req: ClientRequestShape; path: string }[] = [
    { name: 'plain key', req: clientRequest('GET', '/bkt/key.txt', {}), path: '/bkt/key.txt' },
    { name: 'double slash and dots stay', req: clientRequest('GET', '/bkt/a//b/../c', {}), path: '/bkt/a//b/../c' },
    {
      name: 'spaces, plus, percent, unicode',
      req: clientRequest('GET', '/bkt/we%20ird%2B%25%C3%BC', {}),
      path: '/bkt/we%20ird%2B%25%C3%BC',
    },
    {
      name: 'sub-resource query',
      req: clientRequest('GET', '/bkt?list-type=2&prefix=a%2Fb', {}),
      path: '/bkt?list-type=2&prefix=a%2Fb',
    },
    {
      name: 'virtual-host style becomes path style',
      req: { ...clientRequest('GET', '/k%20y', {}, 'UNSIGNED-PAYLOAD', 'bkt.localhost:8080'), vhostBucket: 'bkt' },
      path: '/bkt/k%20y',
    },
    {
      name: 'bucket root in virtual-host style',
      req: { ...clientRequest('GET', '/', {}, 'UNSIGNED-PAYLOAD', 'bkt.localhost:8080'), vhostBucket: 'bkt' },
      path: '/bkt/',
    },
  ];
  for (const c of cases) {
    const auth = parseAuth({
      method: c.req.method,
      rawPath: c.req.rawPath,
      rawQuery: c.req.rawQuery,
      headers: c.req.headers,
    });
    const plan = planForward(c.req, auth, signer, UPSTREAM);
    assert.equal(plan.path, c.path, c.name);
    assert.equal(plan.headers.host, UPSTREAM, c.name);
    assert.equal(plan.streaming, null, c.name);
    verifyForwarded(c.req.method, plan);
  }
});

test('an HTTP/2 request, as the edge adapter hands it over, forwards no pseudo-headers', { timeout: 30_000 }, () => {
  const h1 = clientRequest('PUT', '/bkt/k', { 'content-length': '3', 'x-amz-meta-a': 'b' });
  const { host, ...fields } = h1.headers;
  const h2 = { ':method': 'PUT', ':path': '/bkt/k', ':scheme': 'https', ':authority': String(host), ...fields };
  const req = { ...h1, headers: http1Headers(h2) };
  const plan = planForward(req, parseAuth(req), signer, UPSTREAM);
  assert.deepEqual(
    Object.keys(plan.headers).filter((k) => k.startsWith(':')),
    [],
  );
  assert.equal(plan.headers['x-amz-meta-a'], 'b');
  verifyForwarded('PUT', plan);
});

test('a body hash the client signed is forwarded for RGW to check; otherwise UNSIGNED-PAYLOAD', {
  timeout: 30_000,
}, () => {
  const hex = 'a'.repeat(64);
  const withHash = clientRequest(
    'PUT',
    '/bkt/k',
    { 'content-length': '3', 'x-amz-meta-color': 'blue', 'content-type': 'text/plain' },
    hex,
  );
  const plan = planForward(withHash, parseAuth({ ...withHash, headers: withHash.headers }), signer, UPSTREAM);
  assert.equal(plan.headers['x-amz-content-sha256'], hex);
  assert.equal(plan.headers['x-amz-meta-color'], 'blue');
  assert.equal(plan.headers['content-type'], 'text/plain');
  assert.equal(plan.headers['content-length'], '3');
  assert.match(
    String(plan.headers.authorization),
    /SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-meta-color,/,
  );
  verifyForwarded('PUT', plan);
});

test('aws-chunked bodies are forwarded decoded: framing and checksum headers go, the decoded length is the length', {
  timeout: 30_000,
}, () => {
  const req = clientRequest(
    'PUT',
    '/bkt/k',
    {
      'content-encoding': 'aws-chunked,gzip',
      'content-length': '1234',
      'x-amz-decoded-content-length': '1000',
      'x-amz-trailer': 'x-amz-checksum-crc32',
      'x-amz-sdk-checksum-algorithm': 'CRC32',
      'transfer-encoding': 'chunked',
      expect: '100-continue',
      connection: 'close',
      'x-forwarded-for': '6.6.6.6',
    },
    'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
  );
  const plan = planForward(req, parseAuth(req), signer, UPSTREAM);
  assert.equal(plan.streaming, 'STREAMING-UNSIGNED-PAYLOAD-TRAILER');
  assert.equal(plan.headers['content-length'], '1000');
  assert.equal(plan.headers['content-encoding'], 'gzip');
  assert.equal(plan.headers['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD');
  for (const gone of [
    'x-amz-decoded-content-length',
    'x-amz-trailer',
    'x-amz-sdk-checksum-algorithm',
    'transfer-encoding',
    'expect',
    'connection',
    'x-forwarded-for',
  ]) {
    assert.equal(plan.headers[gone], undefined, gone);
  }
  verifyForwarded('PUT', plan);
});

test('anonymous requests go unsigned; presigned ones lose their signature parameters and are signed in headers', {
  timeout: 30_000,
}, () => {
  const anon: ClientRequestShape = {
    method: 'GET',
    rawPath: '/bkt/index.html',
    rawQuery: '',
    headers: { host: 'localhost:8080', 'user-agent': 'curl' },
    vhostBucket: null,
  };
  const plan = planForward(anon, { type: 'anonymous' }, null, UPSTREAM);
  assert.deepEqual(plan.headers, { 'user-agent': 'curl', host: UPSTREAM });

  const rawQuery =
    'versionId=3&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20261201%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261201T120000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=abc';
  assert.equal(queryWithoutAuth(rawQuery, 'v4'), 'versionId=3');
  assert.equal(queryWithoutAuth('AWSAccessKeyId=AK&Expires=1&Signature=x%2B&acl', 'v2'), 'acl');
  assert.equal(queryWithoutAuth('Expires=1&acl', null), 'Expires=1&acl');
});

test('a rewritten body (a bucket policy) is forwarded with its own length, hash and Content-MD5', {
  timeout: 30_000,
}, () => {
  const req = clientRequest(
    'PUT',
    '/bkt?policy',
    { 'content-length': '120', 'content-md5': 'b3JpZ2luYWwtbWQ1LXZhbHVlPQ==' },
    'b'.repeat(64),
  );
  const plan = planForward(req, parseAuth(req), signer, UPSTREAM, {
    length: 130,
    sha256Hex: 'c'.repeat(64),
    md5Base64: 'bmV3LW1kNS12YWx1ZS0xMjM0NQ==',
  });
  assert.equal(plan.headers['content-length'], '130');
  assert.equal(plan.headers['content-md5'], 'bmV3LW1kNS12YWx1ZS0xMjM0NQ==');
  assert.equal(plan.headers['x-amz-content-sha256'], 'c'.repeat(64));
  assert.equal(plan.streaming, null);
  verifyForwarded('PUT', plan);
});
