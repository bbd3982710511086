/**
 * Website path -> answer, for one bucket: routing rules, index documents, clean URLs, the
 * slash redirect, object redirects, the 403/404 decision and the error document
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/WebsiteHosting.html; the clean URLs
 * from https://www.clever.cloud/developers/doc/addons/cellar/). The key arithmetic is the pure code in
 * `#storage`; this module looks keys up and records every key it looked at, so the cache can
 * drop the answer when any of them changes.
 */
import { applyRoutingRules, candidateKeys, pathToKey, type RequestContext } from '#storage';
import type { BucketSlot } from './cache.js';
import { representation, type ObjectEntry, type Representation, type Sidecars } from './entity.js';

export type Resolved =
  | { kind: 'object'; rep: Representation }
  | { kind: 'error'; status: 403 | 404; page: Representation | null }
  | { kind: 'redirect'; status: number; location: string; keepQuery: boolean }
  | { kind: 'bad-path' };

export interface ResolveRequest {
  slot: BucketSlot;
  rawPath: string;
  protocol: 'http' | 'https';
  host: string;
  /** The policy condition keys of the request, built only when a decision needs them. */
  context: () => RequestContext;
}

export type Lookup = (key: string) => Promise<ObjectEntry | null>;

/** The error document when the configuration names none. */
const DEFAULT_NOT_FOUND_PAGE = '404.html';

class Resolver {
  readonly keys: string[] = [];

  constructor(
    private readonly r: ResolveRequest,
    private readonly lookup: Lookup,
  ) {}

  private async look(key: string): Promise<ObjectEntry | null> {
    this.keys.push(key);
    return this.lookup(key);
  }

  private mayRead(key: string, entry: ObjectEntry | null): boolean {
    return this.r.slot.bucket!.mayRead(key, entry?.obj ?? null, this.r.context());
  }

  /** The entry under `key` when it exists and the visitor may read it. */
  private async readable(key: string): Promise<ObjectEntry | null> {
    const e = await this.look(key);
    return e !== null && this.mayRead(key, e) ? e : null;
  }

  async resolve(): Promise<Resolved> {
    const parsed = pathToKey(this.r.rawPath);
    if ('error' in parsed) return { kind: 'bad-path' };
    const key = parsed.key;
    const { slot } = this.r;
    const req = { protocol: this.r.protocol, host: this.r.host };
    if (slot.rules.length > 0) {
      const pre = applyRoutingRules(slot.rules, key, null, req);
      if (pre.type === 'redirect')
        return { kind: 'redirect', status: pre.status, location: pre.location, keepQuery: false };
    }
    const cands = candidateKeys(key, slot.indexSuffix);
    for (const k of cands.tryKeys) {
      const e = await this.look(k);
      if (e === null) continue;
      // The first key that exists decides, readable or not: a private `x` is not bypassed by
      // a public `x.html`.
      if (!this.mayRead(k, e)) return this.failed(key, 403);
      return this.found(k, e);
    }
    const slash = cands.slashRedirectIfExists;
    if (slash !== undefined && (await this.readable(slash.key)) !== null) {
      return { kind: 'redirect', status: 302, location: slash.location, keepQuery: true };
    }
    return this.failed(key, this.mayRead(cands.tryKeys[0]!, null) ? 404 : 403);
  }

  private async found(key: string, e: ObjectEntry): Promise<Resolved> {
    // Routing rules were checked first: they win over an object redirect, as in Ceph RGW, which
    // applies them before reading the object (RGWHandler_REST_S3Website::retarget, src/rgw/rgw_rest_s3.cc).
    if (e.redirect !== null) return { kind: 'redirect', status: 301, location: e.redirect, keepQuery: false };
    return { kind: 'object', rep: representation(e, 200, await this.sidecars(key, e)) };
  }

  /** Precompressed `x.br` / `x.gz` beside `x` (Caddy's `precompressed`), when readable. */
  private async sidecars(key: string, e: ObjectEntry): Promise<Sidecars> {
    if (e.encoded || /\.(?:br|gz)$/.test(key)) return { br: null, gzip: null };
    return { br: await this.readable(`${key}.br`), gzip: await this.readable(`${key}.gz`) };
  }

  /** Routing rules on the error, then the error document, then the built-in page. */
  private async failed(key: string, status: 403 | 404): Promise<Resolved> {
    const { slot } = this.r;
    if (slot.rules.length > 0) {
      const post = applyRoutingRules(slot.rules, key, status, { protocol: this.r.protocol, host: this.r.host });
      if (post.type === 'redirect')
        return { kind: 'redirect', status: post.status, location: post.location, keepQuery: false };
      if (post.type === 'serve') {
        const e = await this.readable(post.key);
        if (e !== null && post.status === 200) return this.found(post.key, e);
        if (e !== null) return { kind: 'error', status: 404, page: representation(e, 404, { br: null, gzip: null }) };
      }
    }
    // DEVIATION: without a configured ErrorDocument, a root `404.html` is the error document
    // (the GitHub Pages / Cloudflare Pages convention), for 403s too: a denied page then reads
    // like a missing one.
    const docKey = slot.config.errorDocument?.key ?? DEFAULT_NOT_FOUND_PAGE;
    const e = await this.readable(docKey);
    if (e !== null) return { kind: 'error', status, page: representation(e, status, { br: null, gzip: null }) };
    return { kind: 'error', status, page: null };
  }
}

/** Resolves one path; `keys` lists every object key consulted, the answer's dependencies. */
export async function resolvePath(r: ResolveRequest, lookup: Lookup): Promise<{ value: Resolved; keys: string[] }> {
  const resolver = new Resolver(r, lookup);
  const value = await resolver.resolve();
  return { value, keys: resolver.keys };
}
