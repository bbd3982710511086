import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Server } from 'node:http';
import { Storage, type Addon } from '#storage';
import { publicEndpoint, type Config } from './config/index.js';
import { createGatewayHandler } from './gateway/server.js';
import { createHttpServer, listen } from './gateway/listener.js';
import type { HostConfig } from './gateway/host.js';
import { guardServer, type ConnectionLimits } from './gateway/limits.js';
import { createWebsiteHandler, type WebsiteHandler } from './gateway/website/handler.js';
import { createLocalWebsiteSource } from './gateway/website/local-source.js';
import {
  TlsService,
  cachedCatalog,
  certsDirOf,
  fleetCatalog,
  loadProofSecret,
  localCatalog,
  storageSites,
  websiteSites,
  type CertCatalog,
  type TlsSettings,
} from './gateway/tls/index.js';
import { createS3Handler } from './s3api/handler.js';
import { S3Error, toS3Error } from './s3api/errors.js';
import { errorXml } from './s3api/xml.js';
import { route, splitPath } from './s3api/router.js';
import type { ClassifyS3, RenderS3Error } from './gateway/backend.js';
import { createUpstreamBackend } from './gateway/upstream/proxy.js';
import { createUpstreamWebsiteSource } from './gateway/upstream/website-source.js';
import { websiteFromXml } from './s3api/handlers/website.js';
import { corsFromXml } from './s3api/handlers/cors.js';
import { createLogger, type Logger } from './shared/logger.js';
import { renderS3cfg } from './admin/s3cfg.js';
import { localAddonDirectory, rgwAddonDirectory } from './admin/addons.js';
import { listCertificates, type CertRow } from './admin/certs.js';
import { adminToken } from './admin/token.js';
import type { Readiness } from './admin/api.js';
import { RgwAdmin, UpstreamUnavailableError } from './gateway/upstream/rgw-admin.js';
import { embeddedOwnerBuckets } from './admin/owner/backend.js';
import { upstreamOwnerBuckets } from './admin/owner/upstream.js';
import { withoutSystemBucket, type SystemBucket } from './gateway/upstream/system-bucket.js';
import { systemBucketOf } from './admin/fleet.js';
import { fleetProofSecret } from './admin/domains.js';
import { BucketCertVault } from './gateway/upstream/cert-vault.js';
import { BucketChallenges } from './gateway/upstream/challenges.js';
import { BucketLock } from './gateway/upstream/lease-lock.js';
import { Observability } from './ops/observability.js';
import { closeNow, startAdminListener, type AdminListener } from './ops/admin-listener.js';

export interface RunningCellar {
  config: Config;
  storage: Storage;
  server: Server;
  /** The website side (tests inspect its cache). */
  website: WebsiteHandler;
  port: number;
  /** The bound HTTPS port; null without an HTTPS listener (CELLAR_HTTPS_PORT unset). */
  httpsPort: number | null;
  tls: TlsService | null;
  endpoint: URL;
  /** The add-on created on first start, with the path of its s3cfg; null when the data dir was not empty. */
  firstAddon: { addon: Addon; s3cfgPath: string } | null;
  admin: AdminInfo;
  obs: Observability;
  /** Cuts every connection and closes at once. */
  close(): Promise<void>;
  /** SIGTERM: stop accepting, let in-flight requests finish up to `deadlineMs`, then close. */
  shutdown(deadlineMs: number): Promise<void>;
  /** SIGHUP: reopen the access log file. */
  reopenLogs(): Promise<void>;
}

/** The admin listener as the banner shows it. */
export interface AdminInfo {
  /** null without an admin listener (CELLAR_ADMIN_PORT=off). */
  port: number | null;
  url: string | null;
  token: string;
  /** The token was generated now: print it, this once. */
  generated: boolean;
  tokenFile: string;
}

function adminInfo(config: Config, admin: AdminListener | null, token: ReturnType<typeof adminToken>): AdminInfo {
  const host = config.adminHost.includes(':') ? `[${config.adminHost}]` : config.adminHost;
  return {
    port: admin?.port ?? null,
    url: admin === null ? null : `http://${host}:${admin.port}`,
    token: token.token,
    generated: token.generated,
    tokenFile: token.file,
  };
}

