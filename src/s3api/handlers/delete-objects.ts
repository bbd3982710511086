import { isVersionIdSyntax, type BucketInfo } from '#storage';
import { readSmallBody } from '../body.js';
import type { S3Context } from '../context.js';
import { S3Error, toS3Error } from '../errors.js';
import { checkAccess } from '../pipeline.js';
import { removalOptions } from './object-lock.js';
import { sendXml } from '../respond.js';
import { child, children, parseXml, text, type XmlNode } from '../xml.js';

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html: up to 1000 keys a request. */
const MAX_KEYS = 1000;

export async function deleteObjects(ctx: S3Context, bucket: BucketInfo): Promise<void> {
  const body = await readSmallBody(ctx, 2 * 1024 * 1024);
  if (body.length === 0) throw new S3Error('MissingRequestBodyError');
  const doc = child(parseXml(body.toString('utf8')), 'Delete');
  if (doc === undefined || doc === null || typeof doc !== 'object') throw new S3Error('MalformedXML');
  const quiet = text(doc, 'Quiet') === 'true';
  const objects = children(doc, 'Object');
  if (objects.length === 0 || objects.length > MAX_KEYS) throw new S3Error('MalformedXML');
  const deleted: XmlNode[] = [];
  const errors: XmlNode[] = [];
  for (const o of objects) {
    const key = text(o, 'Key');
    if (key === undefined || key === '') throw new S3Error('MalformedXML');
    const versionId = text(o, 'VersionId');
    try {
      if (versionId !== undefined && !isVersionIdSyntax(versionId)) throw new S3Error('NoSuchVersion');
      checkAccess(ctx, bucket, versionId === undefined ? 's3:DeleteObject' : 's3:DeleteObjectVersion', key, null);
      const storage = ctx.deps.storage;
      const lock = removalOptions(ctx, bucket, key);
      if (versionId === undefined) {
        const r = await storage.deleteObject(bucket.name, key, ctx.addon?.id, lock);
        if (!quiet)
          deleted.push({
            Key: key,
            DeleteMarker: r.deleteMarker ? true : undefined,
            DeleteMarkerVersionId: r.deleteMarker ? (r.versionId ?? undefined) : undefined,
          });
      } else {
        // A version the key does not have is reported deleted, as AWS does (minio/minio#11086).
        const r = await storage.deleteObjectVersion(bucket.name, key, versionId, lock);
        if (!quiet)
          deleted.push({
            Key: key,
            VersionId: versionId,
            DeleteMarker: r?.deleteMarker ? true : undefined,
            DeleteMarkerVersionId: r?.deleteMarker ? versionId : undefined,
          });
      }
    } catch (e) {
      const err = toS3Error(e);
      if (err.code === 'InternalError')
        ctx.deps.logger.error('delete failed', { bucket: bucket.name, key, error: String(e) });
      errors.push({ Key: key, VersionId: versionId, Code: err.code, Message: err.message });
    }
  }
  sendXml(ctx, 'DeleteResult', { Deleted: deleted, Error: errors });
}
