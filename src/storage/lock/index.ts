/** S3 Object Lock: configurations, version lock states and the rules over them. Pure code: no I/O. */
export {
  NO_LOCK,
  RETENTION_MODES,
  defaultRetainUntil,
  inForce,
  lockOfNewVersion,
  removalBlock,
  retentionChangeBlock,
  type DefaultRetention,
  type LockBlock,
  type LockState,
  type ObjectLockConfig,
  type Retention,
  type RetentionMode,
} from './rules.js';
