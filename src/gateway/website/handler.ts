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
import { recordOf, type RequestRecord } from '../../shared/request-record.js';
import { pathKeyOf, WebsiteCache, type BucketSlot, type CacheLimits } from './cache.js';
import { Deliverer, sendPage, type Extra } from './deliver.js';
import { objectEntry, type CacheControlDefaults, type ObjectEntry } from './entity.js';
import { builtinPage } from './pages.js';
import { resolvePath, type Resolved } from './resolve.js';
import { SourceUnavailableError, type WebsiteObject, type WebsiteSource } from './source.js';

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
  /**
   * For a source that has revalidate() (no complete change events: other gateways, or clients
   * of RGW itself, write): a cached entry older than `everyMs` is checked with the source before
   * it is used, so any write shows within that bound. While the source is unreachable, entries
   * are served up to `staleIfErrorMs` past it (RFC 5861's stale-if-error, on our own cache).
   */
  revalidate?: { everyMs: number; staleIfErrorMs: number };
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

/**
 * The request id every website answer carries. It goes into the header list given to
 * writeHead rather than through setHeader: one setHeader call sends Node's writeHead down its
 * slow path (every listed header validated and copied again), which cost the cached page about
 * 5% of its speed.
 */
function idExtra(res: ServerResponse): Extra {
  return idOf(recordOf(res));
}

function idOf(rec: RequestRecord | undefined): Extra {
  return rec === undefined ? null : ['x-request-id', rec.requestId];
}

/** CORS headers of an actual request, from the bucket's rules (cors.html), after `base`. */
function corsExtra(req: IncomingMessage, slot: BucketSlot, base: Extra): Extra {
  const origin = req.headers.origin;
  const rules = slot.bucket?.cors;
  if (origin === undefined || origin === '' || !rules) return base;
  const method = req.method === 'HEAD' ? 'HEAD' : 'GET';
  const rule = matchCorsRule(rules, origin, method, []);
  if (rule === null) return base;
  const cors = Object.entries(
    corsResponseHeaders(rule, origin, { preflight: false, requestHeaders: [], method }),
  ).flat();
  return base === null ? cors : base.concat(cors);
}

class PausedError extends SourceUnavailableError {}

/** How long a failed source is left alone (see downUntil). */
const DOWN_PAUSE_MS = 1000;

