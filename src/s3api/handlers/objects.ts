import type { Acl, BucketInfo, DeleteResult, ObjectInfo } from '#storage';
import type { OutgoingHttpHeaders } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { evaluateConditions, parseRange } from '../../shared/http-semantics.js';
import { header, type S3Context } from '../context.js';
import { S3Error } from '../errors.js';
import { objectBody } from '../object-body.js';
import { expirationHeader } from './lifecycle.js';
import { applyResponseOverrides, headersFromRequest, objectResponseHeaders } from '../object-headers.js';
import { checksumHeaders, partRead } from '../object-parts.js';
import { checkAccess, mayLearnMissing } from '../pipeline.js';
import type { ObjectRoute, ReadRoute } from '../router.js';
import { checkRequestedAcl, objectOwnership } from '../acl-guard.js';
import { aclFromHeaders } from './access.js';
import { applyTagCount, tagsOfCopy, tagsOfWrite } from './tagging.js';
import { applyLockHeaders, lockOfWrite, removalOptions } from './object-lock.js';
import { isoDate, quoteEtag, sendEmpty, sendXml } from '../respond.js';
import { writePrecondition } from '../write-conditions.js';
import { noSuchVersion, versionHeader, versionIdParam } from '../versions.js';

/**
 * The ACL a new object gets from x-amz-acl or x-amz-grant-* headers (null means the default,
 * private), refused when the bucket's guards forbid it.
 */
export function requestedAcl(ctx: S3Context, bucket: BucketInfo): Acl | null {
  const addon = ctx.addon;
  const owner = addon
    ? { id: addon.id, displayName: addon.name }
    : { id: bucket.ownerId, displayName: bucket.acl.owner.displayName };
  const acl = aclFromHeaders(ctx, owner, bucket.acl.owner);
  checkRequestedAcl(bucket, acl);
  return acl;
}

/** Who owns the object this request writes, and the ACL it is stored with. */
function newObjectOwnership(ctx: S3Context, bucket: BucketInfo): { ownerId: string; acl: Acl | null } {
  return objectOwnership(bucket, ctx.addon?.id ?? bucket.ownerId, requestedAcl(ctx, bucket));
}

export async function putObject(ctx: S3Context, bucket: BucketInfo, r: ObjectRoute): Promise<void> {
  const headers = headersFromRequest(ctx.req.headers);
  const { ownerId, acl } = newObjectOwnership(ctx, bucket);
  const tags = tagsOfWrite(ctx, bucket, r.key);
  const lock = lockOfWrite(ctx, bucket, r.key, true);
  const body = objectBody(ctx);
  const obj = await ctx.deps.storage.putObject({
    bucket: bucket.name,
    key: r.key,
    ownerId,
    body: body.stream,
    headers,
    acl,
    expectedMd5Base64: body.expectedMd5Base64,
    expectedSha256Hex: body.expectedSha256Hex,
    observers: body.observers,
    verify: body.finish,
    precondition: writePrecondition(ctx),
    tags,
    lock,
  });
  const out: Record<string, string> = {
    etag: quoteEtag(obj.etag),
    ...versionHeader(bucket, obj),
    ...expirationHeader(ctx, bucket, obj),
  };
  for (const [alg, value] of Object.entries(obj.checksum ?? {})) out[`x-amz-checksum-${alg.toLowerCase()}`] = value;
  sendEmpty(ctx, 200, out);
}

/**
 * A missing key is NoSuchKey only for callers who may list the bucket; others get AccessDenied
 * so that existence does not leak (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html).
 * Delete markers answer as AWS documents
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeleteMarker.html): a current marker is
 * 404 NoSuchKey with x-amz-delete-marker and its version id; a marker named by versionId is
 * 405 MethodNotAllowed with x-amz-delete-marker and Last-Modified.
 */
function requireReadable(
  ctx: S3Context,
  bucket: BucketInfo,
  key: string,
  versionId: string | null,
  obj: ObjectInfo | null,
): ObjectInfo {
  if (obj) return obj;
  if (!mayLearnMissing(ctx, bucket, key)) throw new S3Error('AccessDenied');
  const storage = ctx.deps.storage;
  const marker =
    versionId === null
      ? storage.currentDeleteMarker(bucket.name, key)
      : storage.objectVersion(bucket.name, key, versionId);
  if (marker?.deleteMarker) {
    ctx.res.setHeader('x-amz-delete-marker', 'true');
    ctx.res.setHeader('x-amz-version-id', marker.versionId);
    if (versionId !== null) {
      ctx.res.setHeader('last-modified', marker.lastModified.toUTCString());
      throw new S3Error('MethodNotAllowed', undefined, {
        Method: ctx.req.method ?? 'GET',
        ResourceType: 'DeleteMarker',
      });
    }
  }
  if (versionId !== null) throw noSuchVersion(key, versionId);
  throw new S3Error('NoSuchKey', undefined, { Key: key });
}

/**
 * GetObject and HeadObject. `object` is the row authorization looked up and judged (null when the
 * key is missing): it is the one served, never a second read.
 */
