/** HTTP/2 clients for the HTTPS listener: node:http2 sessions, SigV4-signed requests, and a raw frame writer. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http2, { type ClientHttp2Session, type OutgoingHttpHeaders } from 'node:http2';
import path from 'node:path';
import { signV4, UNSIGNED_PAYLOAD, type Addon } from '#storage';
import type { Config } from '../../src/config/index.js';
import { selfSigned } from '../../src/gateway/tls/certs.testutil.js';
import { startTestCellar, type TestCellar } from './cellar.js';

export const DOMAIN = 'cellar.test';

export interface HttpsCellar extends TestCellar {
  httpsPort: number;
  /** The self-signed certificate the listener serves (for `ca`). */
  ca: string;
}

/** A test server with an HTTPS listener holding one certificate for the service domain and its buckets. */
export async function startHttpsCellar(overrides: Partial<Config> = {}): Promise<HttpsCellar> {
  const pair = selfSigned([DOMAIN, `*.${DOMAIN}`]);
  const certsDir = mkdtempSync(path.join(tmpdir(), 'cellar-h2-certs-'));
  mkdirSync(path.join(certsDir, 'site'), { recursive: true });
  writeFileSync(path.join(certsDir, 'site', 'cert.pem'), pair.certPem);
  writeFileSync(path.join(certsDir, 'site', 'key.pem'), pair.keyPem, { mode: 0o600 });
  const t = await startTestCellar({ domain: DOMAIN, httpsPort: 0, certsDir, ...overrides });
  return {
    ...t,
    httpsPort: t.cellar.httpsPort!,
    ca: pair.certPem,
    async stop() {
      await t.stop();
      rmSync(certsDir, { recursive: true, force: true });
    },
  };
}

/** An HTTP/2 session to the HTTPS listener, TLS for `servername`. */
export function connect(t: HttpsCellar, servername = DOMAIN): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(`https://127.0.0.1:${t.httpsPort}`, { ca: t.ca, servername });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

export interface H2Response {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
}

/** One request on `session`; `body` is written whole (or streamed when it is an iterable). */
export function request(
  session: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  body?: Buffer | AsyncIterable<Buffer>,
): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let got: http2.IncomingHttpHeaders = {};
    stream.once('response', (h) => {
      got = h;
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', () => resolve({ status: Number(got[':status']), headers: got, body: Buffer.concat(chunks) }));
    stream.once('error', reject);
    if (Buffer.isBuffer(body)) stream.end(body);
    else if (body !== undefined)
      (async () => {
        for await (const c of body) if (!stream.write(c)) await new Promise((r) => stream.once('drain', r));
        stream.end();
      })().catch(reject);
  });
}

/** SigV4 headers (unsigned payload) for an S3 request to `authority`, as HTTP/2 pseudo-headers plus fields. */
export function signed(
  addon: Addon,
  method: string,
  authority: string,
  pathAndQuery: string,
  extra: Record<string, string> = {},
): OutgoingHttpHeaders {
  const url = new URL(`https://${authority}${pathAndQuery}`);
  const h = signV4({
    method,
    url,
    headers: extra,
    payloadHash: UNSIGNED_PAYLOAD,
    accessKeyId: addon.accessKeyId,
    secretKey: addon.secretAccessKey,
    region: 'us-east-1',
    now: new Date(),
  });
  // HTTP/2 clients carry the signed host as :authority (RFC 9113 §8.3.1), not as a Host field.
  const { host, ...fields } = h;
  return { ':method': method, ':path': pathAndQuery, ':authority': host, ':scheme': 'https', ...fields };
}

// --- Raw frames, for what well-behaved clients never send (more streams than the server allows).

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId, 5);
  return Buffer.concat([h, payload]);
}

export const PREFACE = Buffer.concat([
  Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
  frame(4, 0, 0, Buffer.alloc(0)), // SETTINGS, none changed
]);

/** HEADERS (END_STREAM, END_HEADERS) for `GET /` at `authority`, HPACK without Huffman or indexing. */
export function getFrame(streamId: number, authority: string): Buffer {
  const a = Buffer.from(authority);
  // :method GET (static 2), :scheme https (7), :path / (4), then :authority as a literal (name index 1).
  const block = Buffer.concat([Buffer.from([0x82, 0x87, 0x84, 0x01, a.length]), a]);
  return frame(1, 0x1 | 0x4, streamId, block);
}

export interface RawFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** Splits a byte stream into frames (what is left over stays in `rest`). */
export function parseFrames(buf: Buffer): { frames: RawFrame[]; rest: Buffer } {
  const frames: RawFrame[] = [];
  let off = 0;
  while (buf.length - off >= 9) {
    const len = buf.readUIntBE(off, 3);
    if (buf.length - off < 9 + len) break;
    frames.push({
      type: buf[off + 3]!,
      flags: buf[off + 4]!,
      streamId: buf.readUInt32BE(off + 5) & 0x7fffffff,
      payload: buf.subarray(off + 9, off + 9 + len),
    });
    off += 9 + len;
  }
  return { frames, rest: buf.subarray(off) };
}
