/**
 * S3 Object Lock rules (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html):
 * what a bucket's configuration and a version's lock state are, and the two decisions every
 * caller shares: may this version be removed now, and may its retention be changed so.
 */

export const RETENTION_MODES = ['GOVERNANCE', 'COMPLIANCE'] as const;
export type RetentionMode = (typeof RETENTION_MODES)[number];

/** A bucket's default retention: exactly one of days and years (API_DefaultRetention.html). */
export interface DefaultRetention {
  mode: RetentionMode;
  days?: number;
  years?: number;
}

/** The bucket's Object Lock configuration; a bucket without one has no lock at all. */
export interface ObjectLockConfig {
  enabled: true;
  rule: DefaultRetention | null;
}

/** A retention period on one object version. */
export interface Retention {
  mode: RetentionMode;
  retainUntil: Date;
}

/**
 * The lock state of one object version: a retention period, a legal hold, both or neither.
 * `legalHold` is null when never set: GetObjectLegalHold then has nothing to answer, while a
 * hold turned OFF reads back as OFF.
 */
export interface LockState {
  retention: Retention | null;
  legalHold: boolean | null;
}

export const NO_LOCK: LockState = { retention: null, legalHold: null };

/** Why a version may not be removed or its retention changed; null: it may. */
export type LockBlock = 'legal-hold' | 'compliance' | 'governance';

/** Whether a retention period still protects its version at `now`. */
export function inForce(r: Retention | null, now: Date): r is Retention {
  return r !== null && r.retainUntil.getTime() > now.getTime();
}

/**
 * May the version be deleted (or overwritten) now? A legal hold blocks always; a compliance
 * retention blocks until it ends; a governance retention blocks unless the caller bypasses it
 * (x-amz-bypass-governance-retention with s3:BypassGovernanceRetention)
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html#object-lock-retention-modes).
 */
export function removalBlock(state: LockState, now: Date, bypassGovernance: boolean): LockBlock | null {
  if (state.legalHold === true) return 'legal-hold';
  const r = state.retention;
  if (!inForce(r, now)) return null;
  if (r.mode === 'COMPLIANCE') return 'compliance';
  return bypassGovernance ? null : 'governance';
}

/**
 * May a version's retention go from `current` to `next` (null: removed)? Lengthening is always
 * allowed. A compliance period in force can be neither shortened, removed nor turned into
 * governance; a governance period in force only with the bypass
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html#object-lock-retention-periods).
 */
export function retentionChangeBlock(
  current: Retention | null,
  next: Retention | null,
  now: Date,
  bypassGovernance: boolean,
): LockBlock | null {
  if (!inForce(current, now)) return null;
  const keepsOrExtends =
    next !== null &&
    next.retainUntil.getTime() >= current.retainUntil.getTime() &&
    (next.mode === current.mode || next.mode === 'COMPLIANCE');
  if (keepsOrExtends) return null;
  if (current.mode === 'COMPLIANCE') return 'compliance';
  return bypassGovernance ? null : 'governance';
}

/**
 * The retain-until date the bucket's default retention gives a version created at `created`.
 * AWS adds calendar days or years to the creation time (object-lock.html#object-lock-retention-periods).
 */
export function defaultRetainUntil(rule: DefaultRetention, created: Date): Date {
  const d = new Date(created.getTime());
  if (rule.years !== undefined) d.setUTCFullYear(d.getUTCFullYear() + rule.years);
  else d.setUTCDate(d.getUTCDate() + (rule.days ?? 0));
  return d;
}

/**
 * The lock a new version gets: what the request asked for, else the bucket's default retention
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html#object-lock-bucket-config).
 */
export function lockOfNewVersion(
  requested: { retention: Retention | null; legalHold: boolean | null },
  config: ObjectLockConfig | null,
  created: Date,
): LockState {
  const retention =
    requested.retention ??
    (config?.rule ? { mode: config.rule.mode, retainUntil: defaultRetainUntil(config.rule, created) } : null);
  return { retention, legalHold: requested.legalHold };
}
