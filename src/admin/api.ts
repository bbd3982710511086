/**
 * The admin HTTP API (Express), on its own listener: add-ons, buckets, certificates and domains
 * under /api/v1 for the operator (bearer token), plus /metrics, /healthz and /readyz. JSON in and
 * out; every error is `{"error": {"code", "message"}}` with the status that fits.
 * Express earns its place here and not on the public side: routing, JSON bodies and error
 * middleware for a handful of low-traffic routes, where the S3 and website paths need none of it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { isStorageError, type Storage } from '#storage';
import type { CertCatalog, TlsSettings } from '../gateway/tls/index.js';
import { UpstreamUnavailableError } from '../gateway/upstream/rgw-admin.js';
import type { Logger } from '../shared/logger.js';
import { addonRecord, addonS3cfg, type ServerAddonDirectory } from './addons.js';
import { ApiError } from './api-error.js';
import { dashboardFiles, securityHeaders } from './dashboard.js';
import { createOwnerApi } from './owner/routes.js';
import { LoginLimiter, SessionStore } from './owner/session.js';
import { listCertificates } from './certs.js';
import { checkDomain, domainProofRecord, normalizeHost } from './domains.js';
import { tokenMatches } from './token.js';

export interface Readiness {
  ready: boolean;
  checks: Record<string, string>;
}

export interface AdminApiDeps {
  token: string;
  addons: ServerAddonDirectory;
  /** The local store; null in upstream mode (bucket usage and domain checks need it). */
  storage: Storage | null;
  tls: TlsSettings;
  /** What GET /certificates lists: the local directory, or the fleet's vault (upstream mode). */
  certificates: CertCatalog;
  /** The domain-proof secret: the data directory's, or the fleet's (upstream mode). */
  proofSecret(): Promise<Buffer>;
  httpsEnabled: boolean;
  service: { endpoint: URL; region: string };
  metrics: { contentType: string; render(): Promise<string> };
  readiness(): Promise<Readiness>;
  logger: Logger;
  dashboard: DashboardOptions;
}

export interface DashboardOptions {
  /** How long an owner's dashboard session lasts (CELLAR_DASHBOARD_SESSION_SECONDS). */
  sessionSeconds: number;
  /** Obtains a certificate for a custom domain now; null without on-demand HTTPS. */
  obtainCertificate: ((host: string) => Promise<void>) | null;
}

/** Failed owner logins an address may make per window before it must wait. */
const LOGIN_FAILURES = 10;
const LOGIN_WINDOW_MS = 60_000;

const CREATE_FIELDS = new Set(['name', 'email', 'accessKeyId', 'secretAccessKey']);

/** The body of POST /addons: the CLI's --json shape; `id` may be echoed back but not chosen. */
function createInput(body: unknown): { name?: string; email?: string; accessKeyId?: string; secretAccessKey?: string } {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ApiError(400, 'InvalidArgument', 'expected a JSON object');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) {
    if (!CREATE_FIELDS.has(k)) throw new ApiError(400, 'InvalidArgument', `unknown field ${k}`);
    if (typeof v !== 'string') throw new ApiError(400, 'InvalidArgument', `${k} must be a string`);
    out[k] = v;
  }
  return out;
}

function needStorage(deps: AdminApiDeps): Storage {
  if (deps.storage === null)
    throw new ApiError(501, 'NotImplemented', 'not available in upstream mode (the objects live in RGW)');
  return deps.storage;
}

function hostParam(req: Request): string {
  const host = normalizeHost(String(req.params.host));
  if (!host || !/^[a-z0-9.-]{1,253}$/.test(host)) throw new ApiError(400, 'InvalidArgument', 'not a host name');
  return host;
}

