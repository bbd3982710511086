/**
 * A minimal S3 client (SigV4 in the Authorization header, path style, UNSIGNED-PAYLOAD, one
 * keep-alive agent), the same one for Cellar and Ceph RGW so that client costs cancel out.
 */
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';

export interface S3Target {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

export interface S3Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body, when the request asked for it; otherwise only its length. */
  body: Buffer | null;
  bytes: number;
}

export interface RequestOptions {
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** A buffer, or a stream with its length in headers['content-length']. */
  body?: Buffer | Readable;
  /** Keep the response body (small answers: XML); large bodies are only counted. */
  keepBody?: boolean;
}

/** RFC 3986 unreserved characters stay, everything else is %XX (SigV4 canonical URI and query). */
export function uriEncode(s: string, keepSlash: boolean): string {
  const e = encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  return keepSlash ? e.replace(/%2F/g, '/') : e;
}

const hmac = (k: string | Buffer, s: string): Buffer => createHmac('sha256', k).update(s).digest();
const sha256hex = (s: string): string => createHash('sha256').update(s).digest('hex');

export class S3Client {
  readonly agent: http.Agent;
  private readonly url: URL;
  private signingKey: { day: string; key: Buffer } | null = null;

  constructor(
    readonly target: S3Target,
    maxSockets = 64,
  ) {
    this.url = new URL(target.endpoint);
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  private keyFor(day: string): Buffer {
    if (this.signingKey?.day !== day) {
      const t = this.target;
      this.signingKey = {
        day,
        key: hmac(hmac(hmac(hmac('AWS4' + t.secretAccessKey, day), t.region), 's3'), 'aws4_request'),
      };
    }
    return this.signingKey.key;
  }

  /** Signs the request headers (mutates and returns them). */
  sign(
    method: string,
    path: string,
    query: Record<string, string>,
    headers: Record<string, string>,
  ): Record<string, string> {
    const amzDate = new Date().toISOString().replace(/[:-]|\.\d{3}/g, '');
    const day = amzDate.slice(0, 8);
    headers['host'] = this.url.host;
    headers['x-amz-date'] = amzDate;
    headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
    const names = Object.keys(headers)
      .map((h) => h.toLowerCase())
      .sort();
    const lower: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = String(v).trim();
    const canonQuery = Object.keys(query)
      .sort()
      .map((k) => `${uriEncode(k, false)}=${uriEncode(query[k]!, false)}`)
      .join('&');
    const signed = names.join(';');
    const canon = [
      method,
      uriEncode(path, true),
      canonQuery,
      ...names.map((n) => `${n}:${lower[n]}`),
      '',
      signed,
      'UNSIGNED-PAYLOAD',
    ].join('\n');
    const scope = `${day}/${this.target.region}/s3/aws4_request`;
    const sts = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canon)].join('\n');
    const sig = hmac(this.keyFor(day), sts).toString('hex');
    headers['authorization'] =
      `AWS4-HMAC-SHA256 Credential=${this.target.accessKeyId}/${scope}, SignedHeaders=${signed}, Signature=${sig}`;
    return headers;
  }

  request(method: string, path: string, o: RequestOptions = {}): Promise<S3Response> {
    const query = o.query ?? {};
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (Buffer.isBuffer(o.body)) headers['content-length'] = String(o.body.length);
    else if (o.body === undefined && (method === 'PUT' || method === 'POST')) headers['content-length'] = '0';
    this.sign(method, path, query, headers);
    const qs = Object.keys(query)
      .map((k) => `${uriEncode(k, false)}=${uriEncode(query[k]!, false)}`)
      .join('&');
    const fullPath = uriEncode(path, true) + (qs ? `?${qs}` : '');
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: this.url.hostname, port: this.url.port, method, path: fullPath, headers, agent: this.agent },
        (res) => {
          const chunks: Buffer[] = [];
          let bytes = 0;
          const keep = o.keepBody === true || (res.statusCode ?? 500) >= 300;
          res.on('data', (c: Buffer) => {
            bytes += c.length;
            if (keep) chunks.push(c);
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: keep ? Buffer.concat(chunks) : null,
              bytes,
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      if (o.body instanceof Readable) o.body.pipe(req);
      else req.end(o.body);
    });
  }

  /** Same as request() but throws unless the status is 2xx. */
  async ok(method: string, path: string, o: RequestOptions = {}): Promise<S3Response> {
    const r = await this.request(method, path, o);
    if (r.status < 200 || r.status >= 300) {
      throw new Error(`${method} ${path} -> ${r.status} ${r.body?.toString('utf8').slice(0, 300) ?? ''}`);
    }
    return r;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A readable of `total` bytes that repeats `block` (no 1 GiB buffer in the client). */
export function repeatStream(block: Buffer, total: number): Readable {
  let left = total;
  return new Readable({
    highWaterMark: block.length,
    read() {
      if (left <= 0) {
        this.push(null);
        return;
      }
      const n = Math.min(left, block.length);
      left -= n;
      this.push(n === block.length ? block : block.subarray(0, n));
    },
  });
}

/** A plain (unsigned) GET that counts the body: the client for nginx in the large-object scenario. */
export function plainGet(
  url: string,
  agent: http.Agent,
  headers: Record<string, string> = {},
): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** Runs `fn` from `conc` workers for `seconds`; returns completed ops and ops/s. Each op gets a sequence number. */
export async function closedLoop(
  conc: number,
  seconds: number,
  fn: (i: number) => Promise<void>,
): Promise<{ ops: number; opsPerSec: number }> {
  let next = 0;
  let done = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (performance.now() < end) {
        await fn(next++);
        done++;
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  return { ops: done, opsPerSec: done / secs };
}

/** Runs fn(0..n-1) with `conc` in flight (set-up work such as filling buckets). */
export async function forEachConcurrent(n: number, conc: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(conc, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}
