import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { asStorageFull } from '../blobs/space.js';
import { BlobStore, type ByteObserver } from '../blobs/store.js';
import { StorageError } from '../errors.js';
import { openDb } from '../meta/db.js';
import { LifecycleRepo, type ScannedObject, type ScannedVersion } from '../meta/lifecycle-repo.js';
import { MetaRepo } from '../meta/repo.js';
import {
  DEFAULT_DAY_MS,
  objectExpiration,
  type LifecycleConfig,
  type ScheduledExpiration,
} from '../lifecycle/index.js';
import { LockRepo } from '../meta/lock-repo.js';
import type { LockState } from '../lock/rules.js';
import { CURRENT_SEQ, VersionRepo } from '../meta/version-repo.js';
import { cannedAcl, type Acl, type ObjectOwnership, type PublicAccessBlock } from '../policy/index.js';
import type { CorsRule } from '../cors/index.js';
import type { WebsiteConfig } from '../website/index.js';
import type {
  Addon,
  BlobRef,
  BucketInfo,
  ChangeEvent,
  DeleteResult,
  ObjectInfo,
  Tag,
  VersionInfo,
  VersioningStatus,
} from '../types.js';
import { newAccessKeyId, newAddonId, newSecretKey } from './ids.js';
import { GroupCommit } from './group-commit.js';
import { checkWritePrecondition, type WritePrecondition } from './precondition.js';
import { listPage, type ListPage, type ListQuery } from './listing.js';
import { LifecycleWorker, type LifecycleRunResult } from './lifecycle-worker.js';
import { MultipartUploads } from './multipart.js';
import { ObjectLocks, type RemovalOptions } from './object-lock.js';
import { assertBucketName, assertObjectKey } from './names.js';
import { openObjectStream, type ByteRange } from './reader.js';
import { listVersionsPage, type VersionListPage, type VersionListQuery } from './version-listing.js';
import { VersionLedger, type NewObject } from './version-ledger.js';

export interface StorageOptions {
  dataDir: string;
  maxObjectSize: number;
  /** Unreferenced blobs younger than this are left alone: they may belong to a write in flight. */
  gcGraceMs: number;
  /**
   * Collect unreferenced files on open (default). Only the serving process may: another
   * process (the CLI) cannot know which writes the server has in flight.
   */
  collectOnOpen?: boolean;
  /** Multipart uploads initiated longer ago than this are aborted by the collector (default 7 days). */
  multipartMaxAgeMs?: number;
  /** Free bytes on the data volume below which new object bytes are refused (default 0: none). */
  minFreeBytes?: number;
  /** Told how long each metadata commit (one SQLite transaction, fsync included) took, in seconds. */
  onCommit?: (seconds: number) => void;
  /** Length of a lifecycle "day" in milliseconds (default 86,400,000; tests use seconds). */
  lifecycleDayMs?: number;
  /** Rows the lifecycle worker reads, and at most removes, per transaction (default 200). */
  lifecycleBatchSize?: number;
}

export interface PutObjectInput {
  bucket: string;
  key: string;
  ownerId: string;
  body: Readable;
  headers: Record<string, string>;
  acl: Acl | null;
  /** Content-MD5 (base64) and x-amz-content-sha256 (hex) to verify the body against. */
  expectedMd5Base64?: string;
  expectedSha256Hex?: string;
  observers?: ByteObserver[];
  /**
   * Runs once the bytes are durable and the digests match, before the object becomes visible:
   * verifies what only the caller can (e.g. trailing checksums) and returns the checksums to store.
   */
  verify?: () => Record<string, string> | null;
  /** Checked before the body is read and again, atomically, in the commit transaction. */
  precondition?: WritePrecondition;
  /** The new object's tag set (x-amz-tagging); none replaces any previous tags with none. */
  tags?: Tag[];
  /** The new version's Object Lock retention and legal hold, written in its commit. */
  lock?: LockState;
}

