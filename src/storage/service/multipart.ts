/**
 * Multipart uploads (https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html).
 * Each part is a durable blob recorded with its blob row in one transaction; completion turns
 * the chosen parts' blobs into the object's blob list in one transaction, copying no bytes.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { BlobStore, ByteObserver } from '../blobs/store.js';
import {
  checksumMismatchError,
  combineFullObjectCrc,
  compositeChecksum,
  createChecksummer,
  isCrcAlgorithm,
  type ChecksumAlgorithm,
} from '../checksum/index.js';
import { StorageError } from '../errors.js';
import type { MetaRepo } from '../meta/repo.js';
import { MultipartRepo, type ChecksumType, type PartInfo, type UploadInfo } from '../meta/multipart-repo.js';
import type { Acl } from '../policy/index.js';
import type { BucketInfo, ChangeEvent, ObjectInfo, Tag } from '../types.js';
import { assertObjectKey } from './names.js';
import type { LockState } from '../lock/rules.js';
import { checkWritePrecondition, type WritePrecondition } from './precondition.js';
import { listUploadsPage, type UploadListPage, type UploadListQuery } from './multipart-listing.js';
import { openObjectStream, type ByteRange } from './reader.js';
import type { NewObject, VersionLedger } from './version-ledger.js';

export type { ChecksumType, PartInfo, UploadInfo, UploadListPage, UploadListQuery };

/** https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html */
export const MAX_PART_NUMBER = 10_000;
export const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_MULTIPART_OBJECT_SIZE = 5 * 1024 ** 4;
const DEFAULT_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

export interface MultipartOptions {
  /** Largest part (AWS: 5 GiB). */
  maxPartSize: number;
  /** Uploads initiated longer ago than this are aborted by the collector. */
  maxAgeMs?: number;
}

export interface CreateUploadInput {
  bucket: string;
  key: string;
  ownerId: string;
  headers: Record<string, string>;
  acl: Acl | null;
  checksumAlgorithm: ChecksumAlgorithm | null;
  checksumType: ChecksumType | null;
  /** Applied to the object on completion. */
  tags?: Tag[];
}

interface PartTarget {
  bucket: string;
  key: string;
  uploadId: string;
  partNumber: number;
}

export interface UploadPartInput extends PartTarget {
  body: Readable;
  expectedMd5Base64?: string;
  expectedSha256Hex?: string;
  observers?: ByteObserver[];
  /** As PutObjectInput.verify: checks what only the caller can and returns the client's checksums. */
  verify?: () => Record<string, string> | null;
}

export interface CopyPartInput extends PartTarget {
  source: ObjectInfo;
  range: ByteRange | null;
}

export interface CompletePart {
  partNumber: number;
  etag: string;
  /** Checksums the client lists for the part, by algorithm. */
  checksum: Record<string, string>;
}

export interface CompleteInput {
  bucket: string;
  key: string;
  uploadId: string;
  parts: CompletePart[];
  /** x-amz-checksum-type of the Complete request, if sent. */
  checksumType?: string;
  /** An x-amz-checksum-<alg> header of the Complete request: the whole object's checksum. */
  checksum?: { algorithm: ChecksumAlgorithm; value: string };
  /** x-amz-mp-object-size, if sent. */
  objectSize?: number;
  /** If-Match / If-None-Match on the key, checked in the completing transaction. */
  precondition?: WritePrecondition;
  /** The object's owner and ACL when not the initiator's (the bucket's Object Ownership may give it to the bucket owner). */
  owner?: { ownerId: string; acl: Acl | null };
  /** The new version's Object Lock retention and legal hold, written in its commit. */
  lock?: LockState;
}

export interface CompleteResult {
  object: ObjectInfo;
  /** True when the upload had already been completed into this very object (a retried request). */
  repeated: boolean;
}

export interface PartsPage {
  upload: UploadInfo;
  parts: PartInfo[];
  isTruncated: boolean;
}

