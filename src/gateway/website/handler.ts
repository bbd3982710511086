/**
 * The website side of the gateway: anonymous GET/HEAD of a bucket's pages, and CORS
 * preflights on bucket hosts. Plain node:http, no framework: a cached page costs a few map
 * lookups (bucket, resolved path, body) and one write.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  corsResponseHeaders,
  matchCorsRule,
  parseCorsRequestHeaders,
  redirectAll,
  type RequestContext,
} from '#storage';
import type { Logger } from '../../shared/logger.js';
import { recordOf } from '../../shared/request-record.js';
import { pathKeyOf, WebsiteCache, type BucketSlot, type CacheLimits } from './cache.js';
import { Deliverer, sendPage, type Extra } from './deliver.js';
import { objectEntry, type CacheControlDefaults, type ObjectEntry } from './entity.js';
import { builtinPage } from './pages.js';
import { resolvePath, type Resolved } from './resolve.js';
import type { WebsiteSource } from './source.js';

export interface WebsiteOptions {
  source: WebsiteSource;
  cache: CacheLimits;
  cacheControl: CacheControlDefaults;
  logger: Logger;
  /**
   * How often a cached bucket's settings are compared with the source (ms). Events cover
   * changes made through this process; this catches the rest (the `cellar` CLI writing the
   * data directory while the server runs).
   */
  bucketRecheckMs?: number;
}

export interface WebsiteTarget {
  bucket: string;
  secure: boolean;
}

