/** The storage module's public interface: everything outside src/storage imports from here. */
export {
  Storage,
  type StorageOptions,
  type PutObjectInput,
  type CopyObjectInput,
  type CreateAddonInput,
} from './service/storage.js';
export { StorageError, isStorageError, STORAGE_ERROR_CODES, type StorageErrorCode } from './errors.js';
export type {
  Addon,
  BucketInfo,
  ObjectInfo,
  BlobRef,
  ChangeEvent,
  Tag,
  VersionInfo,
  VersioningStatus,
  DeleteResult,
} from './types.js';
export type { VersionListPage, VersionListQuery } from './service/version-listing.js';
export type { ListPage, ListQuery } from './service/listing.js';
export type { ByteRange } from './service/reader.js';
export type { WritePrecondition } from './service/precondition.js';
export type { ByteObserver } from './blobs/store.js';
export { bucketNameProblem } from './service/names.js';
export { newAddonId, newAccessKeyId, newSecretKey, isVersionIdSyntax } from './service/ids.js';
export * from './auth/index.js';
export * from './policy/index.js';
export * from './cors/index.js';
export * from './website/index.js';
export * from './checksum/index.js';
export * from './lifecycle/index.js';
export type { LifecycleRunResult } from './service/lifecycle-worker.js';
export * from './lock/index.js';
export type {
  ObjectLocks,
  RemovalDecision,
  RemovalOptions,
  VersionRef,
} from './service/object-lock.js';
export type { RequestedLock } from './meta/lock-repo.js';
export { AwsChunkedDecoder, streamingMode, type StreamingMode, type ChunkedDecoderOptions } from './auth/chunked.js';
export {
  MAX_PART_NUMBER,
  MIN_PART_SIZE,
  checksumTypeOf,
  type MultipartUploads,
  type ChecksumType,
  type UploadInfo,
  type PartInfo,
  type CreateUploadInput,
  type UploadPartInput,
  type CopyPartInput,
  type CompletePart,
  type CompleteInput,
  type CompleteResult,
  type PartsPage,
  type UploadListPage,
  type UploadListQuery,
} from './service/multipart.js';
