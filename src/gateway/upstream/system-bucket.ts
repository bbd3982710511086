/**
 * The gateways' shared state on the upstream: one private bucket (CELLAR_SYSTEM_BUCKET, default
 * `cellar-system`) owned by the system user, holding what every gateway of a fleet must agree on
 * (certificates, pending HTTP-01 answers, issuance locks). Small objects only: every body is
 * read and written whole. Requests are signed with the system user's keys, path style.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { awsEncodedPath, awsUriEncode, signV4Raw } from '#storage';
import type { WebsiteSource } from '../website/source.js';
import { UpstreamUnavailableError } from './rgw-admin.js';

export interface SystemBucketOptions {
  url: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  timeoutMs: number;
  agent?: http.Agent;
}

export interface Stored {
  body: Buffer;
  /** The ETag without quotes: the spelling RGW 16.2 compares If-Match against (see put()). */
  etag: string;
}

/** A conditional write: create only, or replace only the version read with this ETag. */
export type WriteCondition = { ifNoneMatch: '*' } | { ifMatch: string };

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const MAX_BODY = 1024 * 1024;

function xmlText(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

export class SystemBucket {
  readonly name: string;
  private readonly base: URL;
  private readonly agent: http.Agent;

  constructor(private readonly o: SystemBucketOptions) {
    this.name = o.bucket;
    this.base = new URL(o.url);
    this.agent = o.agent ?? new (this.base.protocol === 'https:' ? https.Agent : http.Agent)({ keepAlive: true });
  }

  close(): void {
    if (this.o.agent === undefined) this.agent.destroy();
  }

  /**
   * Creates the bucket when missing (private: RGW's default ACL gives the owner alone access).
   * Refuses a versioned bucket: RGW 16.2 ignores If-None-Match on PUT in a versioned bucket
   * (observed: the second conditional PUT of a key succeeds), and the issuance lock relies on it.
   */
  async ensure(): Promise<void> {
    const head = await this.call('HEAD', '', '');
    if (head.status === 404) {
      const made = await this.call('PUT', '', '');
      // Another gateway may have created it first.
      if (made.status !== 200 && made.status !== 409) throw this.unexpected('PUT', '', made);
    } else if (head.status !== 200) {
      throw this.unexpected('HEAD', '', head);
    }
    const v = await this.call('GET', '', 'versioning');
    if (v.status !== 200) throw this.unexpected('GET ?versioning', '', v);
    const status = /<Status>([^<]*)<\/Status>/.exec(v.body.toString('utf8'))?.[1];
    if (status !== undefined)
      throw new Error(
        `the system bucket ${this.name} has versioning ${status}: RGW ignores conditional writes there, so it cannot hold the issuance locks; use a bucket that never had versioning`,
      );
  }

  async get(key: string): Promise<Stored | null> {
    const a = await this.call('GET', key, '');
    if (a.status === 404) return null;
    if (a.status !== 200) throw this.unexpected('GET', key, a);
    return { body: a.body, etag: (a.headers.etag ?? '').replace(/^"|"$/g, '') };
  }

  /**
   * Writes `key`; with a condition, 'conflict' when it does not hold. RGW 16.2 honours both
   * conditions on PUT in an unversioned bucket, atomically (see lease-lock.ts), but compares
   * If-Match byte for byte with the stored ETag without its quotes: the RFC 9110 spelling
   * `"<etag>"` never matches (observed), so the bare value is sent.
   */
  async put(key: string, body: Buffer | string, cond?: WriteCondition): Promise<{ etag: string } | 'conflict'> {
    const headers: Record<string, string> = {};
    if (cond !== undefined && 'ifNoneMatch' in cond) headers['if-none-match'] = '*';
    if (cond !== undefined && 'ifMatch' in cond) headers['if-match'] = cond.ifMatch;
    const a = await this.call('PUT', key, '', Buffer.from(body), headers);
    if (a.status === 412 && cond !== undefined) return 'conflict';
    if (a.status !== 200) throw this.unexpected('PUT', key, a);
    return { etag: (a.headers.etag ?? '').replace(/^"|"$/g, '') };
  }

  /** Unconditional: RGW 16.2 ignores If-Match on DELETE (observed), so callers never rely on one. */
  async delete(key: string): Promise<void> {
    const a = await this.call('DELETE', key, '');
    if (a.status !== 204 && a.status !== 200 && a.status !== 404) throw this.unexpected('DELETE', key, a);
  }

  /**
   * Every key under `prefix` (ListObjectsV2, all pages). A bucket not made yet (no gateway has
   * run with HTTPS) holds nothing: `cellar cert list` then shows no certificates.
   */
  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | null = null;
    do {
      const q: string[] = ['list-type=2', `prefix=${encodeURIComponent(prefix)}`];
      if (token !== null) q.push(`continuation-token=${encodeURIComponent(token)}`);
      const a = await this.call('GET', '', q.sort().join('&'));
      if (a.status === 404 && token === null && /<Code>NoSuchBucket<\/Code>/.test(a.body.toString('utf8'))) return [];
      if (a.status !== 200) throw this.unexpected('GET ?list-type=2', '', a);
      const xml = a.body.toString('utf8');
      for (const m of xml.matchAll(/<Key>([^<]*)<\/Key>/g)) keys.push(xmlText(m[1]!));
      token = /<IsTruncated>true<\/IsTruncated>/.test(xml)
        ? xmlText(/<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1] ?? '')
        : null;
      if (token === '') token = null;
    } while (token !== null);
    return keys;
  }

  private unexpected(op: string, key: string, a: Answer): Error {
    const code = /<Code>([^<]*)<\/Code>/.exec(a.body.toString('utf8'))?.[1] ?? '';
    const what = `RGW answered ${a.status} ${code} to ${op} ${this.name}/${key}`;
    return a.status >= 500 ? new UpstreamUnavailableError(what) : new Error(what);
  }

  private call(
    method: string,
    key: string,
    query: string,
    body: Buffer = Buffer.alloc(0),
    extra: Record<string, string> = {},
  ): Promise<Answer> {
    const path = awsEncodedPath(key === '' ? `/${this.name}` : `/${this.name}/${awsUriEncode(key, true)}`);
    const headers = signV4Raw({
      method,
      rawPath: path,
      rawQuery: query,
      headers: { host: this.base.host, ...extra },
      payloadHash: createHash('sha256').update(body).digest('hex'),
      accessKeyId: this.o.accessKey,
      secretKey: this.o.secretKey,
      // RGW accepts any region in the credential scope.
      region: 'us-east-1',
      now: new Date(),
    });
    const transport = this.base.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(
        {
          protocol: this.base.protocol,
          hostname: this.base.hostname,
          port: this.base.port,
          method,
          path: query === '' ? path : `${path}?${query}`,
          headers: { ...headers, 'content-length': String(body.length) },
          agent: this.agent,
          timeout: this.o.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_BODY) req.destroy(new UpstreamUnavailableError('system bucket answer too large'));
            else chunks.push(c);
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', (e) => reject(new UpstreamUnavailableError(e.message)));
        },
      );
      req.on('timeout', () =>
        req.destroy(new UpstreamUnavailableError(`RGW did not answer within ${this.o.timeoutMs} ms`)),
      );
      req.on('error', (e) =>
        reject(e instanceof UpstreamUnavailableError ? e : new UpstreamUnavailableError(`RGW: ${e.message}`)),
      );
      req.end(body);
    });
  }
}

/** The website side never sees the system bucket: no site, no certificate, for anyone. */
export function withoutSystemBucket(source: WebsiteSource, systemBucket: string): WebsiteSource {
  return {
    ...source,
    bucket: (name) => (name === systemBucket ? Promise.resolve(null) : source.bucket(name)),
    head: (bucket, key) => (bucket === systemBucket ? Promise.resolve(null) : source.head(bucket, key)),
  };
}
