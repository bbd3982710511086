import {
  AwsChunkedDecoder,
  checksumHeaderName,
  createChecksummer,
  isValidChecksumValue,
  parseChecksumAlgorithm,
  streamingMode,
  type ByteObserver,
  type ChecksumAlgorithm,
} from '#storage';
import { PassThrough, type Readable } from 'node:stream';
import { contentMd5, signedPayloadHash } from './body.js';
import { header, type S3Context } from './context.js';
import { S3Error } from './errors.js';

/** A request body ready to store: decoded, with what to verify it against once it has been read. */
export interface ObjectBody {
  stream: Readable;
  expectedMd5Base64?: string;
  expectedSha256Hex?: string;
  observers: ByteObserver[];
  /** Call after the body was fully read: verifies flexible checksums, returns those to store. */
  finish(): Record<string, string> | null;
}

const ALGORITHMS: ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];

/**
 * Interprets the body framing from x-amz-content-sha256, never from Content-Encoding, which
 * is optional and unsigned (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html).
 */
export function objectBody(ctx: S3Context): ObjectBody {
  const lengthHeader = header(ctx, 'content-length');
  const mode = streamingMode(ctx.payloadHash ?? header(ctx, 'x-amz-content-sha256'));
  if (lengthHeader === undefined && header(ctx, 'transfer-encoding') === undefined)
    throw new S3Error('MissingContentLength');
  if (lengthHeader !== undefined && !/^\d+$/.test(lengthHeader))
    throw new S3Error('InvalidArgument', 'Content-Length is not a number');
  let stream: Readable = ctx.req;
  let decoder: AwsChunkedDecoder | null = null;
  if (mode !== null) {
    const decoded = header(ctx, 'x-amz-decoded-content-length');
    if (decoded === undefined)
      throw new S3Error('MissingContentLength', 'You must provide the x-amz-decoded-content-length header.');
    if (!/^\d+$/.test(decoded)) throw new S3Error('InvalidArgument', 'x-amz-decoded-content-length is not a number');
    if (Number(decoded) > ctx.deps.config.maxObjectSize) throw new S3Error('EntityTooLarge');
    const signed = mode !== 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
    if (signed && !ctx.auth?.v4)
      throw new S3Error('InvalidRequest', 'Streaming signed payloads need SigV4 header authentication.');
    const trailers = (header(ctx, 'x-amz-trailer') ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);
    decoder = new AwsChunkedDecoder({
      mode,
      decodedContentLength: Number(decoded),
      signing: signed ? ctx.auth!.v4 : undefined,
      declaredTrailers: trailers,
    });
    stream = ctx.req.pipe(decoder);
    ctx.req.on('error', (e) => decoder!.destroy(e));
  } else {
    if (lengthHeader !== undefined && Number(lengthHeader) > ctx.deps.config.maxObjectSize)
      throw new S3Error('EntityTooLarge');
    // A failed write destroys its source stream; a destroyed request takes the socket with it, and
    // the error answer (EntityTooLarge, a full disk) could not be sent.
    const pass = new PassThrough();
    stream = ctx.req.pipe(pass);
    ctx.req.on('error', (e) => pass.destroy(e));
  }

  // Checksums sent as headers are verified here; trailer checksums are verified by the decoder.
  const verifiers: { alg: ChecksumAlgorithm; expected: string; sum: ReturnType<typeof createChecksummer> }[] = [];
  for (const alg of ALGORITHMS) {
    const expected = header(ctx, checksumHeaderName(alg));
    if (expected === undefined) continue;
    if (!isValidChecksumValue(alg, expected))
      throw new S3Error('InvalidRequest', `Value for ${checksumHeaderName(alg)} header is invalid.`);
    verifiers.push({ alg, expected, sum: createChecksummer(alg) });
  }
  if (verifiers.length > 1)
    throw new S3Error(
      'InvalidRequest',
      'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.',
    );
  const sdkAlg = header(ctx, 'x-amz-sdk-checksum-algorithm');
  if (sdkAlg !== undefined) parseChecksumAlgorithm(sdkAlg);

  return {
    stream,
    expectedMd5Base64: contentMd5(ctx),
    expectedSha256Hex: mode === null ? signedPayloadHash(ctx) : undefined,
    observers: verifiers.map((v) => (c: Buffer) => v.sum.update(c)),
    finish() {
      const stored: Record<string, string> = {};
      for (const v of verifiers) {
        if (v.sum.digestBase64() !== v.expected)
          throw new S3Error('BadDigest', `The ${v.alg} you specified did not match the calculated checksum.`);
        stored[v.alg] = v.expected;
      }
      if (decoder) {
        for (const [name, value] of Object.entries(decoder.trailers)) {
          const alg = ALGORITHMS.find((a) => checksumHeaderName(a) === name);
          if (alg) stored[alg] = value;
        }
      }
      return Object.keys(stored).length > 0 ? stored : null;
    },
  };
}
