import type { IncomingMessage, ServerResponse } from 'node:http';

/** Where S3 API traffic goes: in-process handler or a proxy to an upstream S3 endpoint. */
export interface S3Backend {
  handle(req: IncomingMessage, res: ServerResponse, target: { vhostBucket: string | null; secure: boolean }): void;
}
