import { createHash } from 'node:crypto';
import { CHECKSUM_ALGORITHMS, checksumHeaderName, checksumMismatchError, createChecksummer } from '#storage';
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
 * The whole stream, or MaxMessageLengthExceeded once it passes `limit`. Not `for await`: leaving
 * that loop early destroys the request, and with it the socket the error answer must go out on;
 * here the rest of an oversized body is drained instead (the error answer closes the connection).
 */
function readBounded(req: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (req.readableEnded) return resolve(Buffer.alloc(0));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (size > limit) return;
      size += chunk.length;
      if (size > limit) reject(new S3Error('MaxMessageLengthExceeded'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Reads a small request document (XML or JSON) whole, bounded by `limit`, and checks it against
 * Content-MD5 and the signed payload hash.
 */
export async function readSmallBody(
  ctx: S3Context,
  limit: number = ctx.deps.config.maxXmlBodySize,
  opts: { checksumHeadersDescribeBody?: boolean } = {},
): Promise<Buffer> {
  const declared = header(ctx, 'content-length');
  if (declared !== undefined && Number(declared) > limit) {
    ctx.req.resume();
    throw new S3Error('MaxMessageLengthExceeded');
  }
  const body = await readBounded(ctx.req, limit);
  const md5 = contentMd5(ctx);
  if (md5 !== undefined && createHash('md5').update(body).digest('base64') !== md5) throw new S3Error('BadDigest');
  const sha = signedPayloadHash(ctx);
  if (sha !== undefined && createHash('sha256').update(body).digest('hex') !== sha)
    throw new S3Error('XAmzContentSHA256Mismatch');
  // SDKs send a flexible checksum (CRC32 by default) with every body; S3 checks it as it checks Content-MD5.
  // On CompleteMultipartUpload the same headers carry the object's checksum instead.
  if (opts.checksumHeadersDescribeBody === false) return body;
  for (const alg of CHECKSUM_ALGORITHMS) {
    const expected = header(ctx, checksumHeaderName(alg));
    if (expected === undefined) continue;
    const sum = createChecksummer(alg);
    sum.update(body);
    if (sum.digestBase64() !== expected) throw checksumMismatchError(alg);
  }
  return body;
}

/**
 * Whether the request carries something to check its body's integrity against: Content-MD5, an
 * x-amz-checksum-<algorithm> header, or such a checksum announced as a trailer (x-amz-trailer).
 * Object Lock requests need one (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html).
 */
export function hasBodyIntegrity(ctx: S3Context): boolean {
  if (header(ctx, 'content-md5') !== undefined) return true;
  if (CHECKSUM_ALGORITHMS.some((alg) => header(ctx, checksumHeaderName(alg)) !== undefined)) return true;
  return (header(ctx, 'x-amz-trailer') ?? '')
    .split(',')
    .some((t) => t.trim().toLowerCase().startsWith('x-amz-checksum-'));
}
