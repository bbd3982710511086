import Database from 'better-sqlite3';

export type Db = Database.Database;

/**
 * Schema history; each entry runs once, in order, inside a transaction. Append only.
 * Keys compare with SQLite's BINARY collation, which on UTF-8 text is byte order: exactly the
 * order S3 lists keys in.
 */
const MIGRATIONS: string[] = [
  `CREATE TABLE addons (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     email TEXT NOT NULL DEFAULT '',
     access_key TEXT NOT NULL UNIQUE,
     secret_key TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE buckets (
     name TEXT PRIMARY KEY,
     owner_id TEXT NOT NULL REFERENCES addons(id),
     region TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     acl TEXT NOT NULL,
     policy TEXT,
     cors TEXT,
     website TEXT
   );
   CREATE TABLE objects (
     bucket TEXT NOT NULL,
     key TEXT NOT NULL,
     size INTEGER NOT NULL,
     etag TEXT NOT NULL,
     last_modified INTEGER NOT NULL,
     owner_id TEXT NOT NULL,
     headers TEXT NOT NULL,
     acl TEXT,
     checksum TEXT,
     blobs TEXT NOT NULL,
     PRIMARY KEY (bucket, key)
   ) WITHOUT ROWID;
   CREATE TABLE blobs (
     id TEXT PRIMARY KEY,
     size INTEGER NOT NULL
   ) WITHOUT ROWID;`,
  // Multipart uploads. Part bytes are blobs (rows in `blobs`, so the collector keeps them);
  // completion moves them into the object's `blobs` list. `completed_uploads` remembers which
  // upload produced which object, so a retried CompleteMultipartUpload can succeed as on AWS.
  `CREATE TABLE uploads (
     id TEXT PRIMARY KEY,
     bucket TEXT NOT NULL,
     key TEXT NOT NULL,
     owner_id TEXT NOT NULL,
     initiated INTEGER NOT NULL,
     headers TEXT NOT NULL,
     acl TEXT,
     checksum_algorithm TEXT,
     checksum_type TEXT
   ) WITHOUT ROWID;
   CREATE INDEX uploads_by_key ON uploads (bucket, key, initiated, id);
   CREATE INDEX uploads_by_age ON uploads (initiated);
   CREATE TABLE parts (
     upload_id TEXT NOT NULL,
     part_number INTEGER NOT NULL,
     blob_id TEXT NOT NULL,
     size INTEGER NOT NULL,
     etag TEXT NOT NULL,
     checksum TEXT,
     last_modified INTEGER NOT NULL,
     PRIMARY KEY (upload_id, part_number)
   ) WITHOUT ROWID;
   CREATE TABLE completed_uploads (
     id TEXT PRIMARY KEY,
     bucket TEXT NOT NULL,
     key TEXT NOT NULL,
     first_blob TEXT NOT NULL,
     completed INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX completed_uploads_by_age ON completed_uploads (completed);`,
  // Tagging: tag sets as JSON lists of {key, value}, kept in the row they belong to so that a
  // write replaces them in the same statement. An upload's tags apply when it completes.
  `ALTER TABLE objects ADD COLUMN tags TEXT;
   ALTER TABLE uploads ADD COLUMN tags TEXT;
   ALTER TABLE buckets ADD COLUMN tags TEXT;`,
  // Bucket guards: the PublicAccessBlock configuration (JSON) and the ObjectOwnership setting;
  // NULL when never set or deleted.
  `ALTER TABLE buckets ADD COLUMN public_access_block TEXT;
   ALTER TABLE buckets ADD COLUMN ownership TEXT;`,
  // Versioning. `objects` stays "the current version, when it is not a delete marker", so every
  // read of the current object is unchanged; its version id is 'null' for objects written while
  // the bucket was unversioned or suspended. `versions` holds every other version: noncurrent
  // ones (noncurrent_since: when they stopped being current, for lifecycle) and delete markers
  // (a current marker has noncurrent_since NULL). `seq` orders a key's versions, newest last;
  // an `objects` row is newer than all of its key's `versions` rows.
  `ALTER TABLE buckets ADD COLUMN versioning TEXT;
   ALTER TABLE objects ADD COLUMN version_id TEXT NOT NULL DEFAULT 'null';
   CREATE TABLE versions (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     bucket TEXT NOT NULL,
     key TEXT NOT NULL,
     version_id TEXT NOT NULL,
     delete_marker INTEGER NOT NULL,
     size INTEGER NOT NULL,
     etag TEXT NOT NULL,
     last_modified INTEGER NOT NULL,
     owner_id TEXT NOT NULL,
     headers TEXT NOT NULL,
     acl TEXT,
     checksum TEXT,
     blobs TEXT NOT NULL,
     tags TEXT,
     noncurrent_since INTEGER
   );
   CREATE UNIQUE INDEX versions_by_id ON versions (bucket, key, version_id);
   CREATE INDEX versions_by_key ON versions (bucket, key, seq DESC);
   CREATE INDEX versions_by_age ON versions (bucket, noncurrent_since);`,
  // Object Lock: the bucket's configuration (JSON; NULL: no Object Lock), the lock of each object
  // version (a row only while it has a retention period or a legal hold; removed with the
  // version), and the lock a multipart upload asked for, applied when it completes.
  `ALTER TABLE buckets ADD COLUMN object_lock TEXT;
   CREATE TABLE object_locks (
     bucket TEXT NOT NULL,
     key TEXT NOT NULL,
     version_id TEXT NOT NULL,
     mode TEXT,
     retain_until INTEGER,
     legal_hold INTEGER,
     PRIMARY KEY (bucket, key, version_id)
   ) WITHOUT ROWID;
   CREATE TABLE upload_locks (
     upload_id TEXT PRIMARY KEY,
     mode TEXT,
     retain_until INTEGER,
     legal_hold INTEGER
   ) WITHOUT ROWID;
   CREATE TRIGGER upload_locks_gone AFTER DELETE ON uploads BEGIN
     DELETE FROM upload_locks WHERE upload_id = OLD.id;
   END;`,
  // Lifecycle: the bucket's validated lifecycle configuration (JSON); NULL when none is set.
  `ALTER TABLE buckets ADD COLUMN lifecycle TEXT;`,
];

export function openDb(file: string): Db {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // FULL: a commit is on disk before we answer 200, so an acknowledged write survives a crash.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
