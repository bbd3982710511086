import { test } from 'node:test';
import assert from 'node:assert/strict';
import { treatmentOf, type HeaderTreatment } from './request-headers.js';
import type { OperationName } from './router.js';

/**
 * Every x-amz-* request header the AWS API reference documents for the operations we implement,
 * and what we do with it. A row that says 'refused' is a feature we do not have: the request
 * fails instead of succeeding without it.
 */
const rows: [OperationName, string, HeaderTreatment['kind']][] = [
  // Signature V4 and flexible checksums, on every operation.
  ['PutObject', 'x-amz-date', 'handled'],
  ['PutObject', 'x-amz-content-sha256', 'handled'],
  ['PutObject', 'x-amz-decoded-content-length', 'handled'],
  ['PutObject', 'x-amz-trailer', 'handled'],
  ['PutObject', 'x-amz-sdk-checksum-algorithm', 'handled'],
  ['PutObject', 'x-amz-checksum-crc32', 'handled'],
  ['PutObject', 'x-amz-checksum-crc64nvme', 'handled'],
  ['GetObject', 'x-amz-security-token', 'refused'],
  ['ListObjectsV2', 'x-amz-expected-bucket-owner', 'checked'],
  ['GetObject', 'x-amz-request-payer', 'ignored'],
  // PutObject (API_PutObject.html#API_PutObject_RequestSyntax).
  ['PutObject', 'x-amz-acl', 'handled'],
  ['PutObject', 'x-amz-grant-full-control', 'handled'],
  ['PutObject', 'x-amz-grant-read', 'handled'],
  ['PutObject', 'x-amz-grant-read-acp', 'handled'],
  ['PutObject', 'x-amz-grant-write-acp', 'handled'],
  ['PutObject', 'x-amz-meta-color', 'handled'],
  ['PutObject', 'x-amz-storage-class', 'handled'],
  ['PutObject', 'x-amz-website-redirect-location', 'handled'],
  ['PutObject', 'x-amz-server-side-encryption', 'refused'],
  ['PutObject', 'x-amz-server-side-encryption-aws-kms-key-id', 'refused'],
  ['PutObject', 'x-amz-server-side-encryption-context', 'refused'],
  ['PutObject', 'x-amz-server-side-encryption-bucket-key-enabled', 'refused'],
  ['PutObject', 'x-amz-server-side-encryption-customer-algorithm', 'refused'],
  ['PutObject', 'x-amz-server-side-encryption-customer-key', 'refused'],
  ['PutObject', 'x-amz-server-side-encryption-customer-key-md5', 'refused'],
  ['PutObject', 'x-amz-tagging', 'handled'],
  ['PutObject', 'x-amz-object-lock-mode', 'handled'],
  ['PutObject', 'x-amz-object-lock-retain-until-date', 'handled'],
  ['PutObject', 'x-amz-object-lock-legal-hold', 'handled'],
  ['PutObject', 'x-amz-write-offset-bytes', 'refused'],
  ['PutObject', 'x-amz-expected-bucket-owner', 'checked'],
  // CopyObject adds the source headers and the directives.
  ['CopyObject', 'x-amz-copy-source', 'handled'],
  ['CopyObject', 'x-amz-copy-source-if-match', 'handled'],
  ['CopyObject', 'x-amz-copy-source-if-none-match', 'handled'],
  ['CopyObject', 'x-amz-copy-source-if-modified-since', 'handled'],
  ['CopyObject', 'x-amz-copy-source-if-unmodified-since', 'handled'],
  ['CopyObject', 'x-amz-metadata-directive', 'handled'],
  ['CopyObject', 'x-amz-tagging-directive', 'handled'],
  ['CopyObject', 'x-amz-source-expected-bucket-owner', 'checked'],
  ['CopyObject', 'x-amz-copy-source-server-side-encryption-customer-key', 'refused'],
  ['CopyObject', 'x-amz-tagging', 'handled'],
  ['CopyObject', 'x-amz-server-side-encryption', 'refused'],
  ['CopyObject', 'x-amz-object-lock-mode', 'handled'],
  ['CopyObject', 'x-amz-meta-a', 'handled'],
  // Multipart.
  ['CreateMultipartUpload', 'x-amz-checksum-algorithm', 'handled'],
  ['CreateMultipartUpload', 'x-amz-checksum-type', 'handled'],
  ['CreateMultipartUpload', 'x-amz-tagging', 'handled'],
  ['CreateMultipartUpload', 'x-amz-server-side-encryption', 'refused'],
  ['UploadPart', 'x-amz-server-side-encryption-customer-algorithm', 'refused'],
  ['UploadPart', 'x-amz-checksum-sha256', 'handled'],
  ['UploadPartCopy', 'x-amz-copy-source-range', 'handled'],
  ['UploadPartCopy', 'x-amz-source-expected-bucket-owner', 'checked'],
  ['CompleteMultipartUpload', 'x-amz-mp-object-size', 'handled'],
  ['CompleteMultipartUpload', 'x-amz-server-side-encryption-customer-key', 'refused'],
  // Reads.
  ['GetObject', 'x-amz-checksum-mode', 'handled'],
  ['HeadObject', 'x-amz-server-side-encryption-customer-algorithm', 'refused'],
  ['ListObjectsV2', 'x-amz-optional-object-attributes', 'ignored'],
  ['GetObjectAttributes', 'x-amz-object-attributes', 'handled'],
  ['GetObjectAttributes', 'x-amz-max-parts', 'handled'],
  ['GetObjectAttributes', 'x-amz-part-number-marker', 'handled'],
  ['GetObjectAttributes', 'x-amz-server-side-encryption-customer-key', 'refused'],
  ['GetObjectAttributes', 'x-amz-request-payer', 'ignored'],
  // Deletes.
  ['DeleteObject', 'x-amz-mfa', 'ignored'],
  ['DeleteObject', 'x-amz-bypass-governance-retention', 'handled'],
  ['DeleteObject', 'x-amz-if-match-last-modified-time', 'refused'],
  ['DeleteObject', 'x-amz-if-match-size', 'refused'],
  ['DeleteObjects', 'x-amz-mfa', 'ignored'],
  // Buckets.
  ['CreateBucket', 'x-amz-acl', 'handled'],
  ['CreateBucket', 'x-amz-grant-write', 'handled'],
  ['CreateBucket', 'x-amz-bucket-object-lock-enabled', 'handled'],
  ['CreateBucket', 'x-amz-object-ownership', 'handled'],
  ['PutBucketAcl', 'x-amz-grant-read', 'handled'],
  ['PutObjectAcl', 'x-amz-acl', 'handled'],
];

for (const [op, header, kind] of rows) {
  test(`${op} ${header}: ${kind}`, { timeout: 5_000 }, () => {
    assert.equal(treatmentOf(op, header)?.kind ?? 'no rule', kind);
  });
}

test('a refused header carries an S3 error naming the feature', { timeout: 5_000 }, () => {
  const t = treatmentOf('PutObject', 'x-amz-server-side-encryption');
  assert.ok(t?.kind === 'refused');
  const e = t.error();
  assert.equal(e.code, 'NotImplemented');
  assert.equal(e.status, 501);
  assert.match(e.message, /encryption/i);
});

test('headers AWS does not document are ignored, as AWS ignores them', { timeout: 5_000 }, () => {
  assert.equal(treatmentOf('PutObject', 'x-amz-made-up'), null);
  assert.equal(treatmentOf('GetObject', 'x-amz-tagging'), null);
});
