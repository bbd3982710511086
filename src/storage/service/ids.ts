import { randomBytes } from 'node:crypto';

const LOWER = 'abcdefghijklmnopqrstuvwxyz0123456789';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const SECRET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function randomString(alphabet: string, length: number): string {
  // Rejection sampling keeps every character equally likely.
  const out: string[] = [];
  const limit = 256 - (256 % alphabet.length);
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < limit && out.length < length) out.push(alphabet[b % alphabet.length]!);
    }
  }
  return out.join('');
}

export const newAddonId = (): string => `cellar_${randomString(LOWER, 12)}`;
export const newAccessKeyId = (): string => randomString(UPPER, 20);
export const newSecretKey = (): string => randomString(SECRET, 40);

/**
 * Version ids: 32 URL-safe characters (base64url of 24 random bytes), like the 32-character ids
 * AWS hands out; opaque, so their order means nothing (a key's versions are ordered by `seq`).
 */
export const newVersionId = (): string => randomBytes(24).toString('base64url');

/** Whether `s` is syntactically a version id this store could have issued, or `null`. */
export const isVersionIdSyntax = (s: string): boolean => s === 'null' || /^[A-Za-z0-9_-]{32}$/.test(s);
