/**
 * HTTPS for every site: the pieces of src/gateway/tls assembled from settings. main.ts builds
 * one TlsService; the CLI uses createGate() and the store directly.
 */
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../shared/logger.js';
import type { HostConfig } from '../host.js';
import { closeAllConnections, createSecureServer, stopAccepting, type SecureServer } from '../http2.js';
import { listen, onClientError, SERVER_LIMITS } from '../listener.js';
import { AcmeIssuer } from './acme.js';
import { createDnsLookup } from './dns.js';
import { DomainGate, type SiteLookup } from './gate.js';
import { ChallengeTokens, answerAcmeChallenge, websiteHttps, type ChallengeStore } from './http.js';
import { CertificateManager, type CertVault, type FleetLock, type ManagerOptions } from './manager.js';
import { loadProofSecret, proofToken } from './proof.js';
import { CertRegistry } from './registry.js';
import { CertStore, type LoadResult } from './store.js';
import { operatorCertificates } from './catalog.js';

export { DomainGate, PROOF_LABEL, type GateDecision, type GateStep, type SiteLookup } from './gate.js';
export { storageSites, websiteSites } from './sites.js';
export type { CertVault, FleetLock, Lease } from './manager.js';
export type { ChallengeStore } from './http.js';
export { CertStore } from './store.js';
export { loadProofSecret, proofToken, readProofSecret } from './proof.js';
export { cachedCatalog, fleetCatalog, localCatalog, type CertCatalog } from './catalog.js';
export { certificateRows, formatCertTable, formatDomainReport, type CertRow, type DomainReport } from './report.js';
export { CertRegistry } from './registry.js';

export interface TlsSettings {
  dataDir: string;
  /** The certificate store; relative paths resolve against the working directory. */
  certsDir: string;
  hosts: HostConfig;
  /** ACME directory URL; '' turns on-demand issuance and renewal off. */
  acmeDirectory: string;
  acmeEmail: string;
  /** `host:port` of the DNS server the gate asks; '' = the system resolver. */
  dnsResolver: string;
  serviceAddresses: string[];
  /** Require the `_cellar-challenge.<domain>` TXT proof for custom domains. */
  domainProof: boolean;
  httpsRedirect: boolean;
  hstsMaxAge: number;
  /** The HTTPS port visitors use, for redirects; 0 = the bound port. */
  httpsPublicPort: number;
  renewWindowSeconds: number;
  renewCheckSeconds: number;
  retryBaseSeconds: number;
  ordersPerMinute: number;
  acmeBackoffMinMs: number;
  acmeHttpRetries: number;
}

/** What the gateway's request handler needs from TLS. */
export interface GatewayTls {
  /** Answers ACME HTTP-01 challenge requests; true when it did. Call before anything else. */
  answerChallenge(req: IncomingMessage, res: ServerResponse): boolean;
  /** For website traffic: the HTTP -> HTTPS redirect (true when it answered) and HSTS. */
  website(req: IncomingMessage, res: ServerResponse, secure: boolean): boolean;
}

export function certsDirOf(s: Pick<TlsSettings, 'certsDir'>): string {
  return path.resolve(s.certsDir);
}

/**
 * The gate over `sites`. The domain-proof secret is the data directory's (read now when proofs
 * are required), unless `proofSecret` gives it (upstream mode: the fleet's, read on first use).
 */
export function createGate(s: TlsSettings, sites: SiteLookup, proofSecret?: () => Promise<Buffer>): DomainGate {
  const secret = s.domainProof && proofSecret === undefined ? loadProofSecret(s.dataDir) : null;
  return new DomainGate({
    hosts: s.hosts,
    sites,
    dns: createDnsLookup(s.dnsResolver),
    serviceAddresses: s.serviceAddresses,
    requireProof: s.domainProof,
    proofToken: (name) =>
      proofSecret === undefined ? proofToken(secret!, name) : proofSecret().then((k) => proofToken(k, name)),
  });
}

/** The fleet's certificates at start-up; an upstream outage leaves them to the first renewal pass. */
async function loadShared(vault: Required<Pick<CertVault, 'loadAll'>>): Promise<LoadResult> {
  try {
    return await vault.loadAll();
  } catch (e) {
    return { certs: [], statuses: [], problems: [`the shared certificate store: ${(e as Error).message}`] };
  }
}

export class TlsService {
  readonly gateway: GatewayTls;
  private server: SecureServer | null = null;
  private boundPort: number | null = null;

  private constructor(
    readonly settings: TlsSettings,
    readonly store: CertVault,
    readonly manager: CertificateManager,
    readonly tokens: ChallengeStore,
    private readonly logger: Logger,
  ) {
    const policy = {
      redirect: settings.httpsRedirect,
      hstsMaxAge: settings.hstsMaxAge,
      httpsPort: () => (this.boundPort === null ? null : settings.httpsPublicPort || this.boundPort),
      hasCertificate: (host: string) => manager.hasCertificate(host),
    };
    this.gateway = {
      answerChallenge: (req, res) => answerAcmeChallenge(req, res, this.tokens),
      website: (req, res, secure) => websiteHttps(req, res, secure, policy),
    };
  }