export interface CopyObjectInput {
  source: ObjectInfo;
  bucket: string;
  key: string;
  ownerId: string;
  headers: Record<string, string>;
  acl: Acl | null;
  /** On the destination key, checked in the commit transaction. */
  precondition?: WritePrecondition;
  /** The copy's tag set: the source's (tagging directive COPY) or the request's (REPLACE). */
  tags?: Tag[];
  /** The new version's Object Lock retention and legal hold, written in its commit. */
  lock?: LockState;
}

export interface CreateAddonInput {
  name?: string;
  email?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
}

/**
 * The storage engine: buckets, objects and add-ons over SQLite metadata and blob files.
 * Every mutation commits metadata only after the bytes are durable, then announces itself on
 * `events` so caches can drop what changed.
 */
export class Storage {
  readonly events = new EventEmitter<{ change: [ChangeEvent] }>();
  readonly multipart: MultipartUploads;
  readonly locks: ObjectLocks;
  private readonly repo: MetaRepo;
  private readonly blobs: BlobStore;
  private readonly commits: GroupCommit;
  private readonly lifecycle: LifecycleWorker;
  private readonly lifecycleRepo: LifecycleRepo;
  private readonly versions: VersionRepo;
  private readonly ledger: VersionLedger;
  private gcRunning = false;
  /** Blob files changed before this moment cannot be part of a write of this process. */
  private readonly openedAt = Date.now();
  private closed = false;

  private constructor(
    private readonly opts: StorageOptions,
    repo: MetaRepo,
    blobs: BlobStore,
  ) {
    this.repo = repo;
    this.blobs = blobs;
    this.versions = new VersionRepo(repo.db);
    this.locks = new ObjectLocks(
      new LockRepo(repo.db),
      (fn) => repo.transaction(fn),
      (v) => {
        const found = this.ledger.find(v.bucket, v.key, v.versionId);
        return found !== null && !found.deleteMarker;
      },
    );
    this.ledger = new VersionLedger(repo, this.versions, this.locks);
    const onCommit = opts.onCommit;
    this.commits = new GroupCommit(
      onCommit === undefined
        ? (fn) => repo.transaction(fn)
        : (fn) => {
            // Only the outermost transaction commits; nested ones are savepoints.
            if (repo.db.inTransaction) return repo.transaction(fn);
            const t0 = performance.now();
            try {
              return repo.transaction(fn);
            } finally {
              onCommit((performance.now() - t0) / 1000);
            }
          },
    );
    this.multipart = new MultipartUploads(repo, blobs, this.ledger, (e) => this.emit(e), {
      maxPartSize: opts.maxObjectSize,
      maxAgeMs: opts.multipartMaxAgeMs,
    });
    this.lifecycleRepo = new LifecycleRepo(repo.db);
    this.lifecycle = new LifecycleWorker(
      this.lifecycleRepo,
      {
        expireCurrent: (bucket, objects) => this.expireCurrent(bucket, objects),
        expireVersions: (bucket, versions) => this.expireVersions(bucket, versions),
        removeLoneMarkers: (bucket, markers) => this.removeLoneMarkers(bucket, markers),
        abortUpload: (bucket, key, id) =>
          this.multipart.abort(bucket, key, id).then(
            () => true,
            (e: unknown) => {
              if (e instanceof StorageError && e.code === 'NoSuchUpload') return false;
              throw e;
            },
          ),
        closed: () => this.closed,
      },
      { dayMs: this.lifecycleDayMs, batchSize: opts.lifecycleBatchSize },
    );
  }

  /** The length of a lifecycle day this store applies rules with. */
  get lifecycleDayMs(): number {
    return this.opts.lifecycleDayMs ?? DEFAULT_DAY_MS;
  }

  static async open(opts: StorageOptions): Promise<Storage> {
    mkdirSync(opts.dataDir, { recursive: true });
    const blobs = new BlobStore(opts.dataDir, opts.minFreeBytes);
    await blobs.init();
    const repo = new MetaRepo(openDb(path.join(opts.dataDir, 'meta.db')));
    const s = new Storage(opts, repo, blobs);
    if (opts.collectOnOpen !== false) {
      // Temp files are only ever half-written bodies of a previous run: cheap to clear now.
      await blobs.clearTmp(0);
      // Sweeping blobs/ visits every object file (42 s for a million here), so it runs behind
      // the listener; files older than this store cannot belong to a write of ours in flight.
      s.initialCollection = s.collectGarbage();
      // Observed by main.ts; marked handled here so a store closed mid-sweep cannot crash the process.
      s.initialCollection.catch(() => undefined);
    }
    return s;
  }

