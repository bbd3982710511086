import { test } from 'node:test';
import assert from 'node:assert/strict';
import { route, splitPath, type OperationName } from './router.js';
import { S3Error } from './errors.js';

/** Request examples from the AWS API reference, each routed path-style. */
const rows: [string, string, OperationName | string, Record<string, string>?][] = [
  ['GET', '/', 'ListBuckets'],
  ['PUT', '/b', 'CreateBucket'],
  ['HEAD', '/b', 'HeadBucket'],
  ['DELETE', '/b', 'DeleteBucket'],
  ['GET', '/b?location', 'GetBucketLocation'],
  ['GET', '/b', 'ListObjects'],
  ['GET', '/b?prefix=a&delimiter=/', 'ListObjects'],
  ['GET', '/b?list-type=2', 'ListObjectsV2'],
  ['GET', '/b?versions', 'ListObjectVersions'],
  ['GET', '/b?versioning', 'GetBucketVersioning'],
  ['GET', '/b?acl', 'GetBucketAcl'],
  ['PUT', '/b?acl', 'PutBucketAcl'],
  ['GET', '/b?policy', 'GetBucketPolicy'],
  ['GET', '/b?policyStatus', 'GetBucketPolicyStatus'],
  ['PUT', '/b?policy', 'PutBucketPolicy'],
  ['DELETE', '/b?policy', 'DeleteBucketPolicy'],
  ['PUT', '/b?cors', 'PutBucketCors'],
  ['GET', '/b?website', 'GetBucketWebsite'],
  ['DELETE', '/b?website', 'DeleteBucketWebsite'],
  ['GET', '/b?uploads', 'ListMultipartUploads'],
  ['POST', '/b?delete', 'DeleteObjects'],
  ['POST', '/b', 'PostObject'],
  ['POST', '/b?metadataConfiguration', 'NotImplemented'],
  ['GET', '/b?lifecycle', 'GetBucketLifecycleConfiguration'],
  ['GET', '/b/k', 'GetObject'],
  ['GET', '/b/k?response-content-type=text/plain', 'GetObject'],
  ['HEAD', '/b/k', 'HeadObject'],
  ['PUT', '/b/k', 'PutObject'],
  ['PUT', '/b/k', 'CopyObject', { 'x-amz-copy-source': '/a/b' }],
  ['DELETE', '/b/k', 'DeleteObject'],
  ['DELETE', '/b/k?versionId=null', 'DeleteObject'],
  ['GET', '/b/k?acl', 'GetObjectAcl'],
  ['PUT', '/b/k?acl', 'PutObjectAcl'],
  ['POST', '/b/k?uploads', 'CreateMultipartUpload'],
  ['PUT', '/b/k?partNumber=1&uploadId=x', 'UploadPart'],
  ['PUT', '/b/k?partNumber=1&uploadId=x', 'UploadPartCopy', { 'x-amz-copy-source': '/a/b' }],
  ['POST', '/b/k?uploadId=x', 'CompleteMultipartUpload'],
  ['DELETE', '/b/k?uploadId=x', 'AbortMultipartUpload'],
  ['GET', '/b/k?uploadId=x', 'ListParts'],
  ['GET', '/b/k?tagging', 'GetObjectTagging'],
  ['POST', '/', 'MethodNotAllowed'],
  ['PATCH', '/b/k', 'MethodNotAllowed'],
  ['POST', '/b/k', 'MethodNotAllowed'],
  ['GET', '/b?analytics', 'NotImplemented'],
];

test('router: AWS request examples, path style and virtual-host style', () => {
  for (const [method, url, want, headers] of rows) {
    const u = new URL(url, 'http://x');
    const path = decodeURIComponent(u.pathname);
    for (const style of ['path', 'vhost'] as const) {
      const { bucket, key } = style === 'path' ? splitPath(path, null) : splitPath(path.replace(/^\/[^/]*/, '') || '/', path === '/' ? null : path.split('/')[1]!);
      if (style === 'vhost' && bucket === null) continue;
      let got: string;
      try {
        got = route(method, bucket, key, u.searchParams, headers ?? {}).op;
      } catch (e) {
        got = (e as S3Error).code;
      }
      assert.equal(got, want, `${style} ${method} ${url}`);
    }
  }
});

test('splitPath', () => {
  assert.deepEqual(splitPath('/', null), { bucket: null, key: null });
  assert.deepEqual(splitPath('/b', null), { bucket: 'b', key: null });
  assert.deepEqual(splitPath('/b/', null), { bucket: 'b', key: null });
  assert.deepEqual(splitPath('/b/a/b/c', null), { bucket: 'b', key: 'a/b/c' });
  assert.deepEqual(splitPath('/b//x', null), { bucket: 'b', key: '/x' });
  assert.deepEqual(splitPath('/', 'vb'), { bucket: 'vb', key: null });
  assert.deepEqual(splitPath('/a b/c', 'vb'), { bucket: 'vb', key: 'a b/c' });
});
