/**
 * The certificate store on disk. Layout, one directory per certificate:
 *
 *   <certs>/<name>/cert.pem      leaf first, then the chain
 *   <certs>/<name>/key.pem       mode 0600
 *   <certs>/<name>/meta.json     present only for certificates Cellar issued (and so renews)
 *   <certs>/<name>/status.json   the last issuance failure and the backoff that follows it
 *   <certs>/_acme/account-key.pem
 *
 * Operators drop their own certificates (e.g. the wildcard of the service domain) as a directory
 * with cert.pem and key.pem under any name; the names served come from the certificate itself.
 * Nothing here talks to a CA, so start-up works with the CA down.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';

export interface StoredCert {
  /** The directory under the store. */
  dir: string;
  /** DNS names the certificate covers, lower-case (`*.example.com` for a wildcard). */
  names: string[];
  certPem: string;
  keyPem: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  serial: string;
  fingerprint: string;
  /** Issued by Cellar over ACME: renewed in the background. Operator certificates are not. */
  managed: boolean;
}

export interface NameStatus {
  name: string;
  failures: number;
  lastError: string;
  lastErrorAt: Date;
  nextAttemptAt: Date;
}

export interface LoadResult {
  certs: StoredCert[];
  statuses: NameStatus[];
  /** Directories that could not be loaded, with the reason (logged, never fatal). */
  problems: string[];
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const ACCOUNT_DIR = '_acme';

/** The first CN= of an X.509 distinguished name as Node prints it (one attribute per line). */
function commonName(dn: string): string {
  const cn = dn.split('\n').find((l) => l.startsWith('CN='));
  return cn ? cn.slice(3) : dn.replace(/\n/g, ', ');
}

/** Parses and checks a key pair; throws with a readable reason when they do not belong together. */
export function parseCertificate(dir: string, certPem: string, keyPem: string, managed: boolean): StoredCert {
  const blocks = certPem.match(PEM_CERT);
  if (!blocks) throw new Error('cert.pem holds no PEM certificate');
  const leaf = new X509Certificate(blocks[0]!);
  if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) throw new Error('key.pem does not match the certificate');
  const sans = (leaf.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4).toLowerCase());
  const names = sans.length > 0 ? sans : [commonName(leaf.subject).toLowerCase()];
  return {
    dir,
    names,
    certPem,
    keyPem,
    managed,
    issuer: commonName(leaf.issuer),
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    serial: leaf.serialNumber,
    fingerprint: leaf.fingerprint256,
  };
}