  /** The sweep started by open(), for callers that want to wait for or report it. */
  initialCollection: Promise<{ tmp: number; blobs: number; uploads: number }> = Promise.resolve({
    tmp: 0,
    blobs: 0,
    uploads: 0,
  });

  close(): void {
    this.closed = true;
    this.commits.flush();
    this.repo.db.close();
    this.blobs.close();
  }

  // ---- add-ons -------------------------------------------------------------------------

  createAddon(input: CreateAddonInput = {}): Addon {
    if ((input.accessKeyId === undefined) !== (input.secretAccessKey === undefined)) {
      throw new StorageError('InvalidArgument', 'access key and secret key go together');
    }
    if (input.accessKeyId !== undefined && !/^[A-Za-z0-9]{3,128}$/.test(input.accessKeyId)) {
      throw new StorageError('InvalidArgument', 'access key must be 3-128 letters or digits');
    }
    if (input.secretAccessKey !== undefined && input.secretAccessKey.length < 8) {
      throw new StorageError('InvalidArgument', 'secret key must be at least 8 characters');
    }
    const id = newAddonId();
    const addon: Addon = {
      id,
      name: input.name ?? id,
      email: input.email ?? '',
      accessKeyId: input.accessKeyId ?? newAccessKeyId(),
      secretAccessKey: input.secretAccessKey ?? newSecretKey(),
      createdAt: new Date(),
    };
    if (this.repo.addonByAccessKey(addon.accessKeyId))
      throw new StorageError('InvalidArgument', 'access key already in use');
    this.repo.insertAddon(addon);
    return addon;
  }

  listAddons(): Addon[] {
    return this.repo.allAddons();
  }

  addon(id: string): Addon | null {
    return this.repo.addonById(id);
  }

  addonByAccessKey(accessKeyId: string): Addon | null {
    return this.repo.addonByAccessKey(accessKeyId);
  }

  addonByEmail(email: string): Addon | null {
    return this.repo.addonByEmail(email);
  }

  /** New keys for an add-on; the old ones stop working at once. */
  rotateAddonKeys(id: string): Addon {
    const accessKeyId = newAccessKeyId();
    const secretAccessKey = newSecretKey();
    if (!this.repo.setAddonKeys(id, accessKeyId, secretAccessKey))
      throw new StorageError('InvalidArgument', `no add-on ${id}`);
    return this.repo.addonById(id)!;
  }

  /**
   * Current objects in a bucket, and the bytes of every version it stores, noncurrent ones
   * included (the bytes clients see, before any deduplication): what the disk holds for the
   * bucket, and what AWS bills a versioned bucket for
   * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html: "Normal Amazon S3 rates
   * apply for every version of an object stored"). Delete markers are not objects and hold no bytes.
   */
  bucketUsage(name: string): { objects: number; bytes: number } {
    this.requireBucket(name);
    return this.repo.bucketUsage(name);
  }

  /** Current objects, bytes of every stored version, and buckets in the whole store. */
  usageTotals(): { objects: number; bytes: number; buckets: number } {
    return this.repo.usageTotals();
  }

  /** Refused while the add-on owns buckets: its data would become unreachable. */
  deleteAddon(id: string): void {
    if (!this.repo.addonById(id)) throw new StorageError('InvalidArgument', `no add-on ${id}`);
    if (this.repo.bucketCountOf(id) > 0)
      throw new StorageError('BucketNotEmpty', `add-on ${id} still owns buckets; delete them first`);
    this.repo.deleteAddon(id);
  }

  // ---- buckets -------------------------------------------------------------------------

