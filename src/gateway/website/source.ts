/**
 * The narrow port the website side reads through (docs/architecture.md, "Ports"). The local
 * implementation sits on `#storage` and pushes change events; an upstream one (S3 GET/HEAD to
 * the backend) would have no events and revalidate instead.
 */
import type { Readable } from 'node:stream';
import type { Acl, ChangeEvent, CorsRule, RequestContext, WebsiteConfig } from '#storage';

export interface WebsiteObject {
  readonly key: string;
  readonly size: number;
  /** Without quotes, as stored. */
  readonly etag: string;
  readonly lastModified: Date;
  /** Stored response headers, lower-case names (content-type, cache-control, ...). */
  readonly headers: Readonly<Record<string, string>>;
  readonly acl: Acl | null;
  /** The object's tags: a bucket policy may grant the read by them (s3:ExistingObjectTag). */
  readonly tags?: ReadonlyArray<{ key: string; value: string }>;
  /** The bytes, whole or an inclusive range. */
  open(range: { start: number; end: number } | null): Promise<Readable>;
}

export interface WebsiteBucket {
  readonly name: string;
  /** As stored; null when the owner never set one (Cellar then serves with defaults). */
  readonly website: WebsiteConfig | null;
  readonly cors: CorsRule[] | null;
  /**
   * True when no read decision depends on the request (no policy conditions, no policy
   * variables), so decisions, and whole resolved paths, may be cached.
   */
  readonly contextFree: boolean;
  /** Differs whenever any setting above (or the ACL, or the policy) differs. */
  readonly fingerprint: string;
  /**
   * Whether the anonymous visitor may read `key`: with `object` for an existing key, with null
   * for a missing one (then it decides 404 versus 403, so that existence does not leak).
   */
  mayRead(key: string, object: WebsiteObject | null, ctx: RequestContext): boolean;
}

export interface WebsiteSource {
  bucket(name: string): Promise<WebsiteBucket | null>;
  head(bucket: string, key: string): Promise<WebsiteObject | null>;
  /** Change notifications; returns the unsubscribe function. */
  subscribe(listener: (e: ChangeEvent) => void): () => void;
  /**
   * For a source without complete change events (another process writes): checks what the
   * cache holds for `key` (null: known missing), 'same' when it still holds.
   */
  revalidate?(bucket: string, key: string, known: WebsiteObject | null): Promise<WebsiteObject | null | 'same'>;
}

/** The source could not be reached: the visitor gets a 503 page (or a cached page, if allowed). */
export class SourceUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceUnavailableError';
  }
}
