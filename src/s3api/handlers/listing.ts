import type { BucketInfo, ListPage, ObjectInfo } from '#storage';
import type { S3Context } from '../context.js';
import { S3Error } from '../errors.js';
import { isoDate, quoteEtag, sendXml } from '../respond.js';
import type { XmlNode } from '../xml.js';
import { versionIdParam } from '../versions.js';

const MAX_KEYS = 1000;

function maxKeys(ctx: S3Context, param = 'max-keys'): number {
  const raw = ctx.query.get(param);
  if (raw === null) return MAX_KEYS;
  if (!/^\d+$/.test(raw))
    throw new S3Error('InvalidArgument', 'Provided max-keys not an integer or within integer range', {
      ArgumentName: param,
      ArgumentValue: raw,
    });
  return Math.min(Number(raw), MAX_KEYS);
}

/**
 * With encoding-type=url, names in the response are percent-encoded so any key survives XML
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html). `/` stays literal, as AWS.
 */
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

function owner(ctx: S3Context, o: ObjectInfo): XmlNode {
  const addon = ctx.deps.storage.addon(o.ownerId);
  return { ID: o.ownerId, DisplayName: addon?.name ?? o.ownerId };
}

function contents(
  ctx: S3Context,
  page: ListPage<ObjectInfo>,
  enc: (s: string) => string,
  withOwner: boolean,
): XmlNode[] {
  return page.contents.map((o) => ({
    Key: enc(o.key),
    LastModified: isoDate(o.lastModified),
    ETag: quoteEtag(o.etag),
    ChecksumAlgorithm: o.checksum ? Object.keys(o.checksum) : undefined,
    Size: o.size,
    Owner: withOwner ? owner(ctx, o) : undefined,
    StorageClass: o.headers['x-amz-storage-class'] ?? 'STANDARD',
  }));
}

function commonPrefixes(page: Pick<ListPage<ObjectInfo>, 'commonPrefixes'>, enc: (s: string) => string): XmlNode[] {
  return page.commonPrefixes.map((p) => ({ Prefix: enc(p) }));
}

export function listObjects(ctx: S3Context, bucket: BucketInfo): void {
  const enc = encoder(ctx);
  const prefix = ctx.query.get('prefix') ?? '';
  const delimiter = ctx.query.get('delimiter') ?? '';
  const marker = ctx.query.get('marker') ?? '';
  const max = maxKeys(ctx);
  const page = ctx.deps.storage.listObjects(bucket.name, { prefix, delimiter, after: marker, maxKeys: max });
  sendXml(ctx, 'ListBucketResult', {
    Name: bucket.name,
    Prefix: enc(prefix),
    Marker: enc(marker),
    // NextMarker is only returned with a delimiter; without one clients use the last key.
    NextMarker: page.isTruncated && delimiter ? enc(page.next!) : undefined,
    MaxKeys: max,
    Delimiter: delimiter ? enc(delimiter) : undefined,
    IsTruncated: page.isTruncated,
    EncodingType: ctx.query.get('encoding-type') ?? undefined,
    Contents: contents(ctx, page, enc, true),
    CommonPrefixes: commonPrefixes(page, enc),
  });
}

function encodeToken(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64url');
}

function decodeToken(t: string): string {
  const s = Buffer.from(t, 'base64url').toString('utf8');
  if (t === '' || encodeToken(s) !== t)
    throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', {
      ArgumentName: 'continuation-token',
    });
  return s;
}

