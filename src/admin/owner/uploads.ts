/**
 * Dashboard uploads: the request body goes straight into the store as a stream (back-pressure
 * from the blob file to the browser's socket, nothing buffered whole); large files arrive as
 * parts of a multipart upload that the browser cuts with Blob.slice.
 */
import type { Readable } from 'node:stream';
import { StorageError, type Addon, type Storage } from '#storage';
import { ownBucket } from './buckets.js';

/** A media type as browsers send them for files (RFC 9110 section 8.3.1), parameters allowed. */
const MEDIA_TYPE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+(\s*;[ -~]*)?$/i;

/**
 * The stored Content-Type. A file the browser has no type for is stored as binary/octet-stream,
 * which the website serves with the type of its extension.
 */
export function storedContentType(raw: string | undefined): string {
  const v = raw?.trim() ?? '';
  return v.length <= 256 && MEDIA_TYPE.test(v) ? v : 'binary/octet-stream';
}

export interface ObjectWritten {
  key: string;
  size: number;
  etag: string;
}

export async function putObject(
  storage: Storage,
  owner: Addon,
  bucket: string,
  key: string,
  contentType: string | undefined,
  body: Readable,
): Promise<ObjectWritten> {
  ownBucket(storage, owner, bucket);
  const o = await storage.putObject({
    bucket,
    key,
    ownerId: owner.id,
    body,
    headers: { 'content-type': storedContentType(contentType) },
    acl: null,
  });
  return { key: o.key, size: o.size, etag: o.etag };
}

export function createUpload(
  storage: Storage,
  owner: Addon,
  bucket: string,
  key: string,
  contentType: string | undefined,
): { uploadId: string } {
  ownBucket(storage, owner, bucket);
  const u = storage.multipart.create({
    bucket,
    key,
    ownerId: owner.id,
    headers: { 'content-type': storedContentType(contentType) },
    acl: null,
    checksumAlgorithm: null,
    checksumType: null,
  });
  return { uploadId: u.id };
}

export function partNumberOf(raw: string): number {
  if (!/^\d{1,5}$/.test(raw)) throw new StorageError('InvalidArgument', 'part numbers are integers from 1 to 10000');
  return Number(raw);
}

export async function uploadPart(
  storage: Storage,
  owner: Addon,
  target: { bucket: string; key: string; uploadId: string; partNumber: number },
  body: Readable,
): Promise<{ etag: string }> {
  ownBucket(storage, owner, target.bucket);
  const p = await storage.multipart.uploadPart({ ...target, body });
  return { etag: p.etag };
}

/** The parts as the browser lists them: `[{ partNumber, etag }]` in order. */
export function partsOf(raw: unknown): { partNumber: number; etag: string; checksum: Record<string, string> }[] {
  if (!Array.isArray(raw) || raw.length === 0)
    throw new StorageError('InvalidArgument', 'parts must be a non-empty list');
  return raw.map((p: unknown) => {
    const v = p as { partNumber?: unknown; etag?: unknown } | null;
    if (typeof v?.partNumber !== 'number' || !Number.isInteger(v.partNumber) || typeof v.etag !== 'string')
      throw new StorageError('InvalidArgument', 'each part needs an integer partNumber and an etag');
    return { partNumber: v.partNumber, etag: v.etag, checksum: {} };
  });
}

export async function completeUpload(
  storage: Storage,
  owner: Addon,
  target: { bucket: string; key: string; uploadId: string },
  parts: unknown,
): Promise<ObjectWritten> {
  ownBucket(storage, owner, target.bucket);
  const { object } = await storage.multipart.complete({ ...target, parts: partsOf(parts) });
  return { key: object.key, size: object.size, etag: object.etag };
}

export async function abortUpload(
  storage: Storage,
  owner: Addon,
  target: { bucket: string; key: string; uploadId: string },
): Promise<void> {
  ownBucket(storage, owner, target.bucket);
  storage.multipart.requireUpload(target.bucket, target.key, target.uploadId);
  await storage.multipart.abort(target.bucket, target.key, target.uploadId);
}
