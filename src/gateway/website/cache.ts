/**
 * The website cache: per bucket its settings, per key the object's metadata (misses included),
 * per path the whole resolved answer, and the bytes of small objects and of their compressed
 * renderings. Storage change events drop what they touch before the write is acknowledged, so
 * a visitor never sees a stale page:
 * - an object event drops that key, the paths whose resolution looked at it, and its bytes;
 * - a bucket event (ACL, policy, CORS, website config, created, deleted) drops the bucket.
 * A read that overlaps a change is not cached: each bucket has a change counter, and an entry
 * computed while it moved is served once and thrown away.
 */
import { LRUCache } from 'lru-cache';
import type { ChangeEvent, RoutingRule, WebsiteConfig } from '#storage';
import { DEFAULT_WEBSITE_CONFIG, indexSuffixOf } from '#storage';
import type { ObjectEntry } from './entity.js';
import type { WebsiteBucket } from './source.js';

export interface CacheLimits {
  /** Bytes of bodies and compressed renderings, all together. */
  maxBytes: number;
  /** Largest single body kept; bigger ones are streamed from storage each time. */
  maxEntryBytes: number;
  /** Metadata entries (keys and resolved paths). */
  maxMetaEntries?: number;
  maxBuckets?: number;
}

/** A bucket as the website sees it, with what every request needs precomputed. */
export interface BucketSlot {
  readonly name: string;
  /** Distinguishes this slot's entries from a previous slot of the same bucket. */
  readonly gen: number;
  /** Null: no such bucket (cached too, so a flood of unknown hosts stays off the database). */
  readonly bucket: WebsiteBucket | null;
  readonly config: WebsiteConfig;
  readonly indexSuffix: string;
  readonly rules: RoutingRule[];
  checkedAt: number;
  refreshing: boolean;
  /** Meta keys held for this slot. */
  readonly members: Set<string>;
  /** Object key -> meta keys of resolved paths that looked it up. */
  readonly dependents: Map<string, Set<string>>;
}

/** `checkedAt`: when the entry was last known to match the source (revalidating sources). */
type Meta<P> =
  | { type: 'key'; slot: BucketSlot; entry: ObjectEntry | null; checkedAt: number }
  | { type: 'path'; slot: BucketSlot; keys: readonly string[]; value: P; checkedAt: number };

/** Rough fixed cost of a cached body besides its bytes (key, node, bookkeeping). */
const BODY_OVERHEAD = 128;

export class WebsiteCache<P> {
  private readonly slots: LRUCache<string, BucketSlot>;
  private readonly meta: LRUCache<string, Meta<P>>;
  private readonly bodies: LRUCache<string, Buffer> | null;
  private readonly seqs = new Map<string, number>();
  /** Numbers bucket slots, so keys of a replaced slot never match the new one's. */
  private generations = 0;
  /** Bodies pushed out to make room (not those dropped because their object changed). */
  evictions = 0;
  readonly maxEntryBytes: number;

  constructor(limits: CacheLimits) {
    this.maxEntryBytes = Math.min(limits.maxEntryBytes, limits.maxBytes);
    this.slots = new LRUCache<string, BucketSlot>({
      max: limits.maxBuckets ?? 10_000,
      dispose: (slot) => this.dropMembers(slot),
    });
    this.meta = new LRUCache<string, Meta<P>>({
      max: limits.maxMetaEntries ?? 50_000,
      dispose: (m, k) => this.unlink(m, k),
    });
    this.bodies =
      this.maxEntryBytes > 0
        ? new LRUCache<string, Buffer>({
            maxSize: limits.maxBytes,
            maxEntrySize: this.maxEntryBytes + BODY_OVERHEAD,
            sizeCalculation: (b) => b.length + BODY_OVERHEAD,
            dispose: (_b, _k, reason) => {
              if (reason === 'evict') this.evictions++;
            },
          })
        : null;
  }

  /** The change counter of a bucket: read it before a lookup, pass it to the matching set. */
  seq(bucket: string): number {
    return this.seqs.get(bucket) ?? 0;
  }

  slot(bucket: string): BucketSlot | undefined {
    return this.slots.get(bucket);
  }

  /** A slot for `bucket`; kept only if nothing in the bucket changed since `seq` was read. */
  makeSlot(name: string, bucket: WebsiteBucket | null, seq: number, now: number): BucketSlot {
    const config = bucket?.website ?? DEFAULT_WEBSITE_CONFIG;
    const slot: BucketSlot = {
      name,
      gen: ++this.generations,
      bucket,
      config,
      indexSuffix: indexSuffixOf(config),
      rules: config.routingRules ?? [],
      checkedAt: now,
      refreshing: false,
      members: new Set(),
      dependents: new Map(),
    };
    if (this.seq(name) === seq) this.slots.set(name, slot);
    return slot;
  }

  /** Whether `slot` is still the cached one (a refresh or an event may have replaced it). */
  isCurrent(slot: BucketSlot): boolean {
    return this.slots.peek(slot.name) === slot;
  }

