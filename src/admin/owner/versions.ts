/**
 * An owner's object versions in the dashboard: the versioning switch, the history of one key and
 * "restore this version", over the local store.
 */
import { StorageError, type Addon, type Storage, type VersioningStatus } from '#storage';
import { ownBucket } from './buckets.js';

export interface VersionView {
  versionId: string;
  deleteMarker: boolean;
  isLatest: boolean;
  /** 0 for a delete marker. */
  size: number;
  etag: string | null;
  lastModified: string;
}

export interface KeyHistory {
  key: string;
  versions: VersionView[];
  /** More versions exist than the page shows (use an S3 client's ListObjectVersions for the rest). */
  truncated: boolean;
}

/**
 * On: versioning Enabled. Off: Suspended, since a bucket once versioned never returns to
 * unversioned and its old versions stay (https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html).
 */
export function setVersioning(storage: Storage, owner: Addon, bucket: string, on: boolean): VersioningStatus {
  ownBucket(storage, owner, bucket);
  const status: VersioningStatus = on ? 'Enabled' : 'Suspended';
  storage.setBucketVersioning(bucket, status);
  return status;
}

/** The versions of exactly `key`, newest first, delete markers included, at most `max`. */
export function keyHistory(storage: Storage, owner: Addon, bucket: string, key: string, max: number): KeyHistory {
  ownBucket(storage, owner, bucket);
  // Every version of `key` sorts before those of the longer keys it prefixes: the first page holds them.
  const page = storage.listObjectVersions(bucket, {
    prefix: key,
    delimiter: '',
    keyMarker: '',
    versionIdMarker: null,
    maxKeys: max + 1,
  });
  const mine = page.versions.filter((v) => v.key === key);
  return {
    key,
    versions: mine.slice(0, max).map((v) => ({
      versionId: v.versionId,
      deleteMarker: v.deleteMarker,
      isLatest: v.isLatest,
      size: v.deleteMarker ? 0 : v.size,
      etag: v.deleteMarker ? null : v.etag,
      lastModified: v.lastModified.toISOString(),
    })),
    truncated: mine.length > max,
  };
}

/**
 * Makes a copy of version `versionId` the key's current version, as AWS documents it ("Restoring
 * previous versions", https://docs.aws.amazon.com/AmazonS3/latest/userguide/RestoringPreviousVersions.html):
 * a CopyObject of that version onto its own key with its metadata and tags. The old version
 * stays where it is; in a versioned bucket the copy gets a new version id.
 */
export async function restoreVersion(
  storage: Storage,
  owner: Addon,
  bucket: string,
  key: string,
  versionId: string,
): Promise<VersionView> {
  ownBucket(storage, owner, bucket);
  const source = storage.objectVersion(bucket, key, versionId);
  if (source === null)
    throw new StorageError('NoSuchVersion', 'The specified version does not exist.', {
      Key: key,
      VersionId: versionId,
    });
  // CopyObject refuses a delete marker as its source the same way (API_CopyObject.html, x-amz-copy-source).
  if (source.deleteMarker)
    throw new StorageError(
      'InvalidRequest',
      'A delete marker cannot be restored: restore the version before it, or delete the marker with an S3 tool.',
    );
  const o = await storage.copyObject({
    source,
    bucket,
    key,
    ownerId: owner.id,
    headers: { ...source.headers },
    acl: null,
    tags: source.tags ?? [],
  });
  return {
    versionId: o.versionId,
    deleteMarker: false,
    isLatest: true,
    size: o.size,
    etag: o.etag,
    lastModified: o.lastModified.toISOString(),
  };
}
