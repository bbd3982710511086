import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../shared/logger.js';
import { recordOf } from '../shared/request-record.js';
import type { S3Backend } from './backend.js';
import { classify } from './classify.js';
import { resolveHost, type HostConfig, type HostResolution } from './host.js';
import { builtinPage } from './website/pages.js';
import type { WebsiteHandler } from './website/handler.js';
import type { GatewayTls } from './tls/index.js';

export interface GatewayOptions {
  hosts: HostConfig;
  backend: S3Backend;
  website: WebsiteHandler;
  /** ACME challenge responder, HTTPS redirect and HSTS; absent when there is no HTTPS listener. */
  tls?: GatewayTls;
  logger: Logger;
}

const BAD_HOST_PAGE =
  '<!DOCTYPE html><html><head><title>400 Bad Request</title></head><body><h1>400 Bad Request</h1><p>The Host header is missing or invalid.</p></body></html>\n';

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
    const rec = recordOf(res);
    if (opts.tls?.answerChallenge(req, res)) {
      if (rec) rec.side = 'acme';
      return;
    }
    const secure = (req.socket as { encrypted?: boolean }).encrypted === true;
    const target = resolve(req.headers.host);
    if (target.kind === 'invalid') {
      res.writeHead(400, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': Buffer.byteLength(BAD_HOST_PAGE),
        connection: 'close',
      });
      res.end(BAD_HOST_PAGE);
      return;
    }
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? '' : url.slice(q + 1);
    switch (classify({ method: req.method ?? 'GET', target, rawQuery, headers: req.headers, path })) {
      case 'acme-challenge': {
        if (rec) rec.side = 'acme';
        // No HTTPS listener, so no challenge is ever pending: nothing to answer with.
        const page = builtinPage(404);
        res.writeHead(404, page.headers);
        res.end(page.body);
        return;
      }
      case 'website':
        // classify() only returns 'website' for bucket hosts.
        if (target.kind === 'bucket') {
          if (rec) {
            rec.side = 'website';
            rec.bucket = target.bucket;
          }
          if (opts.tls?.website(req, res, secure)) return;
          return opts.website.serve(req, res, { bucket: target.bucket, secure });
        }
        break;
      case 'cors-preflight':
        if (target.kind === 'bucket') {
          if (rec) {
            rec.side = 'website';
            rec.bucket = target.bucket;
          }
          return opts.website.preflight(req, res, { bucket: target.bucket, secure });
        }
        break;
      case 's3':
        break;
    }
    opts.backend.handle(req, res, { vhostBucket: target.kind === 'bucket' ? target.bucket : null, secure });
  };
}
