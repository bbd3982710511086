/**
 * HTTP/2 on the HTTPS listener, adapted at the edge so that nothing behind it needs to know the
 * protocol: the request looks like an HTTP/1.1 one (a `host` header, no pseudo-headers, an abort
 * that errors the body instead of ending it), the response drops the connection-specific headers
 * HTTP/2 forbids, and each session is bounded like an HTTP/1.1 connection is (idle time, open
 * streams, new streams per second, header size).
 */
import http2, { constants, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';

export interface SessionLimits {
  /** A new session must open its first stream within this long. */
  headersTimeoutMs: number;
  /** A session with no open stream is closed after this long. */
  http2IdleTimeoutMs: number;
  /** Streams one session may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
  http2MaxConcurrentStreams: number;
  /** New streams one session may open per second (a token bucket of one second's worth). */
  http2MaxStreamsPerSecond: number;
}

/** How long a finished response's stream keeps discarding an unread request body before it is reset. */
const LINGER_MS = 2000;

/**
 * Hop-by-hop fields: RFC 9113 §8.2.2 makes a message carrying them malformed (Node throws on
 * them). HTTP/1.1 code sets `connection: close` to end a connection after an error; under
 * HTTP/2 the stream ends on its own and the linger below stops the unread body.
 */
const CONNECTION_SPECIFIC = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

export function connectionSpecific(name: string, value: unknown): boolean {
  const n = name.trim().toLowerCase();
  return CONNECTION_SPECIFIC.has(n) || (n === 'te' && value !== 'trailers');
}

/**
 * The request's headers as an HTTP/1.1 request would carry them: pseudo-headers removed (they
 * must not reach a signature check or an upstream request), `:authority` as `host` (RFC 9113
 * §8.3.1: clients send `:authority` instead of Host). A Host that names another authority makes
 * the request malformed (same section): it is left without a host, which the gateway refuses.
 */
export function http1Headers(h: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const k in h) if (k.charCodeAt(0) !== 58) out[k] = h[k];
  const authority = h[':authority'];
  if (typeof authority === 'string') {
    if (out.host === undefined) out.host = authority;
    else if (out.host.toLowerCase() !== authority.toLowerCase()) delete out.host;
  }
  return out;
}

export class H2Request extends http2.Http2ServerRequest {
  /** Body bytes received on this stream (the socket's counters are shared by every stream of the session). */
  bodyBytes = 0;

  constructor(
    stream: http2.ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    options: ConstructorParameters<typeof http2.Http2ServerRequest>[2],
    rawHeaders: readonly string[],
  ) {
    super(stream, headers, options, rawHeaders);
    // An own property shadows the getter: method and url still read the pseudo-headers. Writable,
    // as IncomingMessage's is: the upstream proxy replaces the headers before forwarding.
    Object.defineProperty(this, 'headers', {
      value: http1Headers(headers),
      enumerable: true,
      writable: true,
      configurable: true,
    });
    // Node ends the request body normally when the client resets the stream; a storage write
    // must instead see an error, as an HTTP/1.1 connection cut mid-body gives, and keep nothing.
    stream.once('aborted', () => {
      if (!this.readableEnded) this.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    });
    // RFC 9113 §8.1: once the response is complete, a server may stop an unread request body with
    // RST_STREAM(NO_ERROR). The body is discarded for a moment first (the answer's last frames
    // leave first, and the client is not stalled on flow control), as HTTP/1.1's lingering close.
    // A request without a body (END_STREAM on its HEADERS), or whose body all arrived, has nothing to stop.
    if (stream.endAfterHeaders) return;
    stream.once('finish', () => {
      if (this.readableEnded || stream.closed || stream.state.remoteClose === 1) return;
      this.resume();
      setTimeout(() => {
        if (!stream.closed) stream.close(constants.NGHTTP2_NO_ERROR);
      }, LINGER_MS).unref();
    });
  }

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk !== null && chunk !== undefined) this.bodyBytes += (chunk as Buffer).length;
    return super.push(chunk, encoding);
  }
}

