/**
 * "Does this bucket serve a website?" for the issuance gate, over local storage.
 *
 * A bucket counts as a site when it has a website configuration (the owner asked for a site),
 * or when the anonymous visitor would get its index document: the same decision the website
 * and the S3 API make, so whatever grants that read counts (a public-read ACL on the index
 * object, as `s3cmd put --acl-public` leaves it, or a policy) and a bucket whose index the
 * website would refuse gets no certificate. A public-read bucket ACL alone lets anyone list
 * the bucket, not read its objects.
 */
import {
  DEFAULT_INDEX_SUFFIX,
  anonymousRead,
  storedPolicy,
  type Acl,
  type BucketInfo,
  type RequestContext,
} from '#storage';
import type { WebsiteSource } from '../website/source.js';
import type { SiteInfo, SiteLookup } from './gate.js';

/** The visitor the certificate is for: arriving over the HTTPS being issued, from a link or typed URL. */
export function visitorContext(now: Date): RequestContext {
  return {
    'aws:securetransport': 'true',
    'aws:currenttime': now.toISOString(),
    'aws:epochtime': String(Math.floor(now.getTime() / 1000)),
  };
}

/** The key a visitor of `/` gets: from the website configuration, else the default. */
export function indexKeyOf(b: BucketInfo): string {
  return b.website?.indexDocument?.suffix ?? DEFAULT_INDEX_SUFFIX;
}

/**
 * The gate's verdict on a bucket, given its index object (null when missing; only looked at
 * without a website configuration) and the visitor's request context.
 */
export function describeSite(
  b: BucketInfo | null,
  index: { acl: Acl | null } | null,
  context: RequestContext,
): SiteInfo {
  if (b === null) return { exists: false, servesWebsite: false, detail: 'no such bucket' };
  if (b.website !== null) return { exists: true, servesWebsite: true, detail: 'website configuration set' };
  const key = indexKeyOf(b);
  const policy = storedPolicy(b);
  const d = anonymousRead({
    bucket: b.name,
    bucketOwnerId: b.ownerId,
    bucketAcl: b.acl,
    policy,
    key,
    object: index,
    context,
    guards: b,
  });
  const site = (detail: string): SiteInfo => ({ exists: true, servesWebsite: true, detail });
  const not = (detail: string): SiteInfo => ({ exists: true, servesWebsite: false, detail });
  if (index !== null && d.allowed) {
    return site(
      d.reason === 'acl'
        ? `the ACL of ${key} grants READ to AllUsers (public-read)`
        : `bucket policy lets anyone read ${key}`,
    );
  }
  if (d.reason === 'unreadable-policy') return not(`the stored bucket policy no longer parses, so nothing is public`);
  if (d.reason === 'policy-deny') return not(`bucket policy denies anonymous reads of ${key}`);
  if (index === null) {
    return not(
      d.allowed
        ? `no ${key} yet (the bucket policy lets anyone read it once uploaded), and no website configuration`
        : `private: no ${key} and no website configuration`,
    );
  }
  const byPolicy =
    policy === null
      ? 'no bucket policy'
      : 'the bucket policy does not grant it to a visitor over HTTPS without a Referer';
  const listing = d.mayList ? '; anyone may list the bucket, which does not open its objects' : '';
  return not(
    `private: no website configuration, and anonymous visitors may not read ${key} (no public-read ACL on it, ${byPolicy})${listing}`,
  );
}

export function storageSites(storage: {
  bucket(name: string): BucketInfo | null;
  headObject(bucket: string, key: string): { acl: Acl | null } | null;
}): { site(bucket: string): SiteInfo } {
  return {
    site(name) {
      const b = storage.bucket(name);
      // The index is only needed without a website configuration, which decides on its own.
      const index = b !== null && b.website === null ? storage.headObject(b.name, indexKeyOf(b)) : null;
      return describeSite(b, index, visitorContext(new Date()));
    },
  };
}

/**
 * The same question over any WebsiteSource (upstream mode: RGW), asked as the website asks it: a
 * website configuration, or the visitor's read of the index document as the source decides it
 * (RGW itself, for the upstream source).
 */
export function websiteSites(source: WebsiteSource, now: () => Date = () => new Date()): SiteLookup {
  return {
    async site(name) {
      const b = await source.bucket(name);
      if (b === null) return { exists: false, servesWebsite: false, detail: 'no such bucket' };
      if (b.website !== null) return { exists: true, servesWebsite: true, detail: 'website configuration set' };
      // Without a website configuration the index is the default one.
      const key = DEFAULT_INDEX_SUFFIX;
      const index = await source.head(name, key);
      if (index !== null && b.mayRead(key, index, visitorContext(now())))
        return { exists: true, servesWebsite: true, detail: `anonymous visitors may read ${key}` };
      return {
        exists: true,
        servesWebsite: false,
        detail:
          index === null
            ? `private: no ${key} and no website configuration`
            : `private: no website configuration, and anonymous visitors may not read ${key}`,
      };
    },
  };
}
