import type { Db } from './db.js';
import type { LifecycleConfig } from '../lifecycle/index.js';
import type { Tag } from '../types.js';

/** What the lifecycle scan needs of a current object: no headers, ACL or blob list to parse. */
export interface ScannedObject {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
  tags: Tag[];
}

export interface ScannedUpload {
  id: string;
  key: string;
  initiated: number;
}

/**
 * The SQL of the lifecycle worker; it shares the connection (and so the transactions) of
 * MetaRepo. Every scan is a bounded page walked along a primary key or index, never a table scan.
 */
export class LifecycleRepo {
  private readonly s;

  constructor(db: Db) {
    this.s = {
      configured: db.prepare<[], { name: string; lifecycle: string }>(
        'SELECT name, lifecycle FROM buckets WHERE lifecycle IS NOT NULL ORDER BY name',
      ),
      objects: db.prepare<
        [string, string, string, number],
        { key: string; size: number; etag: string; last_modified: number; tags: string | null }
      >(
        'SELECT key, size, etag, last_modified, tags FROM objects WHERE bucket = ? AND key > ? AND key >= ? ORDER BY key LIMIT ?',
      ),
      uploads: db.prepare<[string, string, number, string, number], ScannedUpload>(
        `SELECT id, key, initiated FROM uploads WHERE bucket = ? AND (key, initiated, id) > (?, ?, ?)
         ORDER BY key, initiated, id LIMIT ?`,
      ),
    };
  }

  /** Buckets with a lifecycle configuration. */
  configuredBuckets(): { bucket: string; config: LifecycleConfig }[] {
    return this.s.configured.all().map((r) => ({ bucket: r.name, config: JSON.parse(r.lifecycle) as LifecycleConfig }));
  }

  /** Current objects with key > `after` and key >= `from`, in key order (the primary key). */
  objectsFrom(bucket: string, after: string, from: string, limit: number): ScannedObject[] {
    return this.s.objects.all(bucket, after, from, limit).map((r) => ({
      key: r.key,
      size: r.size,
      etag: r.etag,
      lastModified: new Date(r.last_modified),
      tags: r.tags ? (JSON.parse(r.tags) as Tag[]) : [],
    }));
  }

  /** Uploads after the (key, initiated, id) cursor, along the uploads_by_key index. */
  uploadsAfter(bucket: string, after: { key: string; initiated: number; id: string }, limit: number): ScannedUpload[] {
    return this.s.uploads.all(bucket, after.key, after.initiated, after.id, limit);
  }
}
