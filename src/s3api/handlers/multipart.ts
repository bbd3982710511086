/**
 * Multipart upload operations (https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html):
 * decode the request, one storage call, encode the answer.
 */
import {
  CHECKSUM_ALGORITHMS,
  checksumHeaderName,
  checksumTypeOf,
  isCrcAlgorithm,
  parseChecksumAlgorithm,
  type BucketInfo,
  type ByteRange,
  type ChecksumAlgorithm,
  type ChecksumType,
  type CompletePart,
  type UploadInfo,
} from '#storage';
import { expirationHeader } from './lifecycle.js';
import { readSmallBody } from '../body.js';
import { header, type S3Context } from '../context.js';
import { S3Error } from '../errors.js';
import { objectBody } from '../object-body.js';
import { headersFromRequest } from '../object-headers.js';
import { isoDate, quoteEtag, sendEmpty, sendXml } from '../respond.js';
import { children, child, parseXml, text, toXml, type XmlNode } from '../xml.js';
import { writePrecondition } from '../write-conditions.js';
import { objectOwnership } from '../acl-guard.js';
import { copySourceObject, requestedAcl } from './objects.js';
import { versionHeader } from '../versions.js';
import type { ObjectRoute, PartRoute, UploadRoute } from '../router.js';
import { tagsOfWrite } from './tagging.js';
import { checkPartIntegrity, lockOfCompletion, rememberUploadLock, requestedLock } from './object-lock.js';

const MAX_LIST = 1000;
/** 10,000 parts, each with an ETag and a SHA-256 checksum, fit well under this. */
const MAX_COMPLETE_BODY = 8 * 1024 * 1024;

/** <ChecksumCRC32> etc. for a set of stored checksums. */
function checksumElements(checksum: Record<string, string> | null): XmlNode {
  const out: XmlNode = {};
  for (const alg of CHECKSUM_ALGORITHMS) if (checksum?.[alg] !== undefined) out[`Checksum${alg}`] = checksum[alg];
  return out;
}

function checksumResponseHeaders(checksum: Record<string, string> | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [alg, value] of Object.entries(checksum ?? {})) out[checksumHeaderName(alg as ChecksumAlgorithm)] = value;
  return out;
}

function intParam(ctx: S3Context, name: string, fallback: number): number {
  const raw = ctx.query.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d{1,10}$/.test(raw))
    throw new S3Error('InvalidArgument', `Provided ${name} not an integer or within integer range`, {
      ArgumentName: name,
      ArgumentValue: raw,
    });
  return Number(raw);
}

/** encoding-type=url percent-encodes keys and prefixes in the response, `/` kept literal, as AWS. */
function encoder(ctx: S3Context): (s: string) => string {
  const enc = ctx.query.get('encoding-type');
  if (enc === null) return (s) => s;
  if (enc !== 'url')
    throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', {
      ArgumentName: 'encoding-type',
      ArgumentValue: enc,
    });
  return (s) => encodeURIComponent(s).replace(/%2F/g, '/');
}

function person(ctx: S3Context, id: string): XmlNode {
  return { ID: id, DisplayName: ctx.deps.storage.addon(id)?.name ?? id };
}

/**
 * x-amz-checksum-algorithm and x-amz-checksum-type of CreateMultipartUpload. CRC64NVME is
 * FULL_OBJECT only, the SHAs COMPOSITE only, the 32-bit CRCs either (COMPOSITE by default)
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html).
 */