function isStale(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

export function createWebsiteHandler(opts: WebsiteOptions): WebsiteHandler {
  const { source, logger } = opts;
  const cache = new WebsiteCache<Resolved>(opts.cache);
  const deliverer = new Deliverer(cache);
  const recheckMs = opts.bucketRecheckMs ?? 1000;
  const unsubscribe = source.subscribe((e) => cache.onChange(e));
  const check = source.revalidate?.bind(source);
  const reval = opts.revalidate !== undefined && check !== undefined ? { ...opts.revalidate, check } : null;
  /** Revalidations in flight, so a burst on a stale key costs one conditional request. */
  const checking = new Map<string, Promise<ObjectEntry | null>>();
  /**
   * After the source failed, it is not asked again for a moment: stale entries are served and
   * misses answered 503 at once, instead of each request waiting for a stalled upstream.
   */
  let downUntil = 0;
  const unavailable = (e: unknown): boolean => {
    if (!(e instanceof SourceUnavailableError)) return false;
    // Only a real failure starts a pause; the pause's own refusals must not extend it.
    if (!(e instanceof PausedError)) downUntil = Date.now() + DOWN_PAUSE_MS;
    return true;
  };
  const checkUp = (): void => {
    if (Date.now() < downUntil) throw new PausedError('the source failed a moment ago');
  };

  async function loadSlot(name: string): Promise<BucketSlot> {
    if (reval !== null) checkUp();
    const seq = cache.seq(name);
    try {
      return cache.makeSlot(name, await source.bucket(name), seq, Date.now());
    } catch (e) {
      unavailable(e);
      throw e;
    }
  }

  /** Bucket checks in flight (revalidating sources). */
  const checkingBuckets = new Map<string, Promise<BucketSlot>>();

  /**
   * The bucket's slot; with a revalidating source, a slot past its recheck time is checked with
   * the source first (a settings change through another gateway shows within that bound) and
   * served stale while the source is unreachable, as keys are.
   */
  async function currentSlot(name: string): Promise<BucketSlot> {
    const slot = cache.slot(name);
    if (slot === undefined) return loadSlot(name);
    if (reval === null || Date.now() - slot.checkedAt <= recheckMs) return slot;
    const r = reval;
    let p = checkingBuckets.get(name);
    if (p !== undefined) return p;
    p = (async () => {
      const started = Date.now();
      const seq = cache.seq(name);
      try {
        checkUp();
        const b = await source.bucket(name);
        if ((b?.fingerprint ?? null) !== (slot.bucket?.fingerprint ?? null))
          return cache.makeSlot(name, b, seq, started);
        slot.checkedAt = started;
        return slot;
      } catch (e) {
        if (unavailable(e) && started - slot.checkedAt <= recheckMs + r.staleIfErrorMs) return slot;
        throw e;
      }
    })().finally(() => checkingBuckets.delete(name));
    checkingBuckets.set(name, p);
    return p;
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

  function revalidateKey(
    slot: BucketSlot,
    key: string,
    hit: { entry: ObjectEntry | null; checkedAt: number },
  ): Promise<ObjectEntry | null> {
    const r = reval!;
    const id = `${slot.gen}\0${key}`;
    let p = checking.get(id);
    if (p !== undefined) return p;
    p = (async () => {
      const started = Date.now();
      let found: Awaited<ReturnType<typeof r.check>>;
      try {
        checkUp();
        found = await r.check(slot.name, key, hit.entry?.obj ?? null);
      } catch (e) {
        if (unavailable(e) && started - hit.checkedAt <= r.everyMs + r.staleIfErrorMs) {
          logger.debug('website serving a stale entry', { bucket: slot.name, key, error: String(e) });
          return hit.entry;
        }
        throw e;
      }
      if (found === 'same') {
        cache.touchKey(slot, key, started);
        return hit.entry;
      }
      cache.onChange({ type: 'object', bucket: slot.name, key });
      const seq = cache.seq(slot.name);
      const entry = found === null ? null : objectEntry(slot.name, found, opts.cacheControl);
      cache.setKey(slot, key, entry, seq, started);
      return entry;
    })().finally(() => checking.delete(id));
    checking.set(id, p);
    return p;
  }

  /** `track.oldest` ends as the oldest check among the keys looked up (the path's own age). */
  function lookupIn(slot: BucketSlot, track: { oldest: number }): (key: string) => Promise<ObjectEntry | null> {
    return async (key) => {
      const checked = cache.getKeyChecked(slot, key);
      if (checked !== undefined) {
        if (reval === null || Date.now() - checked.checkedAt <= reval.everyMs) {
          track.oldest = Math.min(track.oldest, checked.checkedAt);
          return checked.entry;
        }
        const entry = await revalidateKey(slot, key, checked);
        track.oldest = Math.min(track.oldest, cache.getKeyChecked(slot, key)?.checkedAt ?? checked.checkedAt);
        return entry;
      }
      if (reval !== null) checkUp();
      const seq = cache.seq(slot.name);
      const started = Date.now();
      let obj: WebsiteObject | null;
      try {
        obj = await source.head(slot.name, key);
      } catch (e) {
        unavailable(e);
        throw e;
      }
      const entry = obj === null ? null : objectEntry(slot.name, obj, opts.cacheControl);
      cache.setKey(slot, key, entry, seq, started);
      track.oldest = Math.min(track.oldest, started);
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
    const slot = await currentSlot(t.bucket);
    const bucket = slot.bucket;
    const base = idExtra(res);
    if (bucket === null) return sendPage(req, res, builtinPage(404), base);
    const extra = corsExtra(req, slot, base);
    const protocol = t.secure ? 'https' : 'http';
    const all = slot.config.redirectAllRequestsTo;
    if (all !== undefined) {
      const location = redirectAll(all, url, protocol);
      return deliverer.deliver(req, res, { kind: 'redirect', status: 301, location, keepQuery: false }, '', extra);
    }
    const host = req.headers.host ?? '';
    const seq = cache.seq(t.bucket);
    let context: RequestContext | undefined;
    const track = { oldest: Date.now() };
    const { value, keys } = await resolvePath(
      { slot, rawPath, protocol, host, context: () => (context ??= requestContext(req, t.secure)) },
      lookupIn(slot, track),
    );
    if (bucket.contextFree)
      cache.setPath(slot, pathKeyOf(slot, t.secure, host, rawPath), value, keys, seq, track.oldest);
    return deliverer.deliver(req, res, value, rawQuery, extra);
  }

  function fail(req: IncomingMessage, res: ServerResponse, e: unknown): void {
    if (res.destroyed || req.socket?.destroyed !== false) {
      // A visitor who closed the tab mid-download is no server fault, and nobody is left to answer.
      logger.debug('website client went away', { method: req.method, url: req.url, error: String(e) });
      return;
    }
    if (e instanceof SourceUnavailableError) logger.warn('website source unavailable', { error: e.message });
    else
      logger.error('website request failed', {
        method: req.method,
        url: req.url,
        error: e instanceof Error ? e.stack : String(e),
      });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendPage(req, res, builtinPage(e instanceof SourceUnavailableError ? 503 : 500), idExtra(res));
  }

  function serve(req: IncomingMessage, res: ServerResponse, t: WebsiteTarget, retried = false): void {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') {
      sendPage(req, res, builtinPage(405), idExtra(res), ['Allow', 'GET, HEAD, OPTIONS']);
      req.resume();
      return;
    }
    const url = req.url ?? '/';
    if (url.charCodeAt(0) !== 47 /* '/' */) return sendPage(req, res, builtinPage(400), idExtra(res));
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? '' : url.slice(q + 1);

    const slot = cache.slot(t.bucket);
    if (slot !== undefined) {
      const now = Date.now();
      const due = now - slot.checkedAt > recheckMs;
      if (due && reval === null && !slot.refreshing) recheck(slot, now);
      // A revalidating source checks the bucket before use (the slow path does).
      if (!(due && reval !== null) && slot.bucket?.contextFree && slot.config.redirectAllRequestsTo === undefined) {
        const pathKey = pathKeyOf(slot, t.secure, req.headers.host ?? '', rawPath);
        const checked = cache.getPathChecked(pathKey);
        // Past the revalidation time, the path is resolved again (its keys revalidated).
        if (checked !== undefined && reval !== null && now - checked.checkedAt > reval.everyMs) cache.dropPath(pathKey);
        else if (checked !== undefined) {
          const hit = checked.value;
          const rec = recordOf(res);
          if (rec) rec.cache = 'hit';
          try {
            const done = deliverer.deliver(req, res, hit, rawQuery, corsExtra(req, slot, idOf(rec)));
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
    const slot = await currentSlot(t.bucket);
    const base = idExtra(res);
    if (slot.bucket === null) return sendPage(req, res, builtinPage(404), base);
    const origin = firstHeader(req.headers.origin);
    const method = firstHeader(req.headers['access-control-request-method']);
    if (!origin || !method) return sendPage(req, res, builtinPage(400), base);
    const requested = parseCorsRequestHeaders(req.headers['access-control-request-headers']);
    const rule = slot.bucket.cors ? matchCorsRule(slot.bucket.cors, origin, method, requested) : null;
    if (rule === null) return sendPage(req, res, builtinPage(403), base);
    const headers = corsResponseHeaders(rule, origin, { preflight: true, requestHeaders: requested, method });
    res.writeHead(200, [...Object.entries(headers).flat(), 'Content-Length', '0', ...(base ?? [])]);
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
