import type { Db } from './db.js';
import type { ChecksumAlgorithm } from '../checksum/index.js';
import type { Acl } from '../policy/index.js';
import type { Tag } from '../types.js';
import { tagsColumn } from './repo.js';

/** How a multipart object's checksum is formed (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html). */
export type ChecksumType = 'COMPOSITE' | 'FULL_OBJECT';

export interface UploadInfo {
  id: string;
  bucket: string;
  key: string;
  /** The initiator, who also owns the object the upload produces. */
  ownerId: string;
  initiated: Date;
  /** Stored headers for the object, as ObjectInfo.headers. */
  headers: Record<string, string>;
  acl: Acl | null;
  checksumAlgorithm: ChecksumAlgorithm | null;
  checksumType: ChecksumType | null;
  /** x-amz-tagging of CreateMultipartUpload: the tags the object gets when the upload completes. */
  tags?: Tag[];
}

export interface PartInfo {
  partNumber: number;
  blobId: string;
  size: number;
  /** Hex MD5 of the part, without quotes. */
  etag: string;
  /** Base64 digests by algorithm, e.g. { CRC32: 'AAAAAA==' }. */
  checksum: Record<string, string> | null;
  lastModified: Date;
}

export interface CompletedUpload {
  id: string;
  bucket: string;
  key: string;
  /** The first blob of the object the upload produced: blob ids are never reused, so it identifies that object. */
  firstBlob: string;
  completed: Date;
}

interface UploadRow {
  id: string;
  bucket: string;
  key: string;
  owner_id: string;
  initiated: number;
  headers: string;
  acl: string | null;
  checksum_algorithm: string | null;
  checksum_type: string | null;
  tags: string | null;
}
interface PartRow {
  upload_id: string;
  part_number: number;
  blob_id: string;
  size: number;
  etag: string;
  checksum: string | null;
  last_modified: number;
}
interface CompletedRow {
  id: string;
  bucket: string;
  key: string;
  first_blob: string;
  completed: number;
}

const toUpload = (r: UploadRow): UploadInfo => ({
  id: r.id,
  bucket: r.bucket,
  key: r.key,
  ownerId: r.owner_id,
  initiated: new Date(r.initiated),
  headers: JSON.parse(r.headers) as Record<string, string>,
  acl: r.acl ? (JSON.parse(r.acl) as Acl) : null,
  checksumAlgorithm: r.checksum_algorithm as ChecksumAlgorithm | null,
  checksumType: r.checksum_type as ChecksumType | null,
  tags: r.tags ? (JSON.parse(r.tags) as Tag[]) : [],
});
const toPart = (r: PartRow): PartInfo => ({
  partNumber: r.part_number,
  blobId: r.blob_id,
  size: r.size,
  etag: r.etag,
  checksum: r.checksum ? (JSON.parse(r.checksum) as Record<string, string>) : null,
  lastModified: new Date(r.last_modified),
});

/** The SQL of multipart uploads; it shares the connection (and so the transactions) of MetaRepo. */
export class MultipartRepo {
  private readonly s;

