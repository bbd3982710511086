/**
 * The dashboard's API for add-on owners, under /api/v1/owner: log in with the add-on's keys, then
 * see and change that add-on's buckets and nothing else. Sessions are cookies (see session.ts);
 * every state-changing request must also pass the CSRF check below.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { isStorageError, type Addon, type Storage } from '#storage';
import type { TlsSettings } from '../../gateway/tls/index.js';
import type { Logger } from '../../shared/logger.js';
import { addonS3cfg, type ServerAddonDirectory } from '../addons.js';
import { ApiError } from '../api-error.js';
import {
  CORS_TEMPLATES,
  createBucket,
  deleteBucket,
  listBuckets,
  listObjects,
  ownBucket,
  setCors,
  setPublic,
  setWebsite,
  type CorsTemplate,
  type WebsiteInput,
} from './buckets.js';
import { domainView } from './domain.js';
import {
  SESSION_COOKIE,
  cookieValue,
  secretMatches,
  sessionCookie,
  type LoginLimiter,
  type SessionStore,
} from './session.js';
import { abortUpload, completeUpload, createUpload, partNumberOf, putObject, uploadPart } from './uploads.js';

export interface OwnerApiDeps {
  addons: ServerAddonDirectory;
  /** The local store; null in upstream mode, where the bucket routes answer 501. */
  storage: Storage | null;
  service: { endpoint: URL; region: string };
  tls: TlsSettings;
  httpsEnabled: boolean;
  /** The domain-proof secret the gate checks TXT records against (see AdminApiDeps). */
  proofSecret(): Promise<Buffer>;
  sessions: SessionStore;
  limiter: LoginLimiter;
  /** Asks the certificate manager for a certificate now (the gate decides); null without on-demand HTTPS. */
  obtainCertificate: ((host: string) => Promise<void>) | null;
  logger: Logger;
}

/** The header the dashboard's own scripts send on every state-changing request. */
export const CSRF_HEADER = 'x-cellar-dashboard';

/**
 * Why a state-changing request may not come from the dashboard itself, or null. SameSite=Strict
 * keeps the cookie off cross-site requests already; on top, a cross-origin page cannot set a
 * custom header without a CORS preflight this server never grants, and browsers say where a
 * request comes from in Sec-Fetch-Site and Origin (OWASP CSRF Prevention Cheat Sheet, "Custom
 * Request Headers" and "Verifying Origin With Standard Headers").
 */
export function csrfProblem(headers: Request['headers'], secure: boolean): string | null {
  if (headers[CSRF_HEADER] !== '1') return `missing the ${CSRF_HEADER} header`;
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return `a ${site} request`;
  const origin = headers.origin;
  if (origin !== undefined && origin !== `${secure ? 'https' : 'http'}://${headers.host}`)
    return `a request from ${origin}`;
  return null;
}

function needStorage(deps: OwnerApiDeps): Storage {
  if (deps.storage === null)
    throw new ApiError(
      501,
      'NotImplemented',
      'not available in upstream mode yet: use an S3 client (download your s3cfg) for buckets and files',
    );
  return deps.storage;
}

function str(body: unknown, field: string): string | undefined {
  const v = (body as Record<string, unknown> | null)?.[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ApiError(400, 'InvalidArgument', `${field} must be a string`);
  return v;
}

function jsonObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ApiError(400, 'InvalidArgument', 'expected a JSON object');
  return body as Record<string, unknown>;
}

function keyParam(req: Request): string {
  const key = req.query.key;
  if (typeof key !== 'string' || key === '')
    throw new ApiError(400, 'InvalidArgument', 'the key query parameter is required');
  return key;
}

/** Storage refusals, with the status an S3 client would see for them. */
function toOwnerError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  const t = (e as { type?: string } | null)?.type;
  if (t === 'entity.parse.failed') return new ApiError(400, 'BadJson', 'the request body is not valid JSON');
  if (t === 'entity.too.large') return new ApiError(413, 'TooLarge', 'the request body is too large');
  if (isStorageError(e)) {
    switch (e.code) {
      case 'NoSuchBucket':
      case 'NoSuchKey':
      case 'NoSuchUpload':
        return new ApiError(404, e.code, e.message);
      case 'BucketNotEmpty':
        return new ApiError(
          409,
          e.code,
          'The bucket is not empty: delete its files first (for example with s3cmd del --recursive).',
        );
      case 'BucketAlreadyExists':
      case 'BucketAlreadyOwnedByYou':
        return new ApiError(409, e.code, e.message);
      case 'AccessDenied':
        return new ApiError(403, e.code, e.message);
      case 'EntityTooLarge':
        return new ApiError(413, e.code, e.message);
      case 'InsufficientStorage':
        return new ApiError(507, e.code, e.message);
      case 'InternalError':
        return new ApiError(503, 'Unavailable', e.message);
      default:
        return new ApiError(400, e.code, e.message);
    }
  }
  return new ApiError(500, 'InternalError', 'internal error');
}

