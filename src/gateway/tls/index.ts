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
import { ChallengeTokens, answerAcmeChallenge, websiteHttps } from './http.js';
import { CertificateManager, type ManagerOptions } from './manager.js';
import { loadProofSecret, proofToken } from './proof.js';
import { CertRegistry } from './registry.js';
import { CertStore } from './store.js';

export { DomainGate, PROOF_LABEL, type GateDecision, type GateStep, type SiteLookup } from './gate.js';
export { storageSites } from './sites.js';
export { CertStore } from './store.js';
export { loadProofSecret, proofToken } from './proof.js';
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

export function createGate(s: TlsSettings, sites: SiteLookup): DomainGate {
  const secret = s.domainProof ? loadProofSecret(s.dataDir) : null;
  return new DomainGate({
    hosts: s.hosts,
    sites,
    dns: createDnsLookup(s.dnsResolver),
    serviceAddresses: s.serviceAddresses,
    requireProof: s.domainProof,
    proofToken: (name) => proofToken(secret!, name),
  });
}

export class TlsService {
  readonly gateway: GatewayTls;
  private server: SecureServer | null = null;
  private boundPort: number | null = null;

  private constructor(
    readonly settings: TlsSettings,
    readonly store: CertStore,
    readonly manager: CertificateManager,
    readonly tokens: ChallengeTokens,
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
    },
  ): Promise<TlsService> {
    const store = new CertStore(certsDirOf(s));
    const loaded = store.load();
    for (const p of loaded.problems) deps.logger.warn('certificate not loaded', { problem: p });
    const registry = new CertRegistry();
    for (const c of loaded.certs) registry.add(c);
    const tokens = new ChallengeTokens();
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
        registry,
        issuer,
        logger: deps.logger,
        now: deps.now,
        onOrder: deps.onOrder,
        gate: createGate(s, deps.sites),
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
