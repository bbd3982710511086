/**
 * Bucket lifecycle configuration as plain data (the XML codec lives in s3api/) and its
 * validation, with the codes and messages AWS answers PutBucketLifecycleConfiguration with
 * (API_PutBucketLifecycleConfiguration.html, API_LifecycleRule.html, API_LifecycleRuleFilter.html,
 * userguide/intro-lifecycle-rules.html "Lifecycle configuration elements").
 */
import { randomBytes } from 'node:crypto';
import { StorageError } from '../errors.js';

/** AWS's limit: "up to 1,000 rules" (intro-lifecycle-rules.html). */
export const MAX_LIFECYCLE_RULES = 1000;
/** "The value cannot be longer than 255 characters" (API_LifecycleRule.html, ID). */
export const MAX_RULE_ID_LENGTH = 255;
/** NewerNoncurrentVersions: "up to 100 noncurrent versions" (API_NoncurrentVersionExpiration.html). */
export const MAX_NEWER_NONCURRENT_VERSIONS = 100;

/** A tag a filter requires (the shape of the store's Tag, declared here so this module stays a leaf). */
export interface LifecycleTag {
  key: string;
  value: string;
}

export interface LifecycleAnd {
  prefix?: string;
  tags: LifecycleTag[];
  objectSizeGreaterThan?: number;
  objectSizeLessThan?: number;
}

/** Exactly one predicate, or none (an empty `<Filter/>`: every object). */
export interface LifecycleFilter {
  prefix?: string;
  tag?: LifecycleTag;
  objectSizeGreaterThan?: number;
  objectSizeLessThan?: number;
  and?: LifecycleAnd;
}

export interface LifecycleRule {
  id: string;
  status: 'Enabled' | 'Disabled';
  /** The deprecated rule-level Prefix; a rule has it or `filter`, never both. */
  prefix?: string;
  filter?: LifecycleFilter;
  /** `date`: midnight UTC, as an ISO 8601 string. */
  expiration?: { days?: number; date?: string; expiredObjectDeleteMarker?: boolean };
  noncurrentVersionExpiration?: { noncurrentDays: number; newerNoncurrentVersions?: number };
  abortIncompleteMultipartUpload?: { daysAfterInitiation: number };
}

export interface LifecycleConfig {
  rules: LifecycleRule[];
}

/** Numbers arrive as the request's text, so the validator can tell "not a number" from "out of range". */
export interface LifecycleAndInput {
  prefix?: string;
  tags: LifecycleTag[];
  objectSizeGreaterThan?: string;
  objectSizeLessThan?: string;
}
export interface LifecycleFilterInput {
  prefix?: string;
  tag?: LifecycleTag;
  objectSizeGreaterThan?: string;
  objectSizeLessThan?: string;
  and?: LifecycleAndInput;
}
export interface LifecycleRuleInput {
  id?: string;
  status?: string;
  prefix?: string;
  filter?: LifecycleFilterInput;
  expiration?: { days?: string; date?: string; expiredObjectDeleteMarker?: string };
  noncurrentVersionExpiration?: { noncurrentDays?: string; newerNoncurrentVersions?: string };
  abortIncompleteMultipartUpload?: { daysAfterInitiation?: string };
  /** How many Transition / NoncurrentVersionTransition elements the rule carries. */
  transitions?: number;
  noncurrentVersionTransitions?: number;
}

const malformed = (): StorageError =>
  new StorageError(
    'MalformedXML',
    'The XML you provided was not well-formed or did not validate against our published schema',
  );
const invalidArgument = (message: string, name?: string, value?: string): StorageError =>
  new StorageError(
    'InvalidArgument',
    message,
    name === undefined ? {} : { ArgumentName: name, ArgumentValue: value ?? '' },
  );
const invalidRequest = (message: string): StorageError => new StorageError('InvalidRequest', message);

/** An xsd:int or xsd:long as text: optional sign, digits (what the schema lets through). */
function integer(raw: string): number {
  const t = raw.trim();
  if (!/^[+-]?\d{1,16}$/.test(t)) throw malformed();
  return Number(t);
}

function positive(raw: string | undefined, element: string, action: string): number {
  if (raw === undefined) throw malformed();
  const n = integer(raw);
  if (n <= 0) throw invalidArgument(`'${element}' for ${action} action must be a positive integer`, element, raw);
  return n;
}