export interface WebsiteHandler {
  serve(req: IncomingMessage, res: ServerResponse, target: WebsiteTarget): void;
  /** An OPTIONS request on a bucket host, answered from the bucket's CORS rules. */
  preflight(req: IncomingMessage, res: ServerResponse, target: WebsiteTarget): void;
  readonly cache: WebsiteCache<Resolved>;
  close(): void;
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The policy condition keys a website request carries (amazon-s3-policy-keys.html). */
function requestContext(req: IncomingMessage, secure: boolean): RequestContext {
  const now = new Date();
  return {
    'aws:sourceip': (req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
    'aws:securetransport': secure ? 'true' : 'false',
    'aws:referer': firstHeader(req.headers.referer),
    'aws:useragent': firstHeader(req.headers['user-agent']),
    'aws:currenttime': now.toISOString(),
    'aws:epochtime': String(Math.floor(now.getTime() / 1000)),
  };
}

/** CORS headers of an actual request, from the bucket's rules (cors.html). */
function corsExtra(req: IncomingMessage, slot: BucketSlot): Extra {
  const origin = req.headers.origin;
  const rules = slot.bucket?.cors;
  if (origin === undefined || origin === '' || !rules) return null;
  const method = req.method === 'HEAD' ? 'HEAD' : 'GET';
  const rule = matchCorsRule(rules, origin, method, []);
  if (rule === null) return null;
  return Object.entries(corsResponseHeaders(rule, origin, { preflight: false, requestHeaders: [], method })).flat();
}

function isStale(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

export function createWebsiteHandler(opts: WebsiteOptions): WebsiteHandler {
  const { source, logger } = opts;
  const cache = new WebsiteCache<Resolved>(opts.cache);
  const deliverer = new Deliverer(cache);
  const recheckMs = opts.bucketRecheckMs ?? 1000;
  const unsubscribe = source.subscribe((e) => cache.onChange(e));

  async function loadSlot(name: string): Promise<BucketSlot> {
    const seq = cache.seq(name);
    return cache.makeSlot(name, await source.bucket(name), seq, Date.now());
  }

  function recheck(slot: BucketSlot, now: number): void {
    slot.refreshing = true;
    const seq = cache.seq(slot.name);
    source
      .bucket(slot.name)
      .then(
        (b) => {
          if ((b?.fingerprint ?? null) === (slot.bucket?.fingerprint ?? null)) slot.checkedAt = now;
          else if (cache.isCurrent(slot)) cache.makeSlot(slot.name, b, seq, now);
        },
        (e: unknown) => logger.warn('website bucket recheck failed', { bucket: slot.name, error: String(e) }),
      )
      .finally(() => {
        slot.refreshing = false;
      });
  }

  function lookupIn(slot: BucketSlot): (key: string) => Promise<ObjectEntry | null> {
    return async (key) => {
      const hit = cache.getKey(slot, key);
      if (hit !== undefined) return hit;
      const seq = cache.seq(slot.name);
      const obj = await source.head(slot.name, key);
      const entry = obj === null ? null : objectEntry(slot.name, obj, opts.cacheControl);
      cache.setKey(slot, key, entry, seq);
      return entry;
    };
  }

  async function slow(
    req: IncomingMessage,
    res: ServerResponse,
    t: WebsiteTarget,
    url: string,
    rawPath: string,
    rawQuery: string,
  ): Promise<void> {
    const slot = cache.slot(t.bucket) ?? (await loadSlot(t.bucket));
    const bucket = slot.bucket;
    if (bucket === null) return sendPage(req, res, builtinPage(404), null);
    const extra = corsExtra(req, slot);
    const protocol = t.secure ? 'https' : 'http';
    const all = slot.config.redirectAllRequestsTo;
    if (all !== undefined) {
      const location = redirectAll(all, url, protocol);
      return deliverer.deliver(req, res, { kind: 'redirect', status: 301, location, keepQuery: false }, '', extra);
    }
    const host = req.headers.host ?? '';
    const seq = cache.seq(t.bucket);
    let context: RequestContext | undefined;
    const { value, keys } = await resolvePath(
      { slot, rawPath, protocol, host, context: () => (context ??= requestContext(req, t.secure)) },
      lookupIn(slot),
    );
    if (bucket.contextFree) cache.setPath(slot, pathKeyOf(slot, t.secure, host, rawPath), value, keys, seq);
    return deliverer.deliver(req, res, value, rawQuery, extra);
  }

  function fail(req: IncomingMessage, res: ServerResponse, e: unknown): void {
    if (res.destroyed || req.socket?.destroyed !== false) {
      // A visitor who closed the tab mid-download is no server fault, and nobody is left to answer.
      logger.debug('website client went away', { method: req.method, url: req.url, error: String(e) });
      return;
    }
    logger.error('website request failed', {
      method: req.method,
      url: req.url,
      error: e instanceof Error ? e.stack : String(e),
    });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendPage(req, res, builtinPage(500), null);
  }

  function serve(req: IncomingMessage, res: ServerResponse, t: WebsiteTarget, retried = false): void {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') {
      sendPage(req, res, builtinPage(405), null, ['Allow', 'GET, HEAD, OPTIONS']);
      req.resume();
      return;
    }
    const url = req.url ?? '/';
    if (url.charCodeAt(0) !== 47 /* '/' */) return sendPage(req, res, builtinPage(400), null);
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? '' : url.slice(q + 1);

    const slot = cache.slot(t.bucket);
    if (slot !== undefined) {
      const now = Date.now();
      if (now - slot.checkedAt > recheckMs && !slot.refreshing) recheck(slot, now);
      if (slot.bucket?.contextFree && slot.config.redirectAllRequestsTo === undefined) {
        const hit = cache.getPath(pathKeyOf(slot, t.secure, req.headers.host ?? '', rawPath));
        if (hit !== undefined) {
          const rec = recordOf(res);
          if (rec) rec.cache = 'hit';
          try {
            const done = deliverer.deliver(req, res, hit, rawQuery, corsExtra(req, slot));
            if (done !== undefined) done.catch((e: unknown) => recover(req, res, t, e, retried));
          } catch (e) {
            // A throw here would escape the request listener and take the process down.
            recover(req, res, t, e, retried);
          }
          return;
        }
      }
    }
    const rec = recordOf(res);
    if (rec) rec.cache = 'miss';
    slow(req, res, t, url, rawPath, rawQuery).catch((e: unknown) => recover(req, res, t, e, retried));
  }

  /**
   * A blob that vanished between lookup and read was replaced by a concurrent write: one fresh
   * attempt serves the new object.
   */
  function recover(req: IncomingMessage, res: ServerResponse, t: WebsiteTarget, e: unknown, retried: boolean): void {
    if (isStale(e) && !retried && !res.headersSent) {
      // Normally the event got there first; if not (a change behind our back), start afresh.
      cache.forget(t.bucket);
      serve(req, res, t, true);
    } else {
      fail(req, res, e);
    }
  }

  async function preflightAsync(req: IncomingMessage, res: ServerResponse, t: WebsiteTarget): Promise<void> {
    const slot = cache.slot(t.bucket) ?? (await loadSlot(t.bucket));
    if (slot.bucket === null) return sendPage(req, res, builtinPage(404), null);
    const origin = firstHeader(req.headers.origin);
    const method = firstHeader(req.headers['access-control-request-method']);
    if (!origin || !method) return sendPage(req, res, builtinPage(400), null);
    const requested = parseCorsRequestHeaders(req.headers['access-control-request-headers']);
    const rule = slot.bucket.cors ? matchCorsRule(slot.bucket.cors, origin, method, requested) : null;
    if (rule === null) return sendPage(req, res, builtinPage(403), null);
    const headers = corsResponseHeaders(rule, origin, { preflight: true, requestHeaders: requested, method });
    res.writeHead(200, { ...headers, 'Content-Length': '0' });
    res.end();
  }

  return {
    serve: (req, res, t) => serve(req, res, t),
    preflight: (req, res, t) => {
      preflightAsync(req, res, t).catch((e: unknown) => fail(req, res, e));
    },
    cache,
    close: unsubscribe,
  };
}
