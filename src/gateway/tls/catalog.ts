/**
 * Every stored certificate as operators see it (`cellar cert list`, the admin API, the metrics),
 * whatever the mode: the certificate directory in embedded mode; in upstream mode the fleet's
 * vault plus the operator's certificates in this gateway's own directory.
 */
import { CertStore, type LoadResult } from './store.js';

export interface CertCatalog {
  load(): Promise<LoadResult>;
}

/** Embedded mode. A reader never repairs a swap cut short: the server owns those writes. */
export function localCatalog(dir: string): CertCatalog {
  const store = new CertStore(dir);
  return { load: async () => store.load({ repair: false }) };
}

/**
 * Upstream mode: the certificates an operator dropped in this gateway's directory, served as
 * they are. Never renewed (a renewal would land in the fleet's vault, where this gateway's own
 * file would still shadow it) and never written: their statuses are ignored.
 */
export function operatorCertificates(dir: string): LoadResult {
  const loaded = new CertStore(dir).load({ repair: false });
  return { certs: loaded.certs.map((c) => ({ ...c, managed: false })), statuses: [], problems: loaded.problems };
}

/** Upstream mode: the fleet's certificates and statuses, then this gateway's operator certificates. */
export function fleetCatalog(vault: { loadAll(): Promise<LoadResult> }, operatorDir: string): CertCatalog {
  return {
    async load() {
      const local = operatorCertificates(operatorDir);
      const shared = await vault.loadAll();
      return {
        certs: [...shared.certs, ...local.certs],
        statuses: shared.statuses,
        problems: [...shared.problems, ...local.problems],
      };
    },
  };
}

/**
 * One load shared by the callers within `ttlMs` (the metrics: two gauges per scrape, scrapes
 * every few seconds, each load a listing and a read per certificate on the upstream).
 */
export function cachedCatalog(catalog: CertCatalog, ttlMs: number, now: () => number = Date.now): CertCatalog {
  let last: { at: number; result: Promise<LoadResult> } | null = null;
  return {
    load() {
      if (last !== null && now() - last.at < ttlMs) return last.result;
      const result = catalog.load();
      const entry = { at: now(), result };
      last = entry;
      // A failed load is not kept: the next caller tries again.
      result.catch(() => {
        if (last === entry) last = null;
      });
      return result;
    },
  };
}