function size(raw: string | undefined, element: string): number | undefined {
  if (raw === undefined) return undefined;
  const n = integer(raw);
  if (n < 0) throw invalidArgument(`'${element}' should be a non-negative integer`, element, raw);
  return n;
}

function sizeRange(gt: number | undefined, lt: number | undefined): void {
  if (gt !== undefined && lt !== undefined && gt >= lt)
    throw invalidArgument('ObjectSizeGreaterThan must be less than ObjectSizeLessThan', 'ObjectSizeGreaterThan');
}

/** xsd:boolean. */
function bool(raw: string): boolean {
  const t = raw.trim();
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  throw malformed();
}

/**
 * Expiration Date: an ISO 8601 timestamp at midnight UTC ("The date value must conform to the
 * ISO 8601 format. The time is always midnight UTC", API_LifecycleExpiration.html).
 */
function midnight(raw: string): string {
  const t = raw.trim();
  if (!/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(t)) throw malformed();
  const ms = Date.parse(/T/.test(t) && !/(Z|[+-]\d{2}:?\d{2})$/.test(t) ? `${t}Z` : t);
  if (Number.isNaN(ms)) throw malformed();
  if (ms % 86_400_000 !== 0) throw invalidArgument("'Date' must be at midnight GMT", 'Date', raw);
  return new Date(ms).toISOString();
}

function uniqueTags(tags: LifecycleTag[]): LifecycleTag[] {
  const seen = new Set<string>();
  for (const t of tags) {
    if (seen.has(t.key)) throw invalidRequest('Duplicate Tag Keys are not allowed.');
    seen.add(t.key);
  }
  return tags;
}

function filterOf(f: LifecycleFilterInput): LifecycleFilter {
  const present = [f.prefix, f.tag, f.objectSizeGreaterThan, f.objectSizeLessThan, f.and].filter(
    (v) => v !== undefined,
  ).length;
  // "A Filter can have exactly one of Prefix, Tag, ObjectSizeGreaterThan, ObjectSizeLessThan, or And".
  if (present > 1) throw malformed();
  if (f.prefix !== undefined) return { prefix: f.prefix };
  if (f.tag !== undefined) return { tag: f.tag };
  if (f.objectSizeGreaterThan !== undefined)
    return { objectSizeGreaterThan: size(f.objectSizeGreaterThan, 'ObjectSizeGreaterThan') };
  if (f.objectSizeLessThan !== undefined)
    return { objectSizeLessThan: size(f.objectSizeLessThan, 'ObjectSizeLessThan') };
  if (f.and === undefined) return {};
  const a = f.and;
  const and: LifecycleAnd = { tags: uniqueTags(a.tags) };
  if (a.prefix !== undefined) and.prefix = a.prefix;
  const gt = size(a.objectSizeGreaterThan, 'ObjectSizeGreaterThan');
  const lt = size(a.objectSizeLessThan, 'ObjectSizeLessThan');
  sizeRange(gt, lt);
  if (gt !== undefined) and.objectSizeGreaterThan = gt;
  if (lt !== undefined) and.objectSizeLessThan = lt;
  // An And with nothing inside names no predicate to combine.
  if (a.prefix === undefined && a.tags.length === 0 && gt === undefined && lt === undefined) throw malformed();
  return { and };
}

/** The tags a rule's filter requires: AbortIncompleteMultipartUpload and ExpiredObjectDeleteMarker refuse them. */
function filterHasTags(f: LifecycleFilter | undefined): boolean {
  return f !== undefined && (f.tag !== undefined || (f.and?.tags.length ?? 0) > 0);
}

/** AWS names a rule sent without an ID; any unique string does. */
function generatedId(): string {
  return randomBytes(30).toString('base64').replace(/[+/=]/g, '').slice(0, 40);
}

