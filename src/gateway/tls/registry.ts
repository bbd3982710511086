/**
 * Certificates in memory, by name, each with its TLS secure context built once on first use
 * (building one parses the key and chain: far too slow to do per handshake).
 */
import { createSecureContext, type SecureContext } from 'node:tls';
import type { StoredCert } from './store.js';

export class CertEntry {
  private ctx: SecureContext | undefined;
  constructor(readonly cert: StoredCert) {}

  context(): SecureContext {
    this.ctx ??= createSecureContext({ key: this.cert.keyPem, cert: this.cert.certPem });
    return this.ctx;
  }
}

/** `a.b.example.com` -> `*.b.example.com`: a wildcard covers exactly one label (RFC 6125 §6.4.3). */
export function wildcardOf(name: string): string | null {
  const dot = name.indexOf('.');
  if (dot <= 0 || name.indexOf('.', dot + 1) < 0) return null;
  return `*${name.slice(dot)}`;
}

export class CertRegistry {
  private readonly byName = new Map<string, CertEntry>();
  /**
   * Upstream mode: the operator's certificates from this gateway's own directory. For their
   * names they win over what the fleet stores, as long as they are unexpired.
   */
  private readonly pinned = new Map<string, CertEntry>();

  /**
   * Adds or replaces. For each name the later-expiring certificate wins, except that a new
   * certificate from the same directory (a renewal, or a replacement the operator made) always
   * replaces the old one.
   */
  add(cert: StoredCert): void {
    const entry = new CertEntry(cert);
    for (const name of cert.names) {
      const cur = this.byName.get(name);
      if (cur === undefined || cur.cert.dir === cert.dir || cur.cert.notAfter.getTime() <= cert.notAfter.getTime())
        this.byName.set(name, entry);
    }
  }

  /** Adds a certificate that add() never displaces (same rule as add() among pinned ones). */
  pin(cert: StoredCert): void {
    const entry = new CertEntry(cert);
    for (const name of cert.names) {
      const cur = this.pinned.get(name);
      if (cur === undefined || cur.cert.dir === cert.dir || cur.cert.notAfter.getTime() <= cert.notAfter.getTime())
        this.pinned.set(name, entry);
    }
  }

  /** The certificate stored for exactly this name, expired or not. */
  exact(name: string): CertEntry | undefined {
    return this.pinned.get(name) ?? this.byName.get(name);
  }

  /** The unexpired certificate for exactly `name`: a pinned one first. */
  private live(name: string, now: number): CertEntry | undefined {
    for (const e of [this.pinned.get(name), this.byName.get(name)])
      if (e !== undefined && e.cert.notAfter.getTime() > now) return e;
    return undefined;
  }

  /** What a handshake for `servername` is served: an unexpired exact certificate, else a wildcard one label up. */
  lookup(servername: string, now: number): CertEntry | undefined {
    const w = wildcardOf(servername);
    return this.live(servername, now) ?? (w === null ? undefined : this.live(w, now));
  }

  /** Every distinct certificate currently served. */
  all(): StoredCert[] {
    return [...new Set([...this.pinned.values(), ...this.byName.values()].map((e) => e.cert))];
  }
}
