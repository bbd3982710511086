/**
 * Hand-built HTTP requests against a test server: the path and query go on the wire exactly as
 * given, so tests can send what no SDK would (bad encodings, odd sub-resources, huge headers).
 */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import { signV2, signV4, UNSIGNED_PAYLOAD, type Addon } from '#storage';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export type RawAuth =
  | {
      type: 'v4';
      addon: Pick<Addon, 'accessKeyId' | 'secretAccessKey'>;
      now?: Date;
      region?: string;
      unsignedPayload?: boolean;
      payloadHash?: string;
    }
  | { type: 'v2'; addon: Pick<Addon, 'accessKeyId' | 'secretAccessKey'>; now?: Date; vhostBucket?: string };

export interface RawRequest {
  method?: string;
  /** Path and query as sent on the wire, e.g. `/bucket/a%20b?acl`. */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  auth?: RawAuth;
  /** Edits the headers after signing, to forge a request. */
  afterSign?: (headers: Record<string, string>) => void;
  /** Sends this path instead of the signed one, to forge a request. */
  wirePath?: string;
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function md5Base64(data: Buffer | string): string {
  return createHash('md5').update(data).digest('base64');
}

/** Sends one request on a fresh connection and reads the whole answer. */
export async function raw(endpoint: string, r: RawRequest): Promise<RawResponse> {
  const method = r.method ?? 'GET';
  const body = r.body === undefined ? Buffer.alloc(0) : Buffer.from(r.body);
  const url = new URL(r.path, endpoint);
  // new URL() resolves dot segments and re-encodes: sign the path exactly as it goes on the wire, as SDKs do.
  const q = r.path.indexOf('?');
  const signed = {
    host: url.host,
    pathname: q >= 0 ? r.path.slice(0, q) : r.path,
    search: q >= 0 ? r.path.slice(q) : '',
  } as URL;
  let headers: Record<string, string> = { ...r.headers };
  if (body.length > 0 || method === 'PUT' || method === 'POST') headers['content-length'] ??= String(body.length);
  if (r.auth?.type === 'v4') {
    headers = signV4({
      method,
      url: signed,
      headers,
      payloadHash: r.auth.payloadHash ?? (r.auth.unsignedPayload ? UNSIGNED_PAYLOAD : sha256Hex(body)),
      accessKeyId: r.auth.addon.accessKeyId,
      secretKey: r.auth.addon.secretAccessKey,
      region: r.auth.region ?? 'us-east-1',
      now: r.auth.now ?? new Date(),
    });
  } else if (r.auth?.type === 'v2') {
    headers = signV2({
      method,
      url: signed,
      headers,
      accessKeyId: r.auth.addon.accessKeyId,
      secretKey: r.auth.addon.secretAccessKey,
      now: r.auth.now ?? new Date(),
      vhostBucket: r.auth.vhostBucket ?? null,
    });
  }
  r.afterSign?.(headers);
  return new Promise<RawResponse>((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method, path: r.wirePath ?? r.path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const b = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b, text: b.toString('utf8') });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A SigV2 query-signed URL, as s3cmd `signurl` and boto's HmacV1QueryAuth build it
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/RESTAuthentication.html#RESTAuthenticationQueryStringAuth).
 * `path` is the encoded path as it will be sent.
 */
export function presignV2(
  endpoint: string,
  method: string,
  path: string,
  addon: Pick<Addon, 'accessKeyId' | 'secretAccessKey'>,
  expiresEpoch: number,
): string {
  const toSign = `${method}\n\n\n${expiresEpoch}\n${path}`;
  const signature = createHmac('sha1', addon.secretAccessKey).update(toSign, 'utf8').digest('base64');
  const q = new URLSearchParams({
    AWSAccessKeyId: addon.accessKeyId,
    Expires: String(expiresEpoch),
    Signature: signature,
  });
  return `${endpoint}${path}?${q.toString()}`;
}

/** The <Code> of an S3 error document. */
export function errorCode(text: string): string | undefined {
  return /<Error>[\s\S]*?<Code>([^<]*)<\/Code>/.exec(text)?.[1];
}

/**
 * Asserts an S3 error answer: the status, the XML document with the code, and nothing that looks
 * like a leaked stack trace. HEAD answers carry no body, so only the status is checked for them.
 */
export function assertS3Error(res: RawResponse, status: number, code: string, method = 'GET'): void {
  assert.equal(res.status, status, `status for ${code}: ${res.text}`);
  if (method === 'HEAD') return;
  assert.match(String(res.headers['content-type']), /xml/);
  assert.ok(res.text.startsWith('<?xml'), `XML declaration expected: ${res.text}`);
  assert.equal(errorCode(res.text), code, res.text);
  assert.match(res.text, /<RequestId>[^<]+<\/RequestId>/);
  assertNoStackTrace(res.text);
}

export function assertNoStackTrace(text: string): void {
  assert.doesNotMatch(
    text,
    /\bat .+\(.*:\d+:\d+\)|node:internal|\/src\/|\.ts:\d+|\.js:\d+/,
    `stack trace leaked: ${text}`,
  );
}
