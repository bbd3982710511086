/**
 * The authorization matrix of issue 4: every S3 operation Cellar implements, tried by the bucket
 * owner, another add-on and an anonymous caller against a private bucket, a public-read bucket
 * (canned ACL) and a private bucket carrying the documented read-only policy for the other add-on.
 * The table below is the specification; every cell is asserted, and a refused call must leave the
 * bucket exactly as it was. An operation that answers anything but NotImplemented must have a row.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Addon } from '#storage';
import { OPERATIONS, type OperationName } from '../src/s3api/router.js';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { DOC_CORS_XML, readOnlyPolicy } from './helpers/doc-examples.js';
import { multipartBody, signedV2Fields, signedV4Fields, type Field } from './helpers/post-form.js';
import {
  assertS3Error,
  errorCode,
  md5Base64,
  raw,
  type RawAuth,
  type RawRequest,
  type RawResponse,
} from './helpers/raw.js';

type Kind = 'private' | 'public-read' | 'read-only-policy';
const KINDS: Kind[] = ['private', 'public-read', 'read-only-policy'];

/**
 * `ok`: a 2xx answer. `AD`: 403 AccessDenied (for DeleteObjects: the key's <Error> is AccessDenied).
 * Any other string: the S3 error code of a request that passed authorization and failed after it.
 */
type Cell = string;
/** owner, other add-on, anonymous. */
type Row = [Cell, Cell, Cell];

const KEY = 'obj.txt';
const MP_KEY = 'mp.bin';
const BODY = 'matrix object body';

interface Env {
  bucket: string;
  /** A public-read-write bucket of the owner, where every principal may write: the target of CopyObject-out. */
  sink: string;
  other: Addon;
  n: number;
  /** An upload of MP_KEY the owner started, with part 1 uploaded. */
  uploadId: string;
  partEtag: string;
}

interface Case {
  op: OperationName;
  /** Distinguishes several rows of one operation. */
  variant?: string;
  request(e: Env): RawRequest;
  /** A request authenticated by its body (PostObject's form) as `who`; sent without an Authorization header. */
  formFor?(e: Env, who: RawAuth | undefined): RawRequest;
  /** Addressed by Host (`<bucket>.localhost`); anonymous GETs there are the gateway's website traffic. */
  vhost?: boolean;
  /** The cell as observed; by default from the status and error code. */
  observe?(res: RawResponse): Cell;
  expect: Record<Kind, Row>;
}

const same = (row: Row): Record<Kind, Row> => ({ private: row, 'public-read': row, 'read-only-policy': row });
const byKind = (p: Row, r: Row, o: Row): Record<Kind, Row> => ({ private: p, 'public-read': r, 'read-only-policy': o });
const OWNER_ONLY: Row = ['ok', 'AD', 'AD'];
/** s3:ListBucket (and ListBucketVersions): READ on the bucket, which public-read gives to everyone. */
const LIST = byKind(OWNER_ONLY, ['ok', 'ok', 'ok'], OWNER_ONLY);
/** s3:GetObject on the (private) object: only the read-only policy opens it, to the other add-on. */
const READ_OBJECT = byKind(OWNER_ONLY, OWNER_ONLY, ['ok', 'ok', 'AD']);

const get =
  (sub: string) =>
  (e: Env): RawRequest => ({ method: 'GET', path: `/${e.bucket}?${sub}` });
const withMd5 = (method: string, path: string, body: string, headers: Record<string, string> = {}): RawRequest => ({
  method,
  path,
  body,
  headers: { 'content-md5': md5Base64(body), ...headers },
});

const PAB_XML =
  '<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls></PublicAccessBlockConfiguration>';
const OWNERSHIP_XML =
  '<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>';
const TAGGING_XML = '<Tagging><TagSet><Tag><Key>team</Key><Value>web</Value></Tag></TagSet></Tagging>';
const LIFECYCLE_XML =
  '<LifecycleConfiguration><Rule><ID>r</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>';
const LOCK_XML = '<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>';
const RETENTION_XML =
  '<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2099-01-01T00:00:00Z</RetainUntilDate></Retention>';
const LEGAL_HOLD_XML = '<LegalHold><Status>ON</Status></LegalHold>';
const WEBSITE_XML =
  '<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument></WebsiteConfiguration>';

/** Bucket configurations Cellar answers as never set, with the code AWS gives then. */
const UNCONFIGURED: Array<[OperationName, string, Cell]> = [
  ['GetBucketEncryption', 'encryption', 'ServerSideEncryptionConfigurationNotFoundError'],
  ['GetObjectLockConfiguration', 'object-lock', 'ObjectLockConfigurationNotFoundError'],
  ['GetBucketReplication', 'replication', 'ReplicationConfigurationNotFoundError'],
  ['GetBucketRequestPayment', 'requestPayment', 'ok'],
  ['GetBucketLogging', 'logging', 'ok'],
  ['GetBucketNotificationConfiguration', 'notification', 'ok'],
  ['GetBucketAccelerateConfiguration', 'accelerate', 'ok'],
];

