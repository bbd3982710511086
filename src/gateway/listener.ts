/**
 * The HTTP(S) listener plumbing both listeners share: limits, the S3-shaped answer to requests
 * Node cannot parse, and binding. Kept apart from server.ts so that tls/ can use it without
 * importing the request handler (which imports tls/).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Server, Socket } from 'node:net';
import { deferToPendingResponse } from './limits.js';

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
  const message = tooLarge
    ? 'Your request header section exceeds the maximum allowed size.'
    : 'The request could not be parsed.';
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  socket.end(
    `HTTP/1.1 400 Bad Request\r\ncontent-type: application/xml\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
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
