/**
 * Connection hygiene for the public listeners: how long a client may take to send its headers
 * and its body, how many connections it may hold, and when a connection must close rather than
 * be reused. Without these a client that announces a body and never sends it keeps a socket, a
 * temp file and a descriptor forever (issue 12, F1).
 */
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { guardSessions, isHttp2, isSecureServer, type SecureServer, type SessionLimits } from './http2.js';

export interface ConnectionLimits extends SessionLimits {
  /** From connection (or the first byte of a following request) to the end of the headers. */
  headersTimeoutMs: number;
  /** Longest wait for the next body byte while the server is reading the body. */
  bodyIdleTimeoutMs: number;
  /** Slowest body accepted, measured over windows of bodyIdleTimeoutMs of waiting; 0 = no minimum. */
  bodyMinBytesPerSecond: number;
  /** Connections open at once, all clients together. */
  maxConnections: number;
  /** Connections open at once from one client address. */
  maxConnectionsPerClient: number;
}

/** How long a closing connection keeps reading (and discarding) so the client sees the answer, not a reset. */
const LINGER_MS = 2000;

const TIMEOUT_MESSAGE =
  'Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.';

function errorDocument(code: string, message: string, requestId?: string): string {
  const id = requestId === undefined ? '' : `<RequestId>${requestId}</RequestId>`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>${id}</Error>`;
}

/**
 * The request announces a body (RFC 9112 §6.3): a Content-Length above 0 or a Transfer-Encoding.
 * Under HTTP/2, a HEADERS frame without END_STREAM (RFC 9113 §8.1), Content-Length or not.
 */
export function announcesBody(req: IncomingMessage): boolean {
  if (isHttp2(req)) return !req.stream.endAfterHeaders;
  const te = req.headers['transfer-encoding'];
  const cl = req.headers['content-length'];
  return te !== undefined || (cl !== undefined && cl !== '0');
}

/**
 * Ends the connection once `res` is sent: announced `Connection: close` when the headers are
 * not out yet, then a lingering close that discards what the client still sends for a moment.
 */
export function closeAfter(res: ServerResponse): void {
  // An HTTP/2 stream ends with its response; the adapter stops an unread body (http2.ts).
  if (isHttp2(res.req)) return;
  if (!res.headersSent) res.shouldKeepAlive = false;
  const socket = res.socket;
  if (socket === null) return;
  const done = (): void => lingerClose(socket);
  if (res.writableFinished) done();
  else {
    res.once('finish', done);
    res.once('close', done);
  }
}

function lingerClose(socket: Socket): void {
  if (socket.destroyed) return;
  socket.end();
  socket.resume();
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

/** Answers on the raw socket (no response object exists, or the one that does is abandoned), then closes. */
function answerOnSocket(socket: Socket, status: string, code: string, message: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = errorDocument(code, message);
  socket.write(
    `HTTP/1.1 ${status}\r\ncontent-type: application/xml\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
  lingerClose(socket);
}

/**
 * A parse error on a connection whose previous response is still being produced (e.g. a PUT
 * body longer than its Content-Length, the surplus read as a next request): answering the
 * error now would put it on the wire before the PUT's own answer, and the client would read it
 * as the PUT's. The pending response goes first, then the connection closes (issue 12, F6).
 * Returns false when nothing is pending and the caller answers as usual.
 */
export function deferToPendingResponse(socket: Socket): boolean {
  // Node keeps the response in flight on the socket (there is no public accessor).
  const pending = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
  // An error inside the pending request itself (its body cut short) is no surplus: the caller
  // closes the socket, which aborts that request.
  if (pending === undefined || pending === null || pending.writableFinished || !pending.req.complete) return false;
  closeAfter(pending);
  return true;
}

function socketBytes(socket: Socket): () => number {
  return () => socket.bytesRead;
}

interface Tracked {
  socket: Socket;
  /** 'headers': waiting for a request's header section since `since`. */
  phase: 'headers' | 'request' | 'idle';
  since: number;
  bytesAtIdle: number;
  /** Requests received and not yet answered (more than one when a client pipelines). */
  active: number;
  body: BodyWatch | null;
}

