import type { Acl, BucketGuards } from './policy/index.js';
import type { CorsRule } from './cors/index.js';
import type { LifecycleConfig } from './lifecycle/index.js';
import type { WebsiteConfig } from './website/index.js';

export interface Addon {
  /** Canonical user id, `cellar_<random>`: Owner/ID in listings and ACLs, the principal in policies. */
  id: string;
  /** DisplayName. */
  name: string;
  email: string;
  accessKeyId: string;
  secretAccessKey: string;
  createdAt: Date;
}

export interface BucketInfo extends BucketGuards {
  name: string;
  ownerId: string;
  region: string;
  createdAt: Date;
  acl: Acl;
  /** The policy document as the owner sent it (returned verbatim by GetBucketPolicy). */
  policy: string | null;
  cors: CorsRule[] | null;
  website: WebsiteConfig | null;
  /** The bucket's tag set (PutBucketTagging); null when none was ever set or it was deleted. */
  tags?: Tag[] | null;
  /** The bucket's lifecycle configuration (PutBucketLifecycleConfiguration); null when none is set. */
  lifecycle?: LifecycleConfig | null;
  /** PutBucketVersioning's state; null for a bucket never versioned (it can never return to null). */
  versioning?: VersioningStatus | null;
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_VersioningConfiguration.html */
export type VersioningStatus = 'Enabled' | 'Suspended';

/** One tag of an object or bucket; keys are unique within a set, case-sensitive. */
export interface Tag {
  key: string;
  value: string;
}

/** One stretch of an object's bytes; simple objects have one, multipart objects one per part. */
export interface BlobRef {
  id: string;
  size: number;
  /** A multipart object's part checksums, by algorithm (for GetObjectAttributes ObjectParts). */
  checksum?: Record<string, string> | null;
}

export interface ObjectInfo {
  bucket: string;
  key: string;
  size: number;
  /** Without quotes: hex MD5, or `<md5 of part md5s>-<n>` for multipart. */
  etag: string;
  lastModified: Date;
  ownerId: string;
  /**
   * Stored response headers, lower-case names: content-type, cache-control, content-disposition,
   * content-encoding, content-language, expires, x-amz-website-redirect-location,
   * x-amz-storage-class and every x-amz-meta-*.
   */
  headers: Record<string, string>;
  acl: Acl | null;
  checksum: Record<string, string> | null;
  blobs: BlobRef[];
  /**
   * The object's tag set, in the order it was given. Absent or empty: no tags. Every write of
   * the object replaces it (an overwrite without x-amz-tagging clears it, as on AWS).
   */
  tags?: Tag[];
  /**
   * Opaque, URL-safe version id; `null` (the string) for objects written while the bucket was
   * unversioned or versioning was suspended.
   */
  versionId: string;
}

/** One version of a key as ListObjectVersions and versioned reads see it: an object or a delete marker. */
export interface VersionInfo extends ObjectInfo {
  deleteMarker: boolean;
  isLatest: boolean;
  /** When the version stopped being current; null while it is current. */
  noncurrentSince: Date | null;
}

/** What a DELETE did: whether the version removed or created is a delete marker, and its id (null: nothing versioned). */
export interface DeleteResult {
  deleteMarker: boolean;
  versionId: string | null;
}

export type ChangeEvent =
  | { type: 'object'; bucket: string; key: string }
  | {
      type: 'bucket';
      bucket: string;
      what: 'created' | 'deleted' | 'acl' | 'policy' | 'cors' | 'website' | 'publicAccessBlock' | 'ownership';
    };
