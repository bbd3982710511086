/**
 * What the dashboard shows and changes on an owner's buckets, over the local store. Every
 * function takes the signed-in add-on and refuses a bucket it does not own with the same
 * NoSuchBucket a missing one gets, so an owner cannot even learn which names others use.
 */
import {
  StorageError,
  anonymousRead,
  cannedAcl,
  storedPolicy,
  validateCorsRules,
  type Addon,
  type BucketInfo,
  type CorsRule,
  type Storage,
} from '#storage';
import { websiteConfigOf } from '../buckets.js';

export interface BucketView {
  name: string;
  createdAt: string;
  /** Current objects (delete markers and noncurrent versions are not objects). */
  objects: number;
  /** Bytes of every stored version, noncurrent ones included: what the bucket occupies and is billed for. */
  bytes: number;
  /** Anonymous visitors may read every object (the bucket policy grants s3:GetObject on all keys). */
  public: boolean;
  website: { index: string; error: string | null; spa: boolean } | null;
  cors: CorsTemplate | 'custom' | null;
}

/** The bucket, if `owner` owns it; anything else reads as missing. */
export function ownBucket(storage: Storage, owner: Addon, name: string): BucketInfo {
  const b = storage.bucket(name);
  if (b === null || b.ownerId !== owner.id)
    throw new StorageError('NoSuchBucket', 'The specified bucket does not exist', { BucketName: name });
  return b;
}

/**
 * Cellar's documented "public bucket policy" (Clever Cloud's Cellar documentation, "Public
 * bucket policy"): anyone may GetObject every key. The README points site owners at it.
 */
export function publicPolicy(bucket: string): string {
  return JSON.stringify({
    Id: 'CellarDashboardPublic',
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'PublicRead',
        Action: ['s3:GetObject'],
        Effect: 'Allow',
        Resource: `arn:aws:s3:::${bucket}/*`,
        Principal: '*',
      },
    ],
  });
}

/** Whether the anonymous visitor may read any key: the same decision the website makes. */
function isPublic(b: BucketInfo): boolean {
  return anonymousRead({
    bucket: b.name,
    bucketOwnerId: b.ownerId,
    bucketAcl: b.acl,
    policy: storedPolicy(b),
    // A key no one uploads: only a grant on every key (the policy) makes it readable.
    key: '.cellar-dashboard-probe',
    object: null,
    context: {},
    guards: b,
  }).allowed;
}

function websiteView(b: BucketInfo): BucketView['website'] {
  const w = b.website;
  if (w === null || w.indexDocument === undefined) return null;
  const index = w.indexDocument.suffix;
  const spa = (w.routingRules ?? []).some(
    (r) => r.condition?.httpErrorCodeReturnedEquals === '404' && r.redirect.httpRedirectCode === '200',
  );
  return { index, error: w.errorDocument?.key ?? null, spa };
}

export function bucketView(storage: Storage, b: BucketInfo): BucketView {
  return {
    name: b.name,
    createdAt: b.createdAt.toISOString(),
    ...storage.bucketUsage(b.name),
    public: isPublic(b),
    website: websiteView(b),
    cors: corsTemplateOf(b.cors),
  };
}

export function listBuckets(storage: Storage, owner: Addon): BucketView[] {
  return storage.bucketsOf(owner.id).map((b) => bucketView(storage, b));
}

export function createBucket(storage: Storage, owner: Addon, name: string, region: string): BucketView {
  return bucketView(storage, storage.createBucket(owner, name, region, null));
}

export function deleteBucket(storage: Storage, owner: Addon, name: string): void {
  ownBucket(storage, owner, name);
  storage.deleteBucket(name);
}

/**
 * Public: the documented public policy, replacing any policy the bucket had (the dashboard says
 * so). Private: no policy and a private ACL. Refused while Block Public Access forbids it, as
 * PutBucketPolicy would be.
 */