  /** `ownership`: CreateBucket's x-amz-object-ownership, when given. */
  createBucket(
    owner: Addon,
    name: string,
    region: string,
    acl: Acl | null,
    ownership: ObjectOwnership | null = null,
  ): BucketInfo {
    assertBucketName(name);
    const ownerRef = { id: owner.id, displayName: owner.name };
    return this.repo.transaction(() => {
      const existing = this.repo.bucket(name);
      if (existing) {
        if (existing.ownerId === owner.id)
          throw new StorageError(
            'BucketAlreadyOwnedByYou',
            'Your previous request to create the named bucket succeeded and you already own it.',
            { BucketName: name },
          );
        throw new StorageError(
          'BucketAlreadyExists',
          'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.',
          { BucketName: name },
        );
      }
      const info = {
        name,
        ownerId: owner.id,
        region,
        createdAt: new Date(),
        acl: acl ?? cannedAcl('private', ownerRef, ownerRef),
        ownership,
      };
      this.repo.insertBucket(info);
      this.emit({ type: 'bucket', bucket: name, what: 'created' });
      return this.repo.bucket(name)!;
    });
  }

  bucket(name: string): BucketInfo | null {
    return this.repo.bucket(name);
  }

  requireBucket(name: string): BucketInfo {
    const b = this.repo.bucket(name);
    if (!b) throw new StorageError('NoSuchBucket', 'The specified bucket does not exist', { BucketName: name });
    return b;
  }

  bucketsOf(ownerId: string): BucketInfo[] {
    return this.repo.bucketsOf(ownerId);
  }

  /** Uploads in progress do not keep a bucket alive: they are aborted with it, as on AWS. */
  deleteBucket(name: string): void {
    const parts = this.repo.transaction(() => {
      this.requireBucket(name);
      if (!this.repo.bucketIsEmpty(name))
        throw new StorageError('BucketNotEmpty', 'The bucket you tried to delete is not empty', { BucketName: name });
      this.repo.deleteBucket(name);
      this.locks.forgetBucket(name);
      return this.multipart.dropBucketUploads(name);
    });
    this.emit({ type: 'bucket', bucket: name, what: 'deleted' });
    void this.removeBlobs(parts.map((id) => ({ id, size: 0 })));
  }

  setBucketAcl(name: string, acl: Acl): void {
    this.requireBucket(name);
    this.repo.setBucketAcl(name, acl);
    this.emit({ type: 'bucket', bucket: name, what: 'acl' });
  }

  setBucketPolicy(name: string, policy: string | null): void {
    this.requireBucket(name);
    this.repo.setBucketPolicy(name, policy);
    this.emit({ type: 'bucket', bucket: name, what: 'policy' });
  }

  setBucketCors(name: string, cors: CorsRule[] | null): void {
    this.requireBucket(name);
    this.repo.setBucketCors(name, cors);
    this.emit({ type: 'bucket', bucket: name, what: 'cors' });
  }

  setBucketWebsite(name: string, website: WebsiteConfig | null): void {
    this.requireBucket(name);
    this.repo.setBucketWebsite(name, website);
    this.emit({ type: 'bucket', bucket: name, what: 'website' });
  }

  /** The bucket's PublicAccessBlock configuration; null deletes it. */
  setBucketPublicAccessBlock(name: string, pab: PublicAccessBlock | null): void {
    this.requireBucket(name);
    this.repo.setBucketPublicAccessBlock(name, pab);
    this.emit({ type: 'bucket', bucket: name, what: 'publicAccessBlock' });
  }

  /** The bucket's ObjectOwnership setting; null deletes the OwnershipControls. */
  setBucketOwnership(name: string, ownership: ObjectOwnership | null): void {
    this.requireBucket(name);
    this.repo.setBucketOwnership(name, ownership);
    this.emit({ type: 'bucket', bucket: name, what: 'ownership' });
  }

  /** The bucket's lifecycle configuration, already validated; null deletes it. Read per request: no event. */
  setBucketLifecycle(name: string, lifecycle: LifecycleConfig | null): void {
    this.requireBucket(name);
    this.repo.setBucketLifecycle(name, lifecycle);
  }

