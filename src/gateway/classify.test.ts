import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classify, queryParamNames, type ClassifyInput, type RequestClass } from './classify.js';
import type { HostTarget } from './host.js';

const service: HostTarget = { kind: 'service' };
const sub: HostTarget = { kind: 'bucket', bucket: 'b', via: 'subdomain', websiteOnly: false };
const custom: HostTarget = { kind: 'bucket', bucket: 'www.site.test', via: 'custom', websiteOnly: false };
const webOnly: HostTarget = { kind: 'bucket', bucket: 'b', via: 'subdomain', websiteOnly: true };

type Row = {
  name: string;
  method?: string;
  target?: HostTarget;
  path?: string;
  query?: string;
  headers?: ClassifyInput['headers'];
  expected: RequestClass;
};

const SIGV4 = 'AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=abc';

const rows: Row[] = [
  // ACME HTTP-01
  { name: 'acme challenge on a bucket host', path: '/.well-known/acme-challenge/Tok3n_-x', expected: 'acme-challenge' },
  {
    name: 'acme challenge on the service host',
    target: service,
    path: '/.well-known/acme-challenge/abc',
    expected: 'acme-challenge',
  },
  {
    name: 'acme challenge on a website-only host',
    target: webOnly,
    path: '/.well-known/acme-challenge/abc',
    expected: 'acme-challenge',
  },
  {
    name: 'acme challenge even when signed',
    path: '/.well-known/acme-challenge/abc',
    headers: { authorization: SIGV4 },
    expected: 'acme-challenge',
  },
  {
    name: 'acme prefix with an empty token is a website key',
    path: '/.well-known/acme-challenge/',
    expected: 'website',
  },
  {
    name: 'acme prefix with a nested path is a website key',
    path: '/.well-known/acme-challenge/a/b',
    expected: 'website',
  },
  {
    name: 'acme path with PUT is not a challenge',
    method: 'PUT',
    path: '/.well-known/acme-challenge/abc',
    expected: 's3',
  },
  {
    name: 'acme path with HEAD is not a challenge',
    method: 'HEAD',
    path: '/.well-known/acme-challenge/abc',
    expected: 'website',
  },
  // CORS preflight
  { name: 'OPTIONS on a bucket host', method: 'OPTIONS', expected: 'cors-preflight' },
  { name: 'OPTIONS on the service host', method: 'OPTIONS', target: service, path: '/b/k', expected: 'cors-preflight' },
  { name: 'OPTIONS on a website-only host', method: 'OPTIONS', target: webOnly, expected: 'cors-preflight' },
  { name: 'OPTIONS with a sub-resource', method: 'OPTIONS', query: 'uploads', expected: 'cors-preflight' },
  { name: 'lower-case options', method: 'options', expected: 'cors-preflight' },
  // Signed
  { name: 'Authorization header (SigV4)', headers: { authorization: SIGV4 }, expected: 's3' },
  { name: 'Authorization header (SigV2)', headers: { authorization: 'AWS AKID:sig' }, expected: 's3' },
  { name: 'Authorization as an array', headers: { authorization: ['AWS AKID:sig'] }, expected: 's3' },
  { name: 'empty Authorization is anonymous', headers: { authorization: '' }, expected: 'website' },
  {
    name: 'presigned SigV4 (X-Amz-Signature)',
    query: 'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=ab',
    expected: 's3',
  },
  { name: 'presigned SigV4 (X-Amz-Credential only)', query: 'X-Amz-Credential=AKID%2F20240101', expected: 's3' },
  { name: 'presigned SigV2', query: 'AWSAccessKeyId=AKID&Expires=1&Signature=x', expected: 's3' },
  { name: 'Signature alone is not SigV2', path: '/page.html', query: 'Signature=x', expected: 'website' },
  // Sub-resources
  ...[
    'acl',
    'policy',
    'cors',
    'uploads',
    'uploadId=1',
    'partNumber=2',
    'list-type=2',
    'website',
    'location',
    'delete',
    'tagging',
    'versioning',
    'versions',
    'lifecycle',
    'encryption',
    'requestPayment',
    'logging',
    'notification',
    'replication',
    'object-lock',
    'retention',
    'legal-hold',
    'accelerate',
    'analytics',
    'inventory',
    'metrics',
    'ownershipControls',
    'publicAccessBlock',
    'intelligent-tiering',
    'torrent',
    'restore',
    'select&select-type=2',
    'attributes',
    'policyStatus',
    'versionId=v1',
  ].map(
    (q): Row => ({
      name: `sub-resource ?${q} on a key`,
      path: '/k',
      query: q,
      expected: 's3',
    }),
  ),
  { name: 'sub-resource among other params', query: 'foo=1&acl=&bar', expected: 's3' },
  { name: 'percent-encoded sub-resource name', query: 'list%2Dtype=2', expected: 's3' },
  { name: 'sub-resource case differs (not S3)', path: '/k', query: 'ACL', expected: 'website' },
  { name: 'sub-resource on a custom domain', target: custom, query: 'website', expected: 's3' },
  // x-amz markers
  { name: 'x-amz-* query parameter', path: '/k', query: 'x-amz-expected-bucket-owner=1', expected: 's3' },
  { name: 'upper-case X-Amz-* query parameter', path: '/k', query: 'X-Amz-Expires=60', expected: 's3' },
  {
    name: 'x-amz-* headers alone stay website (proxies add them)',
    path: '/k',
    headers: { 'x-amz-cf-id': 'abc' },
    expected: 'website',
  },
  // Methods
  ...['PUT', 'POST', 'DELETE', 'PATCH'].map(
    (m): Row => ({ name: `${m} on a bucket host`, method: m, path: '/k', expected: 's3' }),
  ),
  { name: 'anonymous HEAD on a bucket host', method: 'HEAD', path: '/k', expected: 'website' },
  // Path style on the service host
  { name: 'anonymous GET on the service host', target: service, path: '/b/k', expected: 's3' },
  { name: 'anonymous GET / on the service host (ListBuckets)', target: service, path: '/', expected: 's3' },
  // Listing params (decision: the bucket root lists, as AWS's virtual-host endpoint)
  { name: '/?list-type=2 lists', path: '/', query: 'list-type=2', expected: 's3' },
  { name: '/?prefix= lists (V1)', path: '/', query: 'prefix=docs%2F', expected: 's3' },
  ...[
    'delimiter=%2F',
    'marker=a',
    'max-keys=5',
    'encoding-type=url',
    'continuation-token=x',
    'start-after=a',
    'fetch-owner=true',
  ].map((q): Row => ({ name: `/?${q} lists`, path: '/', query: q, expected: 's3' })),
  {
    name: 'aws s3 ls --no-sign-request query',
    path: '/',
    query: 'list-type=2&prefix=&delimiter=%2F&encoding-type=url',
    expected: 's3',
  },
  { name: 'listing param on an object path is website', path: '/app.html', query: 'prefix=x', expected: 'website' },
  { name: 'list-type on an object path is still S3', path: '/app.html', query: 'list-type=2', expected: 's3' },
  // Website
  { name: 'anonymous GET / on a subdomain', path: '/', expected: 'website' },
  { name: 'anonymous GET / on a custom domain', target: custom, path: '/', expected: 'website' },
  { name: 'anonymous GET with an app query', path: '/search', query: 'q=cats&page=2', expected: 'website' },
  {
    name: 'anonymous GET with a response-* override stays website',
    path: '/k',
    query: 'response-content-type=text%2Fplain',
    expected: 'website',
  },
  {
    name: 'browser headers stay website',
    path: '/',
    headers: { 'user-agent': 'Mozilla', cookie: 'a=1', 'if-none-match': '"e"' },
    expected: 'website',
  },
  // The path never makes a page view an API call: its key resolution is the website's job.
  { name: 'percent-encoded unicode path', path: '/caf%C3%A9/menu', expected: 'website' },
  { name: 'raw unicode path', path: '/日本/ページ', expected: 'website' },
  { name: 'dot segments', path: '/a/../b', expected: 'website' },
  { name: 'double slash is not the root (no listing)', path: '//', query: 'prefix=a', expected: 'website' },
  // Website-only domains
  {
    name: 'website-only: signed GET is website',
    target: webOnly,
    headers: { authorization: SIGV4 },
    expected: 'website',
  },
  { name: 'website-only: PUT is website (refused there)', target: webOnly, method: 'PUT', expected: 'website' },
  {
    name: 'website-only: ?list-type=2 is website',
    target: webOnly,
    path: '/',
    query: 'list-type=2',
    expected: 'website',
  },
];

for (const r of rows) {
  test(`classify: ${r.name}`, { timeout: 30_000 }, () => {
    const got = classify({
      method: r.method ?? 'GET',
      target: r.target ?? sub,
      path: r.path ?? '/',
      rawQuery: r.query ?? '',
      headers: r.headers ?? {},
    });
    assert.equal(got, r.expected);
  });
}

const nameRows: Array<[string, string[]]> = [
  ['', []],
  ['a=1&b', ['a', 'b']],
  ['a%20b=1&&c+d=2', ['a b', 'c d']],
  ['bad%zz=1', ['bad%zz']],
];
for (const [q, expected] of nameRows) {
  test(`queryParamNames: "${q}"`, { timeout: 30_000 }, () => {
    assert.deepEqual(queryParamNames(q), expected);
  });
}