function checksumSettings(ctx: S3Context): { algorithm: ChecksumAlgorithm | null; type: ChecksumType | null } {
  const rawAlg = header(ctx, 'x-amz-checksum-algorithm');
  const rawType = header(ctx, 'x-amz-checksum-type');
  const algorithm = rawAlg === undefined ? null : parseChecksumAlgorithm(rawAlg);
  let type: ChecksumType | null = null;
  if (rawType !== undefined) {
    const t = rawType.toUpperCase();
    if (t !== 'COMPOSITE' && t !== 'FULL_OBJECT')
      throw new S3Error('InvalidRequest', 'Value for x-amz-checksum-type header is invalid.');
    type = t;
  }
  if (algorithm === null) {
    if (type !== null)
      throw new S3Error(
        'InvalidRequest',
        'The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.',
      );
    return { algorithm, type };
  }
  type ??= algorithm === 'CRC64NVME' ? 'FULL_OBJECT' : 'COMPOSITE';
  if ((type === 'FULL_OBJECT' && !isCrcAlgorithm(algorithm)) || (type === 'COMPOSITE' && algorithm === 'CRC64NVME')) {
    throw new S3Error(
      'InvalidRequest',
      `The ${type} checksum type cannot be used with the ${algorithm.toLowerCase()} checksum algorithm.`,
    );
  }
  return { algorithm, type };
}

export function createMultipartUpload(ctx: S3Context, bucket: BucketInfo, r: ObjectRoute): void {
  const { algorithm, type } = checksumSettings(ctx);
  const lock = requestedLock(ctx, bucket, r.key);
  const upload = ctx.deps.storage.multipart.create({
    bucket: bucket.name,
    key: r.key,
    ownerId: ctx.addon?.id ?? bucket.ownerId,
    headers: headersFromRequest(ctx.req.headers),
    acl: requestedAcl(ctx, bucket),
    checksumAlgorithm: algorithm,
    checksumType: type,
    tags: tagsOfWrite(ctx, bucket, r.key),
  });
  rememberUploadLock(ctx, upload.id, lock);
  const doc = toXml('InitiateMultipartUploadResult', { Bucket: bucket.name, Key: upload.key, UploadId: upload.id });
  const h: Record<string, string | number> = {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(doc),
  };
  if (algorithm) {
    h['x-amz-checksum-algorithm'] = algorithm;
    h['x-amz-checksum-type'] = type!;
  }
  ctx.res.writeHead(200, h);
  ctx.res.end(doc);
}

/** UploadPart: the body is decoded (aws-chunked or plain) and verified exactly as for PutObject. */
export async function uploadPart(ctx: S3Context, bucket: BucketInfo, r: PartRoute): Promise<void> {
  checkPartIntegrity(ctx, bucket, r.uploadId);
  const body = objectBody(ctx);
  const part = await ctx.deps.storage.multipart.uploadPart({
    bucket: bucket.name,
    key: r.key,
    uploadId: r.uploadId,
    partNumber: r.partNumber,
    body: body.stream,
    expectedMd5Base64: body.expectedMd5Base64,
    expectedSha256Hex: body.expectedSha256Hex,
    observers: body.observers,
    verify: body.finish,
  });
  sendEmpty(ctx, 200, { etag: quoteEtag(part.etag), ...checksumResponseHeaders(part.checksum) });
}

/** x-amz-copy-source-range: `bytes=first-last`, both within the source. */
function copySourceRange(ctx: S3Context, size: number): ByteRange | null {
  const raw = header(ctx, 'x-amz-copy-source-range');
  if (raw === undefined) return null;
  const m = /^bytes=(\d+)-(\d+)$/.exec(raw.trim());
  if (!m) {
    throw new S3Error(
      'InvalidArgument',
      'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
      {
        ArgumentName: 'x-amz-copy-source-range',
        ArgumentValue: raw,
      },
    );
  }
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (start > end || end >= size) {
    throw new S3Error('InvalidArgument', `Range specified is not valid for source object of size: ${size}`, {
      ArgumentName: 'x-amz-copy-source-range',
      ArgumentValue: raw,
    });
  }
  return { start, end };
}

