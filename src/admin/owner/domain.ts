/**
 * The custom-domain page of a bucket: the DNS records the owner must create (a bucket named
 * like the domain serves it), the gate's live diagnosis, and the certificate once issued.
 */
import { isIP } from 'node:net';
import type { Addon, Storage } from '#storage';
import type { TlsSettings } from '../../gateway/tls/index.js';
import { checkDomain, domainProofRecord, type DomainReport } from '../domains.js';
import { ownBucket } from './buckets.js';

export interface DnsInstruction {
  name: string;
  type: 'CNAME' | 'A' | 'AAAA' | 'TXT';
  value: string;
}

export interface DomainView {
  host: string;
  /** Either the CNAME, or all of the A/AAAA records (when the service publishes its addresses). */
  cname: DnsInstruction | null;
  addresses: DnsInstruction[];
  /** The ownership proof; `required` when the service enforces it (CELLAR_DOMAIN_PROOF). */
  proof: DnsInstruction & { required: boolean };
  report: DomainReport;
}

/** Under a service domain the bucket is a subdomain already: no DNS to create. */
function isServiceSubdomain(host: string, tls: TlsSettings): boolean {
  return [...tls.hosts.serviceDomains, ...tls.hosts.websiteOnlyDomains].some((d) => host.endsWith(`.${d}`));
}

export async function domainView(
  storage: Storage,
  owner: Addon,
  bucket: string,
  tls: TlsSettings,
  httpsEnabled: boolean,
  proofSecret: Buffer,
): Promise<DomainView> {
  ownBucket(storage, owner, bucket);
  const host = bucket;
  const custom = !isServiceSubdomain(host, tls);
  const target = tls.hosts.serviceDomains[0];
  const report = await checkDomain(tls, storage, host, { httpsEnabled, now: Date.now });
  return {
    host,
    cname: custom && target !== undefined ? { name: host, type: 'CNAME', value: target } : null,
    addresses: custom
      ? tls.serviceAddresses.map((a) => ({ name: host, type: isIP(a) === 6 ? 'AAAA' : 'A', value: a }))
      : [],
    proof: { ...domainProofRecord(proofSecret, host), required: tls.domainProof && custom },
    report,
  };
}