/**
 * Graceful stop shared by both modes: no new connections anywhere, in-flight requests get until
 * the deadline, then what is left is cut.
 */
async function drain(
  obs: Observability,
  servers: Server[],
  stopAccepting: () => void,
  deadlineMs: number,
  logger: Logger,
): Promise<void> {
  for (const s of servers) {
    s.close();
    s.closeIdleConnections();
  }
  stopAccepting();
  const before = obs.inFlight;
  const settled = await obs.settled(deadlineMs);
  if (!settled) logger.warn('shutdown deadline reached: cutting requests still in flight', { inFlight: obs.inFlight });
  else if (before > 0) logger.info('in-flight requests finished', { requests: before });
  for (const s of servers) s.closeAllConnections();
  // Cut uploads unwind (their temp files are dropped, nothing is committed) before the store closes.
  if (!settled) await new Promise((r) => setTimeout(r, 100));
}

function hostConfig(config: Config): HostConfig {
  return { serviceDomains: [config.domain, ...config.extraDomains], websiteOnlyDomains: config.websiteDomains };
}

/** The TLS part of the configuration (the CLI's `cert` and `domain` commands use it too). */
export function tlsSettings(config: Config): TlsSettings {
  return {
    dataDir: config.dataDir,
    certsDir: config.certsDir,
    hosts: hostConfig(config),
    acmeDirectory: config.acmeDirectory,
    acmeEmail: config.acmeEmail,
    dnsResolver: config.dnsResolver,
    serviceAddresses: config.serviceAddresses,
    domainProof: config.domainProof,
    httpsRedirect: config.httpsRedirect,
    hstsMaxAge: config.hstsMaxAge,
    httpsPublicPort: config.httpsPublicPort,
    renewWindowSeconds: config.acmeRenewWindowSeconds,
    renewCheckSeconds: config.acmeRenewCheckSeconds,
    retryBaseSeconds: config.acmeRetryBaseSeconds,
    ordersPerMinute: config.acmeOrdersPerMinute,
    acmeBackoffMinMs: config.acmeBackoffMinMs,
    acmeHttpRetries: config.acmeHttpRetries,
  };
}

/** The metrics' view of the certificates. */
function certificateMetrics(catalog: CertCatalog, config: Config): () => Promise<CertRow[]> {
  return async () => (await listCertificates(catalog, config.acmeRenewWindowSeconds, Date.now())).rows;
}

function connectionLimits(config: Config): ConnectionLimits {
  return {
    headersTimeoutMs: config.headersTimeoutMs,
    bodyIdleTimeoutMs: config.bodyIdleTimeoutMs,
    bodyMinBytesPerSecond: config.bodyMinBytesPerSecond,
    maxConnections: config.maxConnections,
    maxConnectionsPerClient: config.maxConnectionsPerClient,
    http2MaxConcurrentStreams: config.http2MaxConcurrentStreams,
    http2IdleTimeoutMs: config.http2IdleTimeoutMs,
    http2MaxStreamsPerSecond: config.http2MaxStreamsPerSecond,
  };
}