/** The checksum type of an object's stored checksum: composite values end in `-<parts>`. */
export function checksumTypeOf(value: string): ChecksumType {
  return /-\d+$/.test(value) ? 'COMPOSITE' : 'FULL_OBJECT';
}

const noSuchUpload = (uploadId: string) =>
  new StorageError(
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    { UploadId: uploadId },
  );

export class MultipartUploads {
  private readonly meta: MultipartRepo;

  constructor(
    private readonly repo: MetaRepo,
    private readonly blobs: BlobStore,
    private readonly ledger: VersionLedger,
    private readonly emit: (e: ChangeEvent) => void,
    private readonly opts: MultipartOptions,
  ) {
    this.meta = new MultipartRepo(repo.db);
  }

  create(input: CreateUploadInput): UploadInfo {
    assertObjectKey(input.key);
    const upload: UploadInfo = { ...input, id: randomBytes(16).toString('hex'), initiated: new Date() };
    this.repo.transaction(() => {
      this.requireBucket(input.bucket);
      this.meta.insertUpload(upload);
    });
    return upload;
  }

  /** The upload with this id, whichever object it is for (authorization asks who initiated it). */
  findUpload(uploadId: string): UploadInfo | null {
    return this.meta.upload(uploadId);
  }

  requireUpload(bucket: string, key: string, uploadId: string): UploadInfo {
    this.requireBucket(bucket);
    const u = this.meta.upload(uploadId);
    if (!u || u.bucket !== bucket || u.key !== key) throw noSuchUpload(uploadId);
    return u;
  }

  async uploadPart(input: UploadPartInput): Promise<PartInfo> {
    return this.writePart(input, input.body, input);
  }

  /** UploadPartCopy: streams `range` of the source object into a new part. */
  async copyPart(input: CopyPartInput): Promise<PartInfo> {
    this.requireUpload(input.bucket, input.key, input.uploadId);
    try {
      const body = await openObjectStream(input.source.blobs, (id) => this.blobs.pathOf(id), input.range);
      return await this.writePart(input, body, {});
    } catch (e) {
      // The source was replaced or deleted while we read it.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        throw new StorageError('NoSuchKey', 'The specified key does not exist.', { Key: input.source.key });
      throw e;
    }
  }

  private async writePart(
    t: PartTarget,
    body: Readable,
    v: Omit<UploadPartInput, keyof PartTarget | 'body'>,
  ): Promise<PartInfo> {
    assertPartNumber(t.partNumber);
    const upload = this.requireUpload(t.bucket, t.key, t.uploadId);
    const md5 = createHash('md5');
    const sha256 = v.expectedSha256Hex ? createHash('sha256') : null;
    // The upload's algorithm is computed here whatever the client sends, so that every part has
    // the digest completion needs even when the client only checksummed the transfer.
    const own = upload.checksumAlgorithm ? createChecksummer(upload.checksumAlgorithm) : null;
    const observers: ByteObserver[] = [(c) => md5.update(c), ...(v.observers ?? [])];
    if (sha256) observers.push((c) => sha256.update(c));
    if (own) observers.push((c) => own.update(c));
    const blob = await this.blobs.write(body, observers, this.opts.maxPartSize);
    const etag = md5.digest('hex');
    let part: PartInfo;
    let replaced: string | null = null;
    try {
      if (v.expectedMd5Base64 !== undefined && Buffer.from(etag, 'hex').toString('base64') !== v.expectedMd5Base64) {
        throw new StorageError('BadDigest', 'The Content-MD5 you specified did not match what we received.');
      }
      if (sha256 && sha256.digest('hex') !== v.expectedSha256Hex) {
        throw new StorageError(
          'XAmzContentSHA256Mismatch',
          "The provided 'x-amz-content-sha256' header does not match what was computed.",
        );
      }
      const sent = v.verify ? v.verify() : null;
      part = {
        partNumber: t.partNumber,
        blobId: blob.id,
        size: blob.size,
        etag,
        checksum: partChecksum(upload, own?.digestBase64(), sent),
        lastModified: new Date(),
      };
      this.repo.transaction(() => {
        // Aborted, expired or completed while the bytes were streaming.
        if (!this.meta.upload(upload.id)) throw noSuchUpload(upload.id);
        const old = this.meta.part(upload.id, t.partNumber);
        this.repo.insertBlob({ id: blob.id, size: blob.size });
        this.meta.upsertPart(upload.id, part);
        if (old) {
          this.repo.deleteBlob(old.blobId);
          replaced = old.blobId;
        }
      });
    } catch (e) {
      await this.blobs.remove(blob.id);
      throw e;
    }
    this.blobs.settle([blob.id]);
    await this.removeBlobs(replaced === null ? [] : [replaced]);
    return part;
  }

