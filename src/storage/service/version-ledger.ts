/**
 * The version history of a key, as AWS defines it
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/versioning-workflows.html): which
 * version a write or a delete makes current, which ones it keeps as noncurrent and which it
 * destroys. Every method runs inside the caller's transaction and returns the blobs it stopped
 * referencing (their `blobs` rows are already deleted), for the caller to remove once committed.
 */
import type { MetaRepo } from '../meta/repo.js';
import { CURRENT_SEQ, type StoredVersion, type VersionRepo } from '../meta/version-repo.js';
import type { BlobRef, BucketInfo, DeleteResult, ObjectInfo } from '../types.js';
import { newVersionId } from './ids.js';
import type { LockState } from '../lock/rules.js';
import type { ObjectLocks, RemovalOptions } from './object-lock.js';

export type NewObject = Omit<ObjectInfo, 'versionId'>;

export class VersionLedger {
  constructor(
    private readonly repo: MetaRepo,
    private readonly versions: VersionRepo,
    /** Asked before any version is destroyed: Object Lock may forbid it. */
    private readonly locks: ObjectLocks,
  ) {}

  /**
   * Makes `obj` the key's current version. Unversioned: it replaces the object. Enabled: it gets a
   * new version id and the previous current version becomes noncurrent. Suspended: it is the
   * `null` version, replacing any earlier `null` version, current or not
   * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/AddingObjectstoVersionSuspendedBuckets.html).
   */
  makeCurrent(
    bucket: BucketInfo,
    obj: NewObject,
    now: number,
    lock?: LockState,
  ): { object: ObjectInfo; freed: BlobRef[] } {
    const state = bucket.versioning ?? null;
    const object: ObjectInfo = { ...obj, versionId: state === 'Enabled' ? newVersionId() : 'null' };
    const freed = this.retireCurrent(bucket, obj.key, now);
    this.repo.upsertObject(object);
    this.locks.write(object, lock);
    return { object, freed };
  }

  /**
   * A DELETE without a version id. Unversioned: the object goes. Otherwise a delete marker becomes
   * current: with a new id when Enabled, as the `null` version (destroying the previous one) when
   * Suspended (https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeletingObjectVersions.html).
   * `changed`: whether anything happened (a missing key in an unversioned bucket is a no-op).
   */
  deleteCurrent(
    bucket: BucketInfo,
    key: string,
    ownerId: string,
    now: number,
    opts: RemovalOptions = {},
  ): { result: DeleteResult; freed: BlobRef[]; changed: boolean } {
    const state = bucket.versioning ?? null;
    if (state === null) {
      const old = this.repo.object(bucket.name, key);
      if (!old) return { result: { deleteMarker: false, versionId: null }, freed: [], changed: false };
      this.destroying(old, opts);
      this.repo.deleteObject(bucket.name, key);
      return { result: { deleteMarker: false, versionId: null }, freed: this.free(old.blobs), changed: true };
    }
    const freed = this.retireCurrent(bucket, key, now);
    this.repo.deleteObject(bucket.name, key);
    const versionId = state === 'Enabled' ? newVersionId() : 'null';
    const marker: ObjectInfo = {
      bucket: bucket.name,
      key,
      size: 0,
      etag: '',
      lastModified: new Date(now),
      ownerId,
      headers: {},
      acl: null,
      checksum: null,
      blobs: [],
      tags: [],
      versionId,
    };
    this.versions.insert(marker, true, null);
    return { result: { deleteMarker: true, versionId }, freed, changed: true };
  }

  /**
   * Destroys one version (object or delete marker). When it was the current one, the next newest
   * becomes current. Null when the key has no such version.
   */
  deleteVersion(
    bucket: BucketInfo,
    key: string,
    versionId: string,
    opts: RemovalOptions = {},
  ): { result: DeleteResult; freed: BlobRef[] } | null {
    const current = this.repo.object(bucket.name, key);
    if (current && current.versionId === versionId) {
      this.destroying(current, opts);
      this.repo.deleteObject(bucket.name, key);
      const freed = this.free(current.blobs);
      this.promoteNewest(bucket.name, key);
      return { result: { deleteMarker: false, versionId }, freed };
    }
    const v = this.versions.byId(bucket.name, key, versionId);
    if (!v) return null;
    this.destroying(v, opts);
    this.versions.remove(v.seq);
    const freed = this.free(v.blobs);
    if (v.isLatest) this.promoteNewest(bucket.name, key);
    return { result: { deleteMarker: v.deleteMarker, versionId }, freed };
  }

  /** The version `versionId` of the key, current or not, object or delete marker. */
  find(bucket: string, key: string, versionId: string): StoredVersion | null {
    const current = this.repo.object(bucket, key);
    if (current && current.versionId === versionId)
      return { ...current, seq: CURRENT_SEQ, deleteMarker: false, isLatest: true, noncurrentSince: null };
    return this.versions.byId(bucket, key, versionId);
  }

  /** The key's current version when it is a delete marker; null when it is an object or there is none. */
  currentMarker(bucket: string, key: string): StoredVersion | null {
    if (this.repo.object(bucket, key)) return null;
    const latest = this.versions.latest(bucket, key);
    return latest?.isLatest ? latest : null;
  }

  /**
   * Takes the current version (object or delete marker) out of the current position before a new
   * one arrives: kept as noncurrent in a versioned bucket, destroyed when it is the `null` version
   * being replaced (suspended) or the only one (unversioned). A suspended bucket also loses its
   * noncurrent `null` version, if any. The `objects` row itself is left for the caller.
   */
  private retireCurrent(bucket: BucketInfo, key: string, now: number): BlobRef[] {
    const state = bucket.versioning ?? null;
    const freed: BlobRef[] = [];
    const old = this.repo.object(bucket.name, key);
    if (old) {
      if (state === null || (state === 'Suspended' && old.versionId === 'null')) {
        this.destroying(old);
        freed.push(...this.free(old.blobs));
      } else this.versions.insert(old, false, now);
    } else {
      const marker = this.currentMarker(bucket.name, key);
      if (marker && state === 'Suspended' && marker.versionId === 'null') this.versions.remove(marker.seq);
      else if (marker) this.versions.setNoncurrent(marker.seq, now);
    }
    if (state === 'Suspended') {
      const nullVersion = this.versions.byId(bucket.name, key, 'null');
      if (nullVersion) {
        this.destroying(nullVersion);
        this.versions.remove(nullVersion.seq);
        freed.push(...this.free(nullVersion.blobs));
      }
    }
    return freed;
  }

  /** After the current version was destroyed: the newest remaining one becomes current. */
  private promoteNewest(bucket: string, key: string): void {
    const next = this.versions.latest(bucket, key);
    if (!next) return;
    if (next.deleteMarker) {
      this.versions.setNoncurrent(next.seq, null);
      return;
    }
    this.versions.remove(next.seq);
    this.repo.upsertObject(next);
  }

  /**
   * Every destruction of a version passes here: Object Lock's one decision (AccessDenied while the
   * version is locked), then its lock row goes with it. Overwrites never bypass governance.
   */
  private destroying(v: Pick<ObjectInfo, 'bucket' | 'key' | 'versionId'>, opts: RemovalOptions = {}): void {
    const ref = { bucket: v.bucket, key: v.key, versionId: v.versionId };
    this.locks.assertRemovable(ref, opts);
    this.locks.forget(ref);
  }

  private free(blobs: BlobRef[]): BlobRef[] {
    for (const b of blobs) this.repo.deleteBlob(b.id);
    return blobs;
  }
}