const TRACKED = Symbol('cellar.tracked');
type TrackedResponse = ServerResponse & { [TRACKED]?: Tracked };

/**
 * The answer is out: the connection is idle again once no other request on it is active. One
 * shared listener rather than a closure per request (the cached page's path is short).
 */
function answered(this: TrackedResponse): void {
  const t = this[TRACKED];
  if (t === undefined) return;
  if (t.body?.res === this) t.body = null;
  if (--t.active > 0) return;
  t.phase = 'idle';
  t.bytesAtIdle = t.socket.bytesRead;
}

interface BodyWatch {
  req: IncomingMessage;
  /** Body bytes received so far: the socket's count, or under HTTP/2 the stream's. */
  bytes: () => number;
  res: ServerResponse;
  /** Until the 100 Continue is sent the client rightly sends nothing. */
  continuePending: boolean;
  lastBytes: number;
  lastByteAt: number;
  windowMs: number;
  windowBytes: number;
}

/**
 * Applies `limits` to a listener: connection caps, the header and body timeouts, no reading of
 * bodies that requests without one announce, and `Expect` handled after authorization: with
 * a 'checkContinue' listener Node leaves the 100 Continue to the handler, which sends it with
 * `res.writeContinue()` once the request is authorized (issue 12, F8).
 */
