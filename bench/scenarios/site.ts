/** A public website bucket with one 4 KiB HTML page, shared by scenarios a and f. */
import { writeFileSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { CellarServer } from '../lib/cellar.js';
import { plainGet } from '../lib/s3.js';

export const SITE_BUCKET = 'site';
export const PAGE_PATH = '/index.html';

/** A plausible HTML page of exactly `size` bytes. */
export function htmlPage(size = 4096): Buffer {
  const head =
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Cellar bench</title></head>\n<body><main>\n';
  const tail = '</main></body></html>\n';
  let body = '';
  for (let i = 0; body.length < size; i++)
    body += `<p>Paragraph ${i}: the quick brown fox jumps over the lazy dog.</p>\n`;
  const html = (head + body).slice(0, size - tail.length) + tail;
  return Buffer.from(html, 'utf8');
}

/** Writes the page for nginx/Caddy under `root` and returns it. */
export function writeSiteRoot(root: string): Buffer {
  const page = htmlPage();
  mkdirSync(root, { recursive: true });
  writeFileSync(path.join(root, PAGE_PATH.slice(1)), page);
  return page;
}

/** Creates the public bucket and uploads the page through the S3 API (canned ACL public-read). */
export async function publishSite(cellar: CellarServer, page: Buffer): Promise<void> {
  const s3 = cellar.client(4);
  try {
    await s3.ok('PUT', `/${SITE_BUCKET}`, { headers: { 'x-amz-acl': 'public-read' } });
    await s3.ok('PUT', `/${SITE_BUCKET}${PAGE_PATH}`, {
      body: page,
      headers: { 'x-amz-acl': 'public-read', 'content-type': 'text/html; charset=utf-8' },
    });
  } finally {
    s3.close();
  }
}

/** Fails early (and clearly) when a server does not serve the expected bytes. */
export async function expectServes(name: string, url: string, bytes: number, host?: string): Promise<void> {
  const agent = new http.Agent({ keepAlive: false });
  try {
    const r = await plainGet(url, agent, host === undefined ? {} : { host });
    if (r.status !== 200 || r.bytes !== bytes)
      throw new Error(
        `${name}: GET ${url} (Host ${host ?? '-'}) gave ${r.status} with ${r.bytes} bytes, expected 200 with ${bytes}`,
      );
  } finally {
    agent.destroy();
  }
}
