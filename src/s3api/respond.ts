import type { S3Context } from './context.js';
import { toXml, type XmlNode, type XmlSequence } from './xml.js';

export function sendXml(ctx: S3Context, root: string, body: XmlNode | XmlSequence, status = 200): void {
  const text = toXml(root, body);
  ctx.res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(text) });
  ctx.res.end(text);
}

export function sendEmpty(ctx: S3Context, status: number, headers: Record<string, string> = {}): void {
  ctx.res.writeHead(status, { ...headers, 'content-length': '0' });
  ctx.res.end();
}

export function isoDate(d: Date): string {
  return d.toISOString().replace(/(\.\d{3})\d*Z$/, '$1Z');
}

export function quoteEtag(etag: string): string {
  return `"${etag}"`;
}