function withoutConnectionSpecific(headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  let out: OutgoingHttpHeaders | null = null;
  for (const k of Object.keys(headers)) {
    if (!connectionSpecific(k, headers[k])) continue;
    out ??= { ...headers };
    delete out[k];
  }
  return out ?? headers;
}

/** Bytes of a body chunk as write() and end() take it (a string in its encoding, or bytes). */
function chunkBytes(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string')
    return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  return chunk instanceof Uint8Array ? chunk.byteLength : 0;
}

export class H2Response extends http2.Http2ServerResponse {
  /**
   * Body bytes sent on this stream. The access log's byte counts come from the socket under
   * HTTP/1.1; here the socket carries every stream of the session, and the header blocks are
   * compressed against the session's shared state, so bodies are what a stream can count.
   */
  bodyBytes = 0;

  override write(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    this.bodyBytes += chunkBytes(chunk, encoding);
    return (super.write as (...a: unknown[]) => boolean)(chunk, encoding, cb);
  }

  override end(chunk?: unknown, encoding?: unknown, cb?: unknown): this {
    this.bodyBytes += chunkBytes(chunk, encoding);
    return (super.end as (...a: unknown[]) => this)(chunk, encoding, cb);
  }

  override setHeader(name: string, value: number | string | readonly string[]): void {
    if (!connectionSpecific(name, value)) super.setHeader(name, value);
  }

  override appendHeader(name: string, value: string | string[]): void {
    if (!connectionSpecific(name, value)) super.appendHeader(name, value);
  }

  override writeHead(
    statusCode: number,
    messageOrHeaders?: string | OutgoingHttpHeaders,
    headers?: OutgoingHttpHeaders,
  ): this {
    if (typeof messageOrHeaders === 'object')
      return super.writeHead(statusCode, withoutConnectionSpecific(messageOrHeaders));
    // HTTP/2 has no reason phrase (RFC 9113 §8.3.2): dropped rather than warned about.
    return super.writeHead(statusCode, headers === undefined ? {} : withoutConnectionSpecific(headers));
  }
}

/** True for a request that arrived over HTTP/2 (through H2Request). */
export function isHttp2(req: IncomingMessage | Readable): req is IncomingMessage & H2Request {
  return req instanceof H2Request;
}

interface Tracking {
  sockets: Set<Socket>;
  sessions: Set<http2.ServerHttp2Session>;
}

const TRACKING = new WeakMap<object, Tracking>();

/** closeIdleConnections is Node's (HTTP/1.1 connections of an allowHTTP1 server), missing from the types. */
export type SecureServer = http2.Http2SecureServer & { closeIdleConnections(): void };

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The HTTPS server: ALPN offers `h2` then `http/1.1`; HTTP/1.1 clients get Node's HTTP/1.1
 * server with the same options as the plain listener. Both kinds of request reach `handler`.
 */
export function createSecureServer(
  options: { SNICallback: http2.SecureServerOptions['SNICallback'] },
  limits: { requestTimeout: number; headersTimeout: number; keepAliveTimeout: number; maxHeaderSize: number },
  handler: RequestHandler,
): SecureServer {
  const server = http2.createSecureServer(
    {
      SNICallback: options.SNICallback,
      allowHTTP1: true,
      // Node's HTTP/1.1 server turns Nagle off; a TLS server leaves it on, and an HTTP/2 frame
      // written apart from the one before it then waits for the client's delayed ACK.
      noDelay: true,
      Http2ServerRequest: H2Request as typeof http2.Http2ServerRequest,
      Http2ServerResponse: H2Response as typeof http2.Http2ServerResponse,
      settings: {
        // The HTTP/1.1 listener's header limit; larger header blocks reset the stream. Node applies
        // it once the client acknowledged these settings, and 64 KiB before (its hard cap).
        maxHeaderListSize: limits.maxHeaderSize,
        // A stream's unread body Node buffers for it; 64 KiB (the default) caps an upload at
        // one window per round trip.
        initialWindowSize: 1024 * 1024,
      },
      // As many header fields as HTTP/1.1 accepts (maxHeadersCount); the byte limit bounds memory.
      maxHeaderListPairs: 2000,
    },
    handler as unknown as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
  ) as SecureServer;
  // Read by Node's HTTP/1.1 connection handler, which the allowHTTP1 fallback runs on this server.
  Object.assign(server, limits);
  const tracking: Tracking = { sockets: new Set(), sessions: new Set() };
  TRACKING.set(server, tracking);
  server.on('secureConnection', (socket: TLSSocket) => {
    tracking.sockets.add(socket);
    socket.once('close', () => tracking.sockets.delete(socket));
  });
  server.on('session', (session) => {
    tracking.sessions.add(session);
    session.once('close', () => tracking.sessions.delete(session));
    // The connection-level receive window: all streams of a session together buffer at most this.
    session.setLocalWindowSize(4 * 1024 * 1024);
  });
  return server;
}

