import type { Db } from './db.js';
import type { LifecycleConfig } from '../lifecycle/index.js';
import type { Acl, ObjectOwnership, PublicAccessBlock } from '../policy/index.js';
import type { Addon, BlobRef, BucketInfo, ObjectInfo, Tag, VersioningStatus } from '../types.js';

interface AddonRow {
  id: string;
  name: string;
  email: string;
  access_key: string;
  secret_key: string;
  created_at: number;
}
interface BucketRow {
  name: string;
  owner_id: string;
  region: string;
  created_at: number;
  acl: string;
  policy: string | null;
  cors: string | null;
  website: string | null;
  tags: string | null;
  public_access_block: string | null;
  ownership: string | null;
  lifecycle: string | null;
  versioning: string | null;
}
export interface ObjectRow {
  bucket: string;
  key: string;
  size: number;
  etag: string;
  last_modified: number;
  owner_id: string;
  headers: string;
  acl: string | null;
  checksum: string | null;
  blobs: string;
  tags: string | null;
  version_id: string;
}

const toAddon = (r: AddonRow): Addon => ({
  id: r.id,
  name: r.name,
  email: r.email,
  accessKeyId: r.access_key,
  secretAccessKey: r.secret_key,
  createdAt: new Date(r.created_at),
});
const toBucket = (r: BucketRow): BucketInfo => ({
  name: r.name,
  ownerId: r.owner_id,
  region: r.region,
  createdAt: new Date(r.created_at),
  acl: JSON.parse(r.acl) as Acl,
  policy: r.policy,
  cors: r.cors ? JSON.parse(r.cors) : null,
  website: r.website ? JSON.parse(r.website) : null,
  tags: r.tags ? (JSON.parse(r.tags) as Tag[]) : null,
  publicAccessBlock: r.public_access_block ? (JSON.parse(r.public_access_block) as PublicAccessBlock) : null,
  ownership: r.ownership as ObjectOwnership | null,
  lifecycle: r.lifecycle ? (JSON.parse(r.lifecycle) as LifecycleConfig) : null,
  versioning: r.versioning as VersioningStatus | null,
});
export const toObject = (r: ObjectRow): ObjectInfo => ({
  bucket: r.bucket,
  key: r.key,
  size: r.size,
  etag: r.etag,
  lastModified: new Date(r.last_modified),
  ownerId: r.owner_id,
  headers: JSON.parse(r.headers) as Record<string, string>,
  acl: r.acl ? (JSON.parse(r.acl) as Acl) : null,
  checksum: r.checksum ? (JSON.parse(r.checksum) as Record<string, string>) : null,
  blobs: JSON.parse(r.blobs) as BlobRef[],
  tags: r.tags ? (JSON.parse(r.tags) as Tag[]) : [],
  versionId: r.version_id,
});

/** The columns an object or version row stores, from its ObjectInfo (version_id included). */
export const objectColumns = (o: ObjectInfo) => ({
  bucket: o.bucket,
  key: o.key,
  size: o.size,
  etag: o.etag,
  last_modified: o.lastModified.getTime(),
  owner_id: o.ownerId,
  headers: JSON.stringify(o.headers),
  acl: o.acl ? JSON.stringify(o.acl) : null,
  checksum: o.checksum ? JSON.stringify(o.checksum) : null,
  blobs: JSON.stringify(o.blobs),
  tags: tagsColumn(o.tags),
  version_id: o.versionId,
});

/** A tag set as stored: empty sets are NULL, so "no tags" has one spelling. */
export const tagsColumn = (tags: readonly Tag[] | null | undefined): string | null =>
  tags && tags.length > 0 ? JSON.stringify(tags) : null;

/** All SQL lives here; statements are prepared once. */
export class MetaRepo {
  private readonly s;

