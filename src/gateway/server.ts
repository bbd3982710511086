import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { Logger } from '../shared/logger.js';
import type { S3Backend } from './backend.js';
import { classify } from './classify.js';
import { resolveHost, type HostConfig, type HostResolution } from './host.js';
import { builtinPage } from './website/pages.js';
import type { WebsiteHandler } from './website/handler.js';
import type { GatewayTls } from './tls/index.js';
import { deferToPendingResponse } from './limits.js';

export interface GatewayOptions {
  hosts: HostConfig;
  backend: S3Backend;
  website: WebsiteHandler;
  /** ACME challenge responder, HTTPS redirect and HSTS; absent when there is no HTTPS listener. */
  tls?: GatewayTls;
  logger: Logger;
}

const BAD_HOST_PAGE = '<!DOCTYPE html><html><head><title>400 Bad Request</title></head><body><h1>400 Bad Request</h1><p>The Host header is missing or invalid.</p></body></html>\n';

/** The public front door: resolves the Host header and hands each request to the right side. */
export function createGatewayHandler(opts: GatewayOptions): (req: IncomingMessage, res: ServerResponse) => void {
  // Host resolution is pure but not free; a site sees few distinct Host values, remembered here
  // (bounded: arbitrary Host headers cannot grow it).
  const hostCache = new Map<string, HostResolution>();
  const resolve = (host: string | undefined): HostResolution => {
    if (host === undefined) return resolveHost(host, opts.hosts);
    let r = hostCache.get(host);
    if (r === undefined) {
      r = resolveHost(host, opts.hosts);
      if (hostCache.size >= 4096) hostCache.clear();
      hostCache.set(host, r);
    }
    return r;
  };
  return (req, res) => {
    // HTTP-01 comes before Host routing and any redirect: the CA must reach the token on plain HTTP.
    if (opts.tls?.answerChallenge(req, res)) return;
    const secure = (req.socket as { encrypted?: boolean }).encrypted === true;
    const target = resolve(req.headers.host);
    if (target.kind === 'invalid') {
      res.writeHead(400, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(BAD_HOST_PAGE), connection: 'close' });
      res.end(BAD_HOST_PAGE);
      return;
    }
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? '' : url.slice(q + 1);
    switch (classify({ method: req.method ?? 'GET', target, rawQuery, headers: req.headers, path })) {
      case 'acme-challenge': {
        // No HTTPS listener, so no challenge is ever pending: nothing to answer with.
        const page = builtinPage(404);
        res.writeHead(404, page.headers);
        res.end(page.body);
        return;
      }
      case 'website':
        // classify() only returns 'website' for bucket hosts.
        if (target.kind === 'bucket') {
          if (opts.tls?.website(req, res, secure)) return;
          return opts.website.serve(req, res, { bucket: target.bucket, secure });
        }
        break;
      case 'cors-preflight':
        if (target.kind === 'bucket') return opts.website.preflight(req, res, { bucket: target.bucket, secure });
        break;
      case 's3':
        break;
    }
    opts.backend.handle(req, res, { vhostBucket: target.kind === 'bucket' ? target.bucket : null, secure });
  };
}

/**
 * Requests Node rejects before they reach a handler (header section too large, malformed
 * request line) still get an S3-shaped answer instead of a bare reset.
 */
export function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (deferToPendingResponse(socket)) return;
  if (!socket.writable || (err as { code?: string }).code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const code = tooLarge ? 'RequestHeaderSectionTooLarge' : 'BadRequest';
  const message = tooLarge ? 'Your request header section exceeds the maximum allowed size.' : 'The request could not be parsed.';
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/xml\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

/** Limits shared by the HTTP and HTTPS listeners: large uploads may take long, headers may not. */
export const SERVER_LIMITS = {
  requestTimeout: 0,
  headersTimeout: 60_000,
  keepAliveTimeout: 65_000,
  maxHeaderSize: 16 * 1024,
} as const;

export function createHttpServer(handler: (req: IncomingMessage, res: ServerResponse) => void): http.Server {
  const server = http.createServer(SERVER_LIMITS, handler);
  server.on('clientError', onClientError);
  return server;
}

/** Listens and resolves with the bound port (the port asked for may be 0). */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
