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

/** A row of `versions`: a noncurrent version, or a delete marker (current when noncurrentSince is null). */
export interface ScannedVersion {
  seq: number;
  key: string;
  versionId: string;
  deleteMarker: boolean;
  size: number;
  lastModified: Date;
  noncurrentSince: number | null;
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
      // Listing order, key ascending and each key's newest version first, along versions_by_key;
      // the cursor (key, seq) resumes inside a key's history.
      versions: db.prepare<
        [string, string, string, string, number, number],
        {
          seq: number;
          key: string;
          version_id: string;
          delete_marker: number;
          size: number;
          last_modified: number;
          noncurrent_since: number | null;
          tags: string | null;
        }
      >(
        `SELECT seq, key, version_id, delete_marker, size, last_modified, noncurrent_since, tags FROM versions
         WHERE bucket = ? AND key >= ? AND (key > ? OR (key = ? AND seq < ?)) ORDER BY key, seq DESC LIMIT ?`,
      ),
      versionCount: db.prepare<[string, string], { n: number }>(
        'SELECT COUNT(*) AS n FROM versions WHERE bucket = ? AND key = ?',
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

  /** Rows of `versions` with key >= `from`, after the cursor (key, seq), in listing order. */
  versionsFrom(bucket: string, from: string, after: { key: string; seq: number }, limit: number): ScannedVersion[] {
    return this.s.versions.all(bucket, from, after.key, after.key, after.seq, limit).map((r) => ({
      seq: r.seq,
      key: r.key,
      versionId: r.version_id,
      deleteMarker: r.delete_marker === 1,
      size: r.size,
      lastModified: new Date(r.last_modified),
      noncurrentSince: r.noncurrent_since,
      tags: r.tags ? (JSON.parse(r.tags) as Tag[]) : [],
    }));
  }

  /** How many noncurrent versions and delete markers the key has. */
  versionCount(bucket: string, key: string): number {
    return this.s.versionCount.get(bucket, key)!.n;
  }

  /** Uploads after the (key, initiated, id) cursor, along the uploads_by_key index. */
  uploadsAfter(bucket: string, after: { key: string; initiated: number; id: string }, limit: number): ScannedUpload[] {
    return this.s.uploads.all(bucket, after.key, after.initiated, after.id, limit);
  }
}