  /** Loads the store (never contacting the CA) and prepares issuance when a directory is configured. */
  static async create(
    s: TlsSettings,
    deps: {
      sites: SiteLookup;
      logger: Logger;
      now?: () => number;
      onOrder?: ManagerOptions['onOrder'];
      /**
       * Upstream mode: certificates, challenge answers and the issuance lock shared by every
       * gateway of the fleet (the system bucket), instead of the local certificate directory.
       */
      shared?: {
        vault: CertVault & Required<Pick<CertVault, 'loadAll'>>;
        challenges: ChallengeStore;
        lock: FleetLock;
        /** The fleet's domain-proof secret (one TXT token per domain for every gateway). */
        proofSecret: () => Promise<Buffer>;
      };
    },
  ): Promise<TlsService> {
    const local = deps.shared === undefined ? new CertStore(certsDirOf(s)) : null;
    const store: CertVault = deps.shared?.vault ?? local!;
    const loaded = local !== null ? local.load() : await loadShared(deps.shared!.vault);
    // Upstream mode: the operator's own files in CELLAR_CERTS_DIR, loaded at start as in
    // embedded mode, win over the fleet's certificates for their names.
    const operator = local === null ? operatorCertificates(certsDirOf(s)) : null;
    for (const p of [...loaded.problems, ...(operator?.problems ?? [])])
      deps.logger.warn('certificate not loaded', { problem: p });
    const registry = new CertRegistry();
    for (const c of loaded.certs) registry.add(c);
    for (const c of operator?.certs ?? []) registry.pin(c);
    const tokens: ChallengeStore = deps.shared?.challenges ?? new ChallengeTokens();
    const issuer =
      s.acmeDirectory === ''
        ? null
        : await AcmeIssuer.create({
            directoryUrl: s.acmeDirectory,
            email: s.acmeEmail,
            accountKey: (create) => store.accountKey(create),
            tokens,
            backoffMinMs: s.acmeBackoffMinMs,
            httpRetries: s.acmeHttpRetries,
            logger: deps.logger,
          });
    const manager = new CertificateManager(
      {
        store,
        lock: deps.shared?.lock,
        registry,
        issuer,
        logger: deps.logger,
        now: deps.now,
        onOrder: deps.onOrder,
        gate: createGate(s, deps.sites, deps.shared?.proofSecret),
        retryBaseMs: s.retryBaseSeconds * 1000,
        ordersPerMinute: s.ordersPerMinute,
        renewWindowMs: s.renewWindowSeconds * 1000,
        renewCheckMs: Math.max(1, s.renewCheckSeconds) * 1000,
        issuedMeta: { directory: s.acmeDirectory },
      },
      loaded.statuses,
    );
    deps.logger.info('certificate store loaded', {
      dir: store.root,
      certificates: loaded.certs.length,
      ...(operator === null ? {} : { operatorCertificates: operator.certs.length, operatorDir: certsDirOf(s) }),
      onDemand: issuer !== null,
    });
    return new TlsService(s, store, manager, tokens, deps.logger);
  }

  /**
   * Starts the HTTPS listener on the shared request handler, HTTP/2 and HTTP/1.1 by ALPN;
   * resolves with the bound port.
   */
  async listen(
    handler: (req: IncomingMessage, res: ServerResponse) => void,
    port: number,
    host: string,
    configure?: (server: SecureServer) => void,
  ): Promise<number> {
    const server = createSecureServer({ SNICallback: this.manager.sniCallback }, SERVER_LIMITS, handler);
    configure?.(server);
    // The same S3-shaped 400 as on HTTP for HTTP/1.1 requests Node cannot parse.
    server.on('clientError', onClientError);
    // Node's own listener re-emits handshake failures as clientError, whose answer is an HTTP/1.1
    // 400 written into a socket that never spoke TLS: only logged instead.
    server.removeAllListeners('tlsClientError');
    server.on('tlsClientError', (e: Error) => this.logger.debug('tls handshake failed', { error: e.message }));
    server.on('sessionError', (e: Error) => this.logger.debug('http2 session failed', { error: e.message }));
    this.boundPort = await listen(server, port, host);
    this.server = server;
    this.manager.start();
    return this.boundPort;
  }

  /** Graceful shutdown's first step: no new connections; open ones finish their requests. */
  stopAccepting(): void {
    if (this.server !== null) stopAccepting(this.server);
  }

  async close(): Promise<void> {
    await this.manager.stop();
    const server = this.server;
    if (server === null) return;
    closeAllConnections(server);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
