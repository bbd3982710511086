export {
  MAX_LIFECYCLE_RULES,
  MAX_NEWER_NONCURRENT_VERSIONS,
  MAX_RULE_ID_LENGTH,
  validateLifecycleConfig,
  type LifecycleAnd,
  type LifecycleAndInput,
  type LifecycleConfig,
  type LifecycleFilter,
  type LifecycleFilterInput,
  type LifecycleRule,
  type LifecycleRuleInput,
  type LifecycleTag,
} from './config.js';
export { ruleMatches, rulePrefix, scanPrefixes, type LifecycleSubject } from './filter.js';
export {
  DEFAULT_DAY_MS,
  dayCeil,
  deleteMarkerDue,
  dueAfterDays,
  expirationTime,
  noncurrentDue,
  noncurrentVersionDue,
  objectExpiration,
  uploadAbortDue,
  type ScheduledExpiration,
} from './due.js';
