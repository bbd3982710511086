import { LRUCache } from 'lru-cache';

/** Where secrets come from: RGW's Admin Ops API in production (RgwAdmin). */
export interface SecretSource {
  /** The secret of `accessKey`, null when no user holds that key. */
  secretOf(accessKey: string): Promise<{ uid: string; secret: string } | null>;
}

export interface SecretCacheOptions {
  /** Keys remembered at most (bounded: arbitrary access keys in requests cannot grow it). */
  maxEntries: number;
  /** How long a known secret is trusted; a deleted add-on or a rotated key stops working after it. */
  ttlMs: number;
  /** How long "no such key" is remembered, so a client retrying a bad key does not hammer RGW. */
  negativeTtlMs: number;
}

export type KnownSecret = { uid: string; secret: string };

/**
 * The add-on secrets the gateway needs to verify signatures, fetched once per key and period.
 * Concurrent misses for one key share one upstream look-up.
 */
export class SecretCache {
  private readonly cache: LRUCache<string, KnownSecret | 'none'>;
  private readonly pending = new Map<string, Promise<KnownSecret | null>>();

  constructor(
    private readonly source: SecretSource,
    private readonly o: SecretCacheOptions,
  ) {
    this.cache = new LRUCache({ max: o.maxEntries, ttl: o.ttlMs });
  }

  async get(accessKey: string): Promise<KnownSecret | null> {
    const hit = this.cache.get(accessKey);
    if (hit !== undefined) return hit === 'none' ? null : hit;
    let p = this.pending.get(accessKey);
    if (p === undefined) {
      p = this.source.secretOf(accessKey).then(
        (found) => {
          this.pending.delete(accessKey);
          if (found === null) this.cache.set(accessKey, 'none', { ttl: this.o.negativeTtlMs });
          else this.cache.set(accessKey, found);
          return found;
        },
        (e: unknown) => {
          this.pending.delete(accessKey);
          throw e;
        },
      );
      this.pending.set(accessKey, p);
    }
    return p;
  }

  /** Forget a key at once (its add-on's keys were rotated here). */
  forget(accessKey: string): void {
    this.cache.delete(accessKey);
  }

  /**
   * RGW refused a request this cache's secret let through (the key was removed or rotated on
   * RGW, maybe by another gateway): the secret is fetched again, unless it was fetched less than
   * `minAgeMs` ago, so that requests RGW refuses for other reasons (policy) cost no look-up each.
   */
  suspect(accessKey: string, minAgeMs: number): void {
    const known = this.cache.peek(accessKey);
    if (known === undefined || known === 'none') return;
    const remaining = this.cache.getRemainingTTL(accessKey);
    if (remaining > 0 && this.o.ttlMs - remaining >= minAgeMs) this.cache.delete(accessKey);
  }
}
