import type { Db } from './db.js';
import type { Acl } from '../policy/index.js';
import type { ObjectInfo, Tag, VersionInfo } from '../types.js';
import { objectColumns, tagsColumn, toObject, type ObjectRow } from './repo.js';

interface VersionRow extends ObjectRow {
  seq: number;
  delete_marker: number;
  noncurrent_since: number | null;
}

/** A version with its place in the key's history (`seq`: larger is newer). */
export interface StoredVersion extends VersionInfo {
  seq: number;
}

/** The `seq` an `objects` row sorts by: newer than every `versions` row (whose seq is a rowid). */
export const CURRENT_SEQ = Number.MAX_SAFE_INTEGER;

const toVersion = (r: VersionRow): StoredVersion => ({
  ...toObject(r),
  seq: r.seq,
  deleteMarker: r.delete_marker === 1,
  // The `objects` row is current; in `versions` only a delete marker can be, and then it has no noncurrent time.
  isLatest: r.seq === CURRENT_SEQ || r.noncurrent_since === null,
  noncurrentSince: r.noncurrent_since === null ? null : new Date(r.noncurrent_since),
});

const COLUMNS = 'bucket, key, version_id, size, etag, last_modified, owner_id, headers, acl, checksum, blobs, tags';

/** The SQL of noncurrent versions and delete markers; it shares MetaRepo's connection and transactions. */
export class VersionRepo {
  private readonly s;

  constructor(db: Db) {
    this.s = {
      insert: db.prepare(
        `INSERT INTO versions (${COLUMNS}, delete_marker, noncurrent_since)
         VALUES (@bucket, @key, @version_id, @size, @etag, @last_modified, @owner_id, @headers, @acl, @checksum, @blobs, @tags,
           @delete_marker, @noncurrent_since)`,
      ),
      byId: db.prepare<[string, string, string], VersionRow>(
        'SELECT * FROM versions WHERE bucket = ? AND key = ? AND version_id = ?',
      ),
      latest: db.prepare<[string, string], VersionRow>(
        'SELECT * FROM versions WHERE bucket = ? AND key = ? ORDER BY seq DESC LIMIT 1',
      ),
      remove: db.prepare('DELETE FROM versions WHERE seq = ?'),
      setNoncurrent: db.prepare('UPDATE versions SET noncurrent_since = ? WHERE seq = ?'),
      setAcl: db.prepare('UPDATE versions SET acl = ? WHERE seq = ?'),
      setTags: db.prepare('UPDATE versions SET tags = ? WHERE seq = ?'),
      // Both tables merged in listing order: key ascending, newest version first. Each side walks
      // its own index from `start` and SQLite merges the two ordered runs (no sort of the bucket,
      // so a page costs O(page)); the cursor (key, seq) resumes inside a key's history.
      listFrom: db.prepare<
        [string, string, string, string, number, string, string, string, string, number, number],
        VersionRow
      >(
        `SELECT ${COLUMNS}, ${CURRENT_SEQ} AS seq, 0 AS delete_marker, NULL AS noncurrent_since
           FROM objects WHERE bucket = ? AND key >= ? AND (key > ? OR (key = ? AND ${CURRENT_SEQ} < ?))
         UNION ALL
         SELECT ${COLUMNS}, seq, delete_marker, noncurrent_since
           FROM versions WHERE bucket = ? AND key >= ? AND (key > ? OR (key = ? AND seq < ?))
         ORDER BY key, seq DESC LIMIT ?`,
      ),
    };
  }

  /** Records `o` as a version: a noncurrent one (`noncurrentSince` set) or a current delete marker. */
  insert(o: ObjectInfo, deleteMarker: boolean, noncurrentSince: number | null): void {
    this.s.insert.run({ ...objectColumns(o), delete_marker: deleteMarker ? 1 : 0, noncurrent_since: noncurrentSince });
  }
  byId(bucket: string, key: string, versionId: string): StoredVersion | null {
    const r = this.s.byId.get(bucket, key, versionId);
    return r ? toVersion(r) : null;
  }
  /** The newest entry of the key in `versions` (the current version only when it is a delete marker). */
  latest(bucket: string, key: string): StoredVersion | null {
    const r = this.s.latest.get(bucket, key);
    return r ? toVersion(r) : null;
  }
  remove(seq: number): void {
    this.s.remove.run(seq);
  }
  /** `ms` null makes the version (a delete marker) current again. */
  setNoncurrent(seq: number, ms: number | null): void {
    this.s.setNoncurrent.run(ms, seq);
  }
  setAcl(seq: number, acl: Acl): void {
    this.s.setAcl.run(JSON.stringify(acl), seq);
  }
  setTags(seq: number, tags: readonly Tag[]): void {
    this.s.setTags.run(tagsColumn(tags), seq);
  }
  /** Versions of both tables with key >= `start`, after the cursor (key, seq), in listing order. */
  listFrom(bucket: string, start: string, afterKey: string, afterSeq: number, limit: number): StoredVersion[] {
    return this.s.listFrom
      .all(bucket, start, afterKey, afterKey, afterSeq, bucket, start, afterKey, afterKey, afterSeq, limit)
      .map(toVersion);
  }
}
