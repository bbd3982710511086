import type { IncomingMessage, ServerResponse } from 'node:http';
import { WebsiteCache } from '../website/cache.js';
import type { WebsiteHandler } from '../website/handler.js';
import type { Resolved } from '../website/resolve.js';

const PAGE = Buffer.from(
  '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>501 Not Implemented</title></head>' +
    '<body><h1>501 Not Implemented</h1><p>Websites are not served in upstream mode yet.</p></body></html>\n',
);

function notYet(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(501, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': PAGE.length,
    'cache-control': 'no-store',
  });
  res.end(PAGE);
}

/**
 * DEVIATION: in upstream mode the website side (pages read from RGW) is not built yet; visitors
 * get an honest 501 page instead of an S3 error document or a wrong 404.
 */
export function pendingWebsiteHandler(): WebsiteHandler {
  return {
    serve: notYet,
    preflight: notYet,
    cache: new WebsiteCache<Resolved>({ maxBytes: 0, maxEntryBytes: 0 }),
    close() {},
  };
}