export function isSecureServer(server: object): server is SecureServer {
  return TRACKING.has(server);
}

/** Graceful shutdown: GOAWAY to every session (its open streams finish), idle HTTP/1.1 connections closed. */
export function stopAccepting(server: SecureServer): void {
  server.close();
  server.closeIdleConnections();
  for (const s of TRACKING.get(server)?.sessions ?? []) s.close();
}

/** Cuts every connection, HTTP/2 sessions and HTTP/1.1 connections alike. */
export function closeAllConnections(server: SecureServer): void {
  const t = TRACKING.get(server);
  if (t === undefined) return;
  for (const s of t.sessions) s.destroy();
  for (const s of t.sockets) s.destroy();
}

/**
 * Bounds each HTTP/2 session as guardServer bounds an HTTP/1.1 connection: the first stream
 * within headersTimeoutMs, an idle session closed, concurrent streams capped (nghttp2 refuses the
 * excess with RST_STREAM), and a session opening streams faster than the rate told to go away
 * (GOAWAY ENHANCE_YOUR_CALM, RFC 9113 §7): one client cannot monopolize the event loop by
 * multiplexing where HTTP/1.1 would have needed as many connections, each counted.
 */
export function guardSessions(server: SecureServer, limits: SessionLimits): void {
  server.updateSettings({ maxConcurrentStreams: limits.http2MaxConcurrentStreams });
  const rate = limits.http2MaxStreamsPerSecond;
  server.on('session', (session: http2.ServerHttp2Session) => {
    let open = 0;
    let served = 0;
    let tokens = rate;
    let refilled = Date.now();
    let idle: NodeJS.Timeout | null = null;
    let goingAway = false;
    const arm = (): void => {
      idle = setTimeout(
        () => {
          session.close();
          // A client that stops reading would hold the graceful close open.
          setTimeout(() => session.destroy(), LINGER_MS).unref();
        },
        served === 0 ? limits.headersTimeoutMs : limits.http2IdleTimeoutMs,
      );
      idle.unref();
    };
    // GOAWAY names the last stream served; the session ends once those are done.
    const goAway = (): void => {
      goingAway = true;
      session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
      // A client that stops reading would keep its streams open forever.
      setTimeout(() => session.destroy(), limits.http2IdleTimeoutMs).unref();
    };
    session.on('stream', (stream: http2.ServerHttp2Stream) => {
      if (idle !== null) clearTimeout(idle);
      idle = null;
      open++;
      stream.once('close', () => {
        open--;
        served++;
        if (open > 0 || session.closed || session.destroyed) return;
        if (goingAway) session.destroy();
        else arm();
      });
      const now = Date.now();
      tokens = Math.min(rate, tokens + ((now - refilled) * rate) / 1000);
      refilled = now;
      if (tokens >= 1) tokens--;
      else if (!goingAway) goAway();
    });
    session.once('close', () => {
      if (idle !== null) clearTimeout(idle);
    });
    arm();
  });
}
