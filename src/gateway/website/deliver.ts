/**
 * Writes a resolved website answer: content negotiation, 304/412, Range, cached or streamed
 * bytes. A cached page is one header-list pick and `res.end(buffer)`.
 */
import type { IncomingMessage, OutgoingHttpHeader, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { evaluateConditions, parseRange } from '../../shared/http-semantics.js';
import type { WebsiteCache } from './cache.js';
import { AcceptsCache, compressBuffer, compressStream } from './compress.js';
import { fullHeaders, type ObjectEntry, type Representation, type Variant } from './entity.js';
import { builtinPage, type Page } from './pages.js';
import type { Resolved } from './resolve.js';

/** Extra header pairs for one request (CORS), or null. */
export type Extra = string[] | null;

function writeHead(res: ServerResponse, status: number, headers: readonly string[], extra: Extra): void {
  const list = extra === null ? headers : headers.concat(extra);
  res.writeHead(status, list as OutgoingHttpHeader[]);
}

export function sendPage(
  req: IncomingMessage,
  res: ServerResponse,
  page: Page,
  extra: Extra,
  more: string[] = [],
): void {
  writeHead(res, page.status, more.length === 0 ? page.headers : page.headers.concat(more), extra);
  res.end(req.method === 'HEAD' ? undefined : page.body);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  // A small body arrives as one chunk: no second allocation and copy.
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

export class Deliverer {
  /** Bodies being read or compressed, so a burst of misses costs one read each. */
  private readonly loading = new Map<string, Promise<Buffer>>();
  private readonly accepts = new AcceptsCache();

  constructor(private readonly cache: WebsiteCache<Resolved>) {}

  deliver(
    req: IncomingMessage,
    res: ServerResponse,
    r: Resolved,
    rawQuery: string,
    extra: Extra,
  ): Promise<void> | void {
    switch (r.kind) {
      case 'object':
        return this.entity(req, res, r.rep, extra);
      case 'error':
        // Never for HEAD, as Garage does (src/web/web_server.rs at https://git.deuxfleurs.fr/Deuxfleurs/garage):
        // HEAD gets the status and the built-in page's headers.
        if (r.page !== null && req.method === 'GET') return this.entity(req, res, r.page, extra);
        return sendPage(req, res, builtinPage(r.status), extra);
      case 'redirect': {
        const location = r.keepQuery && rawQuery !== '' ? `${r.location}?${rawQuery}` : r.location;
        writeHead(res, r.status, ['Location', location, 'Content-Length', '0'], extra);
        res.end();
        return;
      }
      case 'bad-path':
        return sendPage(req, res, builtinPage(400), extra);
    }
  }

  private pick(req: IncomingMessage, rep: Representation): Variant {
    if (rep.br === null && rep.gzip === null) return rep.identity;
    // Ranges are served from the identity bytes only: a range of a compressed rendering
    // would depend on the compressor.
    if (rep.conditional && req.headers.range !== undefined) return rep.identity;
    const a = this.accepts.get(req.headers['accept-encoding']);
    if (rep.br !== null && a.br) return rep.br;
    if (rep.gzip !== null && a.gzip) return rep.gzip;
    return rep.identity;
  }

  private entity(req: IncomingMessage, res: ServerResponse, rep: Representation, extra: Extra): Promise<void> | void {
    const v = this.pick(req, rep);
    const h = req.headers;
    if (rep.conditional) {
      if (
        h['if-none-match'] !== undefined ||
        h['if-modified-since'] !== undefined ||
        h['if-match'] !== undefined ||
        h['if-unmodified-since'] !== undefined
      ) {
        const c = evaluateConditions(
          {
            ifMatch: h['if-match'],
            ifNoneMatch: h['if-none-match'],
            ifModifiedSince: h['if-modified-since'],
            ifUnmodifiedSince: h['if-unmodified-since'],
          },
          { etag: v.etag, lastModified: v.source.obj.lastModified },
          true,
        );
        if (c === 'not-modified') {
          writeHead(res, 304, v.notModified, extra);
          res.end();
          return;
        }
        if (c === 'precondition-failed') return sendPage(req, res, builtinPage(412), extra);
      }
      if (h.range !== undefined) return this.ranged(req, res, v, h.range, extra);
    }
    const full = v.full;
    if (full !== null) {
      if (req.method === 'HEAD') {
        writeHead(res, rep.status, full, extra);
        res.end();
        return;
      }
      const body = this.cache.getBody(v.bodyKey);
      if (body !== undefined) {
        writeHead(res, rep.status, full, extra);
        res.end(body);
        return;
      }
    }
    return this.uncached(req, res, rep.status, v, extra);
  }

  private async uncached(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    v: Variant,
    extra: Extra,
  ): Promise<void> {
    const size = v.source.obj.size;
    if (size <= this.cache.maxEntryBytes) {
      const body = await this.load(v);
      writeHead(res, status, fullHeaders(v, body.length), extra);
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    // Too big to cache: streamed, compressed on the way when that is the chosen rendering
    // (then without a length, chunked). Opened before the head goes out, so that a vanished
    // blob can still be retried.
    const source = req.method === 'HEAD' ? null : await v.source.obj.open(null);
    writeHead(res, status, v.full ?? v.head, extra);
    if (source === null) {
      res.end();
      return;
    }
    if (v.dynamic) await pipeline(source, compressStream(v.coding as 'br' | 'gzip'), res);
    else await pipeline(source, res);
  }

  private async ranged(
    req: IncomingMessage,
    res: ServerResponse,
    v: Variant,
    header: string,
    extra: Extra,
  ): Promise<void> {
    const size = v.source.obj.size;
    const r = parseRange(header, size);
    if (r.type === 'unsatisfiable')
      return sendPage(req, res, builtinPage(416), extra, ['Content-Range', `bytes */${size}`]);
    if (r.type === 'full') return this.whole(req, res, v, extra);
    const headers = v.head.concat(
      'Content-Range',
      `bytes ${r.start}-${r.end}/${size}`,
      'Content-Length',
      String(r.end - r.start + 1),
    );
    const cached = this.cache.getBody(v.bodyKey);
    if (req.method === 'HEAD' || cached !== undefined) {
      writeHead(res, 206, headers, extra);
      res.end(req.method === 'HEAD' ? undefined : cached!.subarray(r.start, r.end + 1));
      return;
    }
    const source = await v.source.obj.open({ start: r.start, end: r.end });
    writeHead(res, 206, headers, extra);
    await pipeline(source, res);
  }

  private whole(req: IncomingMessage, res: ServerResponse, v: Variant, extra: Extra): Promise<void> {
    const body = v.full === null ? undefined : this.cache.getBody(v.bodyKey);
    if (body !== undefined && v.full !== null) {
      writeHead(res, 200, v.full, extra);
      res.end(req.method === 'HEAD' ? undefined : body);
      return Promise.resolve();
    }
    return this.uncached(req, res, 200, v, extra);
  }

  /** The variant's bytes, from the cache, or read (and compressed) once and cached. */
  private load(v: Variant): Promise<Buffer> {
    const hit = this.cache.getBody(v.bodyKey);
    if (hit !== undefined) return Promise.resolve(hit);
    let p = this.loading.get(v.bodyKey);
    if (p === undefined) {
      p = (async () => {
        const body = v.dynamic
          ? await compressBuffer(v.coding as 'br' | 'gzip', await this.raw(v.source))
          : await this.raw(v.source);
        this.cache.setBody(v.bodyKey, body);
        return body;
      })().finally(() => this.loading.delete(v.bodyKey));
      this.loading.set(v.bodyKey, p);
    }
    return p;
  }

  private async raw(e: ObjectEntry): Promise<Buffer> {
    const hit = this.cache.getBody(e.bodyKey);
    if (hit !== undefined) return hit;
    const body = await readAll(await e.obj.open(null));
    if (body.length !== e.obj.size) throw new Error(`object ${e.obj.key} read ${body.length} bytes of ${e.obj.size}`);
    this.cache.setBody(e.bodyKey, body);
    return body;
  }
}