export function createAdminApi(deps: AdminApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(securityHeaders);
  const sessions = new SessionStore(deps.dashboard.sessionSeconds * 1000);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const r = await deps.readiness();
    res.status(r.ready ? 200 : 503).json({ status: r.ready ? 'ready' : 'not ready', checks: r.checks });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.contentType).send(await deps.metrics.render());
  });

  app.use(
    '/api/v1/owner',
    createOwnerApi({
      addons: deps.addons,
      storage: deps.storage,
      service: deps.service,
      tls: deps.tls,
      httpsEnabled: deps.httpsEnabled,
      proofSecret: deps.proofSecret,
      sessions,
      limiter: new LoginLimiter(LOGIN_FAILURES, LOGIN_WINDOW_MS),
      obtainCertificate: deps.dashboard.obtainCertificate,
      logger: deps.logger,
    }),
  );

  const api = express.Router();
  api.use((req, _res, next) => {
    if (!tokenMatches(deps.token, req.headers.authorization))
      throw new ApiError(401, 'Unauthorized', 'missing or wrong bearer token');
    next();
  });
  api.use(express.json({ limit: '64kb', strict: false }));
  api.use((req, _res, next) => {
    // A body that is not JSON is refused, not silently ignored.
    const length = Number(req.headers['content-length'] ?? 0);
    if (req.body === undefined && (length > 0 || req.headers['transfer-encoding'] !== undefined))
      throw new ApiError(415, 'UnsupportedMediaType', 'request bodies must be application/json');
    next();
  });

  const addonOr404 = async (id: string) => {
    const a = await deps.addons.get(id);
    if (a === null) throw new ApiError(404, 'NoSuchAddon', `no add-on ${id}`);
    return a;
  };

  api.get('/addons', async (_req, res) => {
    res.json((await deps.addons.list()).map(addonRecord));
  });
  api.post('/addons', async (req, res) => {
    const a = await deps.addons.create(createInput(req.body));
    res.status(201).location(`/api/v1/addons/${a.id}`).json(addonRecord(a));
  });
  api.get('/addons/:id', async (req, res) => {
    res.json(addonRecord(await addonOr404(req.params.id as string)));
  });
  api.delete('/addons/:id', async (req, res) => {
    await addonOr404(req.params.id as string);
    await deps.addons.delete(req.params.id as string);
    sessions.deleteAddon(req.params.id as string);
    res.status(204).end();
  });
  api.post('/addons/:id/keys', async (req, res) => {
    await addonOr404(req.params.id as string);
    // New keys end the owner's dashboard sessions, as they end every client holding the old ones.
    sessions.deleteAddon(req.params.id as string);
    res.json(addonRecord(await deps.addons.rotateKeys(req.params.id as string)));
  });
  api.get('/addons/:id/s3cfg', async (req, res) => {
    const a = await addonOr404(req.params.id as string);
    res.type('text/plain').send(addonS3cfg(a, deps.service));
  });
  api.get('/addons/:id/buckets', async (req, res) => {
    const storage = needStorage(deps);
    await addonOr404(req.params.id as string);
    res.json(
      storage.bucketsOf(req.params.id as string).map((b) => ({
        name: b.name,
        region: b.region,
        createdAt: b.createdAt.toISOString(),
        ...storage.bucketUsage(b.name),
      })),
    );
  });
  api.get('/certificates', async (_req, res) => {
    const { rows, problems } = await listCertificates(deps.certificates, deps.tls.renewWindowSeconds, Date.now());
    for (const p of problems) deps.logger.warn('certificate not loaded', { problem: p });
    res.json(rows);
  });
  api.get('/domains/:host/check', async (req, res) => {
    const host = hostParam(req);
    res.json(await checkDomain(deps.tls, needStorage(deps), host, { httpsEnabled: deps.httpsEnabled, now: Date.now }));
  });
  api.get('/domains/:host/token', async (req, res) => {
    const host = hostParam(req);
    res.json(domainProofRecord(await deps.proofSecret(), host));
  });
  api.use((req) => {
    throw new ApiError(404, 'NoSuchRoute', `no route ${req.method} ${req.baseUrl}${req.path}`);
  });

  app.use('/api/v1', api);
  app.use(dashboardFiles());
  app.use((req, _res, next) => next(new ApiError(404, 'NoSuchRoute', `no route ${req.method} ${req.path}`)));
  app.use((e: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const err = toApiError(e);
    if (err.status >= 500 && err.status !== 501 && err.status !== 503)
      deps.logger.error('admin API request failed', { error: e instanceof Error ? e.stack : String(e) });
    res.status(err.status).json({ error: { code: err.code, message: err.message } });
  });
  return app;
}

function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  const t = (e as { type?: string; status?: number } | null)?.type;
  if (t === 'entity.parse.failed') return new ApiError(400, 'BadJson', 'the request body is not valid JSON');
  if (t === 'entity.too.large') return new ApiError(413, 'TooLarge', 'the request body is too large');
  if (t !== undefined && (e as { status?: number }).status === 400) return new ApiError(400, 'BadRequest', String(e));
  // RGW unreachable while reading the fleet's certificates or domain-proof secret.
  if (e instanceof UpstreamUnavailableError) return new ApiError(503, 'Unavailable', e.message);
  if (isStorageError(e)) {
    switch (e.code) {
      case 'BucketNotEmpty':
        return new ApiError(409, 'AddonHasBuckets', e.message);
      case 'InvalidArgument':
        return /already in use|already used/.test(e.message)
          ? new ApiError(409, 'Conflict', e.message)
          : new ApiError(400, 'InvalidArgument', e.message);
      case 'NoSuchBucket':
        return new ApiError(404, 'NoSuchBucket', e.message);
      case 'InternalError':
        // The add-on directory's "RGW is unavailable".
        return new ApiError(503, 'Unavailable', e.message);
      default:
        return new ApiError(400, e.code, e.message);
    }
  }
  return new ApiError(500, 'InternalError', 'internal error');
}