  /**
   * CompleteMultipartUpload: validates the list, then in one transaction makes the object from
   * the listed parts' blobs, frees unlisted parts and the replaced object, and forgets the upload.
   */
  async complete(input: CompleteInput): Promise<CompleteResult> {
    let previous = 0;
    for (const p of input.parts) {
      assertPartNumber(p.partNumber);
      if (p.partNumber <= previous) {
        throw new StorageError(
          'InvalidPartOrder',
          'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
          { UploadId: input.uploadId },
        );
      }
      previous = p.partNumber;
    }
    let freed: string[] = [];
    const result = this.repo.transaction((): CompleteResult => {
      const bucket = this.requireBucket(input.bucket);
      const upload = this.meta.upload(input.uploadId);
      if (!upload || upload.bucket !== input.bucket || upload.key !== input.key)
        return { object: this.completedBefore(input), repeated: true };
      const stored = new Map(this.meta.parts(upload.id).map((p) => [p.partNumber, p]));
      const chosen = input.parts.map((p) => checkListedPart(upload, stored.get(p.partNumber), p));
      chosen.forEach((p, i) => {
        if (i < chosen.length - 1 && p.size < MIN_PART_SIZE) {
          throw new StorageError('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size', {
            UploadId: upload.id,
            PartNumber: String(p.partNumber),
            ETag: input.parts[i]!.etag,
            ProposedSize: String(p.size),
            MinSizeAllowed: String(MIN_PART_SIZE),
          });
        }
      });
      const size = chosen.reduce((n, p) => n + p.size, 0);
      if (size > MAX_MULTIPART_OBJECT_SIZE)
        throw new StorageError('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
      if (input.objectSize !== undefined && input.objectSize !== size) {
        throw new StorageError(
          'InvalidRequest',
          `The provided 'x-amz-mp-object-size' header value ${input.objectSize} does not match what was computed: ${size}`,
        );
      }
      const etagMd5 = createHash('md5');
      for (const p of chosen) etagMd5.update(Buffer.from(p.etag, 'hex'));
      const fresh: NewObject = {
        bucket: upload.bucket,
        key: upload.key,
        size,
        etag: `${etagMd5.digest('hex')}-${chosen.length}`,
        lastModified: new Date(),
        ownerId: input.owner?.ownerId ?? upload.ownerId,
        headers: upload.headers,
        acl: input.owner ? input.owner.acl : upload.acl,
        checksum: objectChecksum(upload, chosen, input),
        // Part checksums stay with the object: GetObjectAttributes lists them.
        blobs: chosen.map((p) => ({ id: p.blobId, size: p.size, ...(p.checksum ? { checksum: p.checksum } : {}) })),
        tags: upload.tags ?? [],
      };
      // A failed precondition rolls back and leaves the upload in place, so it can be retried.
      checkWritePrecondition(this.repo.object(upload.bucket, upload.key), upload.key, input.precondition);
      const made = this.ledger.makeCurrent(bucket, fresh, fresh.lastModified.getTime(), input.lock);
      const object = made.object;
      const kept = new Set(chosen.map((p) => p.blobId));
      const unlisted = [...stored.values()].map((p) => p.blobId).filter((id) => !kept.has(id));
      for (const id of unlisted) this.repo.deleteBlob(id);
      freed = [...made.freed.map((b) => b.id), ...unlisted];
      this.meta.deleteParts(upload.id);
      this.meta.deleteUpload(upload.id);
      this.meta.insertCompleted({
        id: upload.id,
        bucket: upload.bucket,
        key: upload.key,
        firstBlob: chosen[0]!.blobId,
        completed: object.lastModified,
      });
      return { object, repeated: false };
    });
    if (!result.repeated) this.emit({ type: 'object', bucket: input.bucket, key: input.key });
    await this.removeBlobs(freed);
    return result;
  }

  /**
   * A completed upload completed again succeeds with the same result while the key still holds
   * the object it produced; otherwise the upload is gone (NoSuchUpload), as on AWS.
   */
  private completedBefore(input: CompleteInput): ObjectInfo {
    const done = this.meta.completed(input.uploadId);
    const current =
      done && done.bucket === input.bucket && done.key === input.key ? this.repo.object(input.bucket, input.key) : null;
    if (!current || current.blobs[0]?.id !== done!.firstBlob) throw noSuchUpload(input.uploadId);
    return current;
  }

  async abort(bucket: string, key: string, uploadId: string): Promise<void> {
    const freed = this.repo.transaction(() => {
      this.requireUpload(bucket, key, uploadId);
      return this.dropUpload(uploadId);
    });
    await this.removeBlobs(freed);
  }

  /** ListParts: parts after `partNumberMarker`, at most `maxParts`. */
  listParts(bucket: string, key: string, uploadId: string, partNumberMarker: number, maxParts: number): PartsPage {
    return this.repo.transaction(() => {
      const upload = this.requireUpload(bucket, key, uploadId);
      const rows = maxParts > 0 ? this.meta.partsAfter(uploadId, partNumberMarker, maxParts + 1) : [];
      return { upload, parts: rows.slice(0, maxParts), isTruncated: rows.length > maxParts };
    });
  }

  listUploads(bucket: string, q: UploadListQuery): UploadListPage {
    return this.repo.transaction(() => {
      this.requireBucket(bucket);
      return listUploadsPage(this.meta, bucket, q);
    });
  }

  /** Forgets every upload of a bucket being deleted; runs inside the caller's transaction. Returns the blobs to remove. */
  dropBucketUploads(bucket: string): string[] {
    this.meta.deleteCompletedIn(bucket);
    return this.meta.uploadIdsIn(bucket).flatMap((id) => this.dropUpload(id));
  }

  /** Aborts uploads initiated more than maxAgeMs before `now`; returns how many. */
  async expire(now: number = Date.now()): Promise<number> {
    const cutoff = now - (this.opts.maxAgeMs ?? DEFAULT_MAX_AGE_MS);
    const { count, freed } = this.repo.transaction(() => {
      const ids = this.meta.uploadIdsInitiatedBefore(cutoff);
      this.meta.deleteCompletedBefore(cutoff);
      return { count: ids.length, freed: ids.flatMap((id) => this.dropUpload(id)) };
    });
    await this.removeBlobs(freed);
    return count;
  }

  private dropUpload(uploadId: string): string[] {
    const blobs = this.meta.parts(uploadId).map((p) => p.blobId);
    for (const id of blobs) this.repo.deleteBlob(id);
    this.meta.deleteParts(uploadId);
    this.meta.deleteUpload(uploadId);
    return blobs;
  }

  private requireBucket(name: string): BucketInfo {
    const b = this.repo.bucket(name);
    if (!b) throw new StorageError('NoSuchBucket', 'The specified bucket does not exist', { BucketName: name });
    return b;
  }

  private async removeBlobs(ids: string[]): Promise<void> {
    // A failure only leaves an orphan file for the collector; the metadata is already right.
    await Promise.all(ids.map((id) => this.blobs.remove(id).catch(() => undefined)));
  }
}

function assertPartNumber(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_PART_NUMBER) {
    throw new StorageError(
      'InvalidArgument',
      `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`,
      { ArgumentName: 'partNumber', ArgumentValue: String(n) },
    );
  }
}