  /** When the bucket's lifecycle rules expire this current object, and by which rule (x-amz-expiration). */
  objectExpiration(bucket: BucketInfo, obj: ObjectInfo): ScheduledExpiration | null {
    return objectExpiration(bucket.lifecycle, obj, this.lifecycleDayMs);
  }

  /**
   * Turns versioning on ('Enabled') or suspends it; a bucket once versioned never returns to
   * unversioned (https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html). Reads
   * always look the state up afresh: no event. A bucket with Object Lock stays Enabled
   * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-configure.html).
   */
  setBucketVersioning(name: string, status: VersioningStatus): void {
    this.repo.transaction(() => {
      this.requireBucket(name);
      if (status !== 'Enabled' && this.locks.config(name) !== null)
        throw new StorageError(
          'InvalidBucketState',
          'An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.',
          { BucketName: name },
        );
      this.repo.setBucketVersioning(name, status);
    });
  }

  /** Replaces the bucket's tag set; null removes it (nothing caches bucket tags: no event). */
  setBucketTags(name: string, tags: Tag[] | null): void {
    this.requireBucket(name);
    this.repo.setBucketTags(name, tags);
  }

  // ---- objects -------------------------------------------------------------------------

  /**
   * The current object (null when the key is missing or its current version is a delete marker),
   * or with `versionId` that version, null when it is missing or a delete marker.
   */
  headObject(bucket: string, key: string, versionId?: string | null): ObjectInfo | null {
    if (versionId === undefined || versionId === null) return this.repo.object(bucket, key);
    const v = this.ledger.find(bucket, key, versionId);
    return v && !v.deleteMarker ? stripVersion(v) : null;
  }

  /** One version of a key, object or delete marker, current or not; null when there is no such version. */
  objectVersion(bucket: string, key: string, versionId: string): VersionInfo | null {
    const v = this.ledger.find(bucket, key, versionId);
    return v ? stripSeq(v) : null;
  }

  /** The key's current version when it is a delete marker (reads then answer 404 with the marker's id). */
  currentDeleteMarker(bucket: string, key: string): VersionInfo | null {
    const v = this.ledger.currentMarker(bucket, key);
    return v ? stripSeq(v) : null;
  }

  requireObject(bucket: string, key: string): ObjectInfo {
    const o = this.repo.object(bucket, key);
    if (!o) throw new StorageError('NoSuchKey', 'The specified key does not exist.', { Key: key });
    return o;
  }

  openObject(info: ObjectInfo, range: ByteRange | null): Promise<Readable> {
    return openObjectStream(info.blobs, (id) => this.blobs.pathOf(id), range);
  }

  async putObject(input: PutObjectInput): Promise<ObjectInfo> {
    assertObjectKey(input.key);
    // Fail before the body is read when the answer is already known; the commit checks again.
    if (input.precondition)
      checkWritePrecondition(this.repo.object(input.bucket, input.key), input.key, input.precondition);
    const md5 = createHash('md5');
    const sha256 = input.expectedSha256Hex ? createHash('sha256') : null;
    const observers: ByteObserver[] = [
      (c) => md5.update(c),
      ...(sha256 ? [(c: Buffer) => sha256.update(c)] : []),
      ...(input.observers ?? []),
    ];
    const blob = await this.blobs.write(input.body, observers, this.opts.maxObjectSize);
    const md5Digest = md5.digest();
    let checksum: Record<string, string> | null = null;
    try {
      if (input.expectedMd5Base64 !== undefined && md5Digest.toString('base64') !== input.expectedMd5Base64) {
        throw new StorageError('BadDigest', 'The Content-MD5 you specified did not match what we received.');
      }
      if (sha256 && sha256.digest('hex') !== input.expectedSha256Hex) {
        throw new StorageError(
          'XAmzContentSHA256Mismatch',
          "The provided 'x-amz-content-sha256' header does not match what was computed.",
        );
      }
      checksum = input.verify ? input.verify() : null;
    } catch (e) {
      await this.blobs.remove(blob.id);
      throw e;
    }
    return this.commitObject(
      {
        bucket: input.bucket,
        key: input.key,
        size: blob.size,
        etag: md5Digest.toString('hex'),
        lastModified: new Date(),
        ownerId: input.ownerId,
        headers: input.headers,
        acl: input.acl,
        checksum,
        blobs: [blob],
        tags: input.tags ?? [],
      },
      input.precondition,
      input.lock,
    );
  }

