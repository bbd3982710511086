/**
 * The certificates as admins see them: the CLI's `cert` commands, the admin API and the metrics.
 * One CertCatalog for both modes: the local directory, or the fleet's vault in the system bucket
 * plus the gateway's own operator certificates (upstream mode).
 */
import path from 'node:path';
import type { Config } from '../config/index.js';
import { certificateRows, fleetCatalog, localCatalog, type CertCatalog, type CertRow } from '../gateway/tls/index.js';
import { BucketCertVault } from '../gateway/upstream/cert-vault.js';
import { withSystemBucket } from './fleet.js';

export { formatCertTable, type CertRow } from '../gateway/tls/index.js';

/** Every stored certificate with its state at `now`, and what could not be loaded. */
export async function listCertificates(
  catalog: CertCatalog,
  renewWindowSeconds: number,
  now: number,
): Promise<{ rows: CertRow[]; problems: string[] }> {
  return certificateRows(await catalog.load(), now, renewWindowSeconds * 1000);
}

/** The catalog of this installation for one CLI command, whether or not a server runs. */
export function withCertCatalog<T>(config: Config, fn: (c: CertCatalog) => Promise<T>): Promise<T> {
  const dir = path.resolve(config.certsDir);
  if (config.upstreamUrl === '') return fn(localCatalog(dir));
  return withSystemBucket(config, (b) => fn(fleetCatalog(new BucketCertVault(b), dir)));
}
