/** The WebsiteSource over this process's own storage: direct reads, instant change events. */
import {
  authorize,
  parsePolicy,
  type BucketInfo,
  type ChangeEvent,
  type ObjectInfo,
  type PolicyDocument,
  type RequestContext,
  type Storage,
} from '#storage';
import type { WebsiteBucket, WebsiteObject, WebsiteSource } from './source.js';

const ANONYMOUS = { type: 'anonymous' } as const;

function policyOf(b: BucketInfo): PolicyDocument | null | 'broken' {
  if (!b.policy) return null;
  try {
    return parsePolicy(b.policy, b.name);
  } catch {
    // Stored policies were validated on the way in; one that no longer parses grants nothing.
    return 'broken';
  }
}

/** Policy variables (`${aws:SourceIp}` in a Resource) and conditions both read the request. */
function dependsOnRequest(p: PolicyDocument | null | 'broken'): boolean {
  if (p === null || p === 'broken') return false;
  return p.statements.some((s) => s.conditions.length > 0 || s.resource.patterns.some((r) => r.includes('${')));
}

export function websiteBucketOf(b: BucketInfo): WebsiteBucket {
  const policy = policyOf(b);
  const decide = (action: string, resource: string, objectAcl: ObjectInfo['acl'], context: RequestContext): boolean =>
    policy !== 'broken' && authorize({
      principal: ANONYMOUS,
      bucketOwnerId: b.ownerId,
      action,
      resource,
      policy,
      bucketAcl: b.acl,
      objectAcl,
      context,
    }).allowed;
  return {
    name: b.name,
    website: b.website,
    cors: b.cors,
    contextFree: !dependsOnRequest(policy),
    fingerprint: JSON.stringify([b.ownerId, b.acl, b.policy, b.cors, b.website]),
    mayRead(key, object, ctx) {
      if (decide('s3:GetObject', `arn:aws:s3:::${b.name}/${key}`, object?.acl ?? null, ctx)) return true;
      // A missing key is also a plain 404 for whoever may list the bucket, as GetObject answers
      // NoSuchKey to callers with s3:ListBucket (API_GetObject.html, "Permissions").
      return object === null && decide('s3:ListBucket', `arn:aws:s3:::${b.name}`, null, ctx);
    },
  };
}

export function createLocalWebsiteSource(storage: Storage): WebsiteSource {
  return {
    async bucket(name) {
      const b = storage.bucket(name);
      return b === null ? null : websiteBucketOf(b);
    },
    async head(bucket, key) {
      const info = storage.headObject(bucket, key);
      if (info === null) return null;
      const obj: WebsiteObject = {
        key: info.key,
        size: info.size,
        etag: info.etag,
        lastModified: info.lastModified,
        headers: info.headers,
        acl: info.acl,
        open: (range) => storage.openObject(info, range),
      };
      return obj;
    },
    subscribe(listener: (e: ChangeEvent) => void) {
      storage.events.on('change', listener);
      return () => storage.events.off('change', listener);
    },
  };
}