  async copyObject(input: CopyObjectInput): Promise<ObjectInfo> {
    assertObjectKey(input.key);
    if (input.precondition)
      checkWritePrecondition(this.repo.object(input.bucket, input.key), input.key, input.precondition);
    const cloned: BlobRef[] = [];
    try {
      for (const b of input.source.blobs) cloned.push({ ...b, id: await this.blobs.clone(b.id) });
    } catch (e) {
      await Promise.all(cloned.map((b) => this.blobs.remove(b.id)));
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        throw new StorageError('NoSuchKey', 'The specified key does not exist.', { Key: input.source.key });
      throw e;
    }
    return this.commitObject(
      {
        bucket: input.bucket,
        key: input.key,
        size: input.source.size,
        etag: input.source.etag,
        lastModified: new Date(),
        ownerId: input.ownerId,
        headers: input.headers,
        acl: input.acl,
        checksum: input.source.checksum,
        blobs: cloned,
        tags: input.tags ?? [],
      },
      input.precondition,
      input.lock,
    );
  }

  /**
   * Makes `obj` visible in one transaction (shared with the commits ready in the same turn, see
   * GroupCommit), replacing any previous version, then frees the old bytes. The precondition is
   * checked inside the transaction, so of two racing conditional writers exactly one wins.
   */
  private async commitObject(
    obj: NewObject,
    precondition: WritePrecondition | undefined,
    lock: LockState | undefined,
  ): Promise<ObjectInfo> {
    let done: { object: ObjectInfo; freed: BlobRef[] };
    try {
      done = await this.commits.run(() => {
        const bucket = this.requireBucket(obj.bucket);
        // A current delete marker is no object: If-None-Match: * succeeds over it, If-Match fails.
        checkWritePrecondition(this.repo.object(obj.bucket, obj.key), obj.key, precondition);
        for (const b of obj.blobs) this.repo.insertBlob(b);
        return this.ledger.makeCurrent(bucket, obj, Date.now(), lock);
      });
    } catch (e) {
      await Promise.all(obj.blobs.map((b) => this.blobs.remove(b.id)));
      throw asStorageFull(e);
    }
    this.blobs.settle(obj.blobs.map((b) => b.id));
    this.emit({ type: 'object', bucket: obj.bucket, key: obj.key });
    await this.removeBlobs(done.freed);
    return done.object;
  }

  /**
   * DeleteObject without a version id: removes the object of an unversioned bucket (a missing key
   * succeeds, as on S3), or makes a delete marker current in a versioned one (owned by `ownerId`,
   * the bucket owner by default). Lifecycle expiration of current objects is this call. Removing
   * a version under Object Lock is AccessDenied (`opts`: the governance bypass).
   */
  async deleteObject(bucket: string, key: string, ownerId?: string, opts: RemovalOptions = {}): Promise<DeleteResult> {
    const done = this.repo.transaction(() => {
      const b = this.requireBucket(bucket);
      return this.ledger.deleteCurrent(b, key, ownerId ?? b.ownerId, Date.now(), opts);
    });
    if (done.changed) this.emit({ type: 'object', bucket, key });
    await this.removeBlobs(done.freed);
    return done.result;
  }

  /**
   * Destroys one version, object or delete marker, freeing its bytes; when it was current, the
   * next newest version becomes current. Null when the key has no such version (S3 answers a
   * DELETE of it with success all the same).
   */
  async deleteObjectVersion(
    bucket: string,
    key: string,
    versionId: string,
    opts: RemovalOptions = {},
  ): Promise<DeleteResult | null> {
    const done = this.repo.transaction(() => {
      const b = this.requireBucket(bucket);
      return this.ledger.deleteVersion(b, key, versionId, opts);
    });
    if (done === null) return null;
    this.emit({ type: 'object', bucket, key });
    await this.removeBlobs(done.freed);
    return done.result;
  }