function ruleOf(r: LifecycleRuleInput): LifecycleRule {
  if (r.status !== 'Enabled' && r.status !== 'Disabled') throw malformed();
  if (r.id !== undefined && r.id.length > MAX_RULE_ID_LENGTH)
    throw invalidArgument(`ID length should not exceed allowed limit of ${MAX_RULE_ID_LENGTH}`, 'ID', r.id);
  // "Filter is required if the LifecycleRule does not contain a Prefix element"; never both.
  if ((r.prefix === undefined) === (r.filter === undefined)) throw malformed();
  // DEVIATION: Cellar has one storage class, so there is nothing to transition to. AWS answers a
  // transition to a class it does not offer with InvalidStorageClass (400); a 200 that stored the
  // rule and never ran it would be a silent lie, so every transition is refused that way.
  if ((r.transitions ?? 0) > 0 || (r.noncurrentVersionTransitions ?? 0) > 0)
    throw new StorageError(
      'InvalidStorageClass',
      'The storage class you specified is not valid: Cellar has only the STANDARD storage class, so lifecycle transitions are not supported',
    );
  const rule: LifecycleRule = { id: r.id === undefined || r.id === '' ? generatedId() : r.id, status: r.status };
  if (r.prefix !== undefined) rule.prefix = r.prefix;
  if (r.filter !== undefined) rule.filter = filterOf(r.filter);
  if (r.expiration !== undefined) {
    const e = r.expiration;
    const given = [e.days, e.date, e.expiredObjectDeleteMarker].filter((v) => v !== undefined).length;
    // Exactly one of Days, Date and ExpiredObjectDeleteMarker (API_LifecycleExpiration.html).
    if (given !== 1) throw malformed();
    if (e.days !== undefined) rule.expiration = { days: positive(e.days, 'Days', 'Expiration') };
    else if (e.date !== undefined) rule.expiration = { date: midnight(e.date) };
    else rule.expiration = { expiredObjectDeleteMarker: bool(e.expiredObjectDeleteMarker!) };
    if (rule.expiration.expiredObjectDeleteMarker === true && filterHasTags(rule.filter))
      throw invalidRequest('ExpiredObjectDeleteMarker cannot be specified with Tags.');
  }
  if (r.noncurrentVersionExpiration !== undefined) {
    const n = r.noncurrentVersionExpiration;
    rule.noncurrentVersionExpiration = {
      noncurrentDays: positive(n.noncurrentDays, 'NoncurrentDays', 'NoncurrentVersionExpiration'),
    };
    if (n.newerNoncurrentVersions !== undefined) {
      const v = integer(n.newerNoncurrentVersions);
      if (v < 1 || v > MAX_NEWER_NONCURRENT_VERSIONS)
        throw invalidArgument(
          `'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must be a positive integer up to ${MAX_NEWER_NONCURRENT_VERSIONS}`,
          'NewerNoncurrentVersions',
          n.newerNoncurrentVersions,
        );
      rule.noncurrentVersionExpiration.newerNoncurrentVersions = v;
    }
  }
  if (r.abortIncompleteMultipartUpload !== undefined) {
    rule.abortIncompleteMultipartUpload = {
      daysAfterInitiation: positive(
        r.abortIncompleteMultipartUpload.daysAfterInitiation,
        'DaysAfterInitiation',
        'AbortIncompleteMultipartUpload',
      ),
    };
    // "You can't specify a tag-based filter with AbortIncompleteMultipartUpload": uploads have no tags yet.
    if (filterHasTags(rule.filter))
      throw invalidRequest('AbortIncompleteMultipartUpload cannot be specified with Tags.');
  }
  if (!rule.expiration && !rule.noncurrentVersionExpiration && !rule.abortIncompleteMultipartUpload)
    throw invalidRequest('At least one action needs to be specified in a rule');
  return rule;
}

/** The configuration to store, or the error AWS answers for the first problem found. */
export function validateLifecycleConfig(rules: LifecycleRuleInput[]): LifecycleConfig {
  // LifecycleConfiguration holds one or more Rule elements (API_BucketLifecycleConfiguration.html).
  if (rules.length === 0) throw malformed();
  if (rules.length > MAX_LIFECYCLE_RULES)
    throw invalidRequest(
      `The number of lifecycle rules must not exceed the allowed limit of ${MAX_LIFECYCLE_RULES} rules`,
    );
  const out = rules.map(ruleOf);
  const ids = new Set<string>();
  for (const r of out) {
    if (ids.has(r.id))
      throw invalidArgument('Rule ID must be unique. Found same ID for more than one rule', 'ID', r.id);
    ids.add(r.id);
  }
  return { rules: out };
}
