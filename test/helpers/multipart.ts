import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';

/** Every blob file on disk: completion must add none, replacing or aborting must free some. */
export function blobFiles(dataDir: string): number {
  const root = path.join(dataDir, 'blobs');
  return readdirSync(root).reduce((n, d) => n + readdirSync(path.join(root, d)).length, 0);
}

/** The quoted ETag S3 gives an object made of these parts: MD5 of the part MD5s, then "-<parts>". */
export function multipartEtag(parts: Buffer[]): string {
  const h = createHash('md5');
  for (const p of parts) h.update(createHash('md5').update(p).digest());
  return `"${h.digest('hex')}-${parts.length}"`;
}