  /** Sets the ACL of the current object, or of version `versionId` (NoSuchKey / NoSuchVersion when missing). */
  setObjectAcl(bucket: string, key: string, acl: Acl, versionId?: string | null): void {
    this.repo.transaction(() => {
      const v = this.requireTarget(bucket, key, versionId);
      if (v.seq === null) this.repo.setObjectAcl(bucket, key, acl);
      else this.versions.setAcl(v.seq, acl);
    });
    this.emit({ type: 'object', bucket, key });
  }

  /**
   * Replaces the tag set of the current object, or of version `versionId` (an empty list removes
   * every tag), leaving its bytes, ETag and Last-Modified alone. The event matters: a policy may
   * read object tags.
   */
  setObjectTags(bucket: string, key: string, tags: Tag[], versionId?: string | null): ObjectInfo {
    const updated = this.repo.transaction(() => {
      this.requireBucket(bucket);
      const v = this.requireTarget(bucket, key, versionId);
      if (v.seq === null) this.repo.setObjectTags(bucket, key, tags);
      else this.versions.setTags(v.seq, tags);
      return { ...v.object, tags };
    });
    this.emit({ type: 'object', bucket, key });
    return updated;
  }

  /** The object a per-version operation acts on; seq null for the current object's row. */
  private requireTarget(
    bucket: string,
    key: string,
    versionId: string | null | undefined,
  ): { object: ObjectInfo; seq: number | null } {
    if (versionId === undefined || versionId === null) return { object: this.requireObject(bucket, key), seq: null };
    const v = this.ledger.find(bucket, key, versionId);
    if (!v || v.deleteMarker)
      throw new StorageError('NoSuchVersion', 'The specified version does not exist.', {
        Key: key,
        VersionId: versionId,
      });
    return { object: stripVersion(v), seq: v.seq === CURRENT_SEQ ? null : v.seq };
  }

  listObjects(bucket: string, q: ListQuery): ListPage<ObjectInfo> {
    return listPage((after, from, limit) => this.repo.listFrom(bucket, after, from, limit), q);
  }

  /** ListObjectVersions: every version and delete marker, keys in order, each key's newest first. */
  listObjectVersions(bucket: string, q: VersionListQuery): VersionListPage {
    return this.repo.transaction(() =>
      listVersionsPage(
        (start, afterKey, afterSeq, limit) => this.versions.listFrom(bucket, start, afterKey, afterSeq, limit),
        q,
        (key, versionId) => this.ledger.find(bucket, key, versionId)?.seq ?? null,
      ),
    );
  }

  // ---- maintenance ---------------------------------------------------------------------

  /**
   * Aborts abandoned multipart uploads, then removes temp files and blob files no metadata names
   * that are older than `graceMs` or than this store. Stops early when the store is closed.
   */
  async collectGarbage(
    graceMs: number = this.opts.gcGraceMs,
  ): Promise<{ tmp: number; blobs: number; uploads: number }> {
    if (this.gcRunning) return { tmp: 0, blobs: 0, uploads: 0 };
    this.gcRunning = true;
    try {
      const uploads = await this.multipart.expire();
      const tmp = await this.blobs.clearTmp(graceMs);
      let blobs = 0;
      const now = Date.now();
      for await (const f of this.blobs.list()) {
        if (this.closed) break;
        const old = f.changedMs < this.openedAt || now - f.changedMs >= graceMs;
        // Unsettled first: a blob is settled only after the metadata naming it is committed.
        if (old && !this.blobs.isUnsettled(f.id) && !this.repo.blobExists(f.id)) {
          await this.blobs.remove(f.id);
          blobs++;
        }
      }
      return { tmp, blobs, uploads };
    } finally {
      this.gcRunning = false;
    }
  }

