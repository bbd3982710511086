import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../shared/logger.js';
import type { S3Backend } from './backend.js';
import { resolveHost, type HostConfig } from './host.js';

export interface GatewayOptions {
  hosts: HostConfig;
  backend: S3Backend;
  logger: Logger;
}

const BAD_HOST_PAGE = '<!DOCTYPE html><html><head><title>400 Bad Request</title></head><body><h1>400 Bad Request</h1><p>The Host header is missing or invalid.</p></body></html>\n';

/** The public front door: resolves the Host header and hands each request to the right side. */
export function createGatewayHandler(opts: GatewayOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const secure = (req.socket as { encrypted?: boolean }).encrypted === true;
    const target = resolveHost(req.headers.host, opts.hosts);
    if (target.kind === 'invalid') {
      res.writeHead(400, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(BAD_HOST_PAGE), connection: 'close' });
      res.end(BAD_HOST_PAGE);
      return;
    }
    opts.backend.handle(req, res, { vhostBucket: target.kind === 'bucket' ? target.bucket : null, secure });
  };
}

/**
 * Requests Node rejects before they reach a handler (header section too large, malformed
 * request line) still get an S3-shaped answer instead of a bare reset.
 */
function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
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

export function createHttpServer(handler: (req: IncomingMessage, res: ServerResponse) => void): http.Server {
  const server = http.createServer({
    // Large uploads may take long; only the header phase is bounded.
    requestTimeout: 0,
    headersTimeout: 60_000,
    keepAliveTimeout: 65_000,
    maxHeaderSize: 16 * 1024,
  }, handler);
  server.on('clientError', onClientError);
  return server;
}
