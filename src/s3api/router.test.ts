import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OPERATIONS, route, splitPath, type OperationName, type Route } from './router.js';
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
  ['DELETE', '/b?publicAccessBlock', 'DeletePublicAccessBlock'],
  ['PUT', '/b?publicAccessBlock', 'PutPublicAccessBlock'],
  ['DELETE', '/b?ownershipControls', 'DeleteBucketOwnershipControls'],
  ['PUT', '/b?ownershipControls', 'PutBucketOwnershipControls'],
  // Sub-resources without a route must never fall through to the method's plain operation:
  // these once deleted the bucket, replaced or deleted the object, or created a bucket.
  ['DELETE', '/b?replication', 'NotImplemented'],
  ['DELETE', '/b?metadataTable', 'NotImplemented'],
  ['PUT', '/b?logging', 'NotImplemented'],
  ['PUT', '/b?notification', 'NotImplemented'],
  ['PUT', '/b?object-lock', 'PutObjectLockConfiguration'],
  ['GET', '/b?object-lock', 'GetObjectLockConfiguration'],
  ['PUT', '/b/k?retention', 'PutObjectRetention'],
  ['GET', '/b/k?retention&versionId=v', 'GetObjectRetention'],
  ['PUT', '/b/k?legal-hold', 'PutObjectLegalHold'],
  ['GET', '/b/k?legal-hold', 'GetObjectLegalHold'],
  ['DELETE', '/b/k?retention', 'NotImplemented'],
  ['GET', '/b?abac', 'NotImplemented'],
  ['PUT', '/b/k?renameObject', 'NotImplemented'],
  ['PUT', '/b/k?annotation', 'NotImplemented'],
  ['PUT', '/b/k?encryption', 'NotImplemented'],
  ['DELETE', '/b/k?annotation', 'NotImplemented'],
  ['GET', '/b/k?annotation', 'NotImplemented'],
  ['HEAD', '/b/k?retention', 'NotImplemented'],
  ['POST', '/b/k?delete', 'NotImplemented'],
];