/** The checksums stored with a part: the upload's algorithm (computed here), else what the client sent. */
function partChecksum(
  upload: UploadInfo,
  computed: string | undefined,
  sent: Record<string, string> | null,
): Record<string, string> | null {
  const alg = upload.checksumAlgorithm;
  if (!alg) {
    // DEVIATION: AWS refuses a part checksum when the upload named no algorithm ("Checksum Type
    // mismatch occurred, expected checksum Type: null"); SDKs on default integrity settings send
    // one anyway, so it is verified (by the caller) and kept.
    return sent;
  }
  for (const [other, value] of Object.entries(sent ?? {})) {
    if (other !== alg) {
      throw new StorageError(
        'InvalidRequest',
        `Checksum Type mismatch occurred, expected checksum Type: ${alg.toLowerCase()}, actual checksum Type: ${other.toLowerCase()}`,
      );
    }
    if (value !== computed) throw checksumMismatchError(alg);
  }
  // DEVIATION: AWS refuses a part without a checksum in a COMPOSITE upload; we compute it.
  return { [alg]: computed! };
}

/** The stored part a Complete request lists, after AWS's checks (InvalidPart, part checksums). */
function checkListedPart(upload: UploadInfo, stored: PartInfo | undefined, listed: CompletePart): PartInfo {
  const etag = listed.etag.trim().replace(/^"(.*)"$/, '$1');
  const details = { UploadId: upload.id, PartNumber: String(listed.partNumber), ETag: listed.etag };
  if (!stored || stored.etag !== etag) {
    throw new StorageError(
      'InvalidPart',
      "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
      details,
    );
  }
  for (const [alg, value] of Object.entries(listed.checksum)) {
    if (stored.checksum?.[alg] !== value) {
      throw new StorageError(
        'InvalidPart',
        `The ${alg} checksum you specified for part ${listed.partNumber} did not match what was uploaded.`,
        details,
      );
    }
  }
  const alg = upload.checksumAlgorithm;
  if (alg && upload.checksumType === 'COMPOSITE' && listed.checksum[alg] === undefined) {
    throw new StorageError(
      'InvalidRequest',
      `The upload was created using a ${alg.toLowerCase()} checksum. The complete request must include the checksum for each part. It was missing for part ${listed.partNumber} in the request.`,
    );
  }
  return stored;
}