export function createOwnerApi(deps: OwnerApiDeps): Router {
  const r = express.Router();
  const json = express.json({ limit: '64kb', strict: false });
  const owner = (res: Response): Addon => res.locals.addon as Addon;

  r.use((req, _res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const problem = csrfProblem(req.headers, req.secure);
      if (problem !== null) throw new ApiError(403, 'CsrfRejected', `refused as cross-site: ${problem}`);
    }
    next();
  });

  r.post('/session', json, async (req, res) => {
    const address = req.socket.remoteAddress ?? '';
    const wait = deps.limiter.retryAfter(address);
    if (wait > 0) {
      res.setHeader('retry-after', String(wait));
      throw new ApiError(429, 'TooManyAttempts', `too many failed logins; try again in ${wait} s`);
    }
    const body = jsonObject(req.body);
    const accessKeyId = str(body, 'accessKeyId') ?? '';
    const secret = str(body, 'secretAccessKey') ?? '';
    const addon = accessKeyId === '' ? null : await deps.addons.byAccessKey(accessKeyId);
    // The secret is compared even for an unknown key, so that timing does not tell which keys exist.
    const ok = secretMatches(addon?.secretAccessKey ?? '\0no add-on', secret) && addon !== null;
    if (!ok) {
      deps.limiter.fail(address);
      throw new ApiError(401, 'InvalidCredentials', 'wrong access key or secret key');
    }
    deps.limiter.succeed(address);
    const s = deps.sessions.create(addon.id);
    res.setHeader('set-cookie', sessionCookie(s.id, s.maxAgeSeconds, req.secure));
    res.json({ id: addon.id, name: addon.name });
  });

  // Every route below needs a live session of an add-on that still exists.
  r.use(async (req, res, next) => {
    const addonId = deps.sessions.addonOf(cookieValue(req.headers.cookie, SESSION_COOKIE));
    const addon = addonId === null ? null : await deps.addons.get(addonId);
    if (addon === null) throw new ApiError(401, 'NoSession', 'not logged in, or the session expired');
    res.locals.addon = addon;
    next();
  });

  r.get('/session', (_req, res) => {
    const a = owner(res);
    // `buckets`: the bucket features work here (false in upstream mode, where they answer 501).
    res.json({
      id: a.id,
      name: a.name,
      accessKeyId: a.accessKeyId,
      endpoint: deps.service.endpoint.href,
      buckets: deps.storage !== null,
    });
  });
  r.delete('/session', (req, res) => {
    deps.sessions.delete(cookieValue(req.headers.cookie, SESSION_COOKIE));
    res.setHeader('set-cookie', sessionCookie('', 0, req.secure));
    res.status(204).end();
  });
  r.get('/s3cfg', (_req, res) => {
    res
      .type('text/plain')
      .attachment('s3cfg')
      .send(addonS3cfg(owner(res), deps.service));
  });

  r.get('/buckets', (_req, res) => {
    res.json(listBuckets(needStorage(deps), owner(res)));
  });
  r.post('/buckets', json, (req, res) => {
    const name = str(jsonObject(req.body), 'name');
    if (name === undefined) throw new ApiError(400, 'InvalidArgument', 'name is required');
    res.status(201).json(createBucket(needStorage(deps), owner(res), name, deps.service.region));
  });
  r.delete('/buckets/:bucket', (req, res) => {
    deleteBucket(needStorage(deps), owner(res), req.params.bucket as string);
    res.status(204).end();
  });
  r.put('/buckets/:bucket/public', json, (req, res) => {
    const v = jsonObject(req.body).public;
    if (typeof v !== 'boolean') throw new ApiError(400, 'InvalidArgument', 'public must be true or false');
    res.json(setPublic(needStorage(deps), owner(res), req.params.bucket as string, v));
  });
  r.put('/buckets/:bucket/website', json, (req, res) => {
    const body = jsonObject(req.body);
    const spa = body.spa;
    if (spa !== undefined && typeof spa !== 'boolean')
      throw new ApiError(400, 'InvalidArgument', 'spa must be true or false');
    const v: WebsiteInput = { index: str(body, 'index') || undefined, error: str(body, 'error') || null, spa };
    res.json(setWebsite(needStorage(deps), owner(res), req.params.bucket as string, v));
  });
  r.delete('/buckets/:bucket/website', (req, res) => {
    res.json(setWebsite(needStorage(deps), owner(res), req.params.bucket as string, null));
  });
  r.put('/buckets/:bucket/cors', json, (req, res) => {
    const body = jsonObject(req.body);
    const template = str(body, 'template');
    if (!CORS_TEMPLATES.includes(template as CorsTemplate))
      throw new ApiError(400, 'InvalidArgument', `template must be one of ${CORS_TEMPLATES.join(', ')}`);
    res.json(
      setCors(
        needStorage(deps),
        owner(res),
        req.params.bucket as string,
        template as CorsTemplate,
        str(body, 'origin'),
      ),
    );
  });
  r.delete('/buckets/:bucket/cors', (req, res) => {
    res.json(setCors(needStorage(deps), owner(res), req.params.bucket as string, null));
  });

  r.get('/buckets/:bucket/objects', (req, res) => {
    res.json(listObjects(needStorage(deps), owner(res), req.params.bucket as string, 1000));
  });
  // The body is the file itself, streamed into the store: no body parser on these routes.
  r.put('/buckets/:bucket/objects', async (req, res) => {
    const storage = needStorage(deps);
    const o = await putObject(
      storage,
      owner(res),
      req.params.bucket as string,
      keyParam(req),
      req.headers['content-type'],
      req,
    );
    res.status(201).json(o);
  });
  r.post('/buckets/:bucket/uploads', json, (req, res) => {
    const body = jsonObject(req.body);
    const key = str(body, 'key');
    if (key === undefined || key === '') throw new ApiError(400, 'InvalidArgument', 'key is required');
    res
      .status(201)
      .json(createUpload(needStorage(deps), owner(res), req.params.bucket as string, key, str(body, 'contentType')));
  });
  r.put('/buckets/:bucket/uploads/:uploadId/parts/:partNumber', async (req, res) => {
    const storage = needStorage(deps);
    const target = {
      bucket: req.params.bucket as string,
      key: keyParam(req),
      uploadId: req.params.uploadId as string,
      partNumber: partNumberOf(req.params.partNumber as string),
    };
    res.json(await uploadPart(storage, owner(res), target, req));
  });
  r.post('/buckets/:bucket/uploads/:uploadId/complete', json, async (req, res) => {
    const body = jsonObject(req.body);
    const key = str(body, 'key');
    if (key === undefined || key === '') throw new ApiError(400, 'InvalidArgument', 'key is required');
    const target = { bucket: req.params.bucket as string, key, uploadId: req.params.uploadId as string };
    res.status(201).json(await completeUpload(needStorage(deps), owner(res), target, body.parts));
  });
  r.delete('/buckets/:bucket/uploads/:uploadId', async (req, res) => {
    const target = { bucket: req.params.bucket as string, key: keyParam(req), uploadId: req.params.uploadId as string };
    await abortUpload(needStorage(deps), owner(res), target);
    res.status(204).end();
  });

  r.get('/buckets/:bucket/domain', async (req, res) => {
    res.json(
      await domainView(
        needStorage(deps),
        owner(res),
        req.params.bucket as string,
        deps.tls,
        deps.httpsEnabled,
        await deps.proofSecret(),
      ),
    );
  });
  r.post('/buckets/:bucket/domain/certificate', async (req, res) => {
    const storage = needStorage(deps);
    const bucket = req.params.bucket as string;
    // Ownership first: the certificate manager must never be asked about someone else's name.
    ownBucket(storage, owner(res), bucket);
    if (deps.obtainCertificate === null)
      throw new ApiError(
        501,
        'NotImplemented',
        'on-demand certificates are off on this service (no ACME directory or HTTPS port)',
      );
    try {
      await deps.obtainCertificate(bucket);
    } catch (e) {
      throw new ApiError(409, 'CertificateRefused', e instanceof Error ? e.message : String(e));
    }
    res.json(await domainView(storage, owner(res), bucket, deps.tls, deps.httpsEnabled, await deps.proofSecret()));
  });

  r.use((req) => {
    throw new ApiError(404, 'NoSuchRoute', `no route ${req.method} ${req.baseUrl}${req.path}`);
  });
  r.use((e: unknown, req: Request, res: Response, _next: NextFunction) => {
    const err = toOwnerError(e);
    if (err.status === 500)
      deps.logger.error('dashboard request failed', { error: e instanceof Error ? e.stack : String(e) });
    // A refused upload's body is not read: close the connection rather than drain the file.
    if (!req.complete && req.method === 'PUT') res.setHeader('connection', 'close');
    res.status(err.status).json({ error: { code: err.code, message: err.message } });
  });
  return r;
}
