/**
 * The WebsiteSource of upstream mode: pages read from Ceph RGW.
 *
 * Who may read: RGW decides. Every object lookup is first an anonymous HEAD to RGW, so RGW
 * evaluates its own bucket policy, bucket ACL and object ACL for the anonymous user, exactly as
 * for an anonymous GetObject sent through the S3 side (which RGW decides too). Our evaluator on
 * copies of RGW's documents would be a second implementation that can drift from RGW's (ACL
 * grants RGW adds, its policy dialect, `arn:aws:iam:::user/` principals) and would need one more
 * request per object (its ACL) anyway. Only when RGW refuses (403) does a HEAD signed by the
 * system user tell a private object from a missing one, which the resolver needs (a private `x`
 * is not bypassed by a public `x.html`).
 *
 * One decision RGW cannot give: for a missing key RGW tells the anonymous user 403 unless
 * s3:ListBucket is granted (as AWS does), while Cellar's website answers 404 (and the error
 * document) when the visitor could read the key had it existed, which is all the documented
 * public policy (s3:GetObject only) grants. For that 404-versus-403 choice alone, our evaluator
 * runs on RGW's own policy document (read with the system user); it never grants a read.
 * DEVIATION: RGW evaluates policy conditions (aws:SourceIp, aws:Referer) on the gateway's own
 * request, not the visitor's, and the decision is cached per key for all visitors.
 *
 * Bucket settings (website configuration, CORS rules) are read with the system user
 * (GetBucketWebsite, GetBucketCors); the handler caches them and rechecks them on an interval.
 * Objects have no change events here: cached entries are revalidated with conditional requests
 * (If-None-Match; RGW answers 304 without a body when nothing changed).
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { LRUCache } from 'lru-cache';
import {
  anonymousRead,
  awsEncodedPath,
  awsUriEncode,
  signV4Raw,
  storedPolicy,
  UNSIGNED_PAYLOAD,
  type Acl,
  type CorsRule,
  type WebsiteConfig,
} from '#storage';
import { dependsOnRequest } from '../website/local-source.js';
import { principalsFromRgw } from './principals.js';
import {
  SourceUnavailableError,
  type WebsiteBucket,
  type WebsiteObject,
  type WebsiteSource,
} from '../website/source.js';

export interface UpstreamWebsiteOptions {
  url: string;
  accessKey: string;
  secretKey: string;
  /** Silence from RGW longer than this counts as RGW down. */
  timeoutMs: number;
  /** The S3 API's XML codecs (the composition root passes them; the gateway never imports s3api). */
  websiteFromXml: (xml: string) => WebsiteConfig;
  corsFromXml: (xml: string) => CorsRule[];
  agent?: http.Agent;
}

/** A WebsiteObject plus RGW's verdict for the anonymous visitor. */
interface UpstreamObject extends WebsiteObject {
  readonly anonymous: boolean;
}

interface Answer {
  res: IncomingMessage;
  /** Whole body for non-streamed answers (small XML documents). */
  body: string;
}

function objectPath(bucket: string, key: string): string {
  return awsEncodedPath(`/${bucket}/${awsUriEncode(key, true)}`);
}

function errorCode(xml: string): string {
  return /<Code>([^<]*)<\/Code>/.exec(xml)?.[1] ?? '';
}

/** A read that raced an overwrite: the handler's retry (it knows ENOENT) serves the new object. */
function staleError(key: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`object ${key} changed while being read`);
  e.code = 'ENOENT';
  return e;
}

const MAX_WAIT_MS = 5000;

const NO_GRANTS: Acl = { owner: { id: '', displayName: '' }, grants: [] };

const KEPT_HEADERS = [
  'content-type',
  'cache-control',
  'content-disposition',
  'content-language',
  'content-encoding',
  'expires',
  'x-amz-website-redirect-location',
];

