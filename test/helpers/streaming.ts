/**
 * Hand-built aws-chunked uploads (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html,
 * sigv4-streaming-trailers.html): the exact wire format SDKs send, plus the ways to get it wrong.
 */
import { createHash } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import { chunkSignature, deriveSigningKey, signV4, trailerSignature, type Addon, type StreamingMode } from '#storage';

export interface StreamingRequest {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  /** Path and query, already encoded, e.g. `/bucket/key?partNumber=1&uploadId=...`. */
  path: string;
  mode: StreamingMode;
  data: Buffer;
  chunkSize: number;
  addon: Pick<Addon, 'accessKeyId' | 'secretAccessKey'>;
  region?: string;
  /** More headers to send and sign. */
  headers?: Record<string, string>;
  /** A trailing header, declared in x-amz-trailer, e.g. ['x-amz-checksum-crc32', '...']. */
  trailer?: [string, string];
  /** Flips one hex digit of this chunk's signature (0-based; the final empty chunk counts). */
  tamperChunk?: number;
  /** Announces this x-amz-decoded-content-length instead of the real one. */
  declaredLength?: number;
  /** Sends only the first n bytes of the framed body (with a matching Content-Length). */
  truncateTo?: number;
}

export interface StreamingResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

function flipHex(s: string): string {
  return (s[0] === '0' ? '1' : '0') + s.slice(1);
}

/** The aws-chunked framing of `data`, chunk signatures chained from `seed` in the signed modes. */
export function frame(
  r: StreamingRequest,
  signing: { key: Buffer; amzDate: string; scope: string; seed: string } | null,
): Buffer {
  let previous = signing?.seed ?? '';
  let index = 0;
  const sign = (piece: Buffer): string => {
    if (!signing) return '';
    const chunkSha256Hex = createHash('sha256').update(piece).digest('hex');
    previous = chunkSignature({
      signingKey: signing.key,
      amzDate: signing.amzDate,
      scope: signing.scope,
      previousSignature: previous,
      chunkSha256Hex,
    });
    return `;chunk-signature=${index++ === r.tamperChunk ? flipHex(previous) : previous}`;
  };
  const out: Buffer[] = [];
  for (let at = 0; at < r.data.length; at += r.chunkSize) {
    const piece = r.data.subarray(at, at + r.chunkSize);
    out.push(Buffer.from(`${piece.length.toString(16)}${sign(piece)}\r\n`), piece, Buffer.from('\r\n'));
  }
  out.push(Buffer.from(`0${sign(Buffer.alloc(0))}\r\n`));
  if (r.trailer) {
    const [name, value] = r.trailer;
    out.push(Buffer.from(`${name}:${value}\r\n`));
    if (signing && r.mode === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER') {
      const sig = trailerSignature({
        signingKey: signing.key,
        amzDate: signing.amzDate,
        scope: signing.scope,
        previousSignature: previous,
        trailerText: `${name}:${value}\n`,
      });
      out.push(Buffer.from(`x-amz-trailer-signature:${sig}\r\n`));
    }
  }
  out.push(Buffer.from('\r\n'));
  return Buffer.concat(out);
}

/** Signs the request headers (the seed signature), frames the body and sends it on a fresh connection. */
export async function sendStreaming(r: StreamingRequest): Promise<StreamingResponse> {
  const region = r.region ?? 'us-east-1';
  const now = new Date();
  const url = new URL(r.path, r.endpoint);
  const q = r.path.indexOf('?');
  const signedUrl = {
    host: url.host,
    pathname: q >= 0 ? r.path.slice(0, q) : r.path,
    search: q >= 0 ? r.path.slice(q) : '',
  } as URL;
  const toSign: Record<string, string> = {
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': String(r.declaredLength ?? r.data.length),
    ...r.headers,
  };
  if (r.trailer) toSign['x-amz-trailer'] = r.trailer[0];
  const headers = signV4({
    method: 'PUT',
    url: signedUrl,
    headers: toSign,
    payloadHash: r.mode,
    accessKeyId: r.addon.accessKeyId,
    secretKey: r.addon.secretAccessKey,
    region,
    now,
  });
  const amzDate = headers['x-amz-date']!;
  const date = amzDate.slice(0, 8);
  const seed = /Signature=([0-9a-f]{64})/.exec(headers['authorization']!)![1]!;
  const signing =
    r.mode === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER'
      ? null
      : {
          key: deriveSigningKey(r.addon.secretAccessKey, date, region, 's3'),
          amzDate,
          scope: `${date}/${region}/s3/aws4_request`,
          seed,
        };
  let wire = frame(r, signing);
  if (r.truncateTo !== undefined) wire = wire.subarray(0, r.truncateTo);
  headers['content-length'] = String(wire.length);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method: 'PUT', path: r.path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end(wire);
  });
}

/** The <Code> of an S3 error document. */
export function errorCode(text: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
}
