import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BucketInfo, ObjectInfo } from '#storage';
import { recordOf } from '../shared/request-record.js';
import { ACTIONS, takesVersionId } from './actions.js';
import { wellFormedVersionId } from './versions.js';
import type { S3Context, S3Deps } from './context.js';
import { S3Error, toS3Error } from './errors.js';
import { createBucket, deleteBucket, getBucketLocation, headBucket, listBuckets } from './handlers/buckets.js';
import { deleteObjects } from './handlers/delete-objects.js';
import { getBucketVersioning, putBucketVersioning } from './handlers/versioning.js';
import { listObjects, listObjectsV2, listObjectVersions } from './handlers/listing.js';
import { copyObject, deleteObject, getObject, putObject } from './handlers/objects.js';
import {
  abortMultipartUpload,
  completeMultipartUpload,
  createMultipartUpload,
  listMultipartUploads,
  listParts,
  uploadPart,
  uploadPartCopy,
} from './handlers/multipart.js';
import { getUnconfigured } from './handlers/unconfigured.js';
import {
  deleteBucketPolicy,
  getBucketAcl,
  getBucketPolicy,
  getBucketPolicyStatus,
  getObjectAcl,
  putBucketAcl,
  putBucketPolicy,
  putObjectAcl,
} from './handlers/access.js';
import { applyCorsHeaders, deleteBucketCors, getBucketCors, preflight, putBucketCors } from './handlers/cors.js';
import { deleteBucketWebsite, getBucketWebsite, putBucketWebsite } from './handlers/website.js';
import {
  deleteBucketLifecycle,
  getBucketLifecycleConfiguration,
  putBucketLifecycleConfiguration,
} from './handlers/lifecycle.js';
import { postObject } from './handlers/post-object.js';
import {
  deleteBucketTagging,
  deleteObjectTagging,
  getBucketTagging,
  getObjectTagging,
  putBucketTagging,
  putObjectTagging,
} from './handlers/tagging.js';
import { getObjectAttributes } from './handlers/attributes.js';
import {
  getObjectLegalHold,
  getObjectLockConfiguration,
  getObjectRetention,
  putObjectLegalHold,
  putObjectLockConfiguration,
  putObjectRetention,
} from './handlers/object-lock.js';
import {
  deleteBucketOwnershipControls,
  deletePublicAccessBlock,
  getBucketOwnershipControls,
  getPublicAccessBlock,
  putBucketOwnershipControls,
  putPublicAccessBlock,
} from './handlers/guards.js';
import { authenticate, authorizeRoute } from './pipeline.js';
import { checkRequestHeaders } from './request-headers.js';
import { route, splitPath, type Route } from './router.js';
import { errorXml } from './xml.js';

/** How the front door saw the request: the bucket named by the Host header, and whether it came over TLS. */
export interface S3RequestTarget {
  vhostBucket: string | null;
  secure: boolean;
}

export type S3Handler = (req: IncomingMessage, res: ServerResponse, target: S3RequestTarget) => void;

export function createS3Handler(deps: S3Deps): S3Handler {
  return (req, res, target) => {
    const rec = recordOf(res);
    // One id per request: the access log's, when requests are observed.
    const requestId = rec?.requestId ?? randomBytes(8).toString('hex').toUpperCase();
    res.setHeader('x-amz-request-id', requestId);
    res.setHeader('x-amz-id-2', requestId);
    res.setHeader('server', 'Cellar');
    handle(req, res, target, deps, requestId)
      .catch((e: unknown) => sendError(req, res, e, requestId, deps, resourceOf(req)))
      // Last line of defence: a failure while answering must cost this request, never the process.
      .catch((e: unknown) => {
        deps.logger.error('could not send error response', { requestId, error: String(e) });
        res.destroy();
      });
  };
}

function resourceOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q >= 0 ? url.slice(0, q) : url;
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  target: S3RequestTarget,
  deps: S3Deps,
  requestId: string,
): Promise<void> {
  const url = req.url ?? '/';
  if (!url.startsWith('/')) throw new S3Error('InvalidURI');
  const q = url.indexOf('?');
  const rawPath = q >= 0 ? url.slice(0, q) : url;
  const rawQuery = q >= 0 ? url.slice(q + 1) : '';
  let decodedPath: string;
  try {
    decodedPath = decodeURIComponent(rawPath);
  } catch {
    throw new S3Error('InvalidURI');
  }
  const query = new URLSearchParams(rawQuery);
  const { bucket, key } = splitPath(decodedPath, target.vhostBucket);
  if (req.method === 'OPTIONS') {
    if (bucket === null) throw new S3Error('BadRequest');
    return preflight({ req, res }, deps.storage.requireBucket(bucket));
  }
  const r = route(req.method ?? 'GET', bucket, key, query, req.headers);
  const found = bucket === null ? null : deps.storage.bucket(bucket);
  // Browsers need the CORS headers on errors too, or they cannot read the error.
  applyCorsHeaders(req, res, found);
  const rec = recordOf(res);
  if (rec) {
    rec.op = r.op;
    rec.bucket = bucket;
  }
  const who = authenticate(req, rawPath, rawQuery, target.vhostBucket, deps);
  if (rec) rec.addon = who.addon?.id ?? null;
  const ctx: S3Context = {
    req,
    res,
    deps,
    requestId,
    query,
    resource: bucket === null ? '/' : `/${bucket}${key === null ? '' : '/' + key}`,
    ...who,
    secure: target.secure,
  };
  // Read once: GetObject and HeadObject serve the very row that was authorized, so a write in
  // between cannot pair one version's permissions with another version's bytes.
  const object =
    found !== null && ACTIONS[r.op]?.target === 'object' && 'key' in r
      ? deps.storage.headObject(found.name, r.key, takesVersionId(r.op) ? wellFormedVersionId(query) : null)
      : null;
  const b = authorizeRoute(ctx, r, found, object);
  checkRequestHeaders(ctx, r.op, b);
  // The server leaves `Expect: 100-continue` to us: the body is invited only once the request is
  // authenticated and authorized (https://docs.aws.amazon.com/AmazonS3/latest/API/RESTRedirect.html#RESTRedirect_100Continue).
  if (/^\s*100-continue\s*$/i.test(req.headers.expect ?? '') && !req.complete) res.writeContinue();
  await dispatch(ctx, r, b, object);
}