  constructor(db: Db) {
    this.s = {
      insertUpload: db.prepare(
        `INSERT INTO uploads (id, bucket, key, owner_id, initiated, headers, acl, checksum_algorithm, checksum_type, tags)
         VALUES (@id, @bucket, @key, @owner_id, @initiated, @headers, @acl, @checksum_algorithm, @checksum_type, @tags)`,
      ),
      upload: db.prepare<[string], UploadRow>('SELECT * FROM uploads WHERE id = ?'),
      deleteUpload: db.prepare('DELETE FROM uploads WHERE id = ?'),
      uploadsBefore: db.prepare<[number], { id: string }>('SELECT id FROM uploads WHERE initiated < ?'),
      uploadsIn: db.prepare<[string], { id: string }>('SELECT id FROM uploads WHERE bucket = ?'),
      // Row values compare lexicographically: exactly the (key, initiated, id) order S3 lists uploads in.
      listUploads: db.prepare<[string, string, number, string, string, number], UploadRow>(
        `SELECT * FROM uploads WHERE bucket = ? AND (key, initiated, id) > (?, ?, ?) AND key >= ?
         ORDER BY key, initiated, id LIMIT ?`,
      ),
      upsertPart: db.prepare(
        `INSERT INTO parts (upload_id, part_number, blob_id, size, etag, checksum, last_modified)
         VALUES (@upload_id, @part_number, @blob_id, @size, @etag, @checksum, @last_modified)
         ON CONFLICT (upload_id, part_number) DO UPDATE SET blob_id = excluded.blob_id, size = excluded.size,
           etag = excluded.etag, checksum = excluded.checksum, last_modified = excluded.last_modified`,
      ),
      part: db.prepare<[string, number], PartRow>('SELECT * FROM parts WHERE upload_id = ? AND part_number = ?'),
      parts: db.prepare<[string], PartRow>('SELECT * FROM parts WHERE upload_id = ? ORDER BY part_number'),
      partsAfter: db.prepare<[string, number, number], PartRow>(
        'SELECT * FROM parts WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?',
      ),
      deleteParts: db.prepare('DELETE FROM parts WHERE upload_id = ?'),
      insertCompleted: db.prepare(
        'INSERT OR REPLACE INTO completed_uploads (id, bucket, key, first_blob, completed) VALUES (?, ?, ?, ?, ?)',
      ),
      completed: db.prepare<[string], CompletedRow>('SELECT * FROM completed_uploads WHERE id = ?'),
      deleteCompletedBefore: db.prepare('DELETE FROM completed_uploads WHERE completed < ?'),
      deleteCompletedIn: db.prepare('DELETE FROM completed_uploads WHERE bucket = ?'),
    };
  }

  insertUpload(u: UploadInfo): void {
    this.s.insertUpload.run({
      id: u.id,
      bucket: u.bucket,
      key: u.key,
      owner_id: u.ownerId,
      initiated: u.initiated.getTime(),
      headers: JSON.stringify(u.headers),
      acl: u.acl ? JSON.stringify(u.acl) : null,
      checksum_algorithm: u.checksumAlgorithm,
      checksum_type: u.checksumType,
      tags: tagsColumn(u.tags),
    });
  }
  upload(id: string): UploadInfo | null {
    const r = this.s.upload.get(id);
    return r ? toUpload(r) : null;
  }
  deleteUpload(id: string): void {
    this.s.deleteUpload.run(id);
  }
  uploadIdsInitiatedBefore(ms: number): string[] {
    return this.s.uploadsBefore.all(ms).map((r) => r.id);
  }
  uploadIdsIn(bucket: string): string[] {
    return this.s.uploadsIn.all(bucket).map((r) => r.id);
  }
  /** Uploads after the (key, initiated, id) cursor with key >= `fromKey`, in listing order. */
  listUploads(
    bucket: string,
    after: { key: string; initiated: number; id: string },
    fromKey: string,
    limit: number,
  ): UploadInfo[] {
    return this.s.listUploads.all(bucket, after.key, after.initiated, after.id, fromKey, limit).map(toUpload);
  }

  upsertPart(uploadId: string, p: PartInfo): void {
    this.s.upsertPart.run({
      upload_id: uploadId,
      part_number: p.partNumber,
      blob_id: p.blobId,
      size: p.size,
      etag: p.etag,
      checksum: p.checksum ? JSON.stringify(p.checksum) : null,
      last_modified: p.lastModified.getTime(),
    });
  }
  part(uploadId: string, partNumber: number): PartInfo | null {
    const r = this.s.part.get(uploadId, partNumber);
    return r ? toPart(r) : null;
  }
  parts(uploadId: string): PartInfo[] {
    return this.s.parts.all(uploadId).map(toPart);
  }
  partsAfter(uploadId: string, partNumber: number, limit: number): PartInfo[] {
    return this.s.partsAfter.all(uploadId, partNumber, limit).map(toPart);
  }
  deleteParts(uploadId: string): void {
    this.s.deleteParts.run(uploadId);
  }

  insertCompleted(c: CompletedUpload): void {
    this.s.insertCompleted.run(c.id, c.bucket, c.key, c.firstBlob, c.completed.getTime());
  }
  completed(id: string): CompletedUpload | null {
    const r = this.s.completed.get(id);
    return r
      ? { id: r.id, bucket: r.bucket, key: r.key, firstBlob: r.first_blob, completed: new Date(r.completed) }
      : null;
  }
  deleteCompletedBefore(ms: number): void {
    this.s.deleteCompletedBefore.run(ms);
  }
  deleteCompletedIn(bucket: string): void {
    this.s.deleteCompletedIn.run(bucket);
  }
}
