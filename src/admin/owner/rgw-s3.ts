/**
 * S3 requests to Ceph RGW signed as an add-on owner (an RGW user), for the dashboard in upstream
 * mode: RGW then decides every permission itself, exactly as for the owner's own S3 client.
 * Small answers (XML) are read whole; request bodies are either small documents or a stream
 * piped with back-pressure (UNSIGNED-PAYLOAD with the client's Content-Length), never buffered.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import {
  StorageError,
  UNSIGNED_PAYLOAD,
  awsEncodedPath,
  awsUriEncode,
  signV4Raw,
  type Addon,
  type StorageErrorCode,
} from '#storage';

export interface RgwS3Options {
  url: string;
  timeoutMs: number;
}

export interface RgwRequest {
  method: string;
  bucket: string;
  key?: string;
  /** Raw query string, already encoded (`versioning`, `uploadId=...&partNumber=1`). */
  query?: string;
  headers?: Record<string, string>;
  /** A small document, or a stream of `size` bytes. */
  body?: string | { stream: Readable; size: number };
}

export interface RgwAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A query value in the encoding SigV4's canonical query uses (so RGW's check agrees). */
export function queryValue(v: string): string {
  return awsUriEncode(v);
}

const KNOWN: readonly StorageErrorCode[] = [
  'AccessDenied',
  'BucketAlreadyExists',
  'BucketAlreadyOwnedByYou',
  'BucketNotEmpty',
  'EntityTooLarge',
  'EntityTooSmall',
  'InvalidArgument',
  'InvalidBucketName',
  'InvalidPart',
  'InvalidPartOrder',
  'InvalidRequest',
  'MalformedPolicy',
  'MalformedXML',
  'NoSuchBucket',
  'NoSuchKey',
  'NoSuchUpload',
  'NoSuchVersion',
];

/** RGW's S3 error answer as the StorageError the routes map to statuses; anything else is RGW failing. */
export function rgwError(a: RgwAnswer, what = ''): StorageError {
  const code = /<Code>([^<]*)<\/Code>/.exec(a.body)?.[1] ?? '';
  const message =
    /<Message>([^<]*)<\/Message>/.exec(a.body)?.[1] || `RGW answered ${a.status} ${code}${what && ` to ${what}`}`;
  if ((KNOWN as readonly string[]).includes(code)) return new StorageError(code as StorageErrorCode, message);
  if (a.status === 404) return new StorageError('NoSuchBucket', 'The specified bucket does not exist');
  return new StorageError('InternalError', `RGW answered ${a.status} ${code}`.trim());
}

export class RgwS3 {
  private readonly base: URL;
  private readonly agent: http.Agent;

  constructor(private readonly o: RgwS3Options) {
    this.base = new URL(o.url);
    this.agent = new (this.base.protocol === 'https:' ? https.Agent : http.Agent)({ keepAlive: true });
  }

  close(): void {
    this.agent.destroy();
  }

  /** Sends the request as `owner`; answers of any status resolve, a dead RGW rejects with InternalError. */
  send(owner: Addon, r: RgwRequest): Promise<RgwAnswer> {
    const rawPath = awsEncodedPath(r.key === undefined ? `/${r.bucket}` : `/${r.bucket}/${awsUriEncode(r.key, true)}`);
    const query = r.query ?? '';
    const body = r.body;
    const headers: Record<string, string> = { ...r.headers, host: this.base.host };
    let payloadHash = UNSIGNED_PAYLOAD;
    if (typeof body === 'string') {
      headers['content-length'] = String(Buffer.byteLength(body));
      headers['content-md5'] = createHash('md5').update(body).digest('base64');
      payloadHash = createHash('sha256').update(body).digest('hex');
    } else if (body !== undefined) headers['content-length'] = String(body.size);
    const signed = signV4Raw({
      method: r.method,
      rawPath,
      rawQuery: query,
      headers,
      payloadHash,
      accessKeyId: owner.accessKeyId,
      secretKey: owner.secretAccessKey,
      // RGW accepts any region in the credential scope.
      region: 'us-east-1',
      now: new Date(),
    });
    const transport = this.base.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const fail = (e: Error) =>
        reject(e instanceof StorageError ? e : new StorageError('InternalError', `RGW: ${e.message}`));
      const req = transport.request(
        {
          protocol: this.base.protocol,
          hostname: this.base.hostname,
          port: this.base.port,
          method: r.method,
          path: query === '' ? rawPath : `${rawPath}?${query}`,
          headers: signed,
          agent: this.agent,
          timeout: this.o.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            // Listings and error documents: a page of 1000 keys is far below this.
            if (size > 16 * 1024 * 1024) req.destroy(new StorageError('InternalError', 'RGW answer too large'));
            else chunks.push(c);
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', fail);
        },
      );
      req.on('timeout', () => req.destroy(new StorageError('InternalError', 'RGW did not answer in time')));
      req.on('error', fail);
      if (typeof body === 'string') req.end(body);
      else if (body !== undefined) {
        // pipe(): RGW's socket pushes back on the client's upload.
        body.stream.on('error', (e) => req.destroy(e));
        body.stream.pipe(req);
      } else req.end();
    });
  }

  /** send(), then throws the RGW error unless the status is 2xx. */
  async ok(owner: Addon, r: RgwRequest): Promise<RgwAnswer> {
    const a = await this.send(owner, r);
    if (a.status < 200 || a.status >= 300)
      throw rgwError(a, `${r.method} ${r.query ? `?${r.query.split('=')[0]}` : ''}`);
    return a;
  }
}
