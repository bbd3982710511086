/**
 * Where add-ons live: the local store in embedded mode, RGW users (Admin Ops API, signed with
 * the system user's keys) in upstream mode. `cellar addon ...` works the same on both.
 */
import {
  Storage,
  StorageError,
  newAccessKeyId,
  newAddonId,
  newSecretKey,
  type Addon,
  type CreateAddonInput,
} from '#storage';
import type { Config } from '../config/index.js';
import { RgwAdmin, RgwAdminError, UpstreamUnavailableError, type RgwUser } from '../gateway/upstream/rgw-admin.js';
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

/** A pre-filled s3cmd configuration for add-on `a` on this service. */
export function addonS3cfg(a: Addon, service: { endpoint: URL; region: string }): string {
  return renderS3cfg({
    accessKeyId: a.accessKeyId,
    secretAccessKey: a.secretAccessKey,
    endpoint: service.endpoint,
    region: service.region,
  });
}

export interface AddonDirectory {
  create(input: CreateAddonInput): Promise<Addon>;
  list(): Promise<Addon[]>;
  get(id: string): Promise<Addon | null>;
  delete(id: string): Promise<void>;
  /** Replaces the add-on's key pair with a new one; the old access key stops working. */
  rotateKeys(id: string): Promise<Addon>;
  close(): void;
}

/** A directory the server itself holds (local store or RGW), which can find an add-on by its key. */
export interface ServerAddonDirectory extends AddonDirectory {
  /** The add-on holding `accessKeyId` (a dashboard login), or null. */
  byAccessKey(accessKeyId: string): Promise<Addon | null>;
}

/** Add-on ids are RGW uids; other RGW users (the system user, users made by hand) are not add-ons. */
const ADDON_UID = /^cellar_[a-z0-9]+$/;

/** Same rules as the embedded store, so a command that works in one mode works in the other. */
function checkKeys(input: CreateAddonInput): void {
  if ((input.accessKeyId === undefined) !== (input.secretAccessKey === undefined)) {
    throw new StorageError('InvalidArgument', 'access key and secret key go together');
  }
  if (input.accessKeyId !== undefined && !/^[A-Za-z0-9]{3,128}$/.test(input.accessKeyId)) {
    throw new StorageError('InvalidArgument', 'access key must be 3-128 letters or digits');
  }
  if (input.secretAccessKey !== undefined && input.secretAccessKey.length < 8) {
    throw new StorageError('InvalidArgument', 'secret key must be at least 8 characters');
  }
}

function toAddon(u: RgwUser): Addon {
  const key = u.keys[0];
  // RGW keeps no creation time in the user document.
  return {
    id: u.uid,
    name: u.displayName,
    email: u.email,
    accessKeyId: key?.accessKey ?? '',
    secretAccessKey: key?.secretKey ?? '',
    createdAt: new Date(0),
  };
}

/** One-line failures for the CLI: RGW unreachable, or a refusal RGW explains with a code. */
function explain(e: unknown): never {
  if (e instanceof UpstreamUnavailableError)
    throw new StorageError('InternalError', `RGW is unavailable: ${e.message}`);
  throw e;
}

/**
 * `onKeyRemoved`: told each access key taken from a user, so the gateway running this directory
 * forgets its secret at once (other gateways learn it from RGW's refusal, see proxy.ts).
 */
