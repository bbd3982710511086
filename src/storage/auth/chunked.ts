/**
 * Decoder for `aws-chunked` request bodies, the framing today's SDKs and CLIs use for uploads:
 *   <hex-size>[;chunk-signature=<sig>]\r\n<data>\r\n ... 0[;chunk-signature=<sig>]\r\n
 *   [<trailer-name>:<value>\r\n ...][x-amz-trailer-signature:<sig>\r\n]\r\n
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
 *
 * Data bytes are passed on as they arrive (slices of the input, never copied or held), so the
 * decoder buffers at most one framing line. A chunk whose signature fails is detected when its
 * last byte arrives; by then its bytes have gone downstream, which is safe because the caller
 * only commits an object once this stream has ended without error.
 *
 * Error codes, where AWS's own choice is not documented, follow what AWS was observed to answer
 * in versitygw's chunk readers (s3api/utils/{signed,unsigned}-chunk-reader.go):
 * truncated or malformed framing -> IncompleteBody; declared trailer missing or an undeclared
 * one present -> MalformedTrailerError; trailer checksum differs -> BadDigest.
 */
import { createHash, timingSafeEqual, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { StorageError } from '../errors.js';
import {
  checksumAlgorithmOfHeader,
  checksumMismatchError,
  createChecksummer,
  isValidChecksumValue,
  type ChecksumAlgorithm,
  type Checksummer,
} from '../checksum/index.js';
import { chunkSignature, trailerSignature } from './sigv4.js';

export type StreamingMode =
  | 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'
  | 'STREAMING-UNSIGNED-PAYLOAD-TRAILER'
  | 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';

/** Which aws-chunked variant an x-amz-content-sha256 value announces; null when not streaming. */
export function streamingMode(contentSha256Header: string | undefined): StreamingMode | null {
  switch (contentSha256Header) {
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD':
    case 'STREAMING-UNSIGNED-PAYLOAD-TRAILER':
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER':
      return contentSha256Header;
    case 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD':
    case 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER':
      // SigV4a (multi-region access points) is not supported.
      throw new StorageError('NotImplemented', 'A header you provided implies functionality that is not implemented.', {
        Header: 'x-amz-content-sha256',
      });
    default:
      return null;
  }
}

export interface ChunkedDecoderOptions {
  mode: StreamingMode;
  /** x-amz-decoded-content-length (the caller rejects a missing one with MissingContentLength). */
  decodedContentLength: number;
  /** Required for the signed modes; seedSignature is the verified signature of the request headers. */
  signing?: { signingKey: Buffer; seedSignature: string; amzDate: string; scope: string };
  /** Names from the x-amz-trailer header, lower-case (e.g. ['x-amz-checksum-crc64nvme']). */
  declaredTrailers: string[];
  /** Largest chunk accepted; defaults to DEFAULT_MAX_CHUNK_SIZE. */
  maxChunkSize?: number;
}

export const DEFAULT_MAX_CHUNK_SIZE = 16 * 1024 * 1024;

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const TRAILER_SIGNATURE = 'x-amz-trailer-signature';
// A chunk header is at most ~100 bytes and a trailer line carries one checksum: longer is junk.
const MAX_LINE = 4096;

const TERMINATED = 'The request body terminated unexpectedly';
const LENGTH_MISMATCH = 'You did not provide the number of bytes specified by the Content-Length HTTP header.';
const MALFORMED_TRAILER =
  'The request contained trailing data that was not well-formed or did not conform to our published schema.';
const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your key and signing method.';

const framingError = (message: string) => new StorageError('IncompleteBody', message);
const trailerError = () => new StorageError('MalformedTrailerError', MALFORMED_TRAILER);
const signatureError = () => new StorageError('SignatureDoesNotMatch', SIGNATURE_MISMATCH);

function signaturesMatch(expected: string, got: string): boolean {
  const a = Buffer.from(expected, 'latin1');
  const b = Buffer.from(got, 'latin1');
  return a.length === b.length && timingSafeEqual(a, b);
}

type Phase = 'header' | 'data' | 'data-crlf' | 'trailer' | 'done';

interface TrailerChecksum {
  header: string;
  alg: ChecksumAlgorithm;
  summer: Checksummer;
}

export class AwsChunkedDecoder extends Transform {
  private readonly decodedLength: number;
  private readonly maxChunkSize: number;
  private readonly signing: ChunkedDecoderOptions['signing'] | undefined;
  private readonly signedTrailer: boolean;
  private readonly declared: ReadonlySet<string>;
  private readonly checksum: TrailerChecksum | undefined;

  private phase: Phase = 'header';
  private line: Buffer[] = [];
  private lineLength = 0;
  private remaining = 0; // bytes of the current chunk still to come
  private crlfSeen = 0;
  private decoded = 0;
  private chunkHash: Hash | undefined;
  private chunkSig = '';
  private previousSignature = '';
  private readonly received = new Map<string, string>();
  private trailerText = '';
  private trailerSig: string | undefined;
  private result: Record<string, string> = {};

  constructor(o: ChunkedDecoderOptions) {
    super();
    if (!Number.isSafeInteger(o.decodedContentLength) || o.decodedContentLength < 0) {
      throw new StorageError('InvalidArgument', 'Invalid x-amz-decoded-content-length.', {
        ArgumentName: 'x-amz-decoded-content-length',
        ArgumentValue: String(o.decodedContentLength),
      });
    }
    const signed = o.mode !== 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
    if (signed && !o.signing) throw new StorageError('InternalError', `${o.mode} needs the signing context`);
    this.decodedLength = o.decodedContentLength;
    this.maxChunkSize = o.maxChunkSize ?? DEFAULT_MAX_CHUNK_SIZE;
    this.signing = signed ? o.signing : undefined;
    this.previousSignature = this.signing?.seedSignature ?? '';
    this.signedTrailer = o.mode === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
    this.declared = new Set(o.declaredTrailers);
    this.checksum = checksumFromTrailers(o.declaredTrailers);
  }

  /** Trailer headers (lower-case names), set once the stream has ended successfully. */
  get trailers(): Record<string, string> {
    return this.result;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.consume(chunk);
      callback();
    } catch (e) {
      callback(e as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    callback(this.phase === 'done' ? null : framingError(TERMINATED));
  }

  private consume(buf: Buffer): void {
    let pos = 0;
    while (pos < buf.length) {
      switch (this.phase) {
        case 'header':
        case 'trailer': {
          const end = this.takeLine(buf, pos);
          if (end < 0) return;
          pos = end;
          const line = this.finishLine();
          if (this.phase === 'header') this.onChunkHeader(line);
          else this.onTrailerLine(line);
          break;
        }
        case 'data': {
          const n = Math.min(this.remaining, buf.length - pos);
          const slice = buf.subarray(pos, pos + n);
          pos += n;
          this.remaining -= n;
          this.decoded += n;
          this.chunkHash?.update(slice);
          this.checksum?.summer.update(slice);
          this.push(slice);
          if (this.remaining === 0) {
            this.verifyChunk(this.chunkHash?.digest('hex') ?? '');
            this.phase = 'data-crlf';
            this.crlfSeen = 0;
          }
          break;
        }
        case 'data-crlf':
          if (buf[pos] !== (this.crlfSeen === 0 ? 0x0d : 0x0a))
            throw framingError('Chunk data is not followed by CRLF.');
          pos++;
          if (++this.crlfSeen === 2) this.phase = 'header';
          break;
        case 'done':
          throw framingError('The request body has data after the final chunk.');
      }
    }
  }

  /** Gathers bytes up to LF; returns the offset after it, or -1 when the line continues in the next buffer. */
  private takeLine(buf: Buffer, pos: number): number {
    const lf = buf.indexOf(0x0a, pos);
    const end = lf < 0 ? buf.length : lf + 1;
    this.lineLength += end - pos;
    if (this.lineLength > MAX_LINE) throw framingError('A chunk header or trailer line is too long.');
    // Copied so a few framing bytes do not pin a whole network buffer.
    this.line.push(Buffer.from(buf.subarray(pos, end)));
    return lf < 0 ? -1 : end;
  }

  private finishLine(): string {
    const raw = Buffer.concat(this.line, this.lineLength).toString('latin1');
    this.line = [];
    this.lineLength = 0;
    if (!raw.endsWith('\r\n')) throw framingError('A chunk header or trailer line does not end with CRLF.');
    return raw.slice(0, -2);
  }

  private onChunkHeader(line: string): void {
    // DEVIATION: AWS rejects non-final chunks under 8 KiB (InvalidChunkSizeError); we accept them.
    const m = this.signing
      ? /^([0-9a-fA-F]{1,16});chunk-signature=(.*)$/.exec(line)
      : /^([0-9a-fA-F]{1,16})$/.exec(line);
    if (!m) throw framingError('Malformed chunk header.');
    const size = parseInt(m[1]!, 16);
    // DEVIATION: a defensive cap on one chunk; AWS documents no limit.
    if (size > this.maxChunkSize) {
      throw new StorageError(
        'InvalidArgument',
        `Chunk size ${size} exceeds the maximum of ${this.maxChunkSize} bytes.`,
      );
    }
    if (this.decoded + size > this.decodedLength) throw framingError(LENGTH_MISMATCH);
    this.chunkSig = m[2] ?? '';
    if (size > 0) {
      this.remaining = size;
      this.chunkHash = this.signing ? createHash('sha256') : undefined;
      this.phase = 'data';
      return;
    }
    this.verifyChunk(EMPTY_SHA256);
    if (this.decoded !== this.decodedLength) throw framingError(LENGTH_MISMATCH);
    this.phase = 'trailer';
  }

  /** Checks the chunk against the signature chain: seed -> chunk 1 -> ... -> final 0-byte chunk. */
  private verifyChunk(chunkSha256Hex: string): void {
    if (!this.signing) return;
    const { signingKey, amzDate, scope } = this.signing;
    const expected = chunkSignature({
      signingKey,
      amzDate,
      scope,
      previousSignature: this.previousSignature,
      chunkSha256Hex,
    });
    if (!signaturesMatch(expected, this.chunkSig)) throw signatureError();
    this.previousSignature = expected;
  }

  private onTrailerLine(line: string): void {
    if (line === '') {
      this.finish();
      return;
    }
    // The signature, when present, must be the last line.
    if (this.trailerSig !== undefined) throw trailerError();
    const colon = line.indexOf(':');
    if (colon <= 0) throw trailerError();
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === TRAILER_SIGNATURE && this.signedTrailer) {
      this.trailerSig = value;
      return;
    }
    if (!this.declared.has(name) || this.received.has(name)) throw trailerError();
    this.received.set(name, value);
    // The canonical form the trailer signature covers (sigv4-streaming-trailers.html).
    this.trailerText += `${name}:${value}\n`;
  }

  private finish(): void {
    if (this.signing && this.signedTrailer) {
      if (this.trailerSig === undefined) throw trailerError();
      const { signingKey, amzDate, scope } = this.signing;
      const expected = trailerSignature({
        signingKey,
        amzDate,
        scope,
        previousSignature: this.previousSignature,
        trailerText: this.trailerText,
      });
      if (!signaturesMatch(expected, this.trailerSig)) throw signatureError();
    }
    for (const name of this.declared) if (!this.received.has(name)) throw trailerError();
    if (this.checksum) {
      const { header, alg, summer } = this.checksum;
      const value = this.received.get(header)!;
      if (!isValidChecksumValue(alg, value)) {
        throw new StorageError('InvalidRequest', `Value for ${header} trailing header is invalid.`);
      }
      if (summer.digestBase64() !== value) throw checksumMismatchError(alg);
    }
    this.result = Object.fromEntries(this.received);
    this.phase = 'done';
  }
}

/** S3 allows one trailer, a flexible checksum; its absence means no checksum to verify. */
function checksumFromTrailers(declared: string[]): TrailerChecksum | undefined {
  if (declared.length > 1) {
    throw new StorageError(
      'InvalidRequest',
      'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.',
    );
  }
  const header = declared[0];
  if (header === undefined) return undefined;
  const alg = checksumAlgorithmOfHeader(header);
  if (!alg)
    throw new StorageError('InvalidRequest', 'The value specified in the x-amz-trailer header is not supported');
  return { header, alg, summer: createChecksummer(alg) };
}
