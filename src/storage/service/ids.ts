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

let stampMs = 0;
let stampCount = 0;

/**
 * Version ids: 32 URL-safe characters (base64url of 24 bytes), like the 32-character ids AWS
 * hands out: an 8-byte stamp (milliseconds, then a counter within the millisecond; it never goes
 * back in this process, and versions get their ids in the order they become current) and 16
 * random bytes. Clients treat them as opaque; the stamp lets a version-id-marker naming a
 * version deleted since place itself in its key's history.
 */
export function newVersionId(now = Date.now()): string {
  if (now > stampMs) {
    stampMs = now;
    stampCount = 0;
  } else if (++stampCount > 0xffff) {
    stampMs++;
    stampCount = 0;
  }
  const id = randomBytes(24);
  id.writeUIntBE(stampMs, 0, 6);
  id.writeUInt16BE(stampCount, 6);
  return id.toString('base64url');
}

/**
 * The creation stamp of an id newVersionId() issued (larger is newer); null for `null` and for
 * anything that is not a 32-character id. Ids issued before stamps existed were 24 random bytes:
 * theirs is meaningless.
 */
export function versionIdStamp(id: string): bigint | null {
  if (!/^[A-Za-z0-9_-]{32}$/.test(id)) return null;
  return Buffer.from(id, 'base64url').readBigUInt64BE(0);
}

/** Whether `s` is syntactically a version id this store could have issued, or `null`. */
export const isVersionIdSyntax = (s: string): boolean => s === 'null' || /^[A-Za-z0-9_-]{32}$/.test(s);
