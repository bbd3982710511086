/**
 * When lifecycle actions fall due. "Amazon S3 calculates the time by adding the number of days
 * specified in the rule to the object creation time and rounding the resulting time to the next
 * day midnight UTC" (userguide/lifecycle-expire-general-considerations.html, and RGW's fix for
 * https://tracker.ceph.com/issues/21533). Midnight UTC is a multiple of 86,400 s since the epoch;
 * with a shorter configured day (tests) the rounding is to the next multiple of that length.
 * A Date rule applies from its date on, whatever the day length.
 */
import type { LifecycleConfig, LifecycleRule } from './config.js';
import { type LifecycleSubject, ruleMatches, rulePrefix } from './filter.js';

export const DEFAULT_DAY_MS = 86_400_000;

/** `ms` rounded up to the next multiple of the day length (unchanged when it is one). */
export function dayCeil(ms: number, dayMs: number): number {
  return Math.ceil(ms / dayMs) * dayMs;
}

/** The moment `days` days after `fromMs` falls due: rounded up to the next day boundary. */
export function dueAfterDays(fromMs: number, days: number, dayMs: number): number {
  return dayCeil(fromMs + days * dayMs, dayMs);
}

/** When a rule's Expiration (Days or Date) removes an object written at `createdMs`; null when it has none. */
export function expirationTime(rule: LifecycleRule, createdMs: number, dayMs: number): number | null {
  const e = rule.expiration;
  if (e?.days !== undefined) return dueAfterDays(createdMs, e.days, dayMs);
  if (e?.date !== undefined) return Date.parse(e.date);
  return null;
}

export interface ScheduledExpiration {
  /** Epoch milliseconds. */
  at: number;
  ruleId: string;
}

/**
 * The earliest expiration any enabled rule schedules for a current object, or null. When rules
 * overlap, "Amazon S3 chooses the ... action that happens first" (lifecycle-conflicts.html).
 */
export function objectExpiration(
  cfg: LifecycleConfig | null | undefined,
  o: LifecycleSubject & { lastModified: Date },
  dayMs: number,
): ScheduledExpiration | null {
  let best: ScheduledExpiration | null = null;
  for (const rule of cfg?.rules ?? []) {
    if (rule.status !== 'Enabled' || !ruleMatches(rule, o)) continue;
    const at = expirationTime(rule, o.lastModified.getTime(), dayMs);
    if (at !== null && (best === null || at < best.at)) best = { at, ruleId: rule.id };
  }
  return best;
}

/** Whether an enabled AbortIncompleteMultipartUpload rule has come due for an upload of `key` initiated at `initiatedMs`. */
export function uploadAbortDue(
  cfg: LifecycleConfig,
  key: string,
  initiatedMs: number,
  nowMs: number,
  dayMs: number,
): boolean {
  return cfg.rules.some((rule) => {
    const days = rule.abortIncompleteMultipartUpload?.daysAfterInitiation;
    // Tag filters are refused with this action; an upload's size is not known yet, so only the prefix applies.
    if (rule.status !== 'Enabled' || days === undefined || !key.startsWith(rulePrefix(rule))) return false;
    return dueAfterDays(initiatedMs, days, dayMs) <= nowMs;
  });
}

/**
 * Whether a noncurrent version falls due: `rank` is its place among the key's noncurrent versions,
 * newest first (0 = the most recent). NewerNoncurrentVersions keeps that many newest ones whatever
 * their age (API_NoncurrentVersionExpiration.html).
 */
export function noncurrentDue(
  rule: LifecycleRule,
  noncurrentSinceMs: number,
  rank: number,
  nowMs: number,
  dayMs: number,
): boolean {
  const n = rule.noncurrentVersionExpiration;
  if (rule.status !== 'Enabled' || n === undefined) return false;
  if (rank < (n.newerNoncurrentVersions ?? 0)) return false;
  return dueAfterDays(noncurrentSinceMs, n.noncurrentDays, dayMs) <= nowMs;
}

/** Whether any enabled rule that matches this noncurrent version (at `rank`, 0 = newest noncurrent) makes it due. */
export function noncurrentVersionDue(
  cfg: LifecycleConfig,
  v: LifecycleSubject & { noncurrentSinceMs: number },
  rank: number,
  nowMs: number,
  dayMs: number,
): boolean {
  return cfg.rules.some((rule) => ruleMatches(rule, v) && noncurrentDue(rule, v.noncurrentSinceMs, rank, nowMs, dayMs));
}

/**
 * Whether a current delete marker with no other version of its key ("expired object delete
 * marker") may go: a matching rule says ExpiredObjectDeleteMarker, or has Expiration Days and the
 * marker is that old ("When you specify the Days action element, Amazon S3 automatically performs
 * ExpiredObjectDeleteMarker cleanup when the delete markers are old enough", intro-lifecycle-rules.html).
 */
export function deleteMarkerDue(
  cfg: LifecycleConfig,
  marker: { key: string; lastModified: Date },
  nowMs: number,
  dayMs: number,
): boolean {
  const subject = { key: marker.key, size: 0, tags: [] };
  return cfg.rules.some((rule) => {
    if (rule.status !== 'Enabled' || !ruleMatches(rule, subject)) return false;
    if (rule.expiration?.expiredObjectDeleteMarker === true) return true;
    const days = rule.expiration?.days;
    return days !== undefined && dueAfterDays(marker.lastModified.getTime(), days, dayMs) <= nowMs;
  });
}