/** UploadPartCopy: the source (authorized and conditions checked as for CopyObject) streams into the part. */
export async function uploadPartCopy(ctx: S3Context, bucket: BucketInfo, r: PartRoute): Promise<void> {
  const source = copySourceObject(ctx);
  const range = copySourceRange(ctx, source.size);
  if (source.versionId !== 'null' || ctx.deps.storage.bucket(source.bucket)?.versioning)
    ctx.res.setHeader('x-amz-copy-source-version-id', source.versionId);
  const part = await ctx.deps.storage.multipart.copyPart({
    bucket: bucket.name,
    key: r.key,
    uploadId: r.uploadId,
    partNumber: r.partNumber,
    source,
    range,
  });
  sendXml(ctx, 'CopyPartResult', {
    ETag: quoteEtag(part.etag),
    LastModified: isoDate(part.lastModified),
    ...checksumElements(part.checksum),
  });
}

function parseCompleteBody(body: Buffer): CompletePart[] {
  const root = child(parseXml(body.toString('utf8')), 'CompleteMultipartUpload');
  const parts = children(root ?? null, 'Part');
  if (root === undefined || parts.length === 0) throw new S3Error('MalformedXML');
  return parts.map((p) => {
    const number = text(p, 'PartNumber');
    const etag = text(p, 'ETag');
    if (number === undefined || !/^\d{1,10}$/.test(number.trim()) || etag === undefined)
      throw new S3Error('MalformedXML');
    const checksum: Record<string, string> = {};
    for (const alg of CHECKSUM_ALGORITHMS) {
      const v = text(p, `Checksum${alg}`);
      if (v !== undefined) checksum[alg] = v.trim();
    }
    return { partNumber: Number(number.trim()), etag, checksum };
  });
}

/** The whole-object checksum a Complete request may assert in an x-amz-checksum-<alg> header. */
function asserted(ctx: S3Context): { algorithm: ChecksumAlgorithm; value: string } | undefined {
  const sent = CHECKSUM_ALGORITHMS.flatMap((algorithm) => {
    const value = header(ctx, checksumHeaderName(algorithm));
    return value === undefined ? [] : [{ algorithm, value }];
  });
  if (sent.length > 1)
    throw new S3Error(
      'InvalidRequest',
      'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.',
    );
  return sent[0];
}

export async function completeMultipartUpload(ctx: S3Context, bucket: BucketInfo, r: UploadRoute): Promise<void> {
  const parts = parseCompleteBody(
    await readSmallBody(ctx, Math.max(MAX_COMPLETE_BODY, ctx.deps.config.maxXmlBodySize), {
      checksumHeadersDescribeBody: false,
    }),
  );
  const size = header(ctx, 'x-amz-mp-object-size');
  if (size !== undefined && !/^\d+$/.test(size))
    throw new S3Error('InvalidArgument', 'Invalid x-amz-mp-object-size', {
      ArgumentName: 'x-amz-mp-object-size',
      ArgumentValue: size,
    });
  const upload = ctx.deps.storage.multipart.findUpload(r.uploadId);
  const { object } = await ctx.deps.storage.multipart.complete({
    bucket: bucket.name,
    key: r.key,
    uploadId: r.uploadId,
    parts,
    checksumType: header(ctx, 'x-amz-checksum-type')?.toUpperCase(),
    checksum: asserted(ctx),
    objectSize: size === undefined ? undefined : Number(size),
    precondition: writePrecondition(ctx),
    // The initiator stays the upload's; the object's owner follows the bucket's Object Ownership.
    ...(upload ? { owner: objectOwnership(bucket, upload.ownerId, upload.acl) } : {}),
    lock: lockOfCompletion(ctx, bucket, r.uploadId),
  });
  const path = (ctx.req.url ?? '/').split('?')[0]!;
  const value = Object.values(object.checksum ?? {})[0];
  for (const [k, v] of Object.entries(expirationHeader(ctx, bucket, object))) ctx.res.setHeader(k, v);
  for (const [name, v] of Object.entries(versionHeader(bucket, object))) ctx.res.setHeader(name, v);
  sendXml(ctx, 'CompleteMultipartUploadResult', {
    Location: `${ctx.secure ? 'https' : 'http'}://${header(ctx, 'host') ?? 'localhost'}${path}`,
    Bucket: bucket.name,
    Key: object.key,
    ETag: quoteEtag(object.etag),
    ...checksumElements(object.checksum),
    ChecksumType: value === undefined ? undefined : checksumTypeOf(value),
  });
}

