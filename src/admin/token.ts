/** The operator's bearer token for the admin API. */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const TOKEN_FILE = 'admin-token';

/**
 * The configured token, or the one kept in the data directory, created (0600) on first use.
 * `generated` is true only the first time, so the token is printed once.
 */
export function adminToken(dataDir: string, configured: string): { token: string; generated: boolean; file: string } {
  const file = path.join(dataDir, TOKEN_FILE);
  if (configured !== '') return { token: configured, generated: false, file };
  try {
    return { token: readFileSync(file, 'utf8').trim(), generated: false, file };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const token = randomBytes(24).toString('base64url');
  mkdirSync(dataDir, { recursive: true });
  try {
    // 'wx': two processes starting at once must not end up with different tokens.
    writeFileSync(file, token + '\n', { mode: 0o600, flag: 'wx' });
    return { token, generated: true, file };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return { token: readFileSync(file, 'utf8').trim(), generated: false, file };
  }
}

/** Compares in constant time, so the answer's timing does not reveal how much of a guess was right. */
export function tokenMatches(expected: string, authorization: string | undefined): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