export function createUpstreamWebsiteSource(o: UpstreamWebsiteOptions): WebsiteSource {
  const base = new URL(o.url);
  const transport = base.protocol === 'https:' ? https : http;
  const agent = o.agent ?? new transport.Agent({ keepAlive: true, keepAliveMsecs: 1000 });
  // A visitor waiting on a stalled RGW gets a cached page or a 503 within this, even when the
  // S3 side is configured to wait longer (large uploads): a HEAD or the first byte of a page
  // that takes longer is an outage to a visitor.
  const timeout = Math.min(o.timeoutMs, MAX_WAIT_MS);
  /**
   * What RGW answered the anonymous visitor for a missing key: 404 (true) or 403 (false). Kept
   * apart from the object entries because a missing key has no object to carry it.
   */
  const missingVisible = new LRUCache<string, boolean>({ max: 50_000 });

  function request(
    method: 'GET' | 'HEAD',
    path: string,
    query: string,
    headers: Record<string, string>,
    signed: boolean,
    stream = false,
  ): Promise<Answer> {
    const all: Record<string, string> = signed
      ? signV4Raw({
          method,
          rawPath: path,
          rawQuery: query,
          headers: { ...headers, host: base.host },
          payloadHash: UNSIGNED_PAYLOAD,
          accessKeyId: o.accessKey,
          secretKey: o.secretKey,
          // RGW accepts any region in the credential scope.
          region: 'us-east-1',
          now: new Date(),
        })
      : { ...headers, host: base.host };
    return new Promise((resolve, reject) => {
      const req = transport.request(
        {
          protocol: base.protocol,
          hostname: base.hostname,
          port: base.port,
          method,
          path: query === '' ? path : `${path}?${query}`,
          headers: all,
          agent,
          timeout,
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 500) {
            res.resume();
            return reject(new SourceUnavailableError(`RGW answered ${status} to ${method} ${path}`));
          }
          if (stream && (status === 200 || status === 206)) {
            // Streaming to a slow visitor leaves the upstream socket quiet: that is back-pressure,
            // not RGW stalling.
            req.setTimeout(0);
            return resolve({ res, body: '' });
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            // Website and CORS documents are small (AWS caps them far below this).
            if (size > 1024 * 1024) req.destroy(new SourceUnavailableError('RGW answer too large'));
            else chunks.push(c);
          });
          res.on('end', () => resolve({ res, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (e) => reject(new SourceUnavailableError(e.message)));
        },
      );
      req.on('timeout', () => req.destroy(new SourceUnavailableError(`RGW did not answer within ${timeout} ms`)));
      req.on('error', (e) =>
        reject(e instanceof SourceUnavailableError ? e : new SourceUnavailableError(`RGW: ${e.message}`)),
      );
      req.end();
    });
  }

  function toObject(bucket: string, key: string, res: IncomingMessage, anonymous: boolean): UpstreamObject {
    const headers: Record<string, string> = {};
    for (const name of KEPT_HEADERS) {
      const v = res.headers[name];
      if (typeof v === 'string') headers[name] = v;
    }
    const etag = (res.headers.etag ?? '').replace(/^"|"$/g, '');
    const lastModified = new Date(res.headers['last-modified'] ?? 0);
    return {
      key,
      size: Number(res.headers['content-length'] ?? 0),
      etag,
      lastModified: Number.isNaN(lastModified.getTime()) ? new Date(0) : lastModified,
      headers,
      acl: null,
      anonymous,
      open: (range) => open(bucket, key, etag, range),
    };
  }

  async function open(
    bucket: string,
    key: string,
    etag: string,
    range: { start: number; end: number } | null,
  ): Promise<Readable> {
    // Anonymous, as the visitor: RGW decides again. If-Match makes an overwrite since the HEAD
    // a 412 instead of other bytes under the old headers.
    const headers: Record<string, string> = { 'if-match': `"${etag}"` };
    if (range !== null) headers.range = `bytes=${range.start}-${range.end}`;
    const a = await request('GET', objectPath(bucket, key), '', headers, false, true);
    const status = a.res.statusCode;
    if (status === 200 || status === 206) return a.res;
    throw staleError(key);
  }

  /** The object at `key` as RGW holds it now; 'same' when `known` (by ETag and verdict) still holds. */
  async function lookup(
    bucket: string,
    key: string,
    known: UpstreamObject | null | undefined,
  ): Promise<UpstreamObject | null | 'same'> {
    const path = objectPath(bucket, key);
    const conditional: Record<string, string> = known?.anonymous === true ? { 'if-none-match': `"${known.etag}"` } : {};
    const anon = await request('HEAD', path, '', conditional, false);
    const status = anon.res.statusCode;
    if (status === 304) return 'same';
    if (status === 200) return toObject(bucket, key, anon.res, true);
    if (status === 404) {
      missingVisible.set(`${bucket}\0${key}`, true);
      return known === null ? 'same' : null;
    }
    if (status !== 403) throw new SourceUnavailableError(`RGW answered ${status} to an anonymous HEAD`);
    // Refused: private, or missing and RGW will not say so to the anonymous user.
    const sys = await request('HEAD', path, '', {}, true);
    const s = sys.res.statusCode;
    if (s === 404) {
      missingVisible.set(`${bucket}\0${key}`, false);
      return known === null ? 'same' : null;
    }
    if (s !== 200) throw new SourceUnavailableError(`RGW answered ${s} to the system user's HEAD`);
    const obj = toObject(bucket, key, sys.res, false);
    if (known != null && !known.anonymous && known.etag === obj.etag) return 'same';
    return obj;
  }

  /** A bucket subresource read by the system user: its XML, null when unset, 'no-bucket'. */
  async function subresource(
    bucket: string,
    name: 'website' | 'cors' | 'policy',
  ): Promise<string | null | 'no-bucket'> {
    const a = await request('GET', awsEncodedPath(`/${bucket}`), name, {}, true);
    const status = a.res.statusCode;
    if (status === 200) return a.body;
    if (status === 404) return errorCode(a.body) === 'NoSuchBucket' ? 'no-bucket' : null;
    // A name RGW cannot take as a bucket (uppercase, too long): no such site.
    if (status === 400) return 'no-bucket';
    throw new SourceUnavailableError(`RGW answered ${status} to GET ?${name}`);
  }

  return {
    async bucket(name) {
      const [website, cors, policyText] = await Promise.all([
        subresource(name, 'website'),
        subresource(name, 'cors'),
        subresource(name, 'policy'),
      ]);
      if (website === 'no-bucket' || cors === 'no-bucket' || policyText === 'no-bucket') return null;
      const policy = storedPolicy({ name, policy: policyText === null ? null : principalsFromRgw(policyText) });
      const b: WebsiteBucket = {
        name,
        // A document RGW accepted but our codec refuses is served as if unset (logged by nobody:
        // RGW is the authority on what the owner stored).
        website: website === null ? null : parseOrNull(() => o.websiteFromXml(website)),
        cors: cors === null ? null : parseOrNull(() => o.corsFromXml(cors)),
        contextFree: !dependsOnRequest(policy),
        fingerprint: JSON.stringify([website, cors, policyText]),
        mayRead(key, object, ctx) {
          if (object !== null) return (object as UpstreamObject).anonymous;
          if (missingVisible.get(`${name}\0${key}`) === true) return true;
          // The bucket ACL never grants the read of a key, so a private one stands in for it.
          return anonymousRead({
            bucket: name,
            bucketOwnerId: '',
            bucketAcl: NO_GRANTS,
            // RGW enforces its own public-access settings on the reads it answers; this decides
            // only 404 versus 403 for a missing key, and never grants a read.
            guards: {},
            policy,
            key,
            object: null,
            context: ctx,
          }).websiteNotFound;
        },
      };
      return b;
    },
    async head(bucket, key) {
      const r = await lookup(bucket, key, undefined);
      return r === 'same' ? null : r;
    },
    subscribe() {
      // RGW sends no events here; revalidate() keeps the cache honest.
      return () => undefined;
    },
    revalidate(bucket, key, known) {
      return lookup(bucket, key, known as UpstreamObject | null);
    },
  };
}

function parseOrNull<T>(parse: () => T): T | null {
  try {
    return parse();
  } catch {
    return null;
  }
}
