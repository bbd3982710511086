/**
 * Custom domains: may a host obtain a certificate on demand, and the DNS record that proves it is
 * yours. The CLI's `domain` commands and the admin API.
 */
import type { Storage } from '#storage';
import type { Config } from '../config/index.js';
import { FleetProofSecret } from '../gateway/upstream/proof-secret.js';
import type { SystemBucket } from '../gateway/upstream/system-bucket.js';
import { withSystemBucket } from './fleet.js';
import {
  CertRegistry,
  CertStore,
  PROOF_LABEL,
  certsDirOf,
  createGate,
  loadProofSecret,
  proofToken,
  readProofSecret,
  storageSites,
  type DomainReport,
  type TlsSettings,
} from '../gateway/tls/index.js';

export { formatDomainReport, type DomainReport } from '../gateway/tls/index.js';

/** A host name as typed by a person: case and a trailing root dot do not matter. */
export function normalizeHost(raw: string | undefined): string | undefined {
  return raw?.trim().toLowerCase().replace(/\.$/, '');
}

export interface DnsRecord {
  name: string;
  type: 'TXT';
  value: string;
}

/** The TXT record that proves `host` belongs to whoever runs this service (`secret`: its domain-proof secret). */
export function domainProofRecord(secret: Buffer, host: string): DnsRecord {
  return { name: `${PROOF_LABEL}.${host}`, type: 'TXT', value: proofToken(secret, host) };
}

/**
 * The domain-proof secret of this installation: the data directory's key file in embedded mode;
 * in upstream mode the fleet's, in the system bucket (seeded from the key file when the fleet
 * has none yet), so that every gateway hands out the same token.
 */
export function fleetProofSecret(system: SystemBucket, dataDir: string): FleetProofSecret {
  return new FleetProofSecret(system, () => readProofSecret(dataDir));
}

/** The domain-proof secret for one CLI command. */
export async function installationProofSecret(config: Config): Promise<Buffer> {
  if (config.upstreamUrl === '') return loadProofSecret(config.dataDir);
  return withSystemBucket(config, (b) => fleetProofSecret(b, config.dataDir).get());
}

/**
 * Explains whether `host` may obtain a certificate on demand (every gate step, even after a
 * failure) and what the store already holds for it. `httpsEnabled`: an HTTPS listener is configured.
 */
export async function checkDomain(
  settings: TlsSettings,
  storage: Storage,
  host: string,
  opts: { httpsEnabled: boolean; now: () => number },
): Promise<DomainReport> {
  const decision = await createGate(settings, storageSites(storage)).check(host, { exhaustive: true });
  const loaded = new CertStore(certsDirOf(settings)).load({ repair: false });
  const registry = new CertRegistry();
  for (const c of loaded.certs) registry.add(c);
  const hit = registry.lookup(host, opts.now())?.cert;
  const st = loaded.statuses.find((s) => s.name === host);
  return {
    decision,
    certificate: hit ? { names: hit.names, issuer: hit.issuer, notAfter: hit.notAfter.toISOString() } : null,
    onDemand: settings.acmeDirectory !== '' && opts.httpsEnabled,
    backoff: st
      ? { failures: st.failures, lastError: st.lastError, nextAttemptAt: st.nextAttemptAt.toISOString() }
      : null,
  };
}

/** Whether visitors of the host get HTTPS: a certificate is stored, or on-demand issuance would allow one. */
export function servesHttps(r: DomainReport): boolean {
  return r.certificate !== null || (r.onDemand && r.decision.allowed);
}
