/**
 * The TXT proof a custom domain's owner publishes at `_cellar-challenge.<domain>`: an HMAC of the
 * domain under a secret of this installation, so the CLI can hand it out without storing a
 * table, and nobody can compute it for another installation or another domain.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const SECRET_FILE = 'domain-proof.key';

/** `<dataDir>/domain-proof.key` when there is one; null otherwise (nothing is created). */
export function readProofSecret(dataDir: string): Buffer | null {
  try {
    return Buffer.from(readFileSync(path.join(dataDir, SECRET_FILE), 'utf8').trim(), 'hex');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/**
 * Reads `<dataDir>/domain-proof.key`, creating it on first use. The secret is written to a temp
 * file and hard-linked into place, which fails if the file exists: a server and a CLI starting
 * together agree on one secret and neither can read a half-written one.
 */
export function loadProofSecret(dataDir: string): Buffer {
  const existing = readProofSecret(dataDir);
  if (existing !== null) return existing;
  const file = path.join(dataDir, SECRET_FILE);
  mkdirSync(dataDir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  try {
    linkSync(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    unlinkSync(tmp);
  }
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
}

export function proofToken(secret: Buffer, domain: string): string {
  const name = domain.trim().toLowerCase().replace(/\.$/, '');
  return createHmac('sha256', secret).update(`cellar-domain-proof:${name}`).digest('hex').slice(0, 40);
}