const CASES: Case[] = [
  // Not about the bucket: listing one's own buckets, and creating a bucket whose name is taken.
  { op: 'ListBuckets', request: () => ({ method: 'GET', path: '/' }), expect: same(['ok', 'ok', 'AD']) },
  {
    op: 'CreateBucket',
    variant: 'name taken',
    request: (e) => ({ method: 'PUT', path: `/${e.bucket}` }),
    expect: same(['BucketAlreadyOwnedByYou', 'BucketAlreadyExists', 'AD']),
  },
  { op: 'HeadBucket', request: (e) => ({ method: 'HEAD', path: `/${e.bucket}` }), expect: LIST },
  {
    op: 'DeleteBucket',
    request: (e) => ({ method: 'DELETE', path: `/${e.bucket}` }),
    expect: same(['BucketNotEmpty', 'AD', 'AD']),
  },
  { op: 'GetBucketLocation', request: get('location'), expect: same(OWNER_ONLY) },
  { op: 'GetBucketVersioning', request: get('versioning'), expect: same(OWNER_ONLY) },
  { op: 'ListObjects', request: (e) => ({ method: 'GET', path: `/${e.bucket}` }), expect: LIST },
  { op: 'ListObjectsV2', request: get('list-type=2'), expect: LIST },
  { op: 'ListObjectVersions', request: get('versions'), expect: LIST },
  {
    op: 'DeleteObjects',
    request: (e) => withMd5('POST', `/${e.bucket}?delete`, `<Delete><Object><Key>${KEY}</Key></Object></Delete>`),
    observe: (res) => {
      // A caller no grant lets delete anything is refused before the body is read (issue 12, F3).
      if (res.status === 403 && errorCode(res.text) === 'AccessDenied') return 'AD';
      if (res.status !== 200) return errorCode(res.text) ?? String(res.status);
      if (new RegExp(`<Deleted><Key>${KEY}</Key>`).test(res.text)) return 'ok';
      return /<Error><Key>[^<]*<\/Key><Code>([^<]+)<\/Code>/.exec(res.text)?.[1] === 'AccessDenied' ? 'AD' : res.text;
    },
    expect: same(OWNER_ONLY),
  },
  {
    op: 'PutObject',
    request: (e) => ({ method: 'PUT', path: `/${e.bucket}/new.txt`, body: 'written' }),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'PutObject',
    variant: 'overwrite',
    request: (e) => ({ method: 'PUT', path: `/${e.bucket}/${KEY}`, body: 'overwritten' }),
    expect: same(OWNER_ONLY),
  },
  { op: 'PostObject', request: (e) => postForm(e, undefined), formFor: postForm, expect: same(OWNER_ONLY) },
  {
    op: 'CopyObject',
    variant: 'within the bucket',
    request: (e) => ({
      method: 'PUT',
      path: `/${e.bucket}/copy.txt`,
      headers: { 'x-amz-copy-source': `/${e.bucket}/${KEY}` },
    }),
    expect: same(OWNER_ONLY),
  },
  // The source side of a copy: the destination is writable by all, so only reading the source decides.
  {
    op: 'CopyObject',
    variant: 'out of the bucket',
    request: (e) => ({
      method: 'PUT',
      path: `/${e.sink}/copy-${e.n}.txt`,
      headers: { 'x-amz-copy-source': `/${e.bucket}/${KEY}` },
    }),
    expect: READ_OBJECT,
  },
  {
    op: 'GetObject',
    request: (e) => ({ method: 'GET', path: `/${e.bucket}/${KEY}` }),
    observe: (res) =>
      res.status === 200 ? (res.text === BODY ? 'ok' : `wrong body ${res.text}`) : observeDefault(res),
    expect: READ_OBJECT,
  },
  // A missing key is NoSuchKey only to callers who may list the bucket; to others, AccessDenied.
  {
    op: 'GetObject',
    variant: 'missing key',
    request: (e) => ({ method: 'GET', path: `/${e.bucket}/missing.txt` }),
    expect: byKind(['NoSuchKey', 'AD', 'AD'], ['NoSuchKey', 'NoSuchKey', 'NoSuchKey'], ['NoSuchKey', 'AD', 'AD']),
  },
  {
    op: 'GetObject',
    variant: 'virtual-host style',
    vhost: true,
    request: (e) => ({ method: 'GET', path: `/${KEY}`, headers: { host: `${e.bucket}.localhost:${t.port}` } }),
    observe: (res) =>
      res.status === 200 ? (res.text === BODY ? 'ok' : `wrong body ${res.text}`) : observeDefault(res),
    expect: READ_OBJECT,
  },
  { op: 'HeadObject', request: (e) => ({ method: 'HEAD', path: `/${e.bucket}/${KEY}` }), expect: READ_OBJECT },
  { op: 'DeleteObject', request: (e) => ({ method: 'DELETE', path: `/${e.bucket}/${KEY}` }), expect: same(OWNER_ONLY) },
  {
    op: 'GetObjectAcl',
    request: (e) => ({ method: 'GET', path: `/${e.bucket}/${KEY}?acl` }),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'PutObjectAcl',
    request: (e) => ({ method: 'PUT', path: `/${e.bucket}/${KEY}?acl`, headers: { 'x-amz-acl': 'public-read' } }),
    expect: same(OWNER_ONLY),
  },
  { op: 'GetBucketAcl', request: get('acl'), expect: same(OWNER_ONLY) },
  {
    op: 'PutBucketAcl',
    request: (e) => ({ method: 'PUT', path: `/${e.bucket}?acl`, headers: { 'x-amz-acl': 'public-read-write' } }),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'GetBucketPolicy',
    request: get('policy'),
    expect: byKind(['NoSuchBucketPolicy', 'AD', 'AD'], ['NoSuchBucketPolicy', 'AD', 'AD'], OWNER_ONLY),
  },
  {
    op: 'PutBucketPolicy',
    request: (e) => ({
      method: 'PUT',
      path: `/${e.bucket}?policy`,
      body: readOnlyPolicy(e.bucket, e.other.id).replace('GetObject', '*'),
    }),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'DeleteBucketPolicy',
    request: (e) => ({ method: 'DELETE', path: `/${e.bucket}?policy` }),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'GetBucketPolicyStatus',
    request: get('policyStatus'),
    expect: byKind(['NoSuchBucketPolicy', 'AD', 'AD'], ['NoSuchBucketPolicy', 'AD', 'AD'], OWNER_ONLY),
  },
  { op: 'GetBucketCors', request: get('cors'), expect: same(OWNER_ONLY) },
  {
    op: 'PutBucketCors',
    request: (e) => withMd5('PUT', `/${e.bucket}?cors`, DOC_CORS_XML.replace('3000', '1')),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'DeleteBucketCors',
    request: (e) => ({ method: 'DELETE', path: `/${e.bucket}?cors` }),
    expect: same(OWNER_ONLY),
  },
  { op: 'GetBucketWebsite', request: get('website'), expect: same(['NoSuchWebsiteConfiguration', 'AD', 'AD']) },
  {
    op: 'PutBucketWebsite',
    request: (e) => ({ method: 'PUT', path: `/${e.bucket}?website`, body: WEBSITE_XML }),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'DeleteBucketWebsite',
    request: (e) => ({ method: 'DELETE', path: `/${e.bucket}?website` }),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'GetBucketLifecycleConfiguration',
    request: get('lifecycle'),
    expect: same(['NoSuchLifecycleConfiguration', 'AD', 'AD']),
  },
  {
    op: 'PutBucketLifecycleConfiguration',
    request: (e) => withMd5('PUT', `/${e.bucket}?lifecycle`, LIFECYCLE_XML),
    expect: same(OWNER_ONLY),
  },
  // DeleteBucketLifecycle is s3:PutLifecycleConfiguration, as AWS has it (API_DeleteBucketLifecycle.html).
  {
    op: 'DeleteBucketLifecycle',
    request: (e) => ({ method: 'DELETE', path: `/${e.bucket}?lifecycle` }),
    expect: same(OWNER_ONLY),
  },
  // s3:ListBucketMultipartUploads is READ on the bucket, like listing objects.
  { op: 'ListMultipartUploads', request: get('uploads'), expect: LIST },
  {
    op: 'CreateMultipartUpload',
    request: (e) => ({ method: 'POST', path: `/${e.bucket}/new-mp.bin?uploads` }),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'UploadPart',
    request: (e) => ({
      method: 'PUT',
      path: `/${e.bucket}/${MP_KEY}?partNumber=2&uploadId=${e.uploadId}`,
      body: 'part two',
    }),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'UploadPartCopy',
    request: (e) => ({
      method: 'PUT',
      path: `/${e.bucket}/${MP_KEY}?partNumber=2&uploadId=${e.uploadId}`,
      headers: { 'x-amz-copy-source': `/${e.bucket}/${KEY}` },
    }),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'ListParts',
    request: (e) => ({ method: 'GET', path: `/${e.bucket}/${MP_KEY}?uploadId=${e.uploadId}` }),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'CompleteMultipartUpload',
    request: (e) => ({
      method: 'POST',
      path: `/${e.bucket}/${MP_KEY}?uploadId=${e.uploadId}`,
      body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${e.partEtag}</ETag></Part></CompleteMultipartUpload>`,
    }),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'AbortMultipartUpload',
    request: (e) => ({ method: 'DELETE', path: `/${e.bucket}/${MP_KEY}?uploadId=${e.uploadId}` }),
    expect: same(OWNER_ONLY),
  },
  // Tagging: no ACL grants the tagging actions (acl-overview.html, "Mapping of ACL permissions"),
  // so even a public-read object's tags are the owner's, and the read-only policy (s3:GetObject) opens none of them.
  {
    op: 'GetObjectTagging',
    request: (e) => ({ method: 'GET', path: `/${e.bucket}/${KEY}?tagging` }),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'PutObjectTagging',
    request: (e) => withMd5('PUT', `/${e.bucket}/${KEY}?tagging`, TAGGING_XML),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'DeleteObjectTagging',
    request: (e) => ({ method: 'DELETE', path: `/${e.bucket}/${KEY}?tagging` }),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'PutObject',
    variant: 'with tags',
    request: (e) => ({
      method: 'PUT',
      path: `/${e.bucket}/tagged.txt`,
      body: 'tagged',
      headers: { 'x-amz-tagging': 'team=web' },
    }),
    expect: same(OWNER_ONLY),
  },
  { op: 'GetBucketTagging', request: get('tagging'), expect: same(['NoSuchTagSet', 'AD', 'AD']) },
  {
    op: 'PutBucketTagging',
    request: (e) => withMd5('PUT', `/${e.bucket}?tagging`, TAGGING_XML),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'DeleteBucketTagging',
    request: (e) => ({ method: 'DELETE', path: `/${e.bucket}?tagging` }),
    expect: same(OWNER_ONLY),
  },
  // s3:GetObjectAttributes as well as s3:GetObject: the read-only policy grants only the latter.
  {
    op: 'GetObjectAttributes',
    request: (e) => ({
      method: 'GET',
      path: `/${e.bucket}/${KEY}?attributes`,
      headers: { 'x-amz-object-attributes': 'ETag,ObjectSize' },
    }),
    expect: same(OWNER_ONLY),
  },
  // Bucket guards: s3:*PublicAccessBlock and s3:*BucketOwnershipControls, which no ACL grants.
  {
    op: 'GetPublicAccessBlock',
    request: get('publicAccessBlock'),
    expect: same(['NoSuchPublicAccessBlockConfiguration', 'AD', 'AD']),
  },
  {
    op: 'PutPublicAccessBlock',
    request: (e) => withMd5('PUT', `/${e.bucket}?publicAccessBlock`, PAB_XML),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'DeletePublicAccessBlock',
    request: (e) => ({ method: 'DELETE', path: `/${e.bucket}?publicAccessBlock` }),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'GetBucketOwnershipControls',
    request: get('ownershipControls'),
    expect: same(['OwnershipControlsNotFoundError', 'AD', 'AD']),
  },
  {
    op: 'PutBucketOwnershipControls',
    request: (e) => withMd5('PUT', `/${e.bucket}?ownershipControls`, OWNERSHIP_XML),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'DeleteBucketOwnershipControls',
    request: (e) => ({ method: 'DELETE', path: `/${e.bucket}?ownershipControls` }),
    expect: same(OWNER_ONLY),
  },
  // Object Lock: the matrix buckets have none, so the owner passes authorization and gets the
  // error of a bucket without Object Lock; no ACL grants these actions.
  {
    op: 'PutObjectLockConfiguration',
    request: (e) => withMd5('PUT', `/${e.bucket}?object-lock`, LOCK_XML),
    expect: same(['InvalidBucketState', 'AD', 'AD']),
  },
  {
    op: 'GetObjectRetention',
    request: (e) => ({ method: 'GET', path: `/${e.bucket}/${KEY}?retention` }),
    expect: same(['InvalidRequest', 'AD', 'AD']),
  },
  {
    op: 'PutObjectRetention',
    request: (e) => withMd5('PUT', `/${e.bucket}/${KEY}?retention`, RETENTION_XML),
    expect: same(['InvalidRequest', 'AD', 'AD']),
  },
  {
    op: 'GetObjectLegalHold',
    request: (e) => ({ method: 'GET', path: `/${e.bucket}/${KEY}?legal-hold` }),
    expect: same(['InvalidRequest', 'AD', 'AD']),
  },
  {
    op: 'PutObjectLegalHold',
    request: (e) => withMd5('PUT', `/${e.bucket}/${KEY}?legal-hold`, LEGAL_HOLD_XML),
    expect: same(['InvalidRequest', 'AD', 'AD']),
  },
  // Versioning. A request naming a version (even `null`) needs the *Version action: the read-only
  // policy grants s3:GetObject only, so the other add-on may read the object but not "a version" of it.
  {
    op: 'PutBucketVersioning',
    request: (e) =>
      withMd5(
        'PUT',
        `/${e.bucket}?versioning`,
        '<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>',
      ),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'GetObject',
    variant: 'versionId',
    request: (e) => ({ method: 'GET', path: `/${e.bucket}/${KEY}?versionId=null` }),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'HeadObject',
    variant: 'versionId',
    request: (e) => ({ method: 'HEAD', path: `/${e.bucket}/${KEY}?versionId=null` }),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'CopyObject',
    variant: 'out of the bucket, a named version',
    request: (e) => ({
      method: 'PUT',
      path: `/${e.sink}/copyv-${e.n}.txt`,
      headers: { 'x-amz-copy-source': `/${e.bucket}/${KEY}?versionId=null` },
    }),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'DeleteObject',
    variant: 'versionId',
    request: (e) => ({ method: 'DELETE', path: `/${e.bucket}/${KEY}?versionId=null` }),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'DeleteObjects',
    variant: 'VersionId',
    request: (e) =>
      withMd5(
        'POST',
        `/${e.bucket}?delete`,
        `<Delete><Object><Key>${KEY}</Key><VersionId>null</VersionId></Object></Delete>`,
      ),
    observe: (res) => {
      if (res.status === 403 && errorCode(res.text) === 'AccessDenied') return 'AD';
      if (res.status !== 200) return errorCode(res.text) ?? String(res.status);
      if (new RegExp(`<Deleted><Key>${KEY}</Key>`).test(res.text)) return 'ok';
      return /<Error><Key>[^<]*<\/Key>(?:<VersionId>[^<]*<\/VersionId>)?<Code>([^<]+)<\/Code>/.exec(res.text)?.[1] ===
        'AccessDenied'
        ? 'AD'
        : res.text;
    },
    expect: same(OWNER_ONLY),
  },
  {
    op: 'GetObjectTagging',
    variant: 'versionId',
    request: (e) => ({ method: 'GET', path: `/${e.bucket}/${KEY}?tagging&versionId=null` }),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'PutObjectTagging',
    variant: 'versionId',
    request: (e) => withMd5('PUT', `/${e.bucket}/${KEY}?tagging&versionId=null`, TAGGING_XML),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'DeleteObjectTagging',
    variant: 'versionId',
    request: (e) => ({ method: 'DELETE', path: `/${e.bucket}/${KEY}?tagging&versionId=null` }),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'GetObjectAcl',
    variant: 'versionId',
    request: (e) => ({ method: 'GET', path: `/${e.bucket}/${KEY}?acl&versionId=null` }),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'PutObjectAcl',
    variant: 'versionId',
    request: (e) => ({
      method: 'PUT',
      path: `/${e.bucket}/${KEY}?acl&versionId=null`,
      headers: { 'x-amz-acl': 'public-read' },
    }),
    expect: same(OWNER_ONLY),
  },
  {
    op: 'GetObjectAttributes',
    variant: 'versionId',
    request: (e) => ({
      method: 'GET',
      path: `/${e.bucket}/${KEY}?attributes&versionId=null`,
      headers: { 'x-amz-object-attributes': 'ETag,ObjectSize' },
    }),
    expect: same(OWNER_ONLY),
  },
  ...UNCONFIGURED.map(([op, sub, cell]): Case => ({ op, request: get(sub), expect: same([cell, 'AD', 'AD']) })),
];

/** A browser upload form for a new key, signed by the caller's add-on (SigV4 or SigV2), or without policy for anonymous. */
function postForm(e: Env, who: RawAuth | undefined): RawRequest {
  const key = 'posted.txt';
  const fields: Field[] = [['key', key]];
  const conditions = [{ bucket: e.bucket }, { key }];
  const signed =
    who === undefined
      ? fields
      : who.type === 'v4'
        ? signedV4Fields(who.addon, conditions, fields)
        : signedV2Fields(who.addon, conditions, fields);
  const { body, contentType } = multipartBody(signed, { filename: key, content: 'posted' });
  return { method: 'POST', path: `/${e.bucket}`, body, headers: { 'content-type': contentType } };
}

function observeDefault(res: RawResponse): Cell {
  if (res.status >= 200 && res.status < 300) return 'ok';
  if (res.status === 403) return 'AD';
  return errorCode(res.text) ?? `HTTP ${res.status}`;
}

let t: TestCellar;
let other: Addon;
const SINK = 'matrix-sink';

const ownerAuth = (): RawAuth => ({ type: 'v4', addon: t.owner });

async function ok(r: RawRequest): Promise<RawResponse> {
  const res = await raw(t.endpoint, { ...r, auth: ownerAuth() });
  assert.ok(res.status >= 200 && res.status < 300, `setup ${r.method} ${r.path}: ${res.status} ${res.text}`);
  return res;
}

/**
 * A fresh bucket of the given kind holding one private object, the documented CORS rules and
 * an upload in progress with one part.
 */
async function makeBucket(name: string, kind: Kind): Promise<{ uploadId: string; partEtag: string }> {
  await ok({ method: 'PUT', path: `/${name}`, headers: kind === 'public-read' ? { 'x-amz-acl': 'public-read' } : {} });
  await ok({ method: 'PUT', path: `/${name}/${KEY}`, body: BODY });
  await ok(withMd5('PUT', `/${name}?cors`, DOC_CORS_XML));
  if (kind === 'read-only-policy')
    await ok({ method: 'PUT', path: `/${name}?policy`, body: readOnlyPolicy(name, other.id) });
  const created = await ok({ method: 'POST', path: `/${name}/${MP_KEY}?uploads` });
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.text)![1]!;
  const part = await ok({
    method: 'PUT',
    path: `/${name}/${MP_KEY}?partNumber=1&uploadId=${uploadId}`,
    body: 'part one',
  });
  return { uploadId, partEtag: String(part.headers.etag) };
}

/** Everything a refused request must not have changed. */
function fingerprint(bucket: string): string {
  const s = t.cellar.storage;
  const b = s.bucket(bucket);
  if (!b) return 'gone';
  const objects = s
    .listObjects(bucket, { prefix: '', delimiter: '', after: '', maxKeys: 1000 })
    .contents.map((o) => [
      o.key,
      o.etag,
      o.ownerId,
      JSON.stringify(o.acl),
      JSON.stringify(o.headers),
      JSON.stringify(o.tags),
    ]);
  const uploads = s.multipart
    .listUploads(bucket, { prefix: '', delimiter: '', keyMarker: '', uploadIdMarker: '', maxUploads: 1000 })
    .uploads.map((u) => [
      u.key,
      u.id,
      s.multipart.listParts(bucket, u.key, u.id, 0, 1000).parts.map((p) => [p.partNumber, p.etag]),
    ]);
  return JSON.stringify({
    acl: b.acl,
    policy: b.policy,
    cors: b.cors,
    website: b.website,
    lifecycle: b.lifecycle,
    tags: b.tags,
    publicAccessBlock: b.publicAccessBlock,
    ownership: b.ownership,
    versioning: b.versioning,
    owner: b.ownerId,
    versions: s
      .listObjectVersions(bucket, { prefix: '', delimiter: '', keyMarker: '', versionIdMarker: null, maxKeys: 1000 })
      .versions.map((v) => [v.key, v.versionId, v.deleteMarker, JSON.stringify(v.acl), JSON.stringify(v.tags)]),
    objects,
    uploads,
  });
}

/** The callers of each column; the other add-on is tried with both signature versions. */
function callers(): Array<{ column: 0 | 1 | 2; label: string; auth: RawAuth | undefined }> {
  return [
    { column: 2, label: 'anonymous', auth: undefined },
    { column: 1, label: 'other (SigV4)', auth: { type: 'v4', addon: other } },
    { column: 1, label: 'other (SigV2)', auth: { type: 'v2', addon: other } },
    // Last, since the owner's writes change the bucket.
    { column: 0, label: 'owner', auth: ownerAuth() },
  ];
}

before(async () => {
  t = await startTestCellar();
  other = t.newAddon('matrix-other');
  await ok({ method: 'PUT', path: `/${SINK}`, headers: { 'x-amz-acl': 'public-read-write' } });
});
after(() => t.stop());

test('the sink of CopyObject-out is writable by every caller, so copies test the source side only', {
  timeout: 120_000,
}, async () => {
  for (const c of callers()) {
    const res = await raw(t.endpoint, { method: 'PUT', path: `/${SINK}/probe.txt`, body: 'x', auth: c.auth });
    assert.equal(res.status, 200, `${c.label}: ${res.text}`);
  }
});

let n = 0;
for (const kind of KINDS) {
  describe(`${kind} bucket`, () => {
    for (const c of CASES) {
      const name = c.variant ? `${c.op} (${c.variant})` : c.op;
      test(name, { timeout: 120_000 }, async () => {
        const bucket = `m-${kind.slice(0, 4)}-${++n}`;
        const e: Env = { bucket, sink: SINK, other, n, ...(await makeBucket(bucket, kind)) };
        const wrong: string[] = [];
        for (const who of callers()) {
          const before = fingerprint(e.bucket);
          const req = c.formFor ? c.formFor(e, who.auth) : c.request(e);
          const auth = c.formFor
            ? undefined
            : c.vhost && who.auth?.type === 'v2'
              ? { ...who.auth, vhostBucket: e.bucket }
              : who.auth;
          const res = await raw(t.endpoint, { ...req, auth });
          const got = (c.observe ?? observeDefault)(res);
          const want = c.expect[kind][who.column];
          if (got !== want)
            wrong.push(`${who.label}: expected ${want}, got ${got} (${res.status} ${res.text.slice(0, 300)})`);
          if (want === 'AD' && got === 'AD' && !c.observe) assertS3Error(res, 403, 'AccessDenied', req.method);
          if (got !== 'ok')
            assert.ok(!res.text.includes(BODY), `${who.label}: the object leaked in a refusal: ${res.text}`);
          if (who.column !== 0)
            assert.equal(fingerprint(e.bucket), before, `${who.label} changed the bucket with ${name}`);
          if (c.op === 'ListBuckets' && got === 'ok') {
            // Another add-on lists its own buckets, never the owner's.
            assert.equal(res.text.includes(`<Name>${e.bucket}</Name>`), who.column === 0, `${who.label}: ${res.text}`);
          }
        }
        assert.deepEqual(wrong, [], wrong.join('\n'));
      });
    }
  });
}

/**
 * One request per operation that reaches the operation's handler (for the owner). Typed over
 * every operation the router names, so a new one cannot be forgotten.
 */
const PROBES: Record<OperationName, (b: string) => RawRequest> = {
  ListBuckets: () => ({ method: 'GET', path: '/' }),
  CreateBucket: () => ({ method: 'PUT', path: '/probe-created' }),
  HeadBucket: (b) => ({ method: 'HEAD', path: `/${b}` }),
  DeleteBucket: (b) => ({ method: 'DELETE', path: `/${b}` }),
  GetBucketLocation: (b) => ({ method: 'GET', path: `/${b}?location` }),
  ListObjects: (b) => ({ method: 'GET', path: `/${b}` }),
  ListObjectsV2: (b) => ({ method: 'GET', path: `/${b}?list-type=2` }),
  ListObjectVersions: (b) => ({ method: 'GET', path: `/${b}?versions` }),
  GetBucketVersioning: (b) => ({ method: 'GET', path: `/${b}?versioning` }),
  PutBucketVersioning: (b) => ({
    method: 'PUT',
    path: `/${b}?versioning`,
    body: '<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>',
  }),
  GetBucketAcl: (b) => ({ method: 'GET', path: `/${b}?acl` }),
  PutBucketAcl: (b) => ({ method: 'PUT', path: `/${b}?acl`, headers: { 'x-amz-acl': 'private' } }),
  GetBucketPolicy: (b) => ({ method: 'GET', path: `/${b}?policy` }),
  PutBucketPolicy: (b) => ({ method: 'PUT', path: `/${b}?policy`, body: '{}' }),
  DeleteBucketPolicy: (b) => ({ method: 'DELETE', path: `/${b}?policy` }),
  GetBucketPolicyStatus: (b) => ({ method: 'GET', path: `/${b}?policyStatus` }),
  GetBucketCors: (b) => ({ method: 'GET', path: `/${b}?cors` }),
  PutBucketCors: (b) => ({ method: 'PUT', path: `/${b}?cors`, body: DOC_CORS_XML }),
  DeleteBucketCors: (b) => ({ method: 'DELETE', path: `/${b}?cors` }),
  GetBucketWebsite: (b) => ({ method: 'GET', path: `/${b}?website` }),
  PutBucketWebsite: (b) => ({
    method: 'PUT',
    path: `/${b}?website`,
    body: '<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument></WebsiteConfiguration>',
  }),
  DeleteBucketWebsite: (b) => ({ method: 'DELETE', path: `/${b}?website` }),
  GetBucketLifecycleConfiguration: (b) => ({ method: 'GET', path: `/${b}?lifecycle` }),
  PutBucketLifecycleConfiguration: (b) => ({
    method: 'PUT',
    path: `/${b}?lifecycle`,
    body: LIFECYCLE_XML,
    headers: { 'content-md5': md5Base64(LIFECYCLE_XML) },
  }),
  DeleteBucketLifecycle: (b) => ({ method: 'DELETE', path: `/${b}?lifecycle` }),
  GetBucketTagging: (b) => ({ method: 'GET', path: `/${b}?tagging` }),
  PutBucketTagging: (b) => ({ method: 'PUT', path: `/${b}?tagging`, body: '<Tagging><TagSet/></Tagging>' }),
  DeleteBucketTagging: (b) => ({ method: 'DELETE', path: `/${b}?tagging` }),
  GetBucketEncryption: (b) => ({ method: 'GET', path: `/${b}?encryption` }),
  PutBucketEncryption: (b) => ({
    method: 'PUT',
    path: `/${b}?encryption`,
    body: '<ServerSideEncryptionConfiguration/>',
  }),
  DeleteBucketEncryption: (b) => ({ method: 'DELETE', path: `/${b}?encryption` }),
  GetBucketRequestPayment: (b) => ({ method: 'GET', path: `/${b}?requestPayment` }),
  GetBucketLogging: (b) => ({ method: 'GET', path: `/${b}?logging` }),
  GetBucketNotificationConfiguration: (b) => ({ method: 'GET', path: `/${b}?notification` }),
  GetObjectLockConfiguration: (b) => ({ method: 'GET', path: `/${b}?object-lock` }),
  PutObjectLockConfiguration: (b) => withMd5('PUT', `/${b}?object-lock`, LOCK_XML),
  GetObjectRetention: (b) => ({ method: 'GET', path: `/${b}/${KEY}?retention` }),
  PutObjectRetention: (b) => withMd5('PUT', `/${b}/${KEY}?retention`, RETENTION_XML),
  GetObjectLegalHold: (b) => ({ method: 'GET', path: `/${b}/${KEY}?legal-hold` }),
  PutObjectLegalHold: (b) => withMd5('PUT', `/${b}/${KEY}?legal-hold`, LEGAL_HOLD_XML),
  GetBucketReplication: (b) => ({ method: 'GET', path: `/${b}?replication` }),
  GetBucketAccelerateConfiguration: (b) => ({ method: 'GET', path: `/${b}?accelerate` }),
  GetBucketOwnershipControls: (b) => ({ method: 'GET', path: `/${b}?ownershipControls` }),
  GetPublicAccessBlock: (b) => ({ method: 'GET', path: `/${b}?publicAccessBlock` }),
  PutPublicAccessBlock: (b) => ({ method: 'PUT', path: `/${b}?publicAccessBlock`, body: PAB_XML }),
  DeletePublicAccessBlock: (b) => ({ method: 'DELETE', path: `/${b}?publicAccessBlock` }),
  PutBucketOwnershipControls: (b) => ({ method: 'PUT', path: `/${b}?ownershipControls`, body: OWNERSHIP_XML }),
  DeleteBucketOwnershipControls: (b) => ({ method: 'DELETE', path: `/${b}?ownershipControls` }),
  ListMultipartUploads: (b) => ({ method: 'GET', path: `/${b}?uploads` }),
  DeleteObjects: (b) => withMd5('POST', `/${b}?delete`, '<Delete><Object><Key>x</Key></Object></Delete>'),
  PostObject: (b) => ({
    method: 'POST',
    path: `/${b}`,
    headers: { 'content-type': 'multipart/form-data; boundary=x' },
    body: '--x--\r\n',
  }),
  GetObject: (b) => ({ method: 'GET', path: `/${b}/${KEY}` }),
  HeadObject: (b) => ({ method: 'HEAD', path: `/${b}/${KEY}` }),
  PutObject: (b) => ({ method: 'PUT', path: `/${b}/${KEY}`, body: BODY }),
  CopyObject: (b) => ({ method: 'PUT', path: `/${b}/copy.txt`, headers: { 'x-amz-copy-source': `/${b}/${KEY}` } }),
  DeleteObject: (b) => ({ method: 'DELETE', path: `/${b}/gone.txt` }),
  GetObjectAcl: (b) => ({ method: 'GET', path: `/${b}/${KEY}?acl` }),
  PutObjectAcl: (b) => ({ method: 'PUT', path: `/${b}/${KEY}?acl`, headers: { 'x-amz-acl': 'private' } }),
  GetObjectTagging: (b) => ({ method: 'GET', path: `/${b}/${KEY}?tagging` }),
  PutObjectTagging: (b) => ({ method: 'PUT', path: `/${b}/${KEY}?tagging`, body: '<Tagging><TagSet/></Tagging>' }),
  DeleteObjectTagging: (b) => ({ method: 'DELETE', path: `/${b}/${KEY}?tagging` }),
  GetObjectAttributes: (b) => ({
    method: 'GET',
    path: `/${b}/${KEY}?attributes`,
    headers: { 'x-amz-object-attributes': 'ETag' },
  }),
  CreateMultipartUpload: (b) => ({ method: 'POST', path: `/${b}/mp.bin?uploads` }),
  UploadPart: (b) => ({ method: 'PUT', path: `/${b}/mp.bin?partNumber=1&uploadId=nope`, body: 'x' }),
  UploadPartCopy: (b) => ({
    method: 'PUT',
    path: `/${b}/mp.bin?partNumber=1&uploadId=nope`,
    headers: { 'x-amz-copy-source': `/${b}/${KEY}` },
  }),
  CompleteMultipartUpload: (b) => ({
    method: 'POST',
    path: `/${b}/mp.bin?uploadId=nope`,
    body: '<CompleteMultipartUpload/>',
  }),
  AbortMultipartUpload: (b) => ({ method: 'DELETE', path: `/${b}/mp.bin?uploadId=nope` }),
  ListParts: (b) => ({ method: 'GET', path: `/${b}/mp.bin?uploadId=nope` }),
  RestoreObject: (b) => ({ method: 'POST', path: `/${b}/${KEY}?restore`, body: '<RestoreRequest/>' }),
  SelectObjectContent: (b) => ({
    method: 'POST',
    path: `/${b}/${KEY}?select&select-type=2`,
    body: '<SelectObjectContentRequest/>',
  }),
};

test('every operation that is implemented has a row in the matrix; the others answer NotImplemented (or AccessDenied to non-owners)', {
  timeout: 120_000,
}, async () => {
  const covered = new Set(CASES.map((c) => c.op));
  const bucket = 'matrix-probe';
  await makeBucket(bucket, 'private');
  const missing: string[] = [];
  for (const op of OPERATIONS) {
    if (covered.has(op)) continue;
    for (const who of callers()) {
      const req = PROBES[op](bucket);
      const res = await raw(t.endpoint, { ...req, auth: who.auth });
      // The owner reaches the handler; others may be stopped earlier, by authorization.
      const code = req.method === 'HEAD' ? String(res.status) : errorCode(res.text);
      const fine =
        res.status === 501
          ? req.method === 'HEAD' || code === 'NotImplemented'
          : who.column !== 0 && res.status === 403 && (req.method === 'HEAD' || code === 'AccessDenied');
      if (!fine) {
        missing.push(`${op} by ${who.label}: ${res.status} ${res.text.slice(0, 200)}`);
      }
    }
  }
  assert.deepEqual(missing, [], `implemented operations without a matrix row:\n${missing.join('\n')}`);
});
