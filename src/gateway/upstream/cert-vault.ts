/**
 * The certificate vault of a fleet: certificates, failure statuses and the ACME account key in
 * the system bucket, so that every gateway serves every certificate and knows every backoff.
 *
 *   certs/<name>.json    { name, certPem, keyPem, meta }: one object, so the key and the
 *                        certificate are replaced together (a PUT is atomic) and never mismatch
 *   status/<name>.json   the last issuance failure and its backoff
 *   acme/account-key.pem one ACME account for the fleet, created once (If-None-Match: *)
 *
 * The private keys stay in the system bucket, which only the system user can read: add-ons are
 * refused by RGW (the bucket is private), and the website never serves it.
 */
import { LRUCache } from 'lru-cache';
import type { CertVault } from '../tls/manager.js';
import {
  assertSafeName,
  parseCertificate,
  parseStatus,
  type LoadResult,
  type NameStatus,
  type StoredCert,
} from '../tls/store.js';
import type { SystemBucket } from './system-bucket.js';

const ACCOUNT_KEY = 'acme/account-key.pem';

interface CertDocument {
  certPem: string;
  keyPem: string;
}

function parseDocument(name: string, body: Buffer): StoredCert {
  const doc = JSON.parse(body.toString('utf8')) as Partial<CertDocument>;
  if (typeof doc.certPem !== 'string' || typeof doc.keyPem !== 'string')
    throw new Error('not a certificate document (certPem, keyPem)');
  return parseCertificate(name, doc.certPem, doc.keyPem, true);
}

export class BucketCertVault implements CertVault {
  readonly root: string;
  /**
   * Names known to have no certificate, briefly: a handshake for a name nobody issued must not
   * cost an upstream read each time. Short, so a certificate another gateway just stored shows.
   */
  private readonly misses: LRUCache<string, true>;

  constructor(
    private readonly bucket: SystemBucket,
    missTtlMs = 1000,
  ) {
    this.root = `s3://${bucket.name}/certs/`;
    this.misses = new LRUCache({ max: 10_000, ttl: Math.max(1, missTtlMs) });
  }

  async saveIssued(name: string, keyPem: string, certPem: string, meta: Record<string, unknown>): Promise<StoredCert> {
    assertSafeName(name);
    const cert = parseCertificate(name, certPem, keyPem, true);
    await this.bucket.put(`certs/${name}.json`, `${JSON.stringify({ name, certPem, keyPem, meta }, null, 2)}\n`);
    this.misses.delete(name);
    return cert;
  }

  async writeStatus(st: NameStatus): Promise<void> {
    assertSafeName(st.name);
    await this.bucket.put(
      `status/${st.name}.json`,
      `${JSON.stringify({
        failures: st.failures,
        lastError: st.lastError,
        lastErrorAt: st.lastErrorAt.toISOString(),
        nextAttemptAt: st.nextAttemptAt.toISOString(),
      })}\n`,
    );
  }

  async clearStatus(name: string): Promise<void> {
    assertSafeName(name);
    await this.bucket.delete(`status/${name}.json`);
  }

  async accountKey(create: () => Promise<string>): Promise<string> {
    const stored = await this.bucket.get(ACCOUNT_KEY);
    if (stored !== null) return stored.body.toString('utf8');
    const pem = await create();
    // Two gateways starting their first order together: one key wins, both use it.
    if ((await this.bucket.put(ACCOUNT_KEY, pem, { ifNoneMatch: '*' })) !== 'conflict') return pem;
    const winner = await this.bucket.get(ACCOUNT_KEY);
    if (winner === null) throw new Error(`${ACCOUNT_KEY} vanished from ${this.bucket.name} while being created`);
    return winner.body.toString('utf8');
  }

  async fetch(
    name: string,
    opts: { fresh?: boolean } = {},
  ): Promise<{ cert: StoredCert | null; status: NameStatus | null }> {
    if (opts.fresh !== true && this.misses.has(name)) return { cert: null, status: null };
    try {
      assertSafeName(name);
    } catch {
      return { cert: null, status: null };
    }
    const [doc, st] = await Promise.all([
      this.bucket.get(`certs/${name}.json`),
      this.bucket.get(`status/${name}.json`),
    ]);
    const status = st === null ? null : parseStatus(name, JSON.parse(st.body.toString('utf8')));
    if (doc === null) {
      this.misses.set(name, true);
      return { cert: null, status };
    }
    return { cert: parseDocument(name, doc.body), status };
  }

  async loadAll(): Promise<LoadResult> {
    const out: LoadResult = { certs: [], statuses: [], problems: [] };
    const [certKeys, statusKeys] = await Promise.all([this.bucket.list('certs/'), this.bucket.list('status/')]);
    const nameOf = (key: string, prefix: string): string => key.slice(prefix.length, -'.json'.length);
    for (const key of certKeys.filter((k) => k.endsWith('.json'))) {
      const name = nameOf(key, 'certs/');
      try {
        const doc = await this.bucket.get(key);
        if (doc !== null) out.certs.push(parseDocument(name, doc.body));
      } catch (e) {
        out.problems.push(`${this.bucket.name}/${key}: ${(e as Error).message}`);
      }
    }
    for (const key of statusKeys.filter((k) => k.endsWith('.json'))) {
      const name = nameOf(key, 'status/');
      try {
        const doc = await this.bucket.get(key);
        const st = doc === null ? null : parseStatus(name, JSON.parse(doc.body.toString('utf8')));
        if (st !== null) out.statuses.push(st);
      } catch (e) {
        out.problems.push(`${this.bucket.name}/${key}: ${(e as Error).message}`);
      }
    }
    return out;
  }
}
