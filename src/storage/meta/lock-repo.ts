import type { Db } from './db.js';
import type { LockState, ObjectLockConfig, RetentionMode } from '../lock/rules.js';

interface LockRow {
  mode: string | null;
  retain_until: number | null;
  legal_hold: number | null;
}

/** An upload's requested lock: each part null when the request did not name it. */
export type RequestedLock = LockState;

const toState = (r: LockRow | undefined): LockState => ({
  retention:
    r?.mode && r.retain_until !== null
      ? { mode: r.mode as RetentionMode, retainUntil: new Date(r.retain_until) }
      : null,
  legalHold: r === undefined || r.legal_hold === null ? null : r.legal_hold === 1,
});

/** The SQL of Object Lock: the bucket column and the per-version and per-upload tables. */
export class LockRepo {
  private readonly s;

  constructor(db: Db) {
    this.s = {
      config: db.prepare<[string], { object_lock: string | null }>('SELECT object_lock FROM buckets WHERE name = ?'),
      setConfig: db.prepare('UPDATE buckets SET object_lock = ? WHERE name = ?'),
      lock: db.prepare<[string, string, string], LockRow>(
        'SELECT mode, retain_until, legal_hold FROM object_locks WHERE bucket = ? AND key = ? AND version_id = ?',
      ),
      upsert: db.prepare(
        `INSERT INTO object_locks (bucket, key, version_id, mode, retain_until, legal_hold) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (bucket, key, version_id) DO UPDATE SET mode = excluded.mode, retain_until = excluded.retain_until,
           legal_hold = excluded.legal_hold`,
      ),
      forget: db.prepare('DELETE FROM object_locks WHERE bucket = ? AND key = ? AND version_id = ?'),
      forgetBucket: db.prepare('DELETE FROM object_locks WHERE bucket = ?'),
      uploadLock: db.prepare<[string], LockRow>(
        'SELECT mode, retain_until, legal_hold FROM upload_locks WHERE upload_id = ?',
      ),
      setUploadLock: db.prepare(
        'INSERT INTO upload_locks (upload_id, mode, retain_until, legal_hold) VALUES (?, ?, ?, ?)',
      ),
    };
  }

  config(bucket: string): ObjectLockConfig | null {
    const raw = this.s.config.get(bucket)?.object_lock;
    return raw ? (JSON.parse(raw) as ObjectLockConfig) : null;
  }
  setConfig(bucket: string, config: ObjectLockConfig): void {
    this.s.setConfig.run(JSON.stringify(config), bucket);
  }

  lock(bucket: string, key: string, versionId: string): LockState {
    return toState(this.s.lock.get(bucket, key, versionId));
  }
  /** Stores a version's lock; a version with neither retention nor legal hold keeps no row. */
  setLock(bucket: string, key: string, versionId: string, state: LockState): void {
    if (state.retention === null && state.legalHold === null) {
      this.s.forget.run(bucket, key, versionId);
      return;
    }
    this.s.upsert.run(
      bucket,
      key,
      versionId,
      state.retention?.mode ?? null,
      state.retention?.retainUntil.getTime() ?? null,
      state.legalHold === null ? null : state.legalHold ? 1 : 0,
    );
  }
  forget(bucket: string, key: string, versionId: string): void {
    this.s.forget.run(bucket, key, versionId);
  }
  forgetBucket(bucket: string): void {
    this.s.forgetBucket.run(bucket);
  }

  uploadLock(uploadId: string): RequestedLock | null {
    const r = this.s.uploadLock.get(uploadId);
    return r ? toState(r) : null;
  }
  setUploadLock(uploadId: string, lock: RequestedLock): void {
    this.s.setUploadLock.run(
      uploadId,
      lock.retention?.mode ?? null,
      lock.retention?.retainUntil.getTime() ?? null,
      lock.legalHold === null ? null : lock.legalHold ? 1 : 0,
    );
  }
}