function unlinkIfPresent(file: string): void {
  try {
    unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

function writeDurable(file: string, data: string, mode: number): void {
  // The mode only applies to a new file, so a leftover from a crash is removed first.
  unlinkIfPresent(file);
  const fd = openSync(file, 'w', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Temp file, fsync, rename, fsync the directory: a reader sees the old or the new file, never half. */
export function writeAtomic(file: string, data: string, mode = 0o644): void {
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  writeDurable(tmp, data, mode);
  renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

/** A name that is safe as a directory and can be a certificate name (checked again by the gate). */
export function assertSafeName(name: string): void {
  if (!/^[a-z0-9*][a-z0-9.-]*$/.test(name) || name.includes('..')) throw new Error(`not a certificate name: ${name}`);
}

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'));
}

export function parseStatus(name: string, raw: unknown): NameStatus | null {
  const r = raw as Partial<Record<keyof NameStatus, unknown>>;
  if (typeof r.failures !== 'number' || typeof r.lastError !== 'string') return null;
  return {
    name,
    failures: r.failures,
    lastError: r.lastError,
    lastErrorAt: new Date(String(r.lastErrorAt)),
    nextAttemptAt: new Date(String(r.nextAttemptAt)),
  };
}

export class CertStore {
  constructor(readonly root: string) {}

  private ensureDir(dir: string): void {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Finishes or rolls back a key/cert swap cut short by a crash. The swap renames key.pem.new
   * first, then cert.pem.new, both already fsynced: a lone cert.pem.new means the key is already
   * in place, while a key.pem.new means nothing was swapped yet.
   */
  private recover(dir: string): void {
    const keyNew = path.join(dir, 'key.pem.new');
    const certNew = path.join(dir, 'cert.pem.new');
    if (existsSync(keyNew)) {
      unlinkIfPresent(keyNew);
      unlinkIfPresent(certNew);
    } else if (existsSync(certNew)) {
      renameSync(certNew, path.join(dir, 'cert.pem'));
      fsyncDir(dir);
    }
  }

  /**
   * Reads every certificate and status; a missing store is an empty one. Only the server repairs
   * interrupted swaps: a reader such as the CLI passes `repair: false` so that it never races the
   * server's own writes.
   */
  load(opts: { repair?: boolean } = {}): LoadResult {
    const out: LoadResult = { certs: [], statuses: [], problems: [] };
    let entries: string[];
    try {
      entries = readdirSync(this.root);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return out;
      throw e;
    }
    for (const entry of entries.sort()) {
      if (entry.startsWith('_') || entry.startsWith('.')) continue;
      const dir = path.join(this.root, entry);
      if (!statSync(dir).isDirectory()) continue;
      try {
        if (opts.repair !== false) this.recover(dir);
        const statusFile = path.join(dir, 'status.json');
        if (existsSync(statusFile)) {
          const st = parseStatus(entry, readJson(statusFile));
          if (st) out.statuses.push(st);
        }
        const certFile = path.join(dir, 'cert.pem');
        if (!existsSync(certFile)) continue;
        const managed = existsSync(path.join(dir, 'meta.json'));
        out.certs.push(
          parseCertificate(
            entry,
            readFileSync(certFile, 'utf8'),
            readFileSync(path.join(dir, 'key.pem'), 'utf8'),
            managed,
          ),
        );
      } catch (e) {
        out.problems.push(`${dir}: ${(e as Error).message}`);
      }
    }
    return out;
  }

  /**
   * Stores an issued certificate under `<name>/`. The new key and certificate are written beside
   * the old ones and swapped by rename (see recover()), so a crash never pairs a key with the
   * wrong certificate and the old pair keeps serving until the swap.
   */
  saveIssued(name: string, keyPem: string, certPem: string, meta: Record<string, unknown>): StoredCert {
    assertSafeName(name);
    const cert = parseCertificate(name, certPem, keyPem, true);
    const dir = path.join(this.root, name);
    this.ensureDir(dir);
    writeAtomic(path.join(dir, 'meta.json'), JSON.stringify({ name, ...meta }, null, 2) + '\n');
    writeDurable(path.join(dir, 'key.pem.new'), keyPem, 0o600);
    writeDurable(path.join(dir, 'cert.pem.new'), certPem, 0o644);
    fsyncDir(dir);
    renameSync(path.join(dir, 'key.pem.new'), path.join(dir, 'key.pem'));
    renameSync(path.join(dir, 'cert.pem.new'), path.join(dir, 'cert.pem'));
    fsyncDir(dir);
    return cert;
  }

  writeStatus(st: NameStatus): void {
    assertSafeName(st.name);
    const dir = path.join(this.root, st.name);
    this.ensureDir(dir);
    writeAtomic(
      path.join(dir, 'status.json'),
      JSON.stringify(
        {
          failures: st.failures,
          lastError: st.lastError,
          lastErrorAt: st.lastErrorAt.toISOString(),
          nextAttemptAt: st.nextAttemptAt.toISOString(),
        },
        null,
        2,
      ) + '\n',
    );
  }

  clearStatus(name: string): void {
    assertSafeName(name);
    unlinkIfPresent(path.join(this.root, name, 'status.json'));
  }

  /** The ACME account key, created on first use so that start-up never needs the CA. */
  async accountKey(create: () => Promise<string>): Promise<string> {
    const file = path.join(this.root, ACCOUNT_DIR, 'account-key.pem');
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const pem = await create();
    this.ensureDir(path.dirname(file));
    writeAtomic(file, pem, 0o600);
    return pem;
  }
}
