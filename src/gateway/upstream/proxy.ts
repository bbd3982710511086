/**
 * The S3Backend of upstream mode: every S3 request goes to Ceph RGW through `http-proxy`,
 * verified here and signed again as the same RGW user (see forward.ts for why). Bodies stream
 * both ways through pipes (back-pressure from either end stops the other); connections to RGW
 * are kept alive and reused. A client's Expect: 100-continue is answered with RGW's own (the
 * listener must hand such requests over without answering them: 'checkContinue').
 */
import { createHash, randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { PassThrough, type Readable } from 'node:stream';
import httpProxy from 'http-proxy';
import {
  StorageError,
  isStorageError,
  parseAuth,
  signV4Raw,
  streamingMode,
  UNSIGNED_PAYLOAD,
  verifyAuth,
  type AuthInfo,
  type AuthRequest,
  type VerifiedAuth,
} from '#storage';
import type { Logger } from '../../shared/logger.js';
import { recordOf, type RequestRecord } from '../../shared/request-record.js';
import type { ClassifyS3, RenderS3Error, S3Backend } from '../backend.js';
import { answersWithChecksum, isCompleteUpload, lacksEtag, withEtag } from './answers.js';
import { forwardBody, type ForwardBody } from './body.js';
import { planForward, type ReplacementBody, type Signer } from './forward.js';
import { policyOperation, principalsFromRgw, principalsToRgw } from './principals.js';
import { RgwAdmin, UpstreamUnavailableError } from './rgw-admin.js';
import { SecretCache } from './secrets.js';

const RGW_REQUEST_ID = /^[A-Za-z0-9._-]{1,200}$/;

export interface UpstreamOptions {
  url: string;
  accessKey: string;
  secretKey: string;
  /** Silence from RGW (connecting, or mid-request) longer than this answers 503. */
  timeoutMs: number;
  /** Region used to re-sign SigV2 requests (SigV4 ones keep the client's). */
  region: string;
  renderError: RenderS3Error;
  classify: ClassifyS3;
  logger: Logger;
  now?: () => Date;
  secretCache?: { maxEntries: number; ttlMs: number; negativeTtlMs: number };
}

export interface UpstreamBackend extends S3Backend {
  readonly admin: RgwAdmin;
  /** Drops a cached add-on secret (its key was removed from RGW by this gateway). */
  forgetAccessKey(accessKey: string): void;
  close(): void;
}

interface Pending {
  path: string;
  startBody(): void;
  /** Ask RGW for 100-continue before sending the body (large bodies, see EXPECT_FROM). */
  expectContinue: boolean;
  /** The client sent Expect: 100-continue: it hears 100 Continue when RGW said it. */
  clientExpects: boolean;
  proxyReq: http.ClientRequest | null;
  clientConnection: string | undefined;
  /** Set once the client got an answer of ours (an error): late proxy events are ignored. */
  answered: boolean;
  /** Set once RGW's answer started: from then on RGW's answer is the client's answer. */
  responded: boolean;
  body: Readable;
  /** GetBucketPolicy: RGW's answer is rewritten (principals) before it goes out. */
  rewritePolicy: boolean;
  /** The access key the forwarded request was signed with (null: anonymous). */
  accessKey: string | null;
  /** PutObject/UploadPart: the checksum the gateway verified, for RGW's answer (null: none). */
  verifiedChecksum: (() => { header: string; value: string } | null) | null;
  /** CompleteMultipartUpload signed as this user: RGW's empty ETag is filled in. */
  completeAs: { signer: Signer; path: string } | null;
}

/**
 * A cached secret RGW refuses (403) is fetched again at most this often: a key removed on RGW
 * (rotated through another gateway, or with radosgw-admin) stops passing this gateway's own
 * check within a second of its first refusal, not at the end of the cache's TTL.
 */
const SUSPECT_AFTER_MS = 1000;

/** AWS's limit on a bucket policy (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html). */
const MAX_POLICY = 20 * 1024;
const MAX_POLICY_ANSWER = 1024 * 1024;

/** A CompleteMultipartUploadResult is a few hundred bytes; more is not one. */
const MAX_COMPLETE_ANSWER = 64 * 1024;

/** RGW's error documents are small; the code is read from at most this much of one. */
const MAX_ERROR_PEEK = 4096;

/** Bodies from this size on wait for RGW's 100-continue; smaller ones fit in socket buffers. */
const EXPECT_FROM = 1024 * 1024;
const EXPECT_WAIT_MS = 1000;

function requestId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

/** A body the gateway made itself, released when the upstream request exists. */
function fixedBody(bytes: Buffer): ForwardBody {
  const stream = new PassThrough();
  return { stream, start: () => stream.end(bytes), verifiedChecksum: () => null };
}

/**
 * The whole (small) policy document of a PutBucketPolicy, decoded if aws-chunked, checked
 * against Content-MD5 and the signed SHA-256 that RGW would otherwise have checked.
 */
async function readPolicy(req: IncomingMessage, info: AuthInfo, verified: VerifiedAuth | null): Promise<Buffer> {
  const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
  const mode = streamingMode(first(req.headers['x-amz-content-sha256']));
  const body = forwardBody(req, req.headers, mode, verified);
  const chunks: Buffer[] = [];
  let size = 0;
  const done = new Promise<void>((resolve, reject) => {
    body.stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_POLICY) reject(new StorageError('MalformedPolicy', 'Policies must be less than 20 KB.'));
      else chunks.push(c);
    });
    body.stream.on('end', resolve);
    body.stream.on('error', reject);
  });
  body.start();
  await done;
  const bytes = Buffer.concat(chunks);
  const md5 = first(req.headers['content-md5']);
  if (md5 !== undefined && createHash('md5').update(bytes).digest('base64') !== md5.trim())
    throw new StorageError('BadDigest');
  const signed = info.type === 'v4' && mode === null ? info.payloadHash : '';
  if (/^[0-9a-f]{64}$/.test(signed) && createHash('sha256').update(bytes).digest('hex') !== signed)
    throw new StorageError('XAmzContentSHA256Mismatch');
  return bytes;
}

