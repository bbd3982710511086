/** Add-ons (users): what the CLI's `addon` commands and the admin API do with them. */
import type { Addon, CreateAddonInput, Storage } from '#storage';
import { renderS3cfg } from './s3cfg.js';

/** An add-on as admin interfaces show it (the CLI's --json output). */
export interface AddonRecord {
  id: string;
  name: string;
  email: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export function addonRecord(a: Addon): AddonRecord {
  return { id: a.id, name: a.name, email: a.email, accessKeyId: a.accessKeyId, secretAccessKey: a.secretAccessKey };
}

/** Keys are generated unless both are given (StorageError InvalidArgument for only one). */
export function createAddon(storage: Storage, input: CreateAddonInput): Addon {
  return storage.createAddon(input);
}

export function listAddons(storage: Storage): Addon[] {
  return storage.listAddons();
}

/** A pre-filled s3cmd configuration for add-on `id`; null when there is no such add-on. */
export function addonS3cfg(storage: Storage, id: string, service: { endpoint: URL; region: string }): string | null {
  const a = storage.addon(id);
  if (!a) return null;
  return renderS3cfg({ accessKeyId: a.accessKeyId, secretAccessKey: a.secretAccessKey, endpoint: service.endpoint, region: service.region });
}

/** StorageError InvalidArgument for an unknown id, BucketNotEmpty while it still owns buckets. */
export function deleteAddon(storage: Storage, id: string): void {
  storage.deleteAddon(id);
}
