/**
 * Object Lock over the metadata: the bucket configuration, each version's retention and legal
 * hold, and the one decision every removal path asks before a version goes (DELETE with a
 * version, DeleteObjects, an overwrite of the null version, lifecycle expiration).
 */
import { StorageError } from '../errors.js';
import {
  NO_LOCK,
  removalBlock,
  retentionChangeBlock,
  type LockBlock,
  type LockState,
  type ObjectLockConfig,
  type Retention,
} from '../lock/rules.js';
import type { LockRepo, RequestedLock } from '../meta/lock-repo.js';

/** One object version. */
export interface VersionRef {
  bucket: string;
  key: string;
  versionId: string;
}

export interface RemovalOptions {
  /**
   * The request carried x-amz-bypass-governance-retention: true and the caller holds
   * s3:BypassGovernanceRetention (the edge decides both).
   */
  bypassGovernance?: boolean;
}

/** Why a removal was refused, or null when the version may go now. */
export type RemovalDecision = { allowed: true } | { allowed: false; reason: LockBlock };

const lockedError = (): StorageError =>
  new StorageError('AccessDenied', 'Access Denied because object protected by object lock.');

export class ObjectLocks {
  constructor(
    private readonly repo: LockRepo,
    private readonly transaction: <T>(fn: () => T) => T,
    /** Whether the version exists (checked in the same transaction as the change). */
    private readonly versionExists: (v: VersionRef) => boolean,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Runs `fn` in one transaction (e.g. creating a bucket and enabling its Object Lock). */
  atomically<T>(fn: () => T): T {
    return this.transaction(fn);
  }

  /** The bucket's Object Lock configuration; null when the bucket has no Object Lock. */
  config(bucket: string): ObjectLockConfig | null {
    return this.repo.config(bucket);
  }

  /** Stores the configuration (enabling Object Lock is for good: there is no way back). */
  setConfig(bucket: string, config: ObjectLockConfig): void {
    this.repo.setConfig(bucket, config);
  }

  /** The version's retention and legal hold (none: no row). */
  lock(v: VersionRef): LockState {
    return this.repo.lock(v.bucket, v.key, v.versionId);
  }

  /**
   * May this version be removed now, and if not, why. Every path that removes or overwrites a
   * version asks this, so the rule lives in one place.
   */
  mayRemove(v: VersionRef, opts: RemovalOptions = {}): RemovalDecision {
    const block = removalBlock(this.lock(v), this.now(), opts.bypassGovernance === true);
    return block === null ? { allowed: true } : { allowed: false, reason: block };
  }

  /** mayRemove() as AWS answers a refused DELETE: 403 AccessDenied. Call inside the removing transaction. */
  assertRemovable(v: VersionRef, opts: RemovalOptions = {}): void {
    if (!this.mayRemove(v, opts).allowed) throw lockedError();
  }

  /**
   * PutObjectRetention: a new retention period (null removes it), refused with AccessDenied when
   * it would shorten or weaken one in force (governance: unless bypassed).
   */
  setRetention(v: VersionRef, retention: Retention | null, opts: RemovalOptions = {}): void {
    this.transaction(() => {
      this.requireVersion(v);
      const current = this.lock(v);
      if (retentionChangeBlock(current.retention, retention, this.now(), opts.bypassGovernance === true) !== null)
        throw lockedError();
      this.repo.setLock(v.bucket, v.key, v.versionId, { ...current, retention });
    });
  }

  /** PutObjectLegalHold: ON or OFF, whatever the retention. */
  setLegalHold(v: VersionRef, on: boolean): void {
    this.transaction(() => {
      this.requireVersion(v);
      this.repo.setLock(v.bucket, v.key, v.versionId, { ...this.lock(v), legalHold: on });
    });
  }

  /** The lock a multipart upload asked for at its creation, to apply when it completes. */
  uploadLock(uploadId: string): RequestedLock | null {
    return this.repo.uploadLock(uploadId);
  }

  setUploadLock(uploadId: string, lock: RequestedLock): void {
    if (lock.retention === null && lock.legalHold === null) return;
    this.repo.setUploadLock(uploadId, lock);
  }

  // ---- for the storage engine, inside its transactions ---------------------------------

  /** Records the lock of a version being created. */
  write(v: VersionRef, state: LockState | undefined): void {
    this.repo.setLock(v.bucket, v.key, v.versionId, state ?? NO_LOCK);
  }

  /** Forgets the lock of a version being removed. */
  forget(v: VersionRef): void {
    this.repo.forget(v.bucket, v.key, v.versionId);
  }

  /** Forgets every lock row of a bucket being deleted (an empty bucket has none; this keeps none stale). */
  forgetBucket(bucket: string): void {
    this.repo.forgetBucket(bucket);
  }

  private requireVersion(v: VersionRef): void {
    if (!this.versionExists(v))
      throw new StorageError('NoSuchKey', 'The specified key does not exist.', { Key: v.key });
  }
}