/**
 * The client cut its request: its connection closed, or (HTTP/2) its stream was reset, which
 * leaves the session's socket open and destroys the request mid-body (see http2.ts).
 */
function clientGone(req: IncomingMessage): boolean {
  return req.socket.destroyed || (req.destroyed && !req.readableEnded);
}

export function createUpstreamBackend(o: UpstreamOptions): UpstreamBackend {
  const target = new URL(o.url);
  const now = o.now ?? (() => new Date());
  const agent = new (target.protocol === 'https:' ? https.Agent : http.Agent)({
    keepAlive: true,
    keepAliveMsecs: 1000,
    scheduling: 'lifo',
  });
  const admin = new RgwAdmin({
    url: o.url,
    accessKey: o.accessKey,
    secretKey: o.secretKey,
    timeoutMs: o.timeoutMs,
    agent,
  });
  const secrets = new SecretCache(
    {
      secretOf: async (accessKey) => {
        const user = await admin.userByAccessKey(accessKey);
        const key = user?.keys.find((k) => k.accessKey === accessKey);
        return user === null || key === undefined ? null : { uid: user.uid, secret: key.secretKey };
      },
    },
    o.secretCache ?? { maxEntries: 10_000, ttlMs: 60_000, negativeTtlMs: 5_000 },
  );
  const proxy = httpProxy.createProxyServer({});
  const pending = new WeakMap<IncomingMessage, Pending>();

  // http-proxy joins paths with a helper that collapses '//' (a legal part of S3 keys), so the
  // exact path is set here, before the request line is written: the body only starts flowing
  // after this event, and the request line is written with the first body byte or the end.
  proxy.on('proxyReq', (proxyReq, req, res) => {
    const p = pending.get(req);
    if (p === undefined) return;
    proxyReq.path = p.path;
    p.proxyReq = proxyReq;
    if (!p.expectContinue) return p.startBody();
    // RGW answers some requests (missing bucket, access denied) before reading the body and
    // hangs up; had the body been streaming, the write would fail (EPIPE) before RGW's answer
    // could be read. With 100-continue the body only goes once RGW wants it.
    proxyReq.setHeader('expect', '100-continue');
    proxyReq.flushHeaders();
    let started = false;
    const start = (): void => {
      if (started) return;
      started = true;
      clearTimeout(fallback);
      if (p.clientExpects && !res.headersSent) res.writeContinue();
      p.startBody();
    };
    // A server that ignores Expect still gets the body (RFC 9110 section 10.1.1).
    const fallback = setTimeout(start, EXPECT_WAIT_MS);
    proxyReq.once('continue', start);
    proxyReq.once('response', (proxyRes: IncomingMessage) => {
      clearTimeout(fallback);
      if (started) return;
      started = true;
      // RGW's final answer came first: a client that waited for 100 Continue sends no body (the
      // connection closes after the answer); any body is read and discarded. The upstream
      // connection, left mid-request, is not reused.
      req.resume();
      proxyRes.once('end', () => proxyReq.destroy());
    });
  });
  proxy.on('proxyRes', (proxyRes, req, res) => {
    // The client sees RGW's request id: the access log must name the same one.
    const rec = recordOf(res);
    const rgwId = proxyRes.headers['x-amz-request-id'];
    // RGW's ids are letters, digits, dots and dashes (tx000...-...-default); anything else is not
    // adopted, so the access log can print the id as it is.
    if (rec && typeof rgwId === 'string' && RGW_REQUEST_ID.test(rgwId)) rec.requestId = rgwId;
    if (rec && (proxyRes.statusCode ?? 0) >= 400) peekErrorCode(proxyRes, rec);
    const p = pending.get(req);
    if (p !== undefined && p.accessKey !== null && proxyRes.statusCode === 403)
      secrets.suspect(p.accessKey, SUSPECT_AFTER_MS);
    if (p !== undefined) {
      p.responded = true;
      // The timeout bounds the wait for RGW's answer. Once it streams, a quiet upstream socket
      // usually means a slow client holding back-pressure, which must not cut the download.
      p.proxyReq?.setTimeout(0);
    }
    // RGW went away in the middle of its answer: the client must see a broken response, not a
    // complete-looking short one.
    proxyRes.on('close', () => {
      if (!proxyRes.complete) res.destroy();
    });
    // The connection to RGW is ours to keep alive; the client's own choice answers the client.
    proxyRes.headers.connection = p?.clientConnection?.toLowerCase() === 'close' ? 'close' : 'keep-alive';
    delete proxyRes.headers['keep-alive'];
    // DEVIATION: RGW 16.2 neither checks nor stores flexible checksums (the gateway drops them
    // before forwarding), so only the write's answer carries the checksum the gateway verified;
    // GetObject/HeadObject with x-amz-checksum-mode: ENABLED return none.
    const checksum = proxyRes.statusCode === 200 ? (p?.verifiedChecksum?.() ?? null) : null;
    if (checksum !== null) proxyRes.headers[checksum.header] = checksum.value;
    if (p?.rewritePolicy) sendRewrittenPolicy(proxyRes, res);
    else if (p?.completeAs) sendCompletedUpload(proxyRes, res, p.completeAs);
  });

  /** RGW's object HEAD answer (its ETag), signed as the user who completed the upload. */
  const headEtag = (signer: Signer, path: string, versionId: string | undefined): Promise<string | null> => {
    const query = versionId === undefined ? '' : `versionId=${encodeURIComponent(versionId)}`;
    const headers = signV4Raw({
      method: 'HEAD',
      rawPath: path,
      rawQuery: query,
      headers: { host: target.host },
      payloadHash: UNSIGNED_PAYLOAD,
      accessKeyId: signer.accessKeyId,
      secretKey: signer.secretKey,
      region: signer.region,
      now: now(),
    });
    return new Promise((resolve) => {
      const r = (target.protocol === 'https:' ? https : http).request(
        {
          host: target.hostname,
          port: target.port,
          method: 'HEAD',
          path: query === '' ? path : `${path}?${query}`,
          headers,
          agent,
          timeout: o.timeoutMs,
        },
        (answer) => {
          answer.resume();
          const etag = answer.headers.etag;
          resolve(answer.statusCode === 200 && typeof etag === 'string' && etag !== '' ? etag : null);
        },
      );
      r.on('timeout', () => r.destroy(new Error('RGW did not answer the HEAD in time')));
      r.on('error', () => resolve(null));
      r.end();
    });
  };

  /**
   * CompleteMultipartUpload's result. DEVIATION: RGW 16.2.15 answers it with `<ETag></ETag>`
   * (seen straight from RGW, without the gateway); AWS always returns the object's ETag, which
   * clients read. The gateway fills it in from a HEAD of the version just made, as the same
   * user; a user who may not read it gets RGW's empty ETag.
   */
  const sendCompletedUpload = (
    proxyRes: IncomingMessage,
    res: ServerResponse,
    as: { signer: Signer; path: string },
  ): void => {
    const chunks: Buffer[] = [];
    let size = 0;
    proxyRes.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_COMPLETE_ANSWER) proxyRes.destroy();
      else chunks.push(c);
    });
    proxyRes.on('end', () => {
      const send = (body: Buffer): void => {
        const headers = { ...proxyRes.headers, 'content-length': String(body.length) };
        delete headers['transfer-encoding'];
        res.writeHead(proxyRes.statusCode ?? 502, headers);
        res.end(body);
      };
      const body = Buffer.concat(chunks);
      const xml = body.toString('utf8');
      if (proxyRes.statusCode !== 200 || !lacksEtag(xml)) return send(body);
      const version = proxyRes.headers['x-amz-version-id'];
      headEtag(as.signer, as.path, typeof version === 'string' && version !== '' ? version : undefined).then((etag) =>
        send(etag === null ? body : Buffer.from(withEtag(xml, etag))),
      );
    });
  };

  /**
   * The S3 error code of RGW's error document, for the access log. A 'data' listener beside
   * http-proxy's pipe: the pipe still pauses the stream when the client is slow. HEAD errors
   * carry no body, so their code stays unknown (null).
   */
  const peekErrorCode = (proxyRes: IncomingMessage, rec: RequestRecord): void => {
    let text = '';
    const onData = (c: Buffer): void => {
      text += c.toString('latin1');
      const m = /<Code>([A-Za-z0-9.]{1,64})<\/Code>/.exec(text);
      if (m !== null) rec.errorCode = m[1]!;
      if (m !== null || text.length >= MAX_ERROR_PEEK) proxyRes.off('data', onData);
    };
    proxyRes.on('data', onData);
  };

  /** GetBucketPolicy's answer with RGW's principals spelled the Cellar way. */
  const sendRewrittenPolicy = (proxyRes: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    let size = 0;
    proxyRes.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_POLICY_ANSWER) proxyRes.destroy();
      else chunks.push(c);
    });
    proxyRes.on('end', () => {
      let body = Buffer.concat(chunks);
      if (proxyRes.statusCode === 200) body = Buffer.from(principalsFromRgw(body.toString('utf8')));
      const headers = { ...proxyRes.headers, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      res.writeHead(proxyRes.statusCode ?? 502, headers);
      res.end(body);
    });
  };

  const sendError = (
    req: IncomingMessage,
    res: ServerResponse,
    e: StorageError | 'ServiceUnavailable',
    closeConnection: boolean,
  ): void => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const resource = (req.url ?? '/').split('?')[0]!;
    const rec = recordOf(res);
    const id = rec?.requestId ?? requestId();
    const { status, body } = o.renderError(e, resource, id);
    if (rec) rec.errorCode = typeof e === 'string' ? e : e.code;
    const headers: Record<string, string | number> = {
      'x-amz-request-id': id,
      'content-type': 'application/xml',
      'content-length': Buffer.byteLength(body),
    };
    if (closeConnection) headers.connection = 'close';
    res.writeHead(status, headers);
    res.end(body);
  };

  const fail = (req: IncomingMessage, res: ServerResponse, e: unknown, p: Pending | null): void => {
    if (clientGone(req)) {
      // Nobody to answer: RGW's request is cut too, so it keeps no partial object.
      if (p !== null) p.answered = true;
      p?.proxyReq?.destroy();
      return;
    }
    if (p !== null) {
      if (p.answered) return;
      if (p.responded) {
        // RGW answered before reading the whole body (a missing bucket, say) and closed: its
        // answer stands; the rest of the client's body is read and discarded, as RGW would.
        p.body.unpipe();
        p.body.resume();
        return;
      }
      p.answered = true;
      p.proxyReq?.destroy();
    }
    // Unread body bytes are discarded; the connection closes after the answer.
    req.unpipe();
    req.resume();
    if (isStorageError(e)) return sendError(req, res, e, true);
    if (e instanceof UpstreamUnavailableError) {
      o.logger.warn('upstream unavailable', { error: e.message });
      return sendError(req, res, 'ServiceUnavailable', true);
    }
    o.logger.error('upstream request failed', { error: String((e as Error)?.stack ?? e) });
    sendError(req, res, new StorageError('InternalError'), true);
  };

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    t: { vhostBucket: string | null; secure: boolean },
  ): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? '' : url.slice(q + 1);
    const ar: AuthRequest = { method: req.method ?? 'GET', rawPath, rawQuery, headers: req.headers };
    const rec = recordOf(res);
    if (rec) {
      const named = o.classify(ar.method, rawPath, rawQuery, req.headers, t.vhostBucket);
      rec.op = named.op;
      rec.bucket = named.bucket;
    }
    const info: AuthInfo = parseAuth(ar);
    let verified: VerifiedAuth | null = null;
    let signer: Signer | null = null;
    if (info.type !== 'anonymous') {
      const known = await secrets.get(info.accessKeyId);
      if (known === null)
        throw new StorageError(
          'InvalidAccessKeyId',
          'The AWS Access Key Id you provided does not exist in our records.',
          { AWSAccessKeyId: info.accessKeyId },
        );
      const at = now();
      verified = verifyAuth(ar, info, known.secret, { now: at, vhostBucket: t.vhostBucket });
      // An add-on is an RGW user of the same id (src/admin/addons.ts).
      if (rec) rec.addon = known.uid;
      signer = {
        accessKeyId: info.accessKeyId,
        secretKey: known.secret,
        region: info.type === 'v4' ? info.region : o.region,
        now: at,
      };
    }
    const shape = { method: ar.method, rawPath, rawQuery, headers: req.headers, vhostBucket: t.vhostBucket };
    const policyOp = policyOperation(ar.method, rawQuery);
    let clientExpects = /^\s*100-continue\s*$/i.test(String(req.headers.expect ?? ''));
    let replacement: { plan: ReplacementBody; bytes: Buffer } | null = null;
    if (policyOp === 'put') {
      // The policy is read here, checked against what the client signed, and rewritten.
      if (clientExpects) res.writeContinue();
      clientExpects = false;
      const original = await readPolicy(req, info, verified);
      const bytes = Buffer.from(principalsToRgw(original.toString('utf8')));
      const md5 =
        req.headers['content-md5'] === undefined ? undefined : createHash('md5').update(bytes).digest('base64');
      replacement = {
        plan: { length: bytes.length, sha256Hex: createHash('sha256').update(bytes).digest('hex'), md5Base64: md5 },
        bytes,
      };
    }
    const plan = planForward(shape, info, signer, target.host, replacement?.plan ?? null);
    const body =
      replacement === null ? forwardBody(req, req.headers, plan.streaming, verified) : fixedBody(replacement.bytes);
    const length = Number(plan.headers['content-length'] ?? 0);
    const expectContinue =
      clientExpects ||
      length >= EXPECT_FROM ||
      (plan.headers['transfer-encoding'] !== undefined && plan.streaming === null);
    const p: Pending = {
      path: plan.path,
      startBody: body.start,
      expectContinue,
      clientExpects,
      proxyReq: null,
      clientConnection: req.headers.connection,
      answered: false,
      responded: false,
      body: body.stream,
      rewritePolicy: policyOp === 'get',
      accessKey: signer === null ? null : signer.accessKeyId,
      verifiedChecksum: answersWithChecksum(ar.method, plan.path, req.headers['x-amz-copy-source'] !== undefined)
        ? body.verifiedChecksum
        : null,
      completeAs:
        signer !== null && isCompleteUpload(ar.method, plan.path) ? { signer, path: plan.path.split('?')[0]! } : null,
    };
    body.stream.on('error', (e) => fail(req, res, e, p));
    pending.set(req, p);
    const clientHost = req.headers.host;
    // http-proxy builds the upstream request from req.headers.
    req.headers = {
      ...plan.headers,
      ...(clientHost === undefined ? {} : { 'x-forwarded-host': clientHost }),
    } as IncomingMessage['headers'];
    proxy.web(
      req,
      res,
      {
        target: o.url,
        agent,
        buffer: body.stream,
        xfwd: true,
        proxyTimeout: o.timeoutMs,
        selfHandleResponse: p.rewritePolicy || p.completeAs !== null,
      },
      (err) => {
        if (p.answered) return;
        if (p.responded) return fail(req, res, err, p);
        // The client went away: nothing to answer.
        if (clientGone(req)) return p.proxyReq?.destroy();
        fail(
          req,
          res,
          new UpstreamUnavailableError(`${o.url}: ${(err as NodeJS.ErrnoException).code ?? err.message}`),
          p,
        );
      },
    );
  }

  return {
    admin,
    forgetAccessKey: (accessKey) => secrets.forget(accessKey),
    handle(req, res, t) {
      handle(req, res, t).catch((e: unknown) => fail(req, res, e, pending.get(req) ?? null));
    },
    close() {
      proxy.close();
      agent.destroy();
    },
  };
}
