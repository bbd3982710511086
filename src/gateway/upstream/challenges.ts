/**
 * Pending HTTP-01 answers shared by a fleet (`challenges/<token>` in the system bucket): the
 * gateway that orders writes the answer before telling the CA to validate, and whichever
 * gateway the CA reaches reads it through on a miss. Answers are cached briefly (a CA validates
 * from several vantage points at once); a miss only for a moment, so that an answer written just
 * now by another gateway shows.
 */
import { LRUCache } from 'lru-cache';
import type { ChallengeStore } from '../tls/http.js';
import type { SystemBucket } from './system-bucket.js';

const HIT_TTL_MS = 30_000;
const MISS_TTL_MS = 500;

export class BucketChallenges implements ChallengeStore {
  /** This gateway's own pending answers: served without a round trip. */
  private readonly own = new Map<string, string>();
  /** Answers read from the bucket; '' for a known miss. */
  private readonly cache = new LRUCache<string, string>({ max: 10_000, ttl: HIT_TTL_MS });
  /** One upstream read per token at a time. */
  private readonly reading = new Map<string, Promise<string | undefined>>();

  constructor(private readonly bucket: SystemBucket) {}

  private key(token: string): string {
    return `challenges/${token}`;
  }

  async set(token: string, keyAuthorization: string): Promise<void> {
    this.own.set(token, keyAuthorization);
    await this.bucket.put(this.key(token), keyAuthorization);
  }

  async delete(token: string): Promise<void> {
    this.own.delete(token);
    this.cache.delete(token);
    await this.bucket.delete(this.key(token));
  }

  get(token: string): string | undefined | Promise<string | undefined> {
    const own = this.own.get(token);
    if (own !== undefined) return own;
    const cached = this.cache.get(token);
    if (cached !== undefined) return cached === '' ? undefined : cached;
    let p = this.reading.get(token);
    if (p === undefined) {
      p = this.bucket
        .get(this.key(token))
        .then((o) => {
          const value = o === null ? '' : o.body.toString('utf8');
          this.cache.set(token, value, { ttl: value === '' ? MISS_TTL_MS : HIT_TTL_MS });
          return value === '' ? undefined : value;
        })
        .finally(() => this.reading.delete(token));
      this.reading.set(token, p);
    }
    return p;
  }
}
