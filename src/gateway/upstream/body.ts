/**
 * The request body as it goes to RGW: aws-chunked framing removed (chunk signatures and the
 * trailing checksum verified by the storage decoder), a checksum sent as a header verified too.
 * RGW cannot check either, so the last byte is held back until the check passed: a body that
 * fails it never reaches RGW complete (Content-Length not met), so RGW stores nothing.
 */
import {
  AwsChunkedDecoder,
  StorageError,
  checksumHeaderName,
  checksumMismatchError,
  createChecksummer,
  isValidChecksumValue,
  CHECKSUM_ALGORITHMS,
  type StreamingMode,
  type VerifiedAuth,
} from '#storage';
import type { IncomingHttpHeaders } from 'node:http';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';

/** Passes bytes on except the very last one, released on end once `verify` did not throw. */
export class HoldLastByte extends Transform {
  private held: Buffer | null = null;

  constructor(
    private readonly verify: () => void = () => undefined,
    private readonly observe?: (chunk: Buffer) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (chunk.length === 0) return cb();
    this.observe?.(chunk);
    if (this.held !== null) this.push(this.held);
    if (chunk.length > 1) this.push(chunk.subarray(0, chunk.length - 1));
    // Copied: one byte must not pin a whole network buffer.
    this.held = Buffer.from(chunk.subarray(chunk.length - 1));
    cb();
  }

  override _flush(cb: TransformCallback): void {
    try {
      this.verify();
    } catch (e) {
      return cb(e as Error);
    }
    if (this.held !== null) this.push(this.held);
    cb();
  }
}

export interface ForwardBody {
  /** What http-proxy pipes to RGW; nothing flows before start(). */
  readonly stream: Readable;
  /** Starts reading the client's body (once the upstream request exists). */
  start(): void;
  /** The flexible checksum verified over the whole body (header or trailer), null before or without one. */
  verifiedChecksum(): { header: string; value: string } | null;
}

const NO_CHECKSUM = (): null => null;

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** A flexible checksum sent as a request header, verified over the body as it passes. */
function headerChecksum(
  headers: IncomingHttpHeaders,
): { verify(): void; observe(c: Buffer): void; verified(): { header: string; value: string } | null } | null {
  const found = CHECKSUM_ALGORITHMS.filter((alg) => headers[checksumHeaderName(alg)] !== undefined);
  if (found.length === 0) return null;
  if (found.length > 1)
    throw new StorageError(
      'InvalidRequest',
      'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.',
    );
  const alg = found[0]!;
  const expected = first(headers[checksumHeaderName(alg)])!;
  if (!isValidChecksumValue(alg, expected))
    throw new StorageError('InvalidRequest', `Value for ${checksumHeaderName(alg)} header is invalid.`);
  const sum = createChecksummer(alg);
  let passed = false;
  return {
    observe: (c) => sum.update(c),
    verify: () => {
      if (sum.digestBase64() !== expected) throw checksumMismatchError(alg);
      passed = true;
    },
    verified: () => (passed ? { header: checksumHeaderName(alg), value: expected } : null),
  };
}

/**
 * Throws StorageError for a body that cannot be forwarded (bad aws-chunked headers). Errors met
 * while streaming (bad chunk signature, checksum mismatch, truncated framing) surface as an
 * 'error' event on `stream`.
 */
export function forwardBody(
  source: Readable,
  headers: IncomingHttpHeaders,
  streaming: StreamingMode | null,
  verified: VerifiedAuth | null,
): ForwardBody {
  if (streaming !== null) {
    const decoded = first(headers['x-amz-decoded-content-length']);
    if (decoded === undefined)
      throw new StorageError('InvalidRequest', 'You must provide the x-amz-decoded-content-length header.');
    if (!/^\d+$/.test(decoded))
      throw new StorageError('InvalidArgument', 'x-amz-decoded-content-length is not a number');
    const signed = streaming !== 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
    if (signed && !verified?.v4)
      throw new StorageError('InvalidRequest', 'Streaming signed payloads need SigV4 header authentication.');
    const decoder = new AwsChunkedDecoder({
      mode: streaming,
      decodedContentLength: Number(decoded),
      signing: signed ? verified!.v4 : undefined,
      declaredTrailers: (first(headers['x-amz-trailer']) ?? '')
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean),
    });
    // The decoder verifies the trailer before it ends; holding the last byte until then keeps a
    // failed body from completing upstream.
    const out = new HoldLastByte();
    decoder.on('error', (e) => out.destroy(e));
    source.on('error', (e) => out.destroy(e));
    // The decoder sets its trailers only once it verified them.
    const verifiedChecksum = () => {
      const found = Object.entries(decoder.trailers).find(([name]) => name.startsWith('x-amz-checksum-'));
      return found === undefined ? null : { header: found[0], value: found[1] };
    };
    return { stream: out, start: () => source.pipe(decoder).pipe(out), verifiedChecksum };
  }
  const check = headerChecksum(headers);
  const out = check === null ? new PassThrough() : new HoldLastByte(check.verify, check.observe);
  source.on('error', (e) => out.destroy(e));
  return { stream: out, start: () => source.pipe(out), verifiedChecksum: check?.verified ?? NO_CHECKSUM };
}
