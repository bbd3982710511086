import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Addon, Principal, Storage, VerifiedAuth } from '#storage';
import type { Logger } from '../shared/logger.js';

export interface S3ApiConfig {
  region: string;
  maxXmlBodySize: number;
  maxObjectSize: number;
}

export interface S3Deps {
  storage: Storage;
  config: S3ApiConfig;
  logger: Logger;
  now: () => Date;
}

/** Everything a handler needs about one request, after routing and authentication. */
export interface S3Context {
  req: IncomingMessage;
  res: ServerResponse;
  deps: S3Deps;
  requestId: string;
  query: URLSearchParams;
  /** The resource named in error documents, e.g. `/bucket/key`. */
  resource: string;
  principal: Principal;
  addon: Addon | null;
  auth: VerifiedAuth | null;
  /** The declared x-amz-content-sha256 (V4 header auth), to check bodies against. */
  payloadHash: string | null;
  /** Whether the request was signed with SigV4 or SigV2 (some features, like response-* overrides, need it). */
  signed: boolean;
  secure: boolean;
}

export function header(ctx: S3Context, name: string): string | undefined {
  const v = ctx.req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}
