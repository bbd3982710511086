/**
 * What one request did, filled in by whichever side answers it and read once it is over (the
 * access log and the metrics). It travels on the response object, so the gateway and the S3 API
 * share it without importing each other.
 */
import type { ServerResponse } from 'node:http';

export type Side = 's3' | 'website' | 'acme' | 'admin';

export interface RequestRecord {
  /** Also the S3 answer's x-amz-request-id and the website answer's x-request-id. */
  requestId: string;
  side: Side;
  /** The S3 operation (PutObject, ...); null off the S3 side or before routing. */
  op: string | null;
  addon: string | null;
  bucket: string | null;
  /** The S3 error code sent, if any. */
  errorCode: string | null;
  /** Website only: whether the cached hot path answered. */
  cache: 'hit' | 'miss' | null;
}

const RECORD = Symbol('cellar.requestRecord');

type Carrier = ServerResponse & { [RECORD]?: RequestRecord };

export function attachRecord(res: ServerResponse, rec: RequestRecord): void {
  (res as Carrier)[RECORD] = rec;
}

/** The request's record; undefined when nobody observes requests (unit tests of one side). */
export function recordOf(res: ServerResponse): RequestRecord | undefined {
  return (res as Carrier)[RECORD];
}