export function rgwAddonDirectory(
  admin: RgwAdmin,
  onKeyRemoved: (accessKey: string) => void = () => undefined,
): ServerAddonDirectory {
  return {
    async create(input) {
      checkKeys(input);
      const id = newAddonId();
      const accessKey = input.accessKeyId ?? newAccessKeyId();
      const secretKey = input.secretAccessKey ?? newSecretKey();
      try {
        const u = await admin.createUser({
          uid: id,
          displayName: input.name ?? id,
          email: input.email ?? '',
          accessKey,
          secretKey,
        });
        return { ...toAddon(u), createdAt: new Date() };
      } catch (e) {
        if (e instanceof RgwAdminError && e.code === 'KeyExists')
          throw new StorageError('InvalidArgument', 'access key already in use');
        // RGW allows one user per e-mail address (the embedded store does not care).
        if (e instanceof RgwAdminError && e.code === 'EmailExists')
          throw new StorageError('InvalidArgument', 'e-mail address already used by another RGW user');
        if (e instanceof RgwAdminError) throw new StorageError('InvalidArgument', `RGW refused the user: ${e.message}`);
        return explain(e);
      }
    },
    async list() {
      try {
        const ids = (await admin.userIds()).filter((uid) => ADDON_UID.test(uid)).sort();
        const users = await Promise.all(ids.map((uid) => admin.user(uid)));
        return users.filter((u): u is RgwUser => u !== null).map(toAddon);
      } catch (e) {
        return explain(e);
      }
    },
    async get(id) {
      if (!ADDON_UID.test(id)) return null;
      try {
        const u = await admin.user(id);
        return u === null ? null : toAddon(u);
      } catch (e) {
        return explain(e);
      }
    },
    async byAccessKey(accessKeyId) {
      try {
        const u = await admin.userByAccessKey(accessKeyId);
        return u === null || !ADDON_UID.test(u.uid) ? null : toAddon(u);
      } catch (e) {
        return explain(e);
      }
    },
    async delete(id) {
      if (!ADDON_UID.test(id)) throw new StorageError('InvalidArgument', `no add-on ${id}`);
      try {
        if (!(await admin.deleteUser(id))) throw new StorageError('InvalidArgument', `no add-on ${id}`);
      } catch (e) {
        // RGW 16.2 answers 409 "BucketAlreadyExists" when the user still owns buckets.
        if (e instanceof RgwAdminError && e.status === 409)
          throw new StorageError('BucketNotEmpty', `add-on ${id} still owns buckets; delete them first`);
        return explain(e);
      }
    },
    async rotateKeys(id) {
      if (!ADDON_UID.test(id)) throw new StorageError('InvalidArgument', `no add-on ${id}`);
      try {
        const before = await admin.user(id);
        if (before === null) throw new StorageError('InvalidArgument', `no add-on ${id}`);
        // New key first, then the old ones go: the add-on is never without a working key. RGW
        // 16.2 has no "replace key" operation (Admin Ops API: Create Key, Remove Key).
        const accessKey = newAccessKeyId();
        const secretKey = newSecretKey();
        await admin.createKey(id, accessKey, secretKey);
        for (const k of before.keys) {
          if (k.accessKey === accessKey) continue;
          await admin.removeKey(id, k.accessKey);
          onKeyRemoved(k.accessKey);
        }
        return { ...toAddon(before), accessKeyId: accessKey, secretAccessKey: secretKey };
      } catch (e) {
        if (e instanceof RgwAdminError)
          throw new StorageError('InvalidArgument', `RGW refused the key change: ${e.message}`);
        return explain(e);
      }
    },
    close: () => admin.close(),
  };
}

export function localAddonDirectory(storage: Storage): ServerAddonDirectory {
  return {
    create: async (input) => storage.createAddon(input),
    list: async () => storage.listAddons(),
    get: async (id) => storage.addon(id),
    byAccessKey: async (accessKeyId) => storage.addonByAccessKey(accessKeyId),
    delete: async (id) => storage.deleteAddon(id),
    rotateKeys: async (id) => storage.rotateAddonKeys(id),
    close: () => storage.close(),
  };
}

/** The directory the configuration points at: RGW in upstream mode, the data directory otherwise. */
export async function openAddonDirectory(config: Config): Promise<AddonDirectory> {
  if (config.upstreamUrl !== '') {
    return rgwAddonDirectory(
      new RgwAdmin({
        url: config.upstreamUrl,
        accessKey: config.upstreamAccessKey,
        secretKey: config.upstreamSecretKey,
        timeoutMs: config.upstreamTimeoutMs,
      }),
    );
  }
  const storage = await Storage.open({
    dataDir: config.dataDir,
    maxObjectSize: config.maxObjectSize,
    gcGraceMs: config.gcGraceSeconds * 1000,
    collectOnOpen: false,
  });
  return localAddonDirectory(storage);
}

/** Runs `fn` on the add-on directory the configuration points at, then closes it. */
export async function withAddons<T>(config: Config, fn: (d: AddonDirectory) => Promise<T>): Promise<T> {
  const dir = await openAddonDirectory(config);
  try {
    return await fn(dir);
  } finally {
    dir.close();
  }
}