export async function getObject(
  ctx: S3Context,
  bucket: BucketInfo,
  r: ReadRoute,
  object: ObjectInfo | null,
): Promise<void> {
  const versionId = versionIdParam(ctx.query);
  const obj = requireReadable(ctx, bucket, r.key, versionId, object);
  const h: OutgoingHttpHeaders = { ...objectResponseHeaders(obj), ...versionHeader(bucket, obj, versionId) };
  if (header(ctx, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED') Object.assign(h, checksumHeaders(obj));
  applyTagCount(ctx, bucket, obj, h);
  Object.assign(h, expirationHeader(ctx, bucket, obj));
  applyLockHeaders(ctx, bucket, obj, h);
  const cond = evaluateConditions(
    {
      ifMatch: header(ctx, 'if-match'),
      ifNoneMatch: header(ctx, 'if-none-match'),
      ifModifiedSince: header(ctx, 'if-modified-since'),
      ifUnmodifiedSince: header(ctx, 'if-unmodified-since'),
    },
    { etag: quoteEtag(obj.etag), lastModified: obj.lastModified },
    true,
  );
  if (cond === 'precondition-failed')
    throw new S3Error('PreconditionFailed', undefined, {
      Condition: header(ctx, 'if-match') !== undefined ? 'If-Match' : 'If-Unmodified-Since',
    });
  if (cond === 'not-modified') {
    const notModified: OutgoingHttpHeaders = { etag: h.etag, 'last-modified': h['last-modified'] };
    if (h['cache-control']) notModified['cache-control'] = h['cache-control'];
    if (h.expires) notModified.expires = h.expires;
    ctx.res.writeHead(304, notModified);
    ctx.res.end();
    return;
  }
  applyResponseOverrides(h, ctx.query, ctx.signed);
  const part = partRead(ctx, obj, r.partNumber);
  if (part?.partsCount) h['x-amz-mp-parts-count'] = part.partsCount;
  const range = part ? part.range : parseRange(header(ctx, 'range'), obj.size);
  if (range.type === 'unsatisfiable') {
    throw new S3Error('InvalidRange', undefined, {
      RangeRequested: header(ctx, 'range') ?? '',
      ActualObjectSize: String(obj.size),
    });
  }
  let status = 200;
  let byteRange: { start: number; end: number } | null = null;
  if (range.type === 'partial') {
    status = 206;
    byteRange = { start: range.start, end: range.end };
    h['content-range'] = `bytes ${range.start}-${range.end}/${obj.size}`;
    h['content-length'] = range.end - range.start + 1;
    // A whole-object checksum cannot describe a part of it: S3 sends none on ranged reads, and
    // SDKs that validate responses would reject the body (MinIO made the same fix, minio#17105).
    for (const name of Object.keys(h)) if (name.startsWith('x-amz-checksum-')) delete h[name];
  } else {
    h['content-length'] = obj.size;
  }
  if (r.op === 'HeadObject' || obj.size === 0) {
    ctx.res.writeHead(status, h);
    ctx.res.end();
    return;
  }
  const stream = await ctx.deps.storage.openObject(obj, byteRange);
  ctx.res.writeHead(status, h);
  await pipeline(stream, ctx.res);
}

/**
 * DeleteObject (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html): with a
 * versionId that version is destroyed; a version the key does not have is a success all the
 * same, its id echoed, as AWS answers (minio/minio#18117, versity/versitygw#1758).
 */
export async function deleteObject(ctx: S3Context, bucket: BucketInfo, r: ObjectRoute): Promise<void> {
  const versionId = versionIdParam(ctx.query);
  const storage = ctx.deps.storage;
  const lock = removalOptions(ctx, bucket, r.key);
  const result =
    versionId === null
      ? await storage.deleteObject(bucket.name, r.key, ctx.addon?.id, lock)
      : ((await storage.deleteObjectVersion(bucket.name, r.key, versionId, lock)) ?? {
          deleteMarker: false,
          versionId,
        });
  sendEmpty(ctx, 204, deleteHeaders(result));
}

/** x-amz-delete-marker and x-amz-version-id of a DELETE's answer. */
function deleteHeaders(result: DeleteResult): Record<string, string> {
  const h: Record<string, string> = {};
  if (result.deleteMarker) h['x-amz-delete-marker'] = 'true';
  if (result.versionId !== null) h['x-amz-version-id'] = result.versionId;
  return h;
}

/** Parses x-amz-copy-source: `[/]bucket/key[?versionId=...]`, URL-encoded. */
export function parseCopySource(raw: string): { bucket: string; key: string; versionId: string | null } {
  const q = raw.indexOf('?');
  const pathPart = q >= 0 ? raw.slice(0, q) : raw;
  const versionId = q >= 0 ? new URLSearchParams(raw.slice(q + 1)).get('versionId') : null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathPart);
  } catch {
    throw new S3Error('InvalidArgument', 'Invalid copy source encoding', { ArgumentName: 'x-amz-copy-source' });
  }
  const p = decoded.startsWith('/') ? decoded.slice(1) : decoded;
  const slash = p.indexOf('/');
  if (slash <= 0 || slash === p.length - 1)
    throw new S3Error('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', {
      ArgumentName: 'x-amz-copy-source',
      ArgumentValue: raw,
    });
  return { bucket: p.slice(0, slash), key: p.slice(slash + 1), versionId };
}

