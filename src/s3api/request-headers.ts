import type { BucketInfo } from '#storage';
import type { S3Context } from './context.js';
import { S3Error } from './errors.js';
import type { OperationName } from './router.js';

/**
 * What we do with each x-amz-* request header AWS documents for the operations we implement
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html).
 * A header that asks for a behaviour we do not have is refused, never dropped with a 200.
 * Headers not listed here and not documented by AWS are ignored, as AWS ignores them.
 */
export type HeaderTreatment =
  /** Implemented by the operation's handler (or the authentication layer). */
  | { kind: 'handled' }
  /** Accepted with no effect, and why that is honest. */
  | { kind: 'ignored'; why: string }
  /** Checked here, before the handler runs. */
  | { kind: 'checked' }
  /** The feature is missing: the request fails with this error. */
  | { kind: 'refused'; error: () => S3Error };

export interface HeaderRule {
  /** A header name, or a prefix ending in `*`. */
  name: string;
  treatment: HeaderTreatment;
}

const handled: HeaderTreatment = { kind: 'handled' };
const checked: HeaderTreatment = { kind: 'checked' };
const notImplemented = (feature: string, header: string): HeaderTreatment => ({
  kind: 'refused',
  error: () => new S3Error('NotImplemented', `${feature} is not implemented`, { Header: header }),
});

/** https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerSideEncryptionCustomerKeys.html */
const sseC = (header: string): HeaderTreatment =>
  notImplemented('Server-side encryption with customer-provided keys (SSE-C)', header);

/** Rules that hold for every operation, then per-operation additions. First match wins. */
export const COMMON_RULES: readonly HeaderRule[] = [
  { name: 'x-amz-date', treatment: handled },
  { name: 'x-amz-content-sha256', treatment: handled },
  { name: 'x-amz-decoded-content-length', treatment: handled },
  { name: 'x-amz-trailer', treatment: handled },
  { name: 'x-amz-sdk-checksum-algorithm', treatment: handled },
  { name: 'x-amz-checksum-*', treatment: handled },
  { name: 'x-amz-expected-bucket-owner', treatment: checked },
  {
    name: 'x-amz-request-payer',
    treatment: { kind: 'ignored', why: 'Requester Pays only changes who is billed; nothing is billed here' },
  },
  { name: 'x-amz-user-agent', treatment: { kind: 'ignored', why: 'informational' } },
  {
    name: 'x-amz-security-token',
    treatment: {
      kind: 'refused',
      error: () => new S3Error('InvalidToken', 'Temporary credentials (session tokens) are not issued by this service'),
    },
  },
  {
    name: 'x-amz-server-side-encryption-customer-*',
    treatment: sseC('x-amz-server-side-encryption-customer-algorithm'),
  },
  {
    name: 'x-amz-copy-source-server-side-encryption-customer-*',
    treatment: sseC('x-amz-copy-source-server-side-encryption-customer-algorithm'),
  },
];

const WRITE_RULES: readonly HeaderRule[] = [
  { name: 'x-amz-acl', treatment: handled },
  { name: 'x-amz-grant-*', treatment: handled },
  { name: 'x-amz-meta-*', treatment: handled },
  { name: 'x-amz-storage-class', treatment: handled },
  { name: 'x-amz-website-redirect-location', treatment: handled },
  { name: 'x-amz-checksum-algorithm', treatment: handled },
  { name: 'x-amz-checksum-type', treatment: handled },
  {
    name: 'x-amz-server-side-encryption',
    treatment: notImplemented('Server-side encryption', 'x-amz-server-side-encryption'),
  },
  {
    name: 'x-amz-server-side-encryption-*',
    treatment: notImplemented(
      'Server-side encryption with AWS KMS keys',
      'x-amz-server-side-encryption-aws-kms-key-id',
    ),
  },
  { name: 'x-amz-tagging', treatment: handled },
  { name: 'x-amz-object-lock-*', treatment: handled },
  { name: 'x-amz-write-offset-bytes', treatment: notImplemented('Appending to objects', 'x-amz-write-offset-bytes') },
];

const COPY_RULES: readonly HeaderRule[] = [
  { name: 'x-amz-copy-source', treatment: handled },
  { name: 'x-amz-copy-source-if-*', treatment: handled },
  { name: 'x-amz-copy-source-range', treatment: handled },
  { name: 'x-amz-metadata-directive', treatment: handled },
  { name: 'x-amz-source-expected-bucket-owner', treatment: checked },
];

const COPY_OBJECT_RULES: readonly HeaderRule[] = [{ name: 'x-amz-tagging-directive', treatment: handled }];

const DELETE_RULES: readonly HeaderRule[] = [
  {
    name: 'x-amz-mfa',
    treatment: {
      kind: 'ignored',
      // DEVIATION: AWS also wants HTTPS for any request that carries the header (UsingMFADelete.html)
      // but documents no error for plain HTTP; we do not refuse it there.
      why:
        'AWS needs it only where MFA delete is enabled (DeleteObject API reference, x-amz-mfa; ' +
        'https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMFADelete.html), which no bucket here can be',
    },
  },
  { name: 'x-amz-bypass-governance-retention', treatment: handled },
  {
    name: 'x-amz-if-match-last-modified-time',
    treatment: notImplemented('Conditional deletes by time (directory buckets)', 'x-amz-if-match-last-modified-time'),
  },
  {
    name: 'x-amz-if-match-size',
    treatment: notImplemented('Conditional deletes by size (directory buckets)', 'x-amz-if-match-size'),
  },
];

