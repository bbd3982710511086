/**
 * Which certificate a TLS handshake gets, and keeping certificates alive: the SNI callback
 * (exact name, else a wildcard one label up, else on-demand issuance behind the gate, else a
 * clean handshake failure), deduplicated issuance, a global rate limit, per-name exponential
 * backoff after failures, and background renewal that swaps certificates in without a restart.
 */
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Logger } from '../../shared/logger.js';
import type { Issuer } from './acme.js';
import type { GateDecision } from './gate.js';
import type { CertRegistry } from './registry.js';
import type { LoadResult, NameStatus, StoredCert } from './store.js';

export interface Gate {
  check(name: string): Promise<GateDecision>;
  checkSite(name: string): Promise<GateDecision>;
}

/**
 * Where certificates, failure statuses and the ACME account key are kept: the local disk
 * (`CertStore`, one gateway) or the system bucket on the upstream (a fleet of gateways).
 */
export interface CertVault {
  /** Where it lives, for messages: a directory or an s3:// prefix. */
  readonly root: string;
  saveIssued(
    name: string,
    keyPem: string,
    certPem: string,
    meta: Record<string, unknown>,
  ): StoredCert | Promise<StoredCert>;
  writeStatus(st: NameStatus): void | Promise<void>;
  clearStatus(name: string): void | Promise<void>;
  accountKey(create: () => Promise<string>): Promise<string>;
  /**
   * Shared vaults only: what the fleet stored for `name` now (another gateway may have issued
   * it, or failed to). `fresh` skips any cache of misses.
   */
  fetch?(name: string, opts?: { fresh?: boolean }): Promise<{ cert: StoredCert | null; status: NameStatus | null }>;
  /** Shared vaults only: everything, re-read before each renewal pass to pick up other gateways' work. */
  loadAll?(): Promise<LoadResult>;
}

export interface Lease {
  release(): Promise<void>;
}

/** One issuance per name across gateways sharing a vault. */
export interface FleetLock {
  /** The lease, or null when another gateway holds the lock. */
  acquire(name: string): Promise<Lease | null>;
  /** Another gateway holds the lock now. */
  held(name: string): Promise<boolean>;
}

export interface ManagerOptions {
  store: CertVault;
  /** Set with a shared vault: orders and renewals then happen once per fleet. */
  lock?: FleetLock;
  /** How often a gateway that lost the lock looks for the winner's certificate. */
  peerPollMs?: number;
  registry: CertRegistry;
  gate: Gate;
  /** null: on-demand issuance and renewal are off (no ACME directory configured). */
  issuer: Issuer | null;
  logger: Logger;
  now?: () => number;
  /** First wait after a failure; doubles per consecutive failure up to retryMaxMs. */
  retryBaseMs: number;
  retryMaxMs?: number;
  /** New on-demand orders allowed per minute, all names together. */
  ordersPerMinute: number;
  /** Renew when less than this remains; 0 = when a third of the lifetime remains. */
  renewWindowMs: number;
  renewCheckMs: number;
  /** Told of every finished ACME order (metrics). */
  onOrder?: (outcome: 'issued' | 'failed', reason: 'on-demand' | 'renewal') => void;
  /** How long a handshake waits for an issuance before failing (the issuance goes on). */
  handshakeWaitMs?: number;
  /** Extra metadata stored with issued certificates. */
  issuedMeta?: Record<string, unknown>;
}

/** A refusal that is not a failure: the gate said no, a backoff or the rate limit is running. */
export class IssuanceRefused extends Error {}

const DAY_MS = 24 * 3600 * 1000;

/** Normalizes an SNI server name; null when it cannot be a DNS name we could hold a certificate for. */
export function normalizeServername(servername: string): string | null {
  const n = servername.toLowerCase().replace(/\.$/, '');
  return /^[a-z0-9_.*-]{1,253}$/.test(n) ? n : null;
}

/** Renewal is due once the remaining lifetime drops under the window (default: a third, as certmagic does). */
export function renewalDue(cert: StoredCert, now: number, windowMs: number): boolean {
  const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime();
  const window = windowMs > 0 ? windowMs : lifetime / 3;
  return cert.notAfter.getTime() - now <= window;
}