export function setPublic(storage: Storage, owner: Addon, name: string, makePublic: boolean): BucketView {
  const b = ownBucket(storage, owner, name);
  if (makePublic) {
    if (b.publicAccessBlock?.blockPublicPolicy || b.publicAccessBlock?.restrictPublicBuckets)
      throw new StorageError(
        'AccessDenied',
        'the bucket blocks public access (PutPublicAccessBlock); remove that block with an S3 tool first',
      );
    storage.setBucketPolicy(name, publicPolicy(name));
  } else {
    const ref = { id: owner.id, displayName: owner.name };
    storage.setBucketPolicy(name, null);
    storage.setBucketAcl(name, cannedAcl('private', ref, ref));
  }
  return bucketView(storage, storage.requireBucket(name));
}

export interface WebsiteInput {
  index?: string;
  error?: string | null;
  spa?: boolean;
}

export function setWebsite(storage: Storage, owner: Addon, name: string, v: WebsiteInput | null): BucketView {
  ownBucket(storage, owner, name);
  storage.setBucketWebsite(
    name,
    v === null ? null : websiteConfigOf({ index: v.index, error: v.error ?? undefined, spa: v.spa }),
  );
  return bucketView(storage, storage.requireBucket(name));
}

export const CORS_TEMPLATES = ['read-anywhere', 'uploads-from-origin'] as const;
export type CorsTemplate = (typeof CORS_TEMPLATES)[number];

/**
 * The documentation's CORS example (Clever Cloud's Cellar documentation, "CORS Configuration"),
 * split in two: any site may read (GET), and one origin may also write.
 */
export function corsRules(template: CorsTemplate, origin?: string): CorsRule[] {
  const readAnywhere: CorsRule = {
    allowedOrigins: ['*'],
    allowedMethods: ['GET', 'HEAD'],
    allowedHeaders: [],
    exposeHeaders: [],
    maxAgeSeconds: 3000,
  };
  if (template === 'read-anywhere') return [readAnywhere];
  if (origin === undefined || !/^https?:\/\/[^\s/*]+$/.test(origin))
    throw new StorageError('InvalidArgument', 'the uploads template needs an origin such as https://app.example.com');
  return [
    {
      allowedOrigins: [origin],
      allowedMethods: ['PUT', 'POST', 'DELETE'],
      allowedHeaders: ['*'],
      exposeHeaders: ['ETag'],
    },
    readAnywhere,
  ];
}

function corsTemplateOf(rules: CorsRule[] | null): BucketView['cors'] {
  if (rules === null || rules.length === 0) return null;
  const same = (a: CorsRule[], b: CorsRule[]) => JSON.stringify(a) === JSON.stringify(b);
  if (same(rules, corsRules('read-anywhere'))) return 'read-anywhere';
  const origin = rules[0]?.allowedOrigins[0];
  if (rules.length === 2 && origin !== undefined && origin !== '*') {
    try {
      if (same(rules, corsRules('uploads-from-origin', origin))) return 'uploads-from-origin';
    } catch {
      // Not an origin the template takes: someone's own rules.
    }
  }
  return 'custom';
}

export function setCors(
  storage: Storage,
  owner: Addon,
  name: string,
  template: CorsTemplate | null,
  origin?: string,
): BucketView {
  ownBucket(storage, owner, name);
  storage.setBucketCors(name, template === null ? null : validateCorsRules(corsRules(template, origin)));
  return bucketView(storage, storage.requireBucket(name));
}

/** The first keys of a bucket, for the file list under the drop zone. */
export function listObjects(
  storage: Storage,
  owner: Addon,
  name: string,
  max: number,
): { objects: { key: string; size: number; lastModified: string }[]; truncated: boolean } {
  ownBucket(storage, owner, name);
  const page = storage.listObjects(name, { prefix: '', delimiter: '', after: '', maxKeys: max });
  return {
    objects: page.contents.map((o) => ({ key: o.key, size: o.size, lastModified: o.lastModified.toISOString() })),
    truncated: page.isTruncated,
  };
}