export function guardServer(server: Server | SecureServer, handler: RequestListener, limits: ConnectionLimits): void {
  // On the HTTPS server these are read by its HTTP/1.1 fallback.
  (server as Server).headersTimeout = limits.headersTimeoutMs;
  server.maxConnections = limits.maxConnections;
  const perClient = new Map<string, number>();
  const tracked = new Map<Socket, Tracked>();
  const secure = 'setSecureContext' in server;
  /** Bodies being read on HTTP/2 streams (their sessions are guardSessions'). */
  const streamBodies = new Set<BodyWatch>();
  if (isSecureServer(server)) guardSessions(server, limits);

  server.on('connection', (socket: Socket) => {
    const ip = socket.remoteAddress ?? '';
    const n = (perClient.get(ip) ?? 0) + 1;
    perClient.set(ip, n);
    socket.once('close', () => {
      const left = (perClient.get(ip) ?? 1) - 1;
      if (left <= 0) perClient.delete(ip);
      else perClient.set(ip, left);
    });
    if (n > limits.maxConnectionsPerClient) {
      socket.destroy();
      return;
    }
    if (!secure) track(socket);
  });
  // Over TLS the header clock starts once the handshake is done (Node bounds the handshake itself).
  if (secure)
    server.on('secureConnection', (socket: TLSSocket) => {
      if (socket.alpnProtocol !== 'h2') track(socket);
    });

  function track(socket: Socket): Tracked {
    let t = tracked.get(socket);
    if (t === undefined) {
      t = { socket, phase: 'headers', since: Date.now(), bytesAtIdle: 0, active: 0, body: null };
      tracked.set(socket, t);
      socket.once('close', () => tracked.delete(socket));
    }
    return t;
  }

  const watchBody = (req: IncomingMessage, res: ServerResponse, continuePending: boolean): BodyWatch => {
    const bytes = isHttp2(req) ? () => req.bodyBytes : socketBytes(req.socket);
    const w: BodyWatch = {
      req,
      bytes,
      res,
      continuePending,
      lastBytes: bytes(),
      lastByteAt: Date.now(),
      windowMs: 0,
      windowBytes: 0,
    };
    if (continuePending) {
      const writeContinue = res.writeContinue.bind(res);
      res.writeContinue = (cb?: () => void): void => {
        w.continuePending = false;
        w.lastByteAt = Date.now();
        writeContinue(cb);
      };
    }
    return w;
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse, continuePending: boolean): void => {
    const hasBody = announcesBody(req);
    if (isHttp2(req)) {
      // The session, not the socket, is on the idle clock; only the body is watched here.
      if (!hasBody || req.method === 'GET' || req.method === 'HEAD') return;
      const w = watchBody(req, res, continuePending);
      streamBodies.add(w);
      res.once('close', () => streamBodies.delete(w));
      return;
    }
    const t = track(req.socket);
    t.phase = 'request';
    t.active++;
    // Nothing reads a GET or HEAD body: answer, then close instead of reading it to reuse the connection.
    if (hasBody && (req.method === 'GET' || req.method === 'HEAD')) closeAfter(res);
    else if (hasBody) t.body = watchBody(req, res, continuePending);
    (res as TrackedResponse)[TRACKED] = t;
    res.on('finish', answered);
  };
  // Before the handler, which may answer synchronously.
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => onRequest(req, res, false));
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    onRequest(req, res, true);
    handler(req, res);
  });
  // RFC 9110 §10.1.1: an expectation other than 100-continue may be refused with 417. AWS does
  // not document its answer; this one is at least an S3 error document, not Node's bare 417.
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    const body = errorDocument('ExpectationFailed', 'Only the 100-continue expectation is supported.');
    res.writeHead(417, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    closeAfter(res);
    res.end(body);
  });

  const tickMs = Math.max(10, Math.min(limits.headersTimeoutMs, limits.bodyIdleTimeoutMs) / 4);
  let last = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    const dt = now - last;
    last = now;
    for (const t of tracked.values()) sweep(t, now, dt);
    for (const w of streamBodies) {
      if (w.req.complete || sweepBody(w, now, dt)) streamBodies.delete(w);
    }
  }, tickMs);
  timer.unref();
  server.once('close', () => clearInterval(timer));

  function sweep(t: Tracked, now: number, dt: number): void {
    const socket = t.socket;
    if (t.phase === 'idle' && socket.bytesRead > t.bytesAtIdle) {
      // The next request began: its headers are on the clock (a silent keep-alive connection is keepAliveTimeout's).
      t.phase = 'headers';
      t.since = now;
    }
    if (t.phase === 'headers') {
      if (now - t.since >= limits.headersTimeoutMs) {
        tracked.delete(socket);
        answerOnSocket(socket, '400 Bad Request', 'RequestTimeout', TIMEOUT_MESSAGE);
      }
      return;
    }
    const w = t.body;
    if (w === null || w.req.complete) return;
    if (sweepBody(w, now, dt)) t.body = null;
  }

  /** Times out a body that stopped or crawled; true when it did. */
  function sweepBody(w: BodyWatch, now: number, dt: number): boolean {
    const bytes = w.bytes();
    const got = bytes - w.lastBytes;
    w.lastBytes = bytes;
    // Only a reader waiting on an empty buffer waits for the client: a paused stream (back-
    // pressure from the disk) or a handler not reading yet is the server's own delay.
    const waiting = !w.continuePending && w.req.readableFlowing === true && w.req.readableLength === 0;
    if (got > 0 || !waiting) w.lastByteAt = now;
    if (!waiting) return false;
    w.windowMs += dt;
    w.windowBytes += got;
    let slow = now - w.lastByteAt >= limits.bodyIdleTimeoutMs;
    if (w.windowMs >= limits.bodyIdleTimeoutMs) {
      slow ||= w.windowBytes * 1000 < limits.bodyMinBytesPerSecond * w.windowMs;
      w.windowMs = 0;
      w.windowBytes = 0;
    }
    if (slow) timeOut(w);
    return slow;
  }
}

/** S3's answer to a body that stopped or crawled: 400 RequestTimeout, and the connection closed. */
function timeOut(w: BodyWatch): void {
  const { res } = w;
  if (res.headersSent) {
    w.req.destroy();
    res.socket?.destroy();
    return;
  }
  const id = res.getHeader('x-amz-request-id');
  const body = errorDocument('RequestTimeout', TIMEOUT_MESSAGE, typeof id === 'string' ? id : undefined);
  res.writeHead(400, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  closeAfter(res);
  // Once answered, Node no longer aborts the request when the socket goes: the handler still
  // reading it (and its temp file) must hear that no more body is coming.
  res.once('finish', () => w.req.destroy(Object.assign(new Error('request body timed out'), { code: 'ECONNRESET' })));
  res.end(body);
}