export async function abortMultipartUpload(ctx: S3Context, bucket: BucketInfo, r: UploadRoute): Promise<void> {
  await ctx.deps.storage.multipart.abort(bucket.name, r.key, r.uploadId);
  sendEmpty(ctx, 204);
}

function uploadFields(ctx: S3Context, u: UploadInfo): XmlNode {
  return {
    Initiator: person(ctx, u.ownerId),
    Owner: person(ctx, u.ownerId),
    StorageClass: u.headers['x-amz-storage-class'] ?? 'STANDARD',
  };
}

export function listParts(ctx: S3Context, bucket: BucketInfo, r: UploadRoute): void {
  const enc = encoder(ctx);
  const marker = intParam(ctx, 'part-number-marker', 0);
  const max = Math.min(intParam(ctx, 'max-parts', MAX_LIST), MAX_LIST);
  const page = ctx.deps.storage.multipart.listParts(bucket.name, r.key, r.uploadId, marker, max);
  const u = page.upload;
  sendXml(ctx, 'ListPartsResult', {
    Bucket: bucket.name,
    Key: enc(u.key),
    UploadId: u.id,
    PartNumberMarker: marker,
    NextPartNumberMarker: page.parts.at(-1)?.partNumber ?? marker,
    MaxParts: max,
    IsTruncated: page.isTruncated,
    Part: page.parts.map((p) => ({
      PartNumber: p.partNumber,
      LastModified: isoDate(p.lastModified),
      ETag: quoteEtag(p.etag),
      Size: p.size,
      ...checksumElements(p.checksum),
    })),
    ...uploadFields(ctx, u),
    ChecksumAlgorithm: u.checksumAlgorithm ?? undefined,
    ChecksumType: u.checksumType ?? undefined,
    EncodingType: ctx.query.get('encoding-type') ?? undefined,
  });
}

export function listMultipartUploads(ctx: S3Context, bucket: BucketInfo): void {
  const enc = encoder(ctx);
  const prefix = ctx.query.get('prefix') ?? '';
  const delimiter = ctx.query.get('delimiter') ?? '';
  const keyMarker = ctx.query.get('key-marker') ?? '';
  const uploadIdMarker = ctx.query.get('upload-id-marker') ?? '';
  const max = Math.min(intParam(ctx, 'max-uploads', MAX_LIST), MAX_LIST);
  const page = ctx.deps.storage.multipart.listUploads(bucket.name, {
    prefix,
    delimiter,
    keyMarker,
    uploadIdMarker,
    maxUploads: max,
  });
  sendXml(ctx, 'ListMultipartUploadsResult', {
    Bucket: bucket.name,
    KeyMarker: enc(keyMarker),
    UploadIdMarker: keyMarker === '' ? '' : uploadIdMarker,
    NextKeyMarker: enc(page.nextKeyMarker),
    NextUploadIdMarker: page.nextUploadIdMarker,
    Delimiter: delimiter ? enc(delimiter) : undefined,
    Prefix: enc(prefix),
    MaxUploads: max,
    IsTruncated: page.isTruncated,
    Upload: page.uploads.map((u) => ({
      Key: enc(u.key),
      UploadId: u.id,
      ...uploadFields(ctx, u),
      Initiated: isoDate(u.initiated),
      ChecksumAlgorithm: u.checksumAlgorithm ?? undefined,
      ChecksumType: u.checksumType ?? undefined,
    })),
    CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
    EncodingType: ctx.query.get('encoding-type') ?? undefined,
  });
}