/** The composition root: the only place that wires storage, the S3 API and the gateway together. */
export async function startCellar(
  config: Config,
  logger: Logger = createLogger(config.logLevel),
): Promise<RunningCellar> {
  const obs = new Observability({ destination: config.accessLog, level: config.accessLogLevel });
  const storage = await Storage.open({
    dataDir: config.dataDir,
    maxObjectSize: config.maxObjectSize,
    gcGraceMs: config.gcGraceSeconds * 1000,
    multipartMaxAgeMs: config.multipartMaxAgeSeconds * 1000,
    lifecycleDayMs: Math.max(1, config.lifecycleDaySeconds) * 1000,
    minFreeBytes: config.minFreeBytes,
    onCommit: (seconds) => obs.metrics.commit(seconds),
  });
  const s3 = createS3Handler({
    storage,
    config: { region: config.region, maxXmlBodySize: config.maxXmlBodySize, maxObjectSize: config.maxObjectSize },
    logger,
    now: () => new Date(),
  });
  const website = createWebsiteHandler({
    source: createLocalWebsiteSource(storage),
    cache: { maxBytes: config.cacheMaxBytes, maxEntryBytes: config.cacheMaxEntryBytes },
    cacheControl: { html: config.websiteCacheControlHtml, other: config.websiteCacheControl },
    logger,
  });
  if (config.httpsPort === null && config.acmeDirectory !== '')
    logger.warn('CELLAR_ACME_DIRECTORY is set but CELLAR_HTTPS_PORT is not: no HTTPS listener, no issuance');
  const tls =
    config.httpsPort === null
      ? null
      : await TlsService.create(tlsSettings(config), {
          sites: storageSites(storage),
          logger,
          onOrder: (outcome, reason) => obs.metrics.acmeOrder(outcome, reason),
        });
  const handler = obs.wrap(
    createGatewayHandler({ hosts: hostConfig(config), backend: { handle: s3 }, website, tls: tls?.gateway, logger }),
    's3',
  );
  const limits = connectionLimits(config);
  const server = createHttpServer(handler);
  guardServer(server, handler, limits);
  const port = await listen(server, config.httpPort, config.host);
  const endpoint = publicEndpoint(config, port);
  let httpsPort: number | null = null;
  if (tls !== null) {
    try {
      httpsPort = await tls.listen(handler, config.httpsPort!, config.host, (s) => guardServer(s, handler, limits));
    } catch (e) {
      server.close();
      website.close();
      storage.close();
      throw e;
    }
  }

  let firstAddon: RunningCellar['firstAddon'] = null;
  if (storage.listAddons().length === 0) {
    const addon = storage.createAddon({ name: 'default' });
    const s3cfgPath = path.resolve(config.dataDir, 's3cfg');
    writeFileSync(
      s3cfgPath,
      renderS3cfg({
        accessKeyId: addon.accessKeyId,
        secretAccessKey: addon.secretAccessKey,
        endpoint,
        region: config.region,
      }),
      { mode: 0o600 },
    );
    firstAddon = { addon, s3cfgPath };
  }

  const token = adminToken(config.dataDir, config.adminToken);
  const ready = { draining: false };
  const certificates = localCatalog(certsDirOf(config));
  obs.metrics.setSources({
    storageTotals: () => storage.usageTotals(),
    websiteCache: () => ({ bodyBytes: website.cache.stats().bodyBytes, evictions: website.cache.evictions }),
    certificates: tls === null ? undefined : certificateMetrics(certificates, config),
  });
  let admin: AdminListener | null = null;
  if (config.adminPort !== null) {
    try {
      admin = await startAdminListener(
        obs,
        {
          token: token.token,
          addons: localAddonDirectory(storage),
          storage,
          tls: tlsSettings(config),
          certificates,
          proofSecret: async () => loadProofSecret(config.dataDir),
          httpsEnabled: tls !== null,
          service: { endpoint, region: config.region },
          logger,
          dashboard: {
            sessionSeconds: config.dashboardSessionSeconds,
            obtainCertificate:
              tls === null || config.acmeDirectory === ''
                ? null
                : async (host) => void (await tls.manager.obtain(host)),
            buckets: embeddedOwnerBuckets(storage, {
              region: config.region,
              tls: tlsSettings(config),
              httpsEnabled: tls !== null,
              proofSecret: async () => loadProofSecret(config.dataDir),
            }),
          },
          readiness: async (): Promise<Readiness> => {
            const checks: Record<string, string> = {};
            try {
              storage.addon('');
              checks.storage = 'ok';
            } catch (e) {
              checks.storage = String(e);
            }
            checks.listeners = server.listening && (tls === null || httpsPort !== null) ? 'ok' : 'not bound';
            if (ready.draining) checks.shutdown = 'draining';
            return { ready: Object.values(checks).every((v) => v === 'ok'), checks };
          },
        },
        { host: config.adminHost, port: config.adminPort },
      );
    } catch (e) {
      server.close();
      await tls?.close();
      website.close();
      storage.close();
      throw e;
    }
  }

  storage.initialCollection.then(
    (r) => {
      if (r.blobs + r.tmp + r.uploads > 0) logger.info('garbage collected at start-up', r);
    },
    (e: unknown) => logger.error('start-up garbage collection failed', { error: String(e) }),
  );
  const gcTimer = setInterval(() => {
    storage.collectGarbage().then(
      (r) => {
        if (r.blobs + r.tmp + r.uploads > 0) logger.info('garbage collected', r);
      },
      (e: unknown) => logger.error('garbage collection failed', { error: String(e) }),
    );
  }, Math.max(1, config.gcIntervalSeconds) * 1000);
  gcTimer.unref();
  // The next lifecycle pass is scheduled when one ends: a long pass (a million objects) never overlaps the next.
  const lifecycle = { timer: undefined as NodeJS.Timeout | undefined, stopped: false };
  const scheduleLifecycle = (): void => {
    if (lifecycle.stopped) return;
    lifecycle.timer = setTimeout(() => {
      storage
        .applyLifecycle()
        .then(
          (r) => {
            if (r.expired + r.aborted > 0) logger.info('lifecycle rules applied', { ...r });
          },
          (e: unknown) => logger.error('lifecycle pass failed', { error: String(e) }),
        )
        .finally(scheduleLifecycle);
    }, Math.max(1, config.lifecycleIntervalSeconds) * 1000);
    lifecycle.timer.unref();
  };
  scheduleLifecycle();

  logger.info('listening', { endpoint: endpoint.href, host: config.host, port, httpsPort, adminPort: admin?.port });
  const close = async (): Promise<void> => {
    clearInterval(gcTimer);
    lifecycle.stopped = true;
    clearTimeout(lifecycle.timer);
    website.close();
    await Promise.all([closeNow(server), admin && closeNow(admin.server)]);
    await tls?.close();
    storage.close();
    await obs.close();
  };
  return {
    config,
    storage,
    server,
    website,
    port,
    httpsPort,
    tls,
    endpoint,
    firstAddon,
    admin: adminInfo(config, admin, token),
    obs,
    close,
    async shutdown(deadlineMs) {
      ready.draining = true;
      // The admin listener stays up while draining, so /readyz can say so.
      await drain(obs, [server], () => tls?.stopAccepting(), deadlineMs, logger);
      await close();
    },
    reopenLogs: () => obs.reopenLog(),
  };
}