/** The object-level checksum of a completed upload, checked against what the Complete request asserts. */
function objectChecksum(upload: UploadInfo, parts: PartInfo[], input: CompleteInput): Record<string, string> | null {
  const alg = upload.checksumAlgorithm;
  if (input.checksumType !== undefined && input.checksumType !== (upload.checksumType ?? '')) {
    throw new StorageError(
      'InvalidRequest',
      `The upload was created using the ${upload.checksumType ?? 'null'} checksum mode. The complete request must use the same checksum mode.`,
    );
  }
  if (!alg) {
    if (input.checksum)
      throw new StorageError(
        'InvalidRequest',
        `The upload was created without a checksum algorithm; a ${input.checksum.algorithm} checksum cannot be verified.`,
      );
    return null;
  }
  const digest = (p: PartInfo): string => p.checksum![alg]!;
  const value =
    upload.checksumType === 'FULL_OBJECT' && isCrcAlgorithm(alg)
      ? combineFullObjectCrc(
          alg,
          parts.map((p) => ({ digestBase64: digest(p), length: p.size })),
        )
      : compositeChecksum(alg, parts.map(digest));
  if (input.checksum) {
    if (input.checksum.algorithm !== alg) {
      throw new StorageError(
        'InvalidRequest',
        `Checksum Type mismatch occurred, expected checksum Type: ${alg.toLowerCase()}, actual checksum Type: ${input.checksum.algorithm.toLowerCase()}`,
      );
    }
    // A COMPOSITE value may be sent with or without its "-<parts>" suffix.
    if (input.checksum.value !== value && `${input.checksum.value}-${parts.length}` !== value)
      throw checksumMismatchError(alg);
  }
  return { [alg]: value };
}
