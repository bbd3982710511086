import { writeFileSync } from 'node:fs';
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
import { TlsService, storageSites, type TlsSettings } from './gateway/tls/index.js';
import { createS3Handler } from './s3api/handler.js';
import { S3Error, toS3Error } from './s3api/errors.js';
import { errorXml } from './s3api/xml.js';
import type { RenderS3Error } from './gateway/backend.js';
import { createUpstreamBackend } from './gateway/upstream/proxy.js';
import { createUpstreamWebsiteSource } from './gateway/upstream/website-source.js';
import { websiteFromXml } from './s3api/handlers/website.js';
import { corsFromXml } from './s3api/handlers/cors.js';
import { createLogger, type Logger } from './shared/logger.js';
import { renderS3cfg } from './admin/s3cfg.js';

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
  close(): Promise<void>;
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

function connectionLimits(config: Config): ConnectionLimits {
  return {
    headersTimeoutMs: config.headersTimeoutMs,
    bodyIdleTimeoutMs: config.bodyIdleTimeoutMs,
    bodyMinBytesPerSecond: config.bodyMinBytesPerSecond,
    maxConnections: config.maxConnections,
    maxConnectionsPerClient: config.maxConnectionsPerClient,
  };
}

/** The composition root: the only place that wires storage, the S3 API and the gateway together. */
export async function startCellar(
  config: Config,
  logger: Logger = createLogger(config.logLevel),
): Promise<RunningCellar> {
  const storage = await Storage.open({
    dataDir: config.dataDir,
    maxObjectSize: config.maxObjectSize,
    gcGraceMs: config.gcGraceSeconds * 1000,
    multipartMaxAgeMs: config.multipartMaxAgeSeconds * 1000,
    minFreeBytes: config.minFreeBytes,
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
      : await TlsService.create(tlsSettings(config), { sites: storageSites(storage), logger });
  const handler = createGatewayHandler({
    hosts: hostConfig(config),
    backend: { handle: s3 },
    website,
    tls: tls?.gateway,
    logger,
  });
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

  logger.info('listening', { endpoint: endpoint.href, host: config.host, port, httpsPort });
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
    async close() {
      clearInterval(gcTimer);
      website.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await tls?.close();
      storage.close();
    },
  };
}

export interface RunningGateway {
  config: Config;
  server: Server;
  port: number;
  endpoint: URL;
  close(): Promise<void>;
}

/** S3 error documents for the gateway, from the S3 API's one error table. */
const renderS3Error: RenderS3Error = (e, resource, requestId) => {
  const err = e === 'ServiceUnavailable' ? new S3Error('ServiceUnavailable') : toS3Error(e);
  return { status: err.status, body: errorXml(err.code, err.message, resource, requestId, { ...err.details }) };
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
    logger,
  });
  if (config.httpsPort !== null)
    logger.warn('CELLAR_HTTPS_PORT is ignored in upstream mode (certificates across gateways are not built yet)');
  const website = createWebsiteHandler({
    source: createUpstreamWebsiteSource({
      url: config.upstreamUrl,
      accessKey: config.upstreamAccessKey,
      secretKey: config.upstreamSecretKey,
      timeoutMs: config.upstreamTimeoutMs,
      websiteFromXml,
      corsFromXml,
    }),
    cache: { maxBytes: config.cacheMaxBytes, maxEntryBytes: config.cacheMaxEntryBytes },
    cacheControl: { html: config.websiteCacheControlHtml, other: config.websiteCacheControl },
    logger,
    bucketRecheckMs: config.upstreamRevalidateMs,
    revalidate: { everyMs: config.upstreamRevalidateMs, staleIfErrorMs: config.upstreamStaleIfErrorSeconds * 1000 },
  });
  const handler = createGatewayHandler({ hosts: hostConfig(config), backend, website, logger });
  const server = createHttpServer(handler);
  // The same limits as embedded mode. Expect: 100-continue reaches the handler unanswered: the
  // upstream backend sends 100 Continue once RGW wants the body, so clients never stream bodies
  // RGW is about to refuse.
  guardServer(server, handler, connectionLimits(config));
  let port: number;
  try {
    port = await listen(server, config.httpPort, config.host);
  } catch (e) {
    backend.close();
    website.close();
    throw e;
  }
  const endpoint = publicEndpoint(config, port);
  logger.info('listening (upstream mode)', {
    endpoint: endpoint.href,
    upstream: config.upstreamUrl,
    host: config.host,
    port,
  });
  return {
    config,
    server,
    port,
    endpoint,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      backend.close();
      website.close();
    },
  };
}