export interface RunningGateway {
  config: Config;
  server: Server;
  port: number;
  /** The bound HTTPS port; null without CELLAR_HTTPS_PORT. */
  httpsPort: number | null;
  tls: TlsService | null;
  endpoint: URL;
  admin: AdminInfo;
  obs: Observability;
  close(): Promise<void>;
  shutdown(deadlineMs: number): Promise<void>;
  reopenLogs(): Promise<void>;
}

/** RGW answers at all (any HTTP status): the upstream is reachable. */
async function upstreamReachable(url: string, timeoutMs: number): Promise<string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(Math.min(timeoutMs, 5000)) });
    await res.arrayBuffer();
    return 'ok';
  } catch (e) {
    return `unreachable: ${(e as Error).message}`;
  }
}

/** How long the metrics reuse one read of the fleet's certificates. */
const METRICS_CERTS_TTL_MS = 10_000;

/** Longer than any one ACME order (its HTTP timeouts and retries bound it to a few minutes). */
const ISSUANCE_LEASE_MS = 10 * 60_000;

/**
 * The fleet's system bucket, created on first start. RGW down at start-up does not stop the
 * gateway (it serves nothing without RGW anyway): the bucket is made once RGW answers.
 */
async function ensureSystemBucket(system: SystemBucket, logger: Logger): Promise<() => void> {
  try {
    await system.ensure();
    return () => undefined;
  } catch (e) {
    if (!(e instanceof UpstreamUnavailableError)) throw e;
    logger.warn('system bucket not ready; retrying in the background', { bucket: system.name, error: e.message });
    const retry = setInterval(() => {
      system.ensure().then(
        () => clearInterval(retry),
        (err: unknown) => logger.debug('system bucket still not ready', { error: String(err) }),
      );
    }, 5000);
    retry.unref();
    return () => clearInterval(retry);
  }
}