test('router: AWS request examples, path style and virtual-host style', { timeout: 30_000 }, () => {
  for (const [method, url, want, headers] of rows) {
    const u = new URL(url, 'http://x');
    const path = decodeURIComponent(u.pathname);
    for (const style of ['path', 'vhost'] as const) {
      const { bucket, key } =
        style === 'path'
          ? splitPath(path, null)
          : splitPath(path.replace(/^\/[^/]*/, '') || '/', path === '/' ? null : path.split('/')[1]!);
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

test('splitPath', { timeout: 30_000 }, () => {
  assert.deepEqual(splitPath('/', null), { bucket: null, key: null });
  assert.deepEqual(splitPath('/b', null), { bucket: 'b', key: null });
  assert.deepEqual(splitPath('/b/', null), { bucket: 'b', key: null });
  assert.deepEqual(splitPath('/b/a/b/c', null), { bucket: 'b', key: 'a/b/c' });
  assert.deepEqual(splitPath('/b//x', null), { bucket: 'b', key: '/x' });
  assert.deepEqual(splitPath('/', 'vb'), { bucket: 'vb', key: null });
  assert.deepEqual(splitPath('/a b/c', 'vb'), { bucket: 'vb', key: 'a b/c' });
});

/** Path-style requests and the full route each becomes: the variant carries exactly its parameters. */
const variants: [string, string, Route, Record<string, string>?][] = [
  ['GET', '/', { op: 'ListBuckets' }],
  ['PUT', '/b', { op: 'CreateBucket', bucket: 'b' }],
  ['GET', '/b?list-type=2', { op: 'ListObjectsV2', bucket: 'b' }],
  ['POST', '/b?delete', { op: 'DeleteObjects', bucket: 'b' }],
  ['GET', '/b/a/k', { op: 'GetObject', bucket: 'b', key: 'a/k', partNumber: null }],
  ['GET', '/b/k?partNumber=3', { op: 'GetObject', bucket: 'b', key: 'k', partNumber: 3 }],
  ['HEAD', '/b/k?partNumber=10000', { op: 'HeadObject', bucket: 'b', key: 'k', partNumber: 10000 }],
  ['HEAD', '/b/k', { op: 'HeadObject', bucket: 'b', key: 'k', partNumber: null }],
  ['PUT', '/b/k', { op: 'PutObject', bucket: 'b', key: 'k' }],
  ['PUT', '/b/k', { op: 'CopyObject', bucket: 'b', key: 'k' }, { 'x-amz-copy-source': '/a/b' }],
  ['GET', '/b/k?acl', { op: 'GetObjectAcl', bucket: 'b', key: 'k' }],
  ['POST', '/b/k?uploads', { op: 'CreateMultipartUpload', bucket: 'b', key: 'k' }],
  [
    'PUT',
    '/b/k?partNumber=7&uploadId=u%2B1',
    { op: 'UploadPart', bucket: 'b', key: 'k', uploadId: 'u+1', partNumber: 7 },
  ],
  ['PUT', '/b/k?uploadId=u&partNumber=0007', { op: 'UploadPart', bucket: 'b', key: 'k', uploadId: 'u', partNumber: 7 }],
  [
    'PUT',
    '/b/k?partNumber=1&uploadId=u',
    { op: 'UploadPartCopy', bucket: 'b', key: 'k', uploadId: 'u', partNumber: 1 },
    { 'x-amz-copy-source': '/a/b' },
  ],
  ['POST', '/b/k?uploadId=u', { op: 'CompleteMultipartUpload', bucket: 'b', key: 'k', uploadId: 'u' }],
  ['DELETE', '/b/k?uploadId=u', { op: 'AbortMultipartUpload', bucket: 'b', key: 'k', uploadId: 'u' }],
  ['GET', '/b/k?uploadId=u&max-parts=2', { op: 'ListParts', bucket: 'b', key: 'k', uploadId: 'u' }],
];

function routeOf(method: string, url: string, headers: Record<string, string> = {}): Route {
  const u = new URL(url, 'http://x');
  const { bucket, key } = splitPath(decodeURIComponent(u.pathname), null);
  return route(method, bucket, key, u.searchParams, headers);
}

test('router: each variant carries its parsed parameters', { timeout: 30_000 }, () => {
  for (const [method, url, want, headers] of variants)
    assert.deepEqual(routeOf(method, url, headers), want, `${method} ${url}`);
});

const PART_MESSAGE = 'Part number must be an integer between 1 and 10000, inclusive';
const UPLOAD_MESSAGE = 'This operation needs an uploadId';

/** Bad uploadId / partNumber values: the InvalidArgument S3 sends, with the offending argument. */
const invalid: [string, string, string, string, string][] = [
  ['PUT', '/b/k?partNumber=0&uploadId=u', PART_MESSAGE, 'partNumber', '0'],
  ['PUT', '/b/k?partNumber=10001&uploadId=u', PART_MESSAGE, 'partNumber', '10001'],
  ['PUT', '/b/k?partNumber=-1&uploadId=u', PART_MESSAGE, 'partNumber', '-1'],
  ['PUT', '/b/k?partNumber=1.5&uploadId=u', PART_MESSAGE, 'partNumber', '1.5'],
  ['PUT', '/b/k?partNumber=abc&uploadId=u', PART_MESSAGE, 'partNumber', 'abc'],
  ['PUT', '/b/k?partNumber=&uploadId=u', PART_MESSAGE, 'partNumber', ''],
  ['PUT', '/b/k?partNumber=123456&uploadId=u', PART_MESSAGE, 'partNumber', '123456'],
  ['PUT', '/b/k?uploadId=u', PART_MESSAGE, 'partNumber', ''],
  ['PUT', '/b/k?partNumber=1', UPLOAD_MESSAGE, 'uploadId', ''],
  ['PUT', '/b/k?partNumber=1&uploadId=', UPLOAD_MESSAGE, 'uploadId', ''],
  // The uploadId is checked first, as before the router parsed both.
  ['PUT', '/b/k?partNumber=0&uploadId=', UPLOAD_MESSAGE, 'uploadId', ''],
  ['POST', '/b/k?uploadId=', UPLOAD_MESSAGE, 'uploadId', ''],
  ['DELETE', '/b/k?uploadId=', UPLOAD_MESSAGE, 'uploadId', ''],
  ['GET', '/b/k?uploadId=', UPLOAD_MESSAGE, 'uploadId', ''],
  ['GET', '/b/k?partNumber=0', PART_MESSAGE, 'partNumber', '0'],
  ['HEAD', '/b/k?partNumber=x', PART_MESSAGE, 'partNumber', 'x'],
];

test('router: bad uploadId and partNumber values are InvalidArgument', { timeout: 30_000 }, () => {
  for (const [method, url, message, name, value] of invalid) {
    assert.throws(
      () => routeOf(method, url),
      (e: unknown) => {
        assert.ok(e instanceof S3Error, `${method} ${url}`);
        assert.equal(e.code, 'InvalidArgument', `${method} ${url}`);
        assert.equal(e.status, 400, `${method} ${url}`);
        assert.equal(e.message, message, `${method} ${url}`);
        assert.deepEqual(e.details, { ArgumentName: name, ArgumentValue: value }, `${method} ${url}`);
        return true;
      },
    );
  }
});

test('router: no operation name belongs to two variant kinds', { timeout: 30_000 }, () => {
  assert.equal(new Set(OPERATIONS).size, OPERATIONS.length);
});