  constructor(readonly db: Db) {
    this.s = {
      insertAddon: db.prepare(
        'INSERT INTO addons (id, name, email, access_key, secret_key, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      addonById: db.prepare<[string], AddonRow>('SELECT * FROM addons WHERE id = ?'),
      addonByKey: db.prepare<[string], AddonRow>('SELECT * FROM addons WHERE access_key = ?'),
      addonByEmail: db.prepare<[string], AddonRow>('SELECT * FROM addons WHERE email = ? COLLATE NOCASE'),
      allAddons: db.prepare<[], AddonRow>('SELECT * FROM addons ORDER BY created_at, id'),
      deleteAddon: db.prepare('DELETE FROM addons WHERE id = ?'),
      insertBucket: db.prepare(
        'INSERT INTO buckets (name, owner_id, region, created_at, acl, ownership) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      bucket: db.prepare<[string], BucketRow>('SELECT * FROM buckets WHERE name = ?'),
      bucketsOf: db.prepare<[string], BucketRow>('SELECT * FROM buckets WHERE owner_id = ? ORDER BY name'),
      bucketCount: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM buckets WHERE owner_id = ?'),
      deleteBucket: db.prepare('DELETE FROM buckets WHERE name = ?'),
      anyObject: db.prepare<[string, string], { one: number }>(
        'SELECT 1 AS one FROM objects WHERE bucket = ? UNION ALL SELECT 1 FROM versions WHERE bucket = ? LIMIT 1',
      ),
      setBucketVersioning: db.prepare('UPDATE buckets SET versioning = ? WHERE name = ?'),
      setBucketAcl: db.prepare('UPDATE buckets SET acl = ? WHERE name = ?'),
      setBucketPolicy: db.prepare('UPDATE buckets SET policy = ? WHERE name = ?'),
      setBucketCors: db.prepare('UPDATE buckets SET cors = ? WHERE name = ?'),
      setBucketWebsite: db.prepare('UPDATE buckets SET website = ? WHERE name = ?'),
      setBucketTags: db.prepare('UPDATE buckets SET tags = ? WHERE name = ?'),
      setBucketPublicAccessBlock: db.prepare('UPDATE buckets SET public_access_block = ? WHERE name = ?'),
      setBucketOwnership: db.prepare('UPDATE buckets SET ownership = ? WHERE name = ?'),
      setBucketLifecycle: db.prepare('UPDATE buckets SET lifecycle = ? WHERE name = ?'),
      object: db.prepare<[string, string], ObjectRow>('SELECT * FROM objects WHERE bucket = ? AND key = ?'),
      upsertObject: db.prepare(
        `INSERT INTO objects (bucket, key, size, etag, last_modified, owner_id, headers, acl, checksum, blobs, tags, version_id)
         VALUES (@bucket, @key, @size, @etag, @last_modified, @owner_id, @headers, @acl, @checksum, @blobs, @tags, @version_id)
         ON CONFLICT (bucket, key) DO UPDATE SET size = excluded.size, etag = excluded.etag, last_modified = excluded.last_modified,
           owner_id = excluded.owner_id, headers = excluded.headers, acl = excluded.acl, checksum = excluded.checksum, blobs = excluded.blobs,
           tags = excluded.tags, version_id = excluded.version_id`,
      ),
      deleteObject: db.prepare('DELETE FROM objects WHERE bucket = ? AND key = ?'),
      setObjectAcl: db.prepare('UPDATE objects SET acl = ? WHERE bucket = ? AND key = ?'),
      setObjectTags: db.prepare('UPDATE objects SET tags = ? WHERE bucket = ? AND key = ?'),
      listFrom: db.prepare<[string, string, string, number], ObjectRow>(
        'SELECT * FROM objects WHERE bucket = ? AND key > ? AND key >= ? ORDER BY key LIMIT ?',
      ),
      insertBlob: db.prepare('INSERT INTO blobs (id, size) VALUES (?, ?)'),
      deleteBlob: db.prepare('DELETE FROM blobs WHERE id = ?'),
      blobExists: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM blobs WHERE id = ?'),
      setAddonKeys: db.prepare('UPDATE addons SET access_key = ?, secret_key = ? WHERE id = ?'),
      bucketUsage: db.prepare<[string, string], { objects: number; bytes: number | null }>(
        `SELECT COUNT(*) AS objects, IFNULL(SUM(size), 0) + (SELECT IFNULL(SUM(size), 0) FROM versions WHERE bucket = ?) AS bytes
           FROM objects WHERE bucket = ?`,
      ),
      usageTotals: db.prepare<[], { objects: number; bytes: number | null; buckets: number }>(
        `SELECT (SELECT COUNT(*) FROM objects) AS objects,
                (SELECT IFNULL(SUM(size), 0) FROM objects) + (SELECT IFNULL(SUM(size), 0) FROM versions) AS bytes,
                (SELECT COUNT(*) FROM buckets) AS buckets`,
      ),
    };
  }

  insertAddon(a: Addon): void {
    this.s.insertAddon.run(a.id, a.name, a.email, a.accessKeyId, a.secretAccessKey, a.createdAt.getTime());
  }
  addonById(id: string): Addon | null {
    const r = this.s.addonById.get(id);
    return r ? toAddon(r) : null;
  }
  addonByAccessKey(key: string): Addon | null {
    const r = this.s.addonByKey.get(key);
    return r ? toAddon(r) : null;
  }
  addonByEmail(email: string): Addon | null {
    const r = this.s.addonByEmail.get(email);
    return r ? toAddon(r) : null;
  }
  allAddons(): Addon[] {
    return this.s.allAddons.all().map(toAddon);
  }
  setAddonKeys(id: string, accessKeyId: string, secretAccessKey: string): boolean {
    return this.s.setAddonKeys.run(accessKeyId, secretAccessKey, id).changes > 0;
  }
  bucketUsage(bucket: string): { objects: number; bytes: number } {
    const r = this.s.bucketUsage.get(bucket, bucket)!;
    return { objects: r.objects, bytes: r.bytes ?? 0 };
  }
  usageTotals(): { objects: number; bytes: number; buckets: number } {
    const r = this.s.usageTotals.get()!;
    return { objects: r.objects, bytes: r.bytes ?? 0, buckets: r.buckets };
  }
  deleteAddon(id: string): boolean {
    return this.s.deleteAddon.run(id).changes > 0;
  }
  bucketCountOf(ownerId: string): number {
    return this.s.bucketCount.get(ownerId)!.n;
  }

  insertBucket(b: Pick<BucketInfo, 'name' | 'ownerId' | 'region' | 'createdAt' | 'acl' | 'ownership'>): void {
    this.s.insertBucket.run(
      b.name,
      b.ownerId,
      b.region,
      b.createdAt.getTime(),
      JSON.stringify(b.acl),
      b.ownership ?? null,
    );
  }
  bucket(name: string): BucketInfo | null {
    const r = this.s.bucket.get(name);
    return r ? toBucket(r) : null;
  }
  bucketsOf(ownerId: string): BucketInfo[] {
    return this.s.bucketsOf.all(ownerId).map(toBucket);
  }
  bucketIsEmpty(name: string): boolean {
    return this.s.anyObject.get(name, name) === undefined;
  }
  deleteBucket(name: string): void {
    this.s.deleteBucket.run(name);
  }
  setBucketAcl(name: string, acl: Acl): void {
    this.s.setBucketAcl.run(JSON.stringify(acl), name);
  }
  setBucketPolicy(name: string, policy: string | null): void {
    this.s.setBucketPolicy.run(policy, name);
  }
  setBucketCors(name: string, cors: unknown): void {
    this.s.setBucketCors.run(cors === null ? null : JSON.stringify(cors), name);
  }
  setBucketWebsite(name: string, website: unknown): void {
    this.s.setBucketWebsite.run(website === null ? null : JSON.stringify(website), name);
  }
  setBucketTags(name: string, tags: readonly Tag[] | null): void {
    this.s.setBucketTags.run(tags === null ? null : JSON.stringify(tags), name);
  }
  setBucketPublicAccessBlock(name: string, pab: PublicAccessBlock | null): void {
    this.s.setBucketPublicAccessBlock.run(pab === null ? null : JSON.stringify(pab), name);
  }
  setBucketOwnership(name: string, ownership: ObjectOwnership | null): void {
    this.s.setBucketOwnership.run(ownership, name);
  }
  setBucketLifecycle(name: string, lifecycle: LifecycleConfig | null): void {
    this.s.setBucketLifecycle.run(lifecycle === null ? null : JSON.stringify(lifecycle), name);
  }
  setBucketVersioning(name: string, status: VersioningStatus): void {
    this.s.setBucketVersioning.run(status, name);
  }

  object(bucket: string, key: string): ObjectInfo | null {
    const r = this.s.object.get(bucket, key);
    return r ? toObject(r) : null;
  }
  upsertObject(o: ObjectInfo): void {
    this.s.upsertObject.run(objectColumns(o));
  }
  deleteObject(bucket: string, key: string): void {
    this.s.deleteObject.run(bucket, key);
  }
  setObjectAcl(bucket: string, key: string, acl: Acl): void {
    this.s.setObjectAcl.run(JSON.stringify(acl), bucket, key);
  }
  setObjectTags(bucket: string, key: string, tags: readonly Tag[]): void {
    this.s.setObjectTags.run(tagsColumn(tags), bucket, key);
  }
  /** Objects with key > `after` and key >= `from`, in key order. */
  listFrom(bucket: string, after: string, from: string, limit: number): ObjectInfo[] {
    return this.s.listFrom.all(bucket, after, from, limit).map(toObject);
  }

  insertBlob(b: BlobRef): void {
    this.s.insertBlob.run(b.id, b.size);
  }
  deleteBlob(id: string): void {
    this.s.deleteBlob.run(id);
  }
  blobExists(id: string): boolean {
    return this.s.blobExists.get(id) !== undefined;
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}