/** S3 error documents for the gateway, from the S3 API's one error table. */
const renderS3Error: RenderS3Error = (e, resource, requestId) => {
  const err = e === 'ServiceUnavailable' ? new S3Error('ServiceUnavailable') : toS3Error(e);
  return { status: err.status, body: errorXml(err.code, err.message, resource, requestId, { ...err.details }) };
};

/** The S3 API router's name for a proxied request, so that both modes log and count alike. */
const classifyS3: ClassifyS3 = (method, rawPath, rawQuery, headers, vhostBucket) => {
  let where: { bucket: string | null; key: string | null };
  try {
    where = splitPath(decodeURIComponent(rawPath), vhostBucket);
  } catch {
    return { op: null, bucket: null };
  }
  try {
    return {
      op: route(method, where.bucket, where.key, new URLSearchParams(rawQuery), headers).op,
      bucket: where.bucket,
    };
  } catch {
    // A request the router refuses (RGW answers it): no operation to name.
    return { op: null, bucket: where.bucket };
  }
};

/**
 * Upstream mode (CELLAR_UPSTREAM_URL set): a stateless gateway in front of Ceph RGW. No local
 * object store; S3 requests are verified and forwarded to RGW, which holds data and users.
 */
export async function startUpstreamGateway(
  config: Config,
  logger: Logger = createLogger(config.logLevel),
): Promise<RunningGateway> {
  const backend = createUpstreamBackend({
    url: config.upstreamUrl,
    accessKey: config.upstreamAccessKey,
    secretKey: config.upstreamSecretKey,
    timeoutMs: config.upstreamTimeoutMs,
    region: config.region,
    renderError: renderS3Error,
    classify: classifyS3,
    logger,
  });
  const obs = new Observability({ destination: config.accessLog, level: config.accessLogLevel });
  const system = systemBucketOf(config);
  const proofSecret = fleetProofSecret(system, config.dataDir);
  const source = withoutSystemBucket(
    createUpstreamWebsiteSource({
      url: config.upstreamUrl,
      accessKey: config.upstreamAccessKey,
      secretKey: config.upstreamSecretKey,
      timeoutMs: config.upstreamTimeoutMs,
      websiteFromXml,
      corsFromXml,
    }),
    config.systemBucket,
  );
  const website = createWebsiteHandler({
    source,
    cache: { maxBytes: config.cacheMaxBytes, maxEntryBytes: config.cacheMaxEntryBytes },
    cacheControl: { html: config.websiteCacheControlHtml, other: config.websiteCacheControl },
    logger,
    bucketRecheckMs: config.upstreamRevalidateMs,
    revalidate: { everyMs: config.upstreamRevalidateMs, staleIfErrorMs: config.upstreamStaleIfErrorSeconds * 1000 },
  });
  if (config.httpsPort === null && config.acmeDirectory !== '')
    logger.warn('CELLAR_ACME_DIRECTORY is set but CELLAR_HTTPS_PORT is not: no HTTPS listener, no issuance');
  let tls: TlsService | null = null;
  let stopEnsuring = (): void => undefined;
  if (config.httpsPort !== null) {
    stopEnsuring = await ensureSystemBucket(system, logger);
    tls = await TlsService.create(tlsSettings(config), {
      sites: websiteSites(source),
      logger,
      onOrder: (outcome, reason) => obs.metrics.acmeOrder(outcome, reason),
      shared: {
        vault: new BucketCertVault(system),
        challenges: new BucketChallenges(system),
        lock: new BucketLock(system, { holder: `${hostname()}:${process.pid}`, leaseMs: ISSUANCE_LEASE_MS }),
        proofSecret: () => proofSecret.get(),
      },
    });
  }
  const handler = obs.wrap(
    createGatewayHandler({ hosts: hostConfig(config), backend, website, tls: tls?.gateway, logger }),
    's3',
  );
  const limits = connectionLimits(config);
  const server = createHttpServer(handler);
  // The same limits as embedded mode. Expect: 100-continue reaches the handler unanswered: the
  // upstream backend sends 100 Continue once RGW wants the body, so clients never stream bodies
  // RGW is about to refuse.
  guardServer(server, handler, limits);
  let port: number;
  let httpsPort: number | null = null;
  try {
    port = await listen(server, config.httpPort, config.host);
    if (tls !== null)
      httpsPort = await tls.listen(handler, config.httpsPort!, config.host, (s) => guardServer(s, handler, limits));
  } catch (e) {
    server.close();
    await tls?.close();
    backend.close();
    website.close();
    system.close();
    throw e;
  }
  const endpoint = publicEndpoint(config, port);
  const token = adminToken(config.dataDir, config.adminToken);
  const ready = { draining: false };
  const certificates = fleetCatalog(new BucketCertVault(system), certsDirOf(config));
  obs.metrics.setSources({
    websiteCache: () => ({ bodyBytes: website.cache.stats().bodyBytes, evictions: website.cache.evictions }),
    // Each read lists the system bucket and reads every certificate: once per scrape interval at most.
    certificates:
      tls === null ? undefined : certificateMetrics(cachedCatalog(certificates, METRICS_CERTS_TTL_MS), config),
  });
  const rgwAdmin = new RgwAdmin({
    url: config.upstreamUrl,
    accessKey: config.upstreamAccessKey,
    secretKey: config.upstreamSecretKey,
    timeoutMs: config.upstreamTimeoutMs,
  });
  const addons = rgwAddonDirectory(rgwAdmin, (accessKey) => backend.forgetAccessKey(accessKey));
  const ownerBuckets = upstreamOwnerBuckets({
    url: config.upstreamUrl,
    timeoutMs: config.upstreamTimeoutMs,
    admin: rgwAdmin,
    tls: tlsSettings(config),
    proofSecret: () => proofSecret.get(),
  });
  let admin: AdminListener | null = null;
  if (config.adminPort !== null) {
    try {
      admin = await startAdminListener(
        obs,
        {
          token: token.token,
          addons,
          storage: null,
          tls: tlsSettings(config),
          certificates,
          proofSecret: () => proofSecret.get(),
          httpsEnabled: false,
          service: { endpoint, region: config.region },
          logger,
          dashboard: { sessionSeconds: config.dashboardSessionSeconds, obtainCertificate: null, buckets: ownerBuckets },
          readiness: async (): Promise<Readiness> => {
            const checks: Record<string, string> = {
              upstream: await upstreamReachable(config.upstreamUrl, config.upstreamTimeoutMs),
              listeners: server.listening && (tls === null || httpsPort !== null) ? 'ok' : 'not bound',
            };
            if (ready.draining) checks.shutdown = 'draining';
            return { ready: Object.values(checks).every((v) => v === 'ok'), checks };
          },
        },
        { host: config.adminHost, port: config.adminPort },
      );
    } catch (e) {
      server.close();
      await tls?.close();
      backend.close();
      website.close();
      addons.close();
      ownerBuckets.close();
      system.close();
      throw e;
    }
  }
  logger.info('listening (upstream mode)', {
    endpoint: endpoint.href,
    upstream: config.upstreamUrl,
    host: config.host,
    port,
    httpsPort,
    adminPort: admin?.port,
  });
  const close = async (): Promise<void> => {
    await Promise.all([closeNow(server), admin && closeNow(admin.server)]);
    stopEnsuring();
    await tls?.close();
    backend.close();
    website.close();
    addons.close();
    ownerBuckets.close();
    system.close();
    await obs.close();
  };
  return {
    config,
    server,
    port,
    httpsPort,
    tls,
    endpoint,
    admin: adminInfo(config, admin, token),
    obs,
    close,
    async shutdown(deadlineMs) {
      ready.draining = true;
      await drain(obs, [server], () => tls?.stopAccepting(), deadlineMs, logger);
      await close();
    },
    reopenLogs: () => obs.reopenLog(),
  };
}
