import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { header, type S3Context } from './context.js';
import { S3Error } from './errors.js';

const HEX64 = /^[0-9a-f]{64}$/;

/** The hex SHA-256 the client signed for its body, when it signed one. */
export function signedPayloadHash(ctx: S3Context): string | undefined {
  const h = ctx.payloadHash;
  return h !== null && HEX64.test(h) ? h : undefined;
}

/** Content-MD5 as sent (base64 of 16 bytes), or InvalidDigest. */
export function contentMd5(ctx: S3Context): string | undefined {
  const v = header(ctx, 'content-md5');
  if (v === undefined) return undefined;
  const raw = Buffer.from(v, 'base64');
  if (raw.length !== 16 || raw.toString('base64') !== v.trim()) throw new S3Error('InvalidDigest');
  return v.trim();
}

/**
 * Reads a small request document (XML or JSON) whole, bounded by `limit`, and checks it against
 * Content-MD5 and the signed payload hash.
 */
export async function readSmallBody(ctx: S3Context, limit: number = ctx.deps.config.maxXmlBodySize): Promise<Buffer> {
  const declared = header(ctx, 'content-length');
  if (declared !== undefined && Number(declared) > limit) {
    ctx.req.resume();
    throw new S3Error('MaxMessageLengthExceeded');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as Readable) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      ctx.req.resume();
      throw new S3Error('MaxMessageLengthExceeded');
    }
    chunks.push(chunk as Buffer);
  }
  const body = Buffer.concat(chunks);
  const md5 = contentMd5(ctx);
  if (md5 !== undefined && createHash('md5').update(body).digest('base64') !== md5) throw new S3Error('BadDigest');
  const sha = signedPayloadHash(ctx);
  if (sha !== undefined && createHash('sha256').update(body).digest('hex') !== sha) throw new S3Error('XAmzContentSHA256Mismatch');
  return body;
}
