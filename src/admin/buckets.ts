/** Bucket settings site owners change without S3 tools: the CLI's `bucket` commands and the admin API. */
import { validateWebsiteConfig, type Storage, type VersioningStatus, type WebsiteConfig } from '#storage';

/** The website settings an owner picks: index document, error page, single-page-app fallback. */
export interface WebsiteChoice {
  index?: string;
  error?: string;
  spa?: boolean;
}

/** The website configuration for a choice; --spa is the Garage-style 404 -> 200 rule. */
export function websiteConfigOf(v: WebsiteChoice): WebsiteConfig {
  const suffix = v.index ?? 'index.html';
  const cfg: WebsiteConfig = { indexDocument: { suffix } };
  if (v.error !== undefined) cfg.errorDocument = { key: v.error };
  if (v.spa)
    cfg.routingRules = [
      {
        condition: { httpErrorCodeReturnedEquals: '404' },
        redirect: { replaceKeyWith: suffix, httpRedirectCode: '200' },
      },
    ];
  return validateWebsiteConfig(cfg);
}

/** The bucket's stored website configuration; null when none is set (defaults apply). */
export function bucketWebsite(storage: Storage, bucket: string): WebsiteConfig | null {
  return storage.requireBucket(bucket).website;
}

export function removeBucketWebsite(storage: Storage, bucket: string): void {
  storage.requireBucket(bucket);
  storage.setBucketWebsite(bucket, null);
}

/** Validates and stores the configuration for `choice`; returns what was stored. */
export function setBucketWebsite(storage: Storage, bucket: string, choice: WebsiteChoice): WebsiteConfig {
  storage.requireBucket(bucket);
  const cfg = websiteConfigOf(choice);
  storage.setBucketWebsite(bucket, cfg);
  return cfg;
}

/** `cellar bucket versioning <bucket> on|off|status`: off suspends (a versioned bucket never returns to unversioned). */
export type VersioningAction = 'on' | 'off' | 'status';

/**
 * Applies `action` and returns the bucket's versioning state as GetBucketVersioning reports it:
 * Enabled, Suspended, or null when versioning was never set.
 */
export function bucketVersioning(storage: Storage, bucket: string, action: VersioningAction): VersioningStatus | null {
  storage.requireBucket(bucket);
  if (action === 'on') storage.setBucketVersioning(bucket, 'Enabled');
  if (action === 'off') storage.setBucketVersioning(bucket, 'Suspended');
  return storage.requireBucket(bucket).versioning ?? null;
}
