/**
 * The POST policy of browser-based uploads: parsing the base64 JSON document and checking a
 * form against its expiration and conditions. Pure code.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
 */
import { StorageError } from '../errors.js';

export type PostCondition =
  /** `field` is lower case, without the leading `$`. */
  | { type: 'eq' | 'starts-with'; field: string; value: string }
  | { type: 'content-length-range'; min: number; max: number };

export interface PostPolicy {
  expiration: Date;
  conditions: PostCondition[];
}

/** The size limits of the file, from every content-length-range condition together. */
export interface ContentLengthRange {
  min: number;
  max: number;
}

const ISO8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

function invalid(detail: string): StorageError {
  return new StorageError('InvalidPolicyDocument', `Invalid Policy: ${detail}`);
}

/**
 * The policy allows `\$`, `\v` and `\xhh` besides JSON's escapes ("Character Escaping" in the
 * POST policy doc); they are rewritten to JSON before parsing.
 */
function toJson(text: string): string {
  return text.replace(/\\(\\|\$|v|x([0-9a-fA-F]{2}))/g, (all, what: string, hex: string | undefined) => {
    if (what === '\\') return all;
    if (what === '$') return '$';
    if (what === 'v') return '\\u000b';
    return `\\u00${hex!}`;
  });
}

/**
 * Fields whose condition may only be an exact match (the "Conditions" table of the doc):
 * the bucket, the status, and every x-amz-* field but user metadata.
 */
function exactOnly(field: string): boolean {
  return (
    field === 'bucket' ||
    field === 'success_action_status' ||
    (field.startsWith('x-amz-') && !field.startsWith('x-amz-meta-'))
  );
}

function conditionValue(v: unknown, shown: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  throw invalid(`Invalid Condition: ${shown}`);
}

function lengthBound(v: unknown, shown: string): number {
  const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
    throw invalid(`Invalid content-length-range: ${shown}`);
  return n;
}

function fieldName(raw: unknown, shown: string): string {
  if (typeof raw !== 'string' || !raw.startsWith('$') || raw.length < 2) throw invalid(`Invalid Condition: ${shown}`);
  return raw.slice(1).toLowerCase();
}

function parseCondition(c: unknown): PostCondition[] {
  const shown = JSON.stringify(c) ?? String(c);
  if (Array.isArray(c)) {
    const op = typeof c[0] === 'string' ? c[0].toLowerCase() : '';
    if (op === 'content-length-range') {
      if (c.length !== 3) throw invalid(`Invalid content-length-range: ${shown}`);
      const min = lengthBound(c[1], shown);
      const max = lengthBound(c[2], shown);
      if (min > max) throw invalid(`Invalid content-length-range: ${shown}`);
      return [{ type: 'content-length-range', min, max }];
    }
    if ((op !== 'eq' && op !== 'starts-with') || c.length !== 3) throw invalid(`Invalid Condition: ${shown}`);
    const field = fieldName(c[1], shown);
    if (op === 'starts-with' && exactOnly(field))
      throw invalid(`Invalid Condition: the field ${field} supports exact matching only: ${shown}`);
    return [{ type: op, field, value: conditionValue(c[2], shown) }];
  }
  if (c !== null && typeof c === 'object') {
    const entries = Object.entries(c);
    if (entries.length === 0) throw invalid(`Invalid Condition: ${shown}`);
    return entries.map(([name, value]) => ({
      type: 'eq' as const,
      field: name.toLowerCase(),
      value: conditionValue(value, shown),
    }));
  }
  throw invalid(`Invalid Condition: ${shown}`);
}

/** Decodes and validates the `policy` form field; InvalidPolicyDocument when it is not a policy. */
export function parsePostPolicy(base64: string): PostPolicy {
  const trimmed = base64.trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(trimmed) || trimmed.length % 4 !== 0) throw invalid('Invalid base64 encoding.');
  let doc: unknown;
  try {
    doc = JSON.parse(toJson(Buffer.from(trimmed, 'base64').toString('utf8')));
  } catch {
    throw invalid('Invalid JSON.');
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw invalid('Invalid JSON.');
  const { expiration, conditions } = doc as Record<string, unknown>;
  if (expiration === undefined) throw invalid('Policy missing expiration.');
  if (typeof expiration !== 'string' || !ISO8601.test(expiration) || Number.isNaN(Date.parse(expiration))) {
    throw invalid(`Invalid 'expiration' value: '${String(expiration)}'`);
  }
  if (conditions === undefined) throw invalid('Policy missing conditions.');
  if (!Array.isArray(conditions)) throw invalid("Invalid 'conditions' value: must be a list.");
  return { expiration: new Date(expiration), conditions: conditions.flatMap(parseCondition) };
}

/** How AWS names a failed condition in its message: always in the list form. */
function describe(c: Exclude<PostCondition, { type: 'content-length-range' }>): string {
  return `["${c.type}", "$${c.field}", ${JSON.stringify(c.value)}]`;
}

function holds(c: Exclude<PostCondition, { type: 'content-length-range' }>, actual: string): boolean {
  if (c.type === 'eq') return actual === c.value;
  // "Content-Types values for a starts-with condition that include commas are interpreted as
  // lists. Each value in the list must meet the condition for the whole condition to pass."
  if (c.field === 'content-type' && actual.includes(','))
    return actual.split(',').every((v) => v.trim().startsWith(c.value));
  return actual.startsWith(c.value);
}

function policyDenied(detail: string): StorageError {
  return new StorageError('AccessDenied', `Invalid according to Policy: ${detail}`);
}

export interface PostFormCheck {
  /** The form fields before the file, names in lower case, `key` with `${filename}` replaced. */
  fields: ReadonlyMap<string, string>;
  /** The bucket the form was posted to: the `bucket` condition matches it. */
  bucket: string;
  /** Fields that need no condition: `file`, `policy`, the signature fields; x-ignore-* are added here. */
  exempt: ReadonlySet<string>;
  now: Date;
}

/**
 * Checks the expiration, each condition, then that every form field is covered by a condition.
 * Throws AccessDenied with AWS's "Invalid according to Policy" messages. Returns the allowed
 * file sizes (0 to Infinity without a content-length-range condition); the file is checked
 * against them while it streams.
 */
export function checkPostPolicy(policy: PostPolicy, form: PostFormCheck): ContentLengthRange {
  if (form.now.getTime() > policy.expiration.getTime()) throw policyDenied('Policy expired.');
  const range: ContentLengthRange = { min: 0, max: Infinity };
  const covered = new Set<string>();
  for (const c of policy.conditions) {
    if (c.type === 'content-length-range') {
      range.min = Math.max(range.min, c.min);
      range.max = Math.min(range.max, c.max);
      continue;
    }
    covered.add(c.field);
    const actual = c.field === 'bucket' ? form.bucket : (form.fields.get(c.field) ?? '');
    if (!holds(c, actual)) throw policyDenied(`Policy Condition failed: ${describe(c)}`);
  }
  const extra = [...form.fields.keys()].filter(
    (name) => !covered.has(name) && !form.exempt.has(name) && !name.startsWith('x-ignore-'),
  );
  if (extra.length > 0) throw policyDenied(`Extra input fields: ${extra.join(', ')}`);
  return range;
}