async function dispatch(ctx: S3Context, r: Route, b: BucketInfo | null, object: ObjectInfo | null): Promise<void> {
  const bucket = (): BucketInfo => b!;
  switch (r.op) {
    case 'ListBuckets':
      return listBuckets(ctx);
    case 'CreateBucket':
      return createBucket(ctx, r.bucket);
    case 'HeadBucket':
      return headBucket(ctx, bucket());
    case 'DeleteBucket':
      return deleteBucket(ctx, bucket());
    case 'GetBucketLocation':
      return getBucketLocation(ctx, bucket());
    case 'GetBucketVersioning':
      return getBucketVersioning(ctx, bucket());
    case 'PutBucketVersioning':
      return putBucketVersioning(ctx, bucket());
    case 'ListObjects':
      return listObjects(ctx, bucket());
    case 'ListObjectsV2':
      return listObjectsV2(ctx, bucket());
    case 'ListObjectVersions':
      return listObjectVersions(ctx, bucket());
    case 'DeleteObjects':
      return deleteObjects(ctx, bucket());
    case 'PutObject':
      return putObject(ctx, bucket(), r);
    case 'PostObject':
      return postObject(ctx, bucket());
    case 'CopyObject':
      return copyObject(ctx, bucket(), r);
    case 'GetObject':
      return getObject(ctx, bucket(), r, object);
    case 'HeadObject':
      return getObject(ctx, bucket(), r, object);
    case 'DeleteObject':
      return deleteObject(ctx, bucket(), r);
    case 'ListMultipartUploads':
      return listMultipartUploads(ctx, bucket());
    case 'CreateMultipartUpload':
      return createMultipartUpload(ctx, bucket(), r);
    case 'UploadPart':
      return uploadPart(ctx, bucket(), r);
    case 'UploadPartCopy':
      return uploadPartCopy(ctx, bucket(), r);
    case 'CompleteMultipartUpload':
      return completeMultipartUpload(ctx, bucket(), r);
    case 'AbortMultipartUpload':
      return abortMultipartUpload(ctx, bucket(), r);
    case 'ListParts':
      return listParts(ctx, bucket(), r);
    case 'GetBucketTagging':
      return getBucketTagging(ctx, bucket());
    case 'PutBucketTagging':
      return putBucketTagging(ctx, bucket());
    case 'DeleteBucketTagging':
      return deleteBucketTagging(ctx, bucket());
    case 'GetObjectTagging':
      return getObjectTagging(ctx, bucket(), r);
    case 'PutObjectTagging':
      return putObjectTagging(ctx, bucket(), r);
    case 'DeleteObjectTagging':
      return deleteObjectTagging(ctx, bucket(), r);
    case 'GetObjectAttributes':
      return getObjectAttributes(ctx, bucket(), r);
    case 'GetBucketLifecycleConfiguration':
      return getBucketLifecycleConfiguration(ctx, bucket());
    case 'PutBucketLifecycleConfiguration':
      return putBucketLifecycleConfiguration(ctx, bucket());
    case 'DeleteBucketLifecycle':
      return deleteBucketLifecycle(ctx, bucket());
    case 'GetBucketEncryption':
    case 'GetBucketReplication':
    case 'GetBucketRequestPayment':
    case 'GetBucketLogging':
    case 'GetBucketNotificationConfiguration':
    case 'GetBucketAccelerateConfiguration':
      return getUnconfigured(ctx, r.op);
    case 'GetObjectLockConfiguration':
      return getObjectLockConfiguration(ctx, bucket());
    case 'PutObjectLockConfiguration':
      return putObjectLockConfiguration(ctx, bucket());
    case 'GetObjectRetention':
      return getObjectRetention(ctx, bucket(), r);
    case 'PutObjectRetention':
      return putObjectRetention(ctx, bucket(), r);
    case 'GetObjectLegalHold':
      return getObjectLegalHold(ctx, bucket(), r);
    case 'PutObjectLegalHold':
      return putObjectLegalHold(ctx, bucket(), r);
    case 'GetPublicAccessBlock':
      return getPublicAccessBlock(ctx, bucket());
    case 'PutPublicAccessBlock':
      return putPublicAccessBlock(ctx, bucket());
    case 'DeletePublicAccessBlock':
      return deletePublicAccessBlock(ctx, bucket());
    case 'GetBucketOwnershipControls':
      return getBucketOwnershipControls(ctx, bucket());
    case 'PutBucketOwnershipControls':
      return putBucketOwnershipControls(ctx, bucket());
    case 'DeleteBucketOwnershipControls':
      return deleteBucketOwnershipControls(ctx, bucket());
    case 'PutObjectAcl':
      return putObjectAcl(ctx, bucket(), r);
    case 'GetObjectAcl':
      return getObjectAcl(ctx, bucket(), r);
    case 'DeleteBucketCors':
      return deleteBucketCors(ctx, bucket());
    case 'PutBucketCors':
      return putBucketCors(ctx, bucket());
    case 'GetBucketCors':
      return getBucketCors(ctx, bucket());
    case 'GetBucketPolicyStatus':
      return getBucketPolicyStatus(ctx, bucket());
    case 'DeleteBucketPolicy':
      return deleteBucketPolicy(ctx, bucket());
    case 'PutBucketPolicy':
      return putBucketPolicy(ctx, bucket());
    case 'GetBucketPolicy':
      return getBucketPolicy(ctx, bucket());
    case 'PutBucketAcl':
      return putBucketAcl(ctx, bucket());
    case 'GetBucketAcl':
      return getBucketAcl(ctx, bucket());
    case 'GetBucketWebsite':
      return getBucketWebsite(ctx, bucket());
    case 'PutBucketWebsite':
      return putBucketWebsite(ctx, bucket());
    case 'DeleteBucketWebsite':
      return deleteBucketWebsite(ctx, bucket());
    case 'PutBucketEncryption':
    case 'DeleteBucketEncryption':
    case 'RestoreObject':
    case 'SelectObjectContent':
      throw new S3Error('NotImplemented', `${r.op} is not implemented`);
    default: {
      const never: never = r;
      throw new Error(`unrouted operation ${String((never as Route).op)}`);
    }
  }
}

function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  e: unknown,
  requestId: string,
  deps: S3Deps,
  resource: string,
): void {
  if (res.destroyed || req.socket?.destroyed !== false) {
    // The client hung up mid-upload or mid-download (or right after the last byte, before Node
    // saw the write complete): nobody is left to answer, and it is no server fault.
    deps.logger.debug('client went away', { requestId, method: req.method, url: req.url, error: String(e) });
    return;
  }
  const err = toS3Error(e);
  const rec = recordOf(res);
  if (rec) rec.errorCode = err.code;
  if (err.code === 'InternalError')
    deps.logger.error('request failed', {
      requestId,
      method: req.method,
      url: req.url,
      error: e instanceof Error ? e.stack : String(e),
    });
  if (res.headersSent) {
    // The status line is gone: the only honest signal left is a cut connection.
    res.destroy();
    return;
  }
  const body = errorXml(err.code, err.message, resource, requestId, { ...err.details });
  const headers: Record<string, string | number> = {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
  };
  // An unread request body would otherwise be parsed as the next request on this connection.
  if (!req.complete) headers.connection = 'close';
  res.writeHead(err.status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
  if (!req.complete) req.resume();
}
