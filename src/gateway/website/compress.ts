/** Content negotiation and compression for website responses (node:zlib only). */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Transform } from 'node:stream';

export type Coding = 'br' | 'gzip';

/** Below this, the encoding overhead eats the saving (nginx's gzip_min_length is similar). */
export const MIN_COMPRESS_BYTES = 1024;

const COMPRESSIBLE =
  /^(?:text\/[\w.+-]+|image\/svg\+xml|image\/(?:x-icon|vnd\.microsoft\.icon|bmp)|font\/(?:ttf|otf|collection)|application\/(?:javascript|x-javascript|ecmascript|json|xml|wasm|manifest\+json|vnd\.ms-fontobject|x-font-ttf|x-font-otf|xhtml\+xml|[\w.+-]*\+(?:json|xml)))(?:\s*;|$)/i;

export function isCompressibleType(contentType: string): boolean {
  return COMPRESSIBLE.test(contentType);
}

/** What a request accepts, from its Accept-Encoding (RFC 9110 §12.5.3, q=0 refuses). */
export interface Accepts {
  br: boolean;
  gzip: boolean;
}

const NONE: Accepts = Object.freeze({ br: false, gzip: false });
const MAX_REMEMBERED = 256;

function parse(header: string): Accepts {
  let br: boolean | undefined;
  let gzip: boolean | undefined;
  let star: boolean | undefined;
  for (const part of header.split(',')) {
    const [rawName = '', ...params] = part.split(';');
    const name = rawName.trim().toLowerCase();
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m) q = Number(m[1]);
    }
    const ok = q > 0;
    if (name === 'br') br = ok;
    else if (name === 'gzip' || name === 'x-gzip') gzip = ok;
    else if (name === '*') star = ok;
  }
  return { br: br ?? star ?? false, gzip: gzip ?? star ?? false };
}

/**
 * Browsers send one of a handful of exact strings, so parses are remembered; the map is
 * bounded so odd clients cannot grow it. One per website handler.
 */
export class AcceptsCache {
  private readonly parsed = new Map<string, Accepts>();

  get(header: string | undefined): Accepts {
    if (header === undefined || header === '') return NONE;
    let a = this.parsed.get(header);
    if (a === undefined) {
      a = parse(header);
      if (this.parsed.size >= MAX_REMEMBERED) this.parsed.clear();
      this.parsed.set(header, a);
    }
    return a;
  }
}

const brotli = promisify(zlib.brotliCompress);
const gzipAsync = promisify(zlib.gzip);

/**
 * One-off compression of a body that is then cached: spend more effort than on a stream
 * (brotli 9, gzip 6), on the thread pool so the event loop keeps serving.
 */
export function compressBuffer(coding: Coding, body: Buffer): Promise<Buffer> {
  if (coding === 'br') {
    return brotli(body, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: 9,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length,
        [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
      },
    });
  }
  return gzipAsync(body, { level: 6 });
}

/** For bodies too large to cache: a cheaper setting, as CDNs use for on-the-fly encoding. */
export function compressStream(coding: Coding): Transform {
  if (coding === 'br') {
    return zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } });
  }
  return zlib.createGzip({ level: 6 });
}
