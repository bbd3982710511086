/**
 * "Does this bucket serve a website?" for the issuance gate, over local storage.
 *
 * A bucket counts as a site when any of these holds:
 * - it has a website configuration (the owner asked for a site);
 * - its policy lets the anonymous principal s3:GetObject the index document (the documented
 *   public-bucket policy, `Principal: *` on `arn:aws:s3:::<bucket>/*`);
 * - its ACL grants READ to AllUsers (`--acl public-read` on the bucket, as Cellar's docs show).
 * Object ACLs are not scanned: a certificate is for the site's host, and a bucket whose only
 * public part is some object ACLs has not been made a site by its owner.
 */
import { ALL_USERS_URI, authorize, parsePolicy, type BucketInfo } from '#storage';
import type { SiteInfo, SiteLookup } from './gate.js';

const INDEX = 'index.html';

function policyAllowsAnonymousIndex(b: BucketInfo): boolean {
  if (!b.policy) return false;
  try {
    return authorize({
      principal: { type: 'anonymous' },
      bucketOwnerId: b.ownerId,
      action: 's3:GetObject',
      resource: `arn:aws:s3:::${b.name}/${INDEX}`,
      policy: parsePolicy(b.policy, b.name),
      bucketAcl: b.acl,
      objectAcl: null,
      // The visitor will arrive over the HTTPS being issued for.
      context: { 'aws:securetransport': 'true' },
    }).allowed;
  } catch {
    return false;
  }
}

function aclPublicRead(b: BucketInfo): boolean {
  return b.acl.grants.some((g) => g.grantee.type === 'Group' && g.grantee.uri === ALL_USERS_URI && (g.permission === 'READ' || g.permission === 'FULL_CONTROL'));
}

export function describeSite(b: BucketInfo | null): SiteInfo {
  if (b === null) return { exists: false, servesWebsite: false, detail: 'no such bucket' };
  if (b.website !== null) return { exists: true, servesWebsite: true, detail: 'website configuration set' };
  if (policyAllowsAnonymousIndex(b)) return { exists: true, servesWebsite: true, detail: `bucket policy lets anyone read ${INDEX}` };
  if (aclPublicRead(b)) return { exists: true, servesWebsite: true, detail: 'bucket ACL grants READ to AllUsers (public-read)' };
  return { exists: true, servesWebsite: false, detail: `private: no website configuration, no public-read ACL, no policy letting anyone read ${INDEX}` };
}

export function storageSites(storage: { bucket(name: string): BucketInfo | null }): SiteLookup {
  return { site: (bucket) => describeSite(storage.bucket(bucket)) };
}
