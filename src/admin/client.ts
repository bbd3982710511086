/** The admin API seen from the `cellar` command (`--url`/`--token`): the same add-on directory and certificate list, remotely. */
import { StorageError, type Addon } from '#storage';
import type { AddonDirectory } from './addons.js';
import type { AddonRecord } from './addons.js';
import type { CertRow } from './certs.js';

export interface RemoteAddons extends AddonDirectory {
  s3cfg(id: string): Promise<string | null>;
}

/** The API's error answer, carried as the storage error the CLI already prints. */
async function fail(res: Response): Promise<never> {
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.message) message = `${body.error.message} (${res.status} ${body.error.code ?? ''})`;
  } catch {
    // Not our JSON error shape: the status line says enough.
  }
  throw new StorageError('InvalidArgument', `admin API: ${message}`);
}

function toAddon(r: AddonRecord): Addon {
  return { ...r, createdAt: new Date(0) };
}

type Call = (method: string, path: string, body?: unknown) => Promise<Response>;

function caller(baseUrl: string, token: string): Call {
  const base = baseUrl.replace(/\/+$/, '') + '/api/v1';
  return async (method, path, body) => {
    try {
      return await fetch(base + path, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (e) {
      throw new StorageError('InternalError', `cannot reach the admin API at ${baseUrl}: ${(e as Error).message}`);
    }
  };
}

/** `cellar cert list --url`: what the running server lists (in upstream mode, the fleet's and its own). */
export async function remoteCertificates(baseUrl: string, token: string): Promise<CertRow[]> {
  const res = await caller(baseUrl, token)('GET', '/certificates');
  if (!res.ok) return fail(res);
  return (await res.json()) as CertRow[];
}

export function remoteAddonDirectory(baseUrl: string, token: string): RemoteAddons {
  const call = caller(baseUrl, token);
  const id = (s: string): string => encodeURIComponent(s);
  return {
    async create(input) {
      const res = await call('POST', '/addons', input);
      if (res.status !== 201) return fail(res);
      return toAddon((await res.json()) as AddonRecord);
    },
    async list() {
      const res = await call('GET', '/addons');
      if (!res.ok) return fail(res);
      return ((await res.json()) as AddonRecord[]).map(toAddon);
    },
    async get(addonId) {
      const res = await call('GET', `/addons/${id(addonId)}`);
      if (res.status === 404) return null;
      if (!res.ok) return fail(res);
      return toAddon((await res.json()) as AddonRecord);
    },
    async delete(addonId) {
      const res = await call('DELETE', `/addons/${id(addonId)}`);
      if (res.status !== 204) return fail(res);
    },
    async rotateKeys(addonId) {
      const res = await call('POST', `/addons/${id(addonId)}/keys`);
      if (!res.ok) return fail(res);
      return toAddon((await res.json()) as AddonRecord);
    },
    async s3cfg(addonId) {
      const res = await call('GET', `/addons/${id(addonId)}/s3cfg`);
      if (res.status === 404) return null;
      if (!res.ok) return fail(res);
      return res.text();
    },
    close: () => undefined,
  };
}