const CREATE_BUCKET_RULES: readonly HeaderRule[] = [
  { name: 'x-amz-acl', treatment: handled },
  { name: 'x-amz-grant-*', treatment: handled },
  { name: 'x-amz-bucket-object-lock-enabled', treatment: handled },
  { name: 'x-amz-object-ownership', treatment: handled },
];

const GET_RULES: readonly HeaderRule[] = [{ name: 'x-amz-checksum-mode', treatment: handled }];

const MULTIPART_RULES: readonly HeaderRule[] = [{ name: 'x-amz-mp-object-size', treatment: handled }];

const ATTRIBUTES_RULES: readonly HeaderRule[] = [
  { name: 'x-amz-object-attributes', treatment: handled },
  { name: 'x-amz-max-parts', treatment: handled },
  { name: 'x-amz-part-number-marker', treatment: handled },
];

const LIST_RULES: readonly HeaderRule[] = [
  {
    name: 'x-amz-optional-object-attributes',
    treatment: { kind: 'ignored', why: 'it asks for RestoreStatus, which no object here has' },
  },
];

const ACL_RULES: readonly HeaderRule[] = [
  { name: 'x-amz-acl', treatment: handled },
  { name: 'x-amz-grant-*', treatment: handled },
];

const RETENTION_RULES: readonly HeaderRule[] = [{ name: 'x-amz-bypass-governance-retention', treatment: handled }];

const LOCK_CONFIGURATION_RULES: readonly HeaderRule[] = [
  {
    name: 'x-amz-bucket-object-lock-token',
    treatment: {
      kind: 'ignored',
      why: 'it once gated enabling Object Lock on an existing bucket; AWS no longer needs it',
    },
  },
];

const BY_OPERATION: Partial<Record<OperationName, readonly HeaderRule[]>> = {
  PutObjectRetention: RETENTION_RULES,
  PutObjectLockConfiguration: LOCK_CONFIGURATION_RULES,
  PutObject: WRITE_RULES,
  CreateMultipartUpload: WRITE_RULES,
  CopyObject: [...COPY_OBJECT_RULES, ...COPY_RULES, ...WRITE_RULES],
  UploadPartCopy: COPY_RULES,
  CompleteMultipartUpload: MULTIPART_RULES,
  DeleteObject: DELETE_RULES,
  DeleteObjects: DELETE_RULES,
  CreateBucket: CREATE_BUCKET_RULES,
  GetObject: GET_RULES,
  HeadObject: GET_RULES,
  GetObjectAttributes: ATTRIBUTES_RULES,
  ListObjects: LIST_RULES,
  ListObjectsV2: LIST_RULES,
  ListObjectVersions: LIST_RULES,
  PutBucketAcl: ACL_RULES,
  PutObjectAcl: ACL_RULES,
  // The handler refuses MfaDelete whatever this header says (no MFA device can be valid here).
  PutBucketVersioning: [{ name: 'x-amz-mfa', treatment: handled }],
};

function matches(rule: HeaderRule, header: string): boolean {
  return rule.name.endsWith('*') ? header.startsWith(rule.name.slice(0, -1)) : header === rule.name;
}

/** The treatment of `header` (lower case) on `op`, or null when we have no rule (the header is ignored). */
export function treatmentOf(op: OperationName, header: string): HeaderTreatment | null {
  for (const rule of BY_OPERATION[op] ?? []) if (matches(rule, header)) return rule.treatment;
  for (const rule of COMMON_RULES) if (matches(rule, header)) return rule.treatment;
  return null;
}

/**
 * Refuses requests whose headers ask for what we do not do, and checks the headers marked
 * `checked`. Runs after authorization, so that an anonymous caller learns nothing new.
 */
export function checkRequestHeaders(ctx: S3Context, op: OperationName, bucket: BucketInfo | null): void {
  for (const [name, value] of Object.entries(ctx.req.headers)) {
    if (!name.startsWith('x-amz-') || value === undefined) continue;
    const t = treatmentOf(op, name);
    if (t === null || t.kind === 'handled' || t.kind === 'ignored') continue;
    if (t.kind === 'refused') throw t.error();
    checkHeader(ctx, name, Array.isArray(value) ? value.join(',') : value, bucket);
  }
}

function checkHeader(ctx: S3Context, name: string, value: string, bucket: BucketInfo | null): void {
  switch (name) {
    case 'x-amz-expected-bucket-owner':
      // https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html
      if (bucket !== null && bucket.ownerId !== value.trim()) throw new S3Error('AccessDenied');
      return;
    case 'x-amz-source-expected-bucket-owner': {
      const source = sourceBucket(ctx);
      if (source === null || ctx.deps.storage.bucket(source)?.ownerId !== value.trim())
        throw new S3Error('AccessDenied');
      return;
    }
    default:
      throw new Error(`no check for ${name}`);
  }
}

/** The bucket named by x-amz-copy-source (`bucket/key` or `/bucket/key`, URL-encoded). */
function sourceBucket(ctx: S3Context): string | null {
  const raw = ctx.req.headers['x-amz-copy-source'];
  if (typeof raw !== 'string') return null;
  const path = raw.startsWith('/') ? raw.slice(1) : raw;
  const slash = path.indexOf('/');
  if (slash <= 0) return null;
  try {
    return decodeURIComponent(path.slice(0, slash));
  } catch {
    return null;
  }
}
