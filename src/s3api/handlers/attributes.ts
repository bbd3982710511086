/**
 * GetObjectAttributes (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributes.html):
 * the attributes named in x-amz-object-attributes, without the body.
 */
import { CHECKSUM_ALGORITHMS, checksumTypeOf, type BucketInfo, type ObjectInfo } from '#storage';
import { header, type S3Context } from '../context.js';
import type { ObjectRoute } from '../router.js';
import { S3Error } from '../errors.js';
import { partsCountOf } from '../object-parts.js';
import { checkAccess } from '../pipeline.js';
import { requireTarget, versionHeader, versionIdParam } from '../versions.js';
import { sendXml } from '../respond.js';
import type { XmlNode } from '../xml.js';

const ATTRIBUTES = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'] as const;
type Attribute = (typeof ATTRIBUTES)[number];
const MAX_PARTS = 1000;

/** x-amz-object-attributes: a comma-separated list of attribute names, matched as AWS spells them. */
export function requestedAttributes(raw: string | undefined): Set<Attribute> {
  const names = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length === 0) {
    throw new S3Error(
      'InvalidRequest',
      'The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty',
    );
  }
  const out = new Set<Attribute>();
  for (const n of names) {
    if (!(ATTRIBUTES as readonly string[]).includes(n))
      throw new S3Error('InvalidArgument', 'Invalid attribute name specified.', {
        ArgumentName: 'x-amz-object-attributes',
        ArgumentValue: n,
      });
    out.add(n as Attribute);
  }
  return out;
}

function intHeader(ctx: S3Context, name: string, fallback: number): number {
  const raw = header(ctx, name);
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d{1,10}$/.test(raw.trim()) || Number(raw) > 2 ** 31 - 1) {
    throw new S3Error('InvalidArgument', `Provided ${name} not an integer or within integer range`, {
      ArgumentName: name,
      ArgumentValue: raw,
    });
  }
  return Number(raw);
}

function checksumElements(checksum: Record<string, string> | null | undefined): XmlNode {
  const out: XmlNode = {};
  for (const alg of CHECKSUM_ALGORITHMS) if (checksum?.[alg] !== undefined) out[`Checksum${alg}`] = checksum[alg];
  return out;
}

/**
 * ObjectParts of a multipart object, paginated by x-amz-part-number-marker / x-amz-max-parts.
 * Part numbers are the parts' positions in the object, as GetObject's partNumber counts them.
 */
function objectParts(ctx: S3Context, obj: ObjectInfo, count: number): XmlNode {
  const marker = intHeader(ctx, 'x-amz-part-number-marker', 0);
  const maxParts = Math.min(intHeader(ctx, 'x-amz-max-parts', MAX_PARTS), MAX_PARTS);
  const page = obj.blobs.slice(marker, marker + maxParts);
  const last = marker + page.length;
  const truncated = last < count;
  return {
    PartNumberMarker: marker,
    NextPartNumberMarker: truncated ? last : undefined,
    MaxParts: maxParts,
    IsTruncated: truncated,
    PartsCount: count,
    Part: page.map((b, i) => ({ ...checksumElements(b.checksum), PartNumber: marker + i + 1, Size: b.size })),
  };
}

export function getObjectAttributes(ctx: S3Context, bucket: BucketInfo, r: ObjectRoute): void {
  const v = versionIdParam(ctx.query);
  const key = r.key;
  const found = ctx.deps.storage.headObject(bucket.name, key, v);
  // The pipeline checked s3:GetObjectAttributes; AWS asks for s3:GetObject (s3:GetObjectVersion) as well.
  checkAccess(ctx, bucket, v === null ? 's3:GetObject' : 's3:GetObjectVersion', key, found);
  const wanted = requestedAttributes(header(ctx, 'x-amz-object-attributes'));
  const obj = requireTarget(ctx, bucket, key, v);
  const body: XmlNode = {};
  if (wanted.has('ETag')) body.ETag = obj.etag;
  if (wanted.has('Checksum') && obj.checksum && Object.keys(obj.checksum).length > 0) {
    const first = Object.values(obj.checksum)[0]!;
    body.Checksum = { ...checksumElements(obj.checksum), ChecksumType: checksumTypeOf(first) };
  }
  const count = partsCountOf(obj);
  if (wanted.has('ObjectParts') && count !== null) body.ObjectParts = objectParts(ctx, obj, count);
  if (wanted.has('StorageClass')) body.StorageClass = obj.headers['x-amz-storage-class'] ?? 'STANDARD';
  if (wanted.has('ObjectSize')) body.ObjectSize = obj.size;
  ctx.res.setHeader('last-modified', obj.lastModified.toUTCString());
  for (const [name, value] of Object.entries(versionHeader(bucket, obj, v))) ctx.res.setHeader(name, value);
  sendXml(ctx, 'GetObjectAttributesResponse', body);
}
