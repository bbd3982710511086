/** The WebsiteSource over this process's own storage: direct reads, instant change events. */
import {
  anonymousRead,
  storedPolicy,
  type BucketInfo,
  type ChangeEvent,
  type StoredPolicy,
  type Storage,
} from '#storage';
import type { WebsiteBucket, WebsiteObject, WebsiteSource } from './source.js';

/** Policy variables (`${aws:SourceIp}` in a Resource) and conditions both read the request. */
export function dependsOnRequest(p: StoredPolicy): boolean {
  if (p === null || p === 'unreadable') return false;
  return p.statements.some((s) => s.conditions.length > 0 || s.resource.patterns.some((r) => r.includes('${')));
}

export function websiteBucketOf(b: BucketInfo): WebsiteBucket {
  const policy = storedPolicy(b);
  return {
    name: b.name,
    website: b.website,
    cors: b.cors,
    contextFree: !dependsOnRequest(policy),
    fingerprint: JSON.stringify([b.ownerId, b.acl, b.policy, b.cors, b.website, b.publicAccessBlock, b.ownership]),
    mayRead(key, object, ctx) {
      // The same decision as the S3 API's anonymous GetObject and the certificate gate.
      const d = anonymousRead({
        bucket: b.name,
        bucketOwnerId: b.ownerId,
        bucketAcl: b.acl,
        policy,
        key,
        object,
        context: ctx,
        guards: b,
      });
      return object === null ? d.websiteNotFound : d.allowed;
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
        tags: info.tags,
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
