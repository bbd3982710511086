/**
 * Dashboard sessions of add-on owners: server-side ids with an expiry, the cookie that carries
 * them, the constant-time key check and the per-address login limit.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'cellar_session';

interface Session {
  addonId: string;
  expiresAt: number;
}

/**
 * Sessions in memory: a restart logs every owner out, which is the safe direction. Ids are 256
 * random bits, so they cannot be guessed; only the server can say what one stands for.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  create(addonId: string): { id: string; maxAgeSeconds: number } {
    this.sweep();
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(id, { addonId, expiresAt: this.now() + this.ttlMs });
    return { id, maxAgeSeconds: Math.ceil(this.ttlMs / 1000) };
  }

  /** The add-on of a live session; an expired one is forgotten. */
  addonOf(id: string | undefined): string | null {
    if (id === undefined) return null;
    const s = this.sessions.get(id);
    if (s === undefined) return null;
    if (s.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return null;
    }
    return s.addonId;
  }

  delete(id: string | undefined): void {
    if (id !== undefined) this.sessions.delete(id);
  }

  /** Every session of an add-on ends (it was deleted, or its keys rotated). */
  deleteAddon(addonId: string): void {
    for (const [id, s] of this.sessions) if (s.addonId === addonId) this.sessions.delete(id);
  }

  private sweep(): void {
    const t = this.now();
    for (const [id, s] of this.sessions) if (s.expiresAt <= t) this.sessions.delete(id);
  }
}

/** The value of one cookie in a Cookie header (RFC 6265 section 5.4: `name=value` pairs split by `; `). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const pair of (header ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The session cookie: never readable by scripts (HttpOnly), never sent on a cross-site request
 * (SameSite=Strict, the first half of the CSRF defence), Secure when the dashboard is on HTTPS.
 * An empty value with Max-Age=0 removes it.
 */
export function sessionCookie(id: string, maxAgeSeconds: number, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${id}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${maxAgeSeconds}`,
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

/**
 * Compares a secret key in constant time. Both sides are hashed first so that the comparison
 * neither leaks the length nor needs equal-length inputs.
 */
export function secretMatches(expected: string, given: string): boolean {
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}

/**
 * Failed logins per client address in a fixed window: after `max` failures the address is
 * refused, right or wrong, until its window ends. Bounded: at most `maxAddresses` are tracked,
 * the oldest dropped first, so a spray of addresses cannot grow memory.
 */
export class LoginLimiter {
  private readonly failures = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxAddresses = 10_000,
  ) {}

  /** Seconds until the address may try again, or 0 when it may now. */
  retryAfter(address: string): number {
    const e = this.failures.get(address);
    if (e === undefined) return 0;
    const left = e.resetAt - this.now();
    if (left <= 0) {
      this.failures.delete(address);
      return 0;
    }
    return e.count >= this.max ? Math.ceil(left / 1000) : 0;
  }

  fail(address: string): void {
    const t = this.now();
    const e = this.failures.get(address);
    if (e !== undefined && e.resetAt > t) {
      e.count++;
      return;
    }
    this.failures.delete(address);
    if (this.failures.size >= this.maxAddresses) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
    this.failures.set(address, { count: 1, resetAt: t + this.windowMs });
  }

  succeed(address: string): void {
    this.failures.delete(address);
  }
}