  /** One pass of the lifecycle rules over every bucket that has some; see LifecycleWorker. */
  applyLifecycle(now: number = Date.now()): Promise<LifecycleRunResult> {
    return this.lifecycle.run(now);
  }

  /**
   * Lifecycle expiration of current objects, in one transaction: each goes as a DELETE without a
   * version id would take it (a delete marker in a versioned bucket), and only if it is still the
   * object that was scanned (same ETag and time), so a write that replaced it wins.
   */
  private async expireCurrent(bucket: string, objects: ScannedObject[]): Promise<number> {
    return this.lifecycleBatch(bucket, (b, now) =>
      objects.flatMap((o) => {
        const cur = this.repo.object(bucket, o.key);
        if (!cur || cur.etag !== o.etag || cur.lastModified.getTime() !== o.lastModified.getTime()) return [];
        // A delete marker destroys nothing, so Object Lock never stands in its way (object-lock.html).
        return [{ key: o.key, freed: this.ledger.deleteCurrent(b, o.key, b.ownerId, now).freed }];
      }),
    );
  }

  /** NoncurrentVersionExpiration: destroys these versions, except those Object Lock protects. */
  private async expireVersions(bucket: string, versions: ScannedVersion[]): Promise<number> {
    return this.lifecycleBatch(bucket, (b) =>
      versions.flatMap((v) => {
        if (!this.lifecycleMayRemoveVersion(bucket, v.key, v.versionId)) return [];
        const done = this.ledger.deleteVersion(b, v.key, v.versionId);
        return done === null ? [] : [{ key: v.key, freed: done.freed }];
      }),
    );
  }

  /** ExpiredObjectDeleteMarker: a current delete marker goes once it is the only version of its key. */
  private async removeLoneMarkers(bucket: string, markers: ScannedVersion[]): Promise<number> {
    return this.lifecycleBatch(bucket, (b) =>
      markers.flatMap((m) => {
        const alone =
          this.ledger.currentMarker(bucket, m.key)?.versionId === m.versionId &&
          this.lifecycleRepo.versionCount(bucket, m.key) === 1;
        if (!alone || !this.lifecycleMayRemoveVersion(bucket, m.key, m.versionId)) return [];
        const done = this.ledger.deleteVersion(b, m.key, m.versionId);
        return done === null ? [] : [{ key: m.key, freed: done.freed }];
      }),
    );
  }

  /**
   * Lifecycle never destroys a version Object Lock protects and never bypasses governance mode
   * (userguide/object-lock.html): such a version is skipped and judged again on the next pass.
   */
  private lifecycleMayRemoveVersion(bucket: string, key: string, versionId: string): boolean {
    return this.locks.mayRemove({ bucket, key, versionId }).allowed;
  }

  /** One lifecycle transaction over a bucket; announces the changed keys and frees the bytes after the commit. */
  private async lifecycleBatch(
    bucket: string,
    fn: (b: BucketInfo, now: number) => { key: string; freed: BlobRef[] }[],
  ): Promise<number> {
    const done = this.repo.transaction(() => {
      const b = this.repo.bucket(bucket);
      return b === null ? [] : fn(b, Date.now());
    });
    for (const key of new Set(done.map((d) => d.key))) this.emit({ type: 'object', bucket, key });
    await this.removeBlobs(done.flatMap((d) => d.freed));
    return done.length;
  }

  private async removeBlobs(list: BlobRef[]): Promise<void> {
    // A failure here only leaves an orphan for the collector; the write itself has succeeded.
    await Promise.all(list.map((b) => this.blobs.remove(b.id).catch(() => undefined)));
  }

  private emit(e: ChangeEvent): void {
    this.events.emit('change', e);
  }
}

function stripSeq<T extends { seq: number }>(v: T): Omit<T, 'seq'> {
  const { seq: _seq, ...rest } = v;
  return rest;
}

function stripVersion(v: VersionInfo & { seq?: number }): ObjectInfo {
  const { seq: _seq, deleteMarker: _m, isLatest: _l, noncurrentSince: _n, ...rest } = v;
  return rest;
}