  getKey(slot: BucketSlot, key: string): ObjectEntry | null | undefined {
    return this.getKeyChecked(slot, key)?.entry;
  }

  getKeyChecked(slot: BucketSlot, key: string): { entry: ObjectEntry | null; checkedAt: number } | undefined {
    const m = this.meta.get(`${slot.gen}\0k\0${key}`);
    return m === undefined || m.type !== 'key' ? undefined : m;
  }

  /** Records that the source confirmed a cached key entry at `now`. */
  touchKey(slot: BucketSlot, key: string, now: number): void {
    const m = this.meta.peek(`${slot.gen}\0k\0${key}`);
    if (m?.type === 'key') m.checkedAt = now;
  }

  /** `checkedAt`: when the source was asked (a read started before it may predate a write). */
  setKey(slot: BucketSlot, key: string, entry: ObjectEntry | null, seq: number, checkedAt = Date.now()): void {
    this.put(slot, `${slot.gen}\0k\0${key}`, { type: 'key', slot, entry, checkedAt }, seq);
  }

  /** `pathKey` must start with the slot's generation (see pathKeyOf). */
  getPath(pathKey: string): P | undefined {
    return this.getPathChecked(pathKey)?.value;
  }

  getPathChecked(pathKey: string): { value: P; checkedAt: number } | undefined {
    const m = this.meta.get(pathKey);
    return m === undefined || m.type !== 'path' ? undefined : m;
  }

  /** Drops one resolved path (to resolve it again, revalidating the keys it looked at). */
  dropPath(pathKey: string): void {
    this.meta.delete(pathKey);
  }

  /** `checkedAt`: the oldest check of the keys the path looked at. */
  setPath(
    slot: BucketSlot,
    pathKey: string,
    value: P,
    keys: readonly string[],
    seq: number,
    checkedAt = Date.now(),
  ): void {
    if (!this.put(slot, pathKey, { type: 'path', slot, keys, value, checkedAt }, seq)) return;
    for (const k of keys) {
      let set = slot.dependents.get(k);
      if (set === undefined) {
        set = new Set();
        slot.dependents.set(k, set);
      }
      set.add(pathKey);
    }
  }

  getBody(bodyKey: string): Buffer | undefined {
    return this.bodies?.get(bodyKey);
  }

  setBody(bodyKey: string, body: Buffer): void {
    if (body.length <= this.maxEntryBytes) this.bodies?.set(bodyKey, body);
  }

  onChange(e: ChangeEvent): void {
    this.seqs.set(e.bucket, this.seq(e.bucket) + 1);
    const slot = this.slots.peek(e.bucket);
    if (slot === undefined) return;
    if (e.type === 'bucket') {
      this.slots.delete(e.bucket);
      return;
    }
    const keyMeta = `${slot.gen}\0k\0${e.key}`;
    const m = this.meta.peek(keyMeta);
    if (m?.type === 'key' && m.entry !== null && this.bodies !== null) {
      const b = m.entry.bodyKey;
      this.bodies.delete(b);
      this.bodies.delete(`${b}\0br`);
      this.bodies.delete(`${b}\0gzip`);
    }
    this.meta.delete(keyMeta);
    const paths = slot.dependents.get(e.key);
    if (paths !== undefined) for (const p of [...paths]) this.meta.delete(p);
  }

  /** Drops a bucket's slot and entries without a change event (when the source proved them stale). */
  forget(bucket: string): void {
    this.slots.delete(bucket);
  }

  /** Counts, for tests and the log. */
  stats(): { buckets: number; meta: number; bodies: number; bodyBytes: number } {
    return {
      buckets: this.slots.size,
      meta: this.meta.size,
      bodies: this.bodies?.size ?? 0,
      bodyBytes: this.bodies?.calculatedSize ?? 0,
    };
  }

  clear(): void {
    this.slots.clear();
    this.meta.clear();
    this.bodies?.clear();
  }

  private put(slot: BucketSlot, metaKey: string, m: Meta<P>, seq: number): boolean {
    // A concurrent request may have cached the same thing first; replacing it would only
    // churn the dependency index.
    if (this.seq(slot.name) !== seq || !this.isCurrent(slot) || this.meta.has(metaKey)) return false;
    this.meta.set(metaKey, m);
    slot.members.add(metaKey);
    return true;
  }

  private unlink(m: Meta<P>, metaKey: string): void {
    m.slot.members.delete(metaKey);
    if (m.type !== 'path') return;
    for (const k of m.keys) {
      const set = m.slot.dependents.get(k);
      if (set === undefined) continue;
      set.delete(metaKey);
      if (set.size === 0) m.slot.dependents.delete(k);
    }
  }

  private dropMembers(slot: BucketSlot): void {
    for (const k of [...slot.members]) this.meta.delete(k);
  }
}

/** The meta key of a resolved path; host and scheme are in it because redirects name them. */
export function pathKeyOf(slot: BucketSlot, secure: boolean, host: string, rawPath: string): string {
  return `${slot.gen}\0${secure ? 's' : 'p'}\0${host}\0${rawPath}`;
}