class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly perMinute: number,
    now: number,
  ) {
    this.tokens = perMinute;
    this.last = now;
  }
  take(now: number): boolean {
    this.tokens = Math.min(this.perMinute, this.tokens + ((now - this.last) * this.perMinute) / 60_000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export class CertificateManager {
  private readonly inflight = new Map<string, Promise<StoredCert>>();
  private readonly statuses = new Map<string, NameStatus>();
  private readonly rate: TokenBucket;
  private readonly now: () => number;
  private refuseCtx: SecureContext | undefined;
  private timer: NodeJS.Timeout | undefined;
  private firstTick: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;

  constructor(
    private readonly opts: ManagerOptions,
    statuses: NameStatus[] = [],
  ) {
    this.now = opts.now ?? Date.now;
    this.rate = new TokenBucket(Math.max(1, opts.ordersPerMinute), this.now());
    for (const st of statuses) this.statuses.set(st.name, st);
  }

  /**
   * A context with no certificate: handing it to a handshake makes OpenSSL answer with a
   * handshake_failure alert, where an error would just drop the connection mid-handshake.
   */
  private refusal(): SecureContext {
    this.refuseCtx ??= createSecureContext({});
    return this.refuseCtx;
  }

  /** For `https.createServer({ SNICallback })`. */
  readonly sniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    const name = normalizeServername(servername);
    const hit = name === null ? undefined : this.opts.registry.lookup(name, this.now());
    if (hit) return cb(null, hit.context());
    if (name === null || this.opts.issuer === null) return cb(null, this.refusal());
    let done = false;
    const finish = (ctx: SecureContext): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      cb(null, ctx);
    };
    const timer = setTimeout(() => finish(this.refusal()), this.opts.handshakeWaitMs ?? 30_000);
    this.obtain(name).then(
      () => finish(this.opts.registry.lookup(name, this.now())?.context() ?? this.refusal()),
      (e: unknown) => {
        this.opts.logger.debug('tls handshake refused', { name, reason: (e as Error).message });
        finish(this.refusal());
      },
    );
  };

  hasCertificate(host: string): boolean {
    return this.opts.registry.lookup(host, this.now()) !== undefined;
  }

  status(name: string): NameStatus | undefined {
    return this.statuses.get(name);
  }

  /**
   * On-demand: a certificate for `name`, issued now if the gate allows it. Concurrent callers
   * for one name share one attempt; a name in backoff or over the rate limit is refused without
   * contacting the CA.
   */
  obtain(name: string): Promise<StoredCert> {
    const running = this.inflight.get(name);
    if (running) return running;
    const p = this.attempt(name).finally(() => this.inflight.delete(name));
    this.inflight.set(name, p);
    return p;
  }

  private async attempt(name: string): Promise<StoredCert> {
    const existing = this.opts.registry.lookup(name, this.now());
    if (existing) return existing.cert;
    const shared = await this.adoptStored(name, 'on-demand', false);
    if (shared) return shared;
    if (this.opts.issuer === null)
      throw new IssuanceRefused('on-demand issuance is off (no ACME directory configured)');
    this.checkBackoff(name);
    const decision = await this.opts.gate.check(name);
    if (!decision.allowed) throw new IssuanceRefused(`gate refused ${name}: ${decision.reason}`);
    if (!this.rate.take(this.now()))
      throw new IssuanceRefused(`issuance rate limit reached (${this.opts.ordersPerMinute} orders per minute)`);
    return this.issue(name, 'on-demand');
  }

  private checkBackoff(name: string): void {
    const st = this.statuses.get(name);
    if (st && st.nextAttemptAt.getTime() > this.now()) {
      throw new IssuanceRefused(
        `${name} is backing off after ${st.failures} failure(s) until ${st.nextAttemptAt.toISOString()}: ${st.lastError}`,
      );
    }
  }

  /**
   * A shared vault's certificate for `name`, served from now on when it is usable for `reason`
   * (unexpired; for a renewal, no longer due). Also takes over the fleet's failure status.
   */
  private async adoptStored(name: string, reason: 'on-demand' | 'renewal', fresh: boolean): Promise<StoredCert | null> {
    const fetch = this.opts.store.fetch;
    if (fetch === undefined) return null;
    const { cert, status } = await fetch.call(this.opts.store, name, { fresh });
    if (status) this.statuses.set(name, status);
    else if (cert) this.statuses.delete(name);
    if (cert === null || cert.notAfter.getTime() <= this.now()) return null;
    if (reason === 'renewal' && renewalDue(cert, this.now(), this.opts.renewWindowMs)) return null;
    this.opts.registry.add(cert);
    return cert;
  }

  /**
   * Issues under the fleet lock when there is one: the winner checks the vault again (a gateway
   * that held the lock just before may have stored the certificate) and orders only when it is
   * still missing; the others wait for the winner's certificate instead of ordering their own.
   */
  private async issue(name: string, reason: 'on-demand' | 'renewal'): Promise<StoredCert> {
    const lock = this.opts.lock;
    if (lock === undefined) return this.order(name, reason);
    const lease = await lock.acquire(name);
    if (lease === null) return this.awaitPeer(name, reason);
    try {
      return (await this.adoptStored(name, reason, true)) ?? (await this.order(name, reason));
    } finally {
      await lease
        .release()
        .catch((e: unknown) =>
          this.opts.logger.warn('cannot release the issuance lock', { name, error: (e as Error).message }),
        );
    }
  }

  /** Another gateway is ordering `name`: its certificate once stored, a refusal if it fails or takes too long. */
  private async awaitPeer(name: string, reason: 'on-demand' | 'renewal'): Promise<StoredCert> {
    const lock = this.opts.lock!;
    const poll = this.opts.peerPollMs ?? 250;
    const deadline = this.now() + (this.opts.handshakeWaitMs ?? 30_000);
    this.opts.logger.debug('another gateway is ordering this certificate', { name, reason });
    for (;;) {
      const adopted = await this.adoptStored(name, reason, true);
      if (adopted) return adopted;
      if (!(await lock.held(name))) {
        // Released without a usable certificate: the winner's failure (now in statuses) or a
        // race with its release; the next handshake or renewal pass starts over.
        const again = await this.adoptStored(name, reason, true);
        if (again) return again;
        throw new IssuanceRefused(`another gateway's issuance for ${name} did not produce a certificate`);
      }
      if (this.now() > deadline) throw new IssuanceRefused(`another gateway is still ordering ${name}`);
      await new Promise((r) => setTimeout(r, poll));
    }
  }

  private async order(name: string, reason: 'on-demand' | 'renewal'): Promise<StoredCert> {
    const issuer = this.opts.issuer!;
    const started = this.now();
    try {
      const pair = await issuer.issue(name);
      const ms = this.now() - started;
      const cert = await this.opts.store.saveIssued(name, pair.keyPem, pair.certPem, {
        ...this.opts.issuedMeta,
        issuedAt: new Date(this.now()).toISOString(),
        reason,
        issuanceMs: ms,
      });
      this.opts.registry.add(cert);
      this.opts.onOrder?.('issued', reason);
      if (this.statuses.delete(name) || this.opts.lock !== undefined) await this.opts.store.clearStatus(name);
      this.opts.logger.info('certificate issued', {
        name,
        reason,
        ms,
        notAfter: cert.notAfter.toISOString(),
        issuer: cert.issuer,
      });
      return cert;
    } catch (e) {
      this.opts.onOrder?.('failed', reason);
      const failures = (this.statuses.get(name)?.failures ?? 0) + 1;
      const delay = Math.min(this.opts.retryMaxMs ?? DAY_MS, this.opts.retryBaseMs * 2 ** Math.min(failures - 1, 30));
      const st: NameStatus = {
        name,
        failures,
        lastError: (e as Error).message,
        lastErrorAt: new Date(this.now()),
        nextAttemptAt: new Date(this.now() + delay),
      };
      this.statuses.set(name, st);
      try {
        await this.opts.store.writeStatus(st);
      } catch (we) {
        this.opts.logger.error('cannot record issuance failure', { name, error: (we as Error).message });
      }
      this.opts.logger.warn('certificate issuance failed', {
        name,
        reason,
        failures,
        retryInMs: delay,
        error: st.lastError,
      });
      throw e;
    }
  }

  /**
   * One renewal pass: every certificate Cellar issued whose renewal is due, one at a time. A
   * site that no longer qualifies (bucket deleted or made private) is not renewed; DNS is not
   * re-checked here, since the CA's own validation fails when it no longer points at us.
   */
  async renewDue(): Promise<void> {
    if (this.opts.issuer === null) return;
    await this.refresh();
    for (const cert of this.opts.registry.all()) {
      if (!cert.managed || !renewalDue(cert, this.now(), this.opts.renewWindowMs)) continue;
      const name = cert.dir;
      if (this.inflight.has(name)) continue;
      const st = this.statuses.get(name);
      if (st && st.nextAttemptAt.getTime() > this.now()) continue;
      const site = await this.opts.gate.checkSite(name);
      if (!site.allowed) {
        this.opts.logger.info('certificate not renewed', { name, reason: site.reason });
        continue;
      }
      const p = this.issue(name, 'renewal').finally(() => this.inflight.delete(name));
      this.inflight.set(name, p);
      await p.catch(() => undefined);
    }
  }

  /**
   * With a shared vault: serve what the fleet stored (certificates renewed or issued by other
   * gateways) and take over its failure statuses, before deciding what is due.
   */
  private async refresh(): Promise<void> {
    const loadAll = this.opts.store.loadAll;
    if (loadAll === undefined) return;
    const loaded = await loadAll.call(this.opts.store);
    for (const c of loaded.certs) this.opts.registry.add(c);
    for (const st of loaded.statuses) this.statuses.set(st.name, st);
    for (const p of loaded.problems) this.opts.logger.warn('certificate not loaded', { problem: p });
  }

  /** Starts the renewal timer; a pass never overlaps the previous one. */
  start(): void {
    if (this.opts.issuer === null || this.timer) return;
    const tick = (): void => {
      this.renewing ??= this.renewDue()
        .catch((e: unknown) => this.opts.logger.error('renewal pass failed', { error: String(e) }))
        .finally(() => {
          this.renewing = undefined;
        });
    };
    this.timer = setInterval(tick, this.opts.renewCheckMs);
    this.timer.unref();
    this.firstTick = setTimeout(tick, Math.min(this.opts.renewCheckMs, 60_000));
    this.firstTick.unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.firstTick);
    clearInterval(this.timer);
    this.timer = undefined;
    await this.renewing;
  }
}