export function listObjectsV2(ctx: S3Context, bucket: BucketInfo): void {
  const enc = encoder(ctx);
  const prefix = ctx.query.get('prefix') ?? '';
  const delimiter = ctx.query.get('delimiter') ?? '';
  const token = ctx.query.get('continuation-token');
  const startAfter = ctx.query.get('start-after') ?? '';
  const max = maxKeys(ctx);
  const after = token !== null ? decodeToken(token) : startAfter;
  const page = ctx.deps.storage.listObjects(bucket.name, { prefix, delimiter, after, maxKeys: max });
  sendXml(ctx, 'ListBucketResult', {
    Name: bucket.name,
    Prefix: enc(prefix),
    Delimiter: delimiter ? enc(delimiter) : undefined,
    MaxKeys: max,
    KeyCount: page.contents.length + page.commonPrefixes.length,
    IsTruncated: page.isTruncated,
    EncodingType: ctx.query.get('encoding-type') ?? undefined,
    ContinuationToken: token ?? undefined,
    NextContinuationToken: page.isTruncated ? encodeToken(page.next!) : undefined,
    StartAfter: startAfter ? enc(startAfter) : undefined,
    Contents: contents(ctx, page, enc, ctx.query.get('fetch-owner') === 'true'),
    CommonPrefixes: commonPrefixes(page, enc),
  });
}

/**
 * ListObjectVersions (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html):
 * every version and delete marker, keys in order and each key's versions newest first. Objects
 * written while the bucket was unversioned are their key's `null` version.
 */
export function listObjectVersions(ctx: S3Context, bucket: BucketInfo): void {
  const enc = encoder(ctx);
  const prefix = ctx.query.get('prefix') ?? '';
  const delimiter = ctx.query.get('delimiter') ?? '';
  const keyMarker = ctx.query.get('key-marker') ?? '';
  const rawVersionMarker = ctx.query.get('version-id-marker');
  const versionMarker =
    rawVersionMarker === null || rawVersionMarker === '' ? null : versionIdParam(ctx.query, 'version-id-marker');
  if (versionMarker !== null && keyMarker === '') {
    throw new S3Error('InvalidArgument', 'A version-id marker cannot be specified without a key marker.', {
      ArgumentName: 'version-id-marker',
      ArgumentValue: versionMarker,
    });
  }
  const max = maxKeys(ctx);
  const page = ctx.deps.storage.listObjectVersions(bucket.name, {
    prefix,
    delimiter,
    keyMarker,
    versionIdMarker: versionMarker,
    maxKeys: max,
  });
  const entries = page.versions.map((v): [string, XmlNode] => {
    const common = {
      Key: enc(v.key),
      VersionId: v.versionId,
      IsLatest: v.isLatest,
      LastModified: isoDate(v.lastModified),
    };
    if (v.deleteMarker) return ['DeleteMarker', { ...common, Owner: owner(ctx, v) }];
    return [
      'Version',
      {
        ...common,
        ETag: quoteEtag(v.etag),
        ChecksumAlgorithm: v.checksum ? Object.keys(v.checksum) : undefined,
        Size: v.size,
        Owner: owner(ctx, v),
        StorageClass: v.headers['x-amz-storage-class'] ?? 'STANDARD',
      },
    ];
  });
  // Version and DeleteMarker entries go out interleaved in listing order, as AWS sends them (the
  // example responses of API_ListObjectVersions.html): a reader of the raw document sees each
  // key's history newest first, whatever each entry is.
  sendXml(ctx, 'ListVersionsResult', [
    ['Name', bucket.name],
    ['Prefix', enc(prefix)],
    ['KeyMarker', enc(keyMarker)],
    ['VersionIdMarker', rawVersionMarker ?? ''],
    ['NextKeyMarker', page.isTruncated && page.nextKeyMarker !== null ? enc(page.nextKeyMarker) : undefined],
    ['NextVersionIdMarker', page.isTruncated ? (page.nextVersionIdMarker ?? undefined) : undefined],
    ['MaxKeys', max],
    ['Delimiter', delimiter ? enc(delimiter) : undefined],
    ['IsTruncated', page.isTruncated],
    ['EncodingType', ctx.query.get('encoding-type') ?? undefined],
    ...entries,
    ['CommonPrefixes', commonPrefixes(page, enc)],
  ]);
}
