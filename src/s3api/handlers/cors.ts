import {
  corsResponseHeaders,
  matchCorsRule,
  parseCorsRequestHeaders,
  validateCorsRules,
  type BucketInfo,
  type CorsRule,
} from '#storage';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readSmallBody } from '../body.js';
import { header, type S3Context } from '../context.js';
import { S3Error } from '../errors.js';
import { sendEmpty, sendXml } from '../respond.js';
import { child, children, parseXml, text, type XmlValue } from '../xml.js';

function strings(node: XmlValue, name: string): string[] {
  return children(node, name).map((v) =>
    typeof v === 'object' && v !== null ? String((v as Record<string, unknown>)['#text'] ?? '') : String(v),
  );
}

export function corsFromXml(body: string): CorsRule[] {
  const doc = child(parseXml(body), 'CORSConfiguration');
  if (doc === undefined || doc === null || typeof doc !== 'object') throw new S3Error('MalformedXML');
  const rules = children(doc, 'CORSRule').map((r): CorsRule => {
    const maxAge = text(r, 'MaxAgeSeconds');
    if (maxAge !== undefined && !/^-?\d+$/.test(maxAge.trim())) throw new S3Error('MalformedXML');
    return {
      id: text(r, 'ID'),
      allowedOrigins: strings(r, 'AllowedOrigin'),
      allowedMethods: strings(r, 'AllowedMethod'),
      allowedHeaders: strings(r, 'AllowedHeader'),
      exposeHeaders: strings(r, 'ExposeHeader'),
      maxAgeSeconds: maxAge === undefined ? undefined : Number(maxAge.trim()),
    };
  });
  return validateCorsRules(rules);
}

export async function putBucketCors(ctx: S3Context, bucket: BucketInfo): Promise<void> {
  const body = await readSmallBody(ctx);
  if (body.length === 0) throw new S3Error('MissingRequestBodyError');
  ctx.deps.storage.setBucketCors(bucket.name, corsFromXml(body.toString('utf8')));
  sendEmpty(ctx, 200);
}

export function getBucketCors(ctx: S3Context, bucket: BucketInfo): void {
  if (!bucket.cors) throw new S3Error('NoSuchCORSConfiguration', undefined, { BucketName: bucket.name });
  sendXml(ctx, 'CORSConfiguration', {
    CORSRule: bucket.cors.map((r) => ({
      ID: r.id,
      AllowedHeader: r.allowedHeaders,
      AllowedMethod: r.allowedMethods,
      AllowedOrigin: r.allowedOrigins,
      ExposeHeader: r.exposeHeaders,
      MaxAgeSeconds: r.maxAgeSeconds,
    })),
  });
}

export function deleteBucketCors(ctx: S3Context, bucket: BucketInfo): void {
  ctx.deps.storage.setBucketCors(bucket.name, null);
  sendEmpty(ctx, 204);
}

/** CORS headers of an actual (non-preflight) request, set before the handler writes its response. */
export function applyCorsHeaders(req: IncomingMessage, res: ServerResponse, bucket: BucketInfo | null): void {
  if (!bucket?.cors) return;
  const origin = req.headers.origin;
  if (!origin) return;
  const method = req.method === 'HEAD' ? 'HEAD' : (req.method ?? 'GET');
  const rule = matchCorsRule(bucket.cors, origin, method, []);
  if (!rule) return;
  for (const [k, v] of Object.entries(
    corsResponseHeaders(rule, origin, { preflight: false, requestHeaders: [], method }),
  ))
    res.setHeader(k, v);
}

/**
 * A preflight OPTIONS: answered from the bucket's rules alone, without authentication
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/RESTOPTIONSobject.html).
 */
export function preflight(ctx: Pick<S3Context, 'req' | 'res'>, bucket: BucketInfo): void {
  const origin = header(ctx as S3Context, 'origin');
  const method = header(ctx as S3Context, 'access-control-request-method');
  if (!origin || !method) throw new S3Error('BadRequest', 'Insufficient information. Origin request header needed.');
  const requested = parseCorsRequestHeaders(ctx.req.headers['access-control-request-headers']);
  const rule = bucket.cors ? matchCorsRule(bucket.cors, origin, method, requested) : null;
  if (!rule) throw new S3Error('AccessForbidden');
  const headers = corsResponseHeaders(rule, origin, { preflight: true, requestHeaders: requested, method });
  ctx.res.writeHead(200, { ...headers, 'content-length': '0' });
  ctx.res.end();
}