/**
 * Reads the copy source (its current version, or the one `?versionId=` names) after checking
 * s3:GetObject (s3:GetObjectVersion) on it and the x-amz-copy-source-if-* conditions. A delete
 * marker cannot be copied: the current one is NoSuchKey, a named one InvalidRequest
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html, x-amz-copy-source).
 */
export function copySourceObject(ctx: S3Context): ObjectInfo {
  const src = parseCopySource(header(ctx, 'x-amz-copy-source')!);
  const versionId = src.versionId === null ? null : versionIdParam(new URLSearchParams({ versionId: src.versionId }));
  const storage = ctx.deps.storage;
  const srcBucket = storage.requireBucket(src.bucket);
  const obj = storage.headObject(src.bucket, src.key, versionId);
  checkAccess(ctx, srcBucket, versionId === null ? 's3:GetObject' : 's3:GetObjectVersion', src.key, obj);
  if (!obj && versionId !== null) {
    if (storage.objectVersion(src.bucket, src.key, versionId)?.deleteMarker)
      throw new S3Error(
        'InvalidRequest',
        'The source of a copy request may not specifically refer to a delete marker by version id.',
      );
    throw noSuchVersion(src.key, versionId);
  }
  if (!obj) throw new S3Error('NoSuchKey', undefined, { Key: src.key });
  const cond = evaluateConditions(
    {
      ifMatch: header(ctx, 'x-amz-copy-source-if-match'),
      ifNoneMatch: header(ctx, 'x-amz-copy-source-if-none-match'),
      ifModifiedSince: header(ctx, 'x-amz-copy-source-if-modified-since'),
      ifUnmodifiedSince: header(ctx, 'x-amz-copy-source-if-unmodified-since'),
    },
    { etag: quoteEtag(obj.etag), lastModified: obj.lastModified },
    true,
  );
  // For copies every failed condition is 412 (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html).
  if (cond !== 'proceed') throw new S3Error('PreconditionFailed');
  return obj;
}

export async function copyObject(ctx: S3Context, bucket: BucketInfo, r: ObjectRoute): Promise<void> {
  const source = copySourceObject(ctx);
  const directive = (header(ctx, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE')
    throw new S3Error('InvalidArgument', 'Unknown metadata directive.', {
      ArgumentName: 'x-amz-metadata-directive',
      ArgumentValue: directive,
    });
  const key = r.key;
  const redirectChanged = header(ctx, 'x-amz-website-redirect-location') !== undefined;
  const classChanged = header(ctx, 'x-amz-storage-class') !== undefined;
  // Copying a named version onto its own key is how an old version is restored: not a copy "to itself".
  const namedVersion = parseCopySource(header(ctx, 'x-amz-copy-source')!).versionId !== null;
  if (
    source.bucket === bucket.name &&
    source.key === key &&
    !namedVersion &&
    directive === 'COPY' &&
    !redirectChanged &&
    !classChanged
  ) {
    throw new S3Error(
      'InvalidRequest',
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  let headers: Record<string, string>;
  if (directive === 'REPLACE') {
    headers = headersFromRequest(ctx.req.headers);
  } else {
    headers = { ...source.headers };
    const overrides = headersFromRequest({
      'x-amz-website-redirect-location': ctx.req.headers['x-amz-website-redirect-location'],
      'x-amz-storage-class': ctx.req.headers['x-amz-storage-class'],
      'content-type': source.headers['content-type'],
    });
    if (redirectChanged) headers['x-amz-website-redirect-location'] = overrides['x-amz-website-redirect-location']!;
    if (classChanged) {
      if (overrides['x-amz-storage-class']) headers['x-amz-storage-class'] = overrides['x-amz-storage-class'];
      else delete headers['x-amz-storage-class'];
    }
  }
  const tags = tagsOfCopy(ctx, bucket, key, source);
  const lock = lockOfWrite(ctx, bucket, key, false);
  const obj = await ctx.deps.storage.copyObject({
    source,
    bucket: bucket.name,
    key,
    ...newObjectOwnership(ctx, bucket),
    headers,
    precondition: writePrecondition(ctx),
    tags,
    lock,
  });
  for (const [k, v] of Object.entries(expirationHeader(ctx, bucket, obj))) ctx.res.setHeader(k, v);
  // x-amz-copy-source-version-id names the version copied whenever the source has versions (API_CopyObject.html).
  const sourceBucket = ctx.deps.storage.bucket(source.bucket);
  if (sourceBucket && (sourceBucket.versioning || namedVersion))
    ctx.res.setHeader('x-amz-copy-source-version-id', source.versionId);
  for (const [name, value] of Object.entries(versionHeader(bucket, obj))) ctx.res.setHeader(name, value);
  sendXml(ctx, 'CopyObjectResult', { LastModified: isoDate(obj.lastModified), ETag: quoteEtag(obj.etag) });
}
