import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StorageError } from '#storage';

/** Where S3 API traffic goes: in-process handler or a proxy to an upstream S3 endpoint. */
export interface S3Backend {
  handle(req: IncomingMessage, res: ServerResponse, target: { vhostBucket: string | null; secure: boolean }): void;
}

/**
 * The S3 error document for a failure the gateway itself detects (a bad signature, RGW
 * unreachable). Supplied by the composition root from the S3 API's one error table, which the
 * gateway may not import.
 */
export type RenderS3Error = (
  e: StorageError | 'ServiceUnavailable',
  resource: string,
  requestId: string,
) => { status: number; body: string };

/**
 * The S3 operation a request names (as the S3 API's router names it; null when it names none)
 * and its bucket, for the access log and the metrics. Supplied by the composition root.
 */
export type ClassifyS3 = (
  method: string,
  rawPath: string,
  rawQuery: string,
  headers: IncomingMessage['headers'],
  vhostBucket: string | null,
) => { op: string | null; bucket: string | null };
