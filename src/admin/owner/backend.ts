/**
 * What the owner routes ask of the buckets, whatever holds them: the local store (embedded
 * mode, below) or Ceph RGW (upstream mode, upstream.ts). The routes never branch on the mode.
 * Every method takes the signed-in add-on and treats another owner's bucket as missing.
 */
import type { Readable } from 'node:stream';
import type { Addon, Storage } from '#storage';
import type { TlsSettings } from '../../gateway/tls/index.js';
import {
  createBucket,
  deleteBucket,
  listBuckets,
  listObjects,
  ownBucket,
  setCors,
  setPublic,
  setWebsite,
  type BucketView,
  type CorsTemplate,
  type WebsiteInput,
} from './buckets.js';
import { domainView, type DomainView } from './domain.js';
import { abortUpload, completeUpload, createUpload, putObject, uploadPart, type ObjectWritten } from './uploads.js';
import { keyHistory, restoreVersion, setVersioning, type KeyHistory, type VersionView } from './versions.js';

export interface ObjectPage {
  objects: { key: string; size: number; lastModified: string }[];
  truncated: boolean;
}

export interface UploadTarget {
  bucket: string;
  key: string;
  uploadId: string;
}

export interface OwnerBuckets {
  list(owner: Addon): Promise<BucketView[]>;
  create(owner: Addon, name: string): Promise<BucketView>;
  remove(owner: Addon, name: string): Promise<void>;
  setPublic(owner: Addon, name: string, makePublic: boolean): Promise<BucketView>;
  setWebsite(owner: Addon, name: string, v: WebsiteInput | null): Promise<BucketView>;
  setCors(owner: Addon, name: string, template: CorsTemplate | null, origin?: string): Promise<BucketView>;
  setVersioning(owner: Addon, name: string, on: boolean): Promise<BucketView>;
  objects(owner: Addon, name: string, max: number): Promise<ObjectPage>;
  history(owner: Addon, name: string, key: string, max: number): Promise<KeyHistory>;
  restore(owner: Addon, name: string, key: string, versionId: string): Promise<VersionView>;
  /** `size`: the body's Content-Length when the client sent one (RGW needs it; the local store does not). */
  put(
    owner: Addon,
    name: string,
    key: string,
    contentType: string | undefined,
    body: Readable,
    size: number | null,
  ): Promise<ObjectWritten>;
  createUpload(owner: Addon, name: string, key: string, contentType: string | undefined): Promise<{ uploadId: string }>;
  uploadPart(
    owner: Addon,
    t: UploadTarget & { partNumber: number },
    body: Readable,
    size: number | null,
  ): Promise<{ etag: string }>;
  completeUpload(owner: Addon, t: UploadTarget, parts: { partNumber: number; etag: string }[]): Promise<ObjectWritten>;
  abortUpload(owner: Addon, t: UploadTarget): Promise<void>;
  domain(owner: Addon, name: string): Promise<DomainView>;
  /** Throws NoSuchBucket unless `owner` owns `name`. */
  own(owner: Addon, name: string): Promise<void>;
}

export function embeddedOwnerBuckets(
  storage: Storage,
  o: { region: string; tls: TlsSettings; httpsEnabled: boolean; proofSecret(): Promise<Buffer> },
): OwnerBuckets {
  return {
    list: async (owner) => listBuckets(storage, owner),
    create: async (owner, name) => createBucket(storage, owner, name, o.region),
    remove: async (owner, name) => deleteBucket(storage, owner, name),
    setPublic: async (owner, name, v) => setPublic(storage, owner, name, v),
    setWebsite: async (owner, name, v) => setWebsite(storage, owner, name, v),
    setCors: async (owner, name, template, origin) => setCors(storage, owner, name, template, origin),
    setVersioning: async (owner, name, on) => {
      setVersioning(storage, owner, name, on);
      return listBuckets(storage, owner).find((b) => b.name === name)!;
    },
    objects: async (owner, name, max) => listObjects(storage, owner, name, max),
    history: async (owner, name, key, max) => keyHistory(storage, owner, name, key, max),
    restore: (owner, name, key, versionId) => restoreVersion(storage, owner, name, key, versionId),
    put: (owner, name, key, type, body) => putObject(storage, owner, name, key, type, body),
    createUpload: async (owner, name, key, type) => createUpload(storage, owner, name, key, type),
    uploadPart: (owner, t, body) => uploadPart(storage, owner, t, body),
    completeUpload: (owner, t, parts) => completeUpload(storage, owner, t, parts),
    abortUpload: (owner, t) => abortUpload(storage, owner, t),
    domain: async (owner, name) => domainView(storage, owner, name, o.tls, o.httpsEnabled, await o.proofSecret()),
    own: async (owner, name) => {
      ownBucket(storage, owner, name);
    },
  };
}
