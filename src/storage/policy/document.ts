import { StorageError } from '../errors.js';
import { actionResourceKind, S3_ACTIONS, type ResourceKind } from './actions.js';
import {
  compilePattern,
  parseConditionBlock,
  patternAllowsPrefix,
  patternMatches,
  type Condition,
} from './conditions.js';

/** Who is asking: nobody (unsigned request) or an add-on, by its canonical id (`cellar_...`). */
export type Principal = { type: 'anonymous' } | { type: 'addon'; id: string };

export type Effect = 'Allow' | 'Deny';

/** A Principal / NotPrincipal element: `*` or a list of add-on ids. */
export interface PrincipalSet {
  negated: boolean;
  wildcard: boolean;
  addonIds: string[];
}
/** An Action / NotAction element: lower-case patterns with `*` and `?`. */
export interface ActionSet {
  negated: boolean;
  patterns: string[];
}
/** A Resource / NotResource element: case-sensitive ARN patterns (or `*`). */
export interface ResourceSet {
  negated: boolean;
  patterns: string[];
}

export interface Statement {
  sid?: string;
  effect: Effect;
  principal: PrincipalSet;
  action: ActionSet;
  resource: ResourceSet;
  conditions: Condition[];
}

export interface PolicyDocument {
  version: string;
  id?: string;
  statements: Statement[];
}

export const POLICY_VERSIONS = ['2012-10-17', '2008-10-17'] as const;
/** "The maximum size of a policy is 20 KB" (S3 user guide, bucket policies). */
export const POLICY_MAX_BYTES = 20 * 1024;
const S3_ARN_PREFIX = 'arn:aws:s3:::';

const TOP_FIELDS = new Set(['Version', 'Id', 'Statement']);
const STATEMENT_FIELDS = new Set([
  'Sid',
  'Effect',
  'Principal',
  'NotPrincipal',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Condition',
]);

const malformed = (reason: string): StorageError => new StorageError('MalformedPolicy', reason);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A string or a non-empty array of strings; null otherwise. */
function stringList(v: unknown): string[] | null {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) return v as string[];
  return null;
}

/** Exactly one of `name` / `Not<name>` must be present. */
function pick(st: Record<string, unknown>, name: string): { raw: unknown; negated: boolean } {
  const has = st[name] !== undefined;
  const hasNot = st[`Not${name}`] !== undefined;
  if (has && hasNot) throw malformed(`Statement cannot have both ${name} and Not${name}`);
  if (!has && !hasNot) throw malformed(`Missing required field ${name}`);
  return { raw: has ? st[name] : st[`Not${name}`], negated: hasNot };
}

const ADDON_ID = '([A-Za-z0-9][A-Za-z0-9_.-]*)';
/**
 * An add-on as Cellar's docs write it (`arn:aws:iam::cellar_xxx`), as AWS writes an account
 * (`...:root`, or the bare id), and as Ceph RGW writes a user of the default tenant.
 */
const ADDON_FORMS = [
  new RegExp(`^arn:aws:iam::${ADDON_ID}(?::root)?$`),
  new RegExp(`^arn:aws:iam:::user/${ADDON_ID}$`),
  new RegExp(`^${ADDON_ID}$`),
];

function addonIdOf(s: string): string | null {
  for (const re of ADDON_FORMS) {
    const m = re.exec(s);
    if (m) return m[1]!;
  }
  return null;
}

function parsePrincipal(raw: unknown, negated: boolean): PrincipalSet {
  const set: PrincipalSet = { negated, wildcard: false, addonIds: [] };
  const invalid = malformed('Invalid principal in policy');
  if (raw === '*') return { ...set, wildcard: true };
  if (!isObject(raw) || Object.keys(raw).length === 0) throw invalid;
  for (const [type, value] of Object.entries(raw)) {
    // DEVIATION: only AWS and CanonicalUser principals. Cellar has no AWS services or
    // federated identities, so a Service/Federated principal could never match anyone.
    if (type !== 'AWS' && type !== 'CanonicalUser') throw invalid;
    const list = stringList(value);
    if (!list) throw invalid;
    for (const item of list) {
      if (item === '*' && type === 'AWS') {
        set.wildcard = true;
        continue;
      }
      const id = type === 'AWS' ? addonIdOf(item) : /^[A-Za-z0-9_.-]+$/.test(item) ? item : null;
      if (id === null) throw invalid;
      if (!set.addonIds.includes(id)) set.addonIds.push(id);
    }
  }
  return set;
}

function parseActions(raw: unknown, negated: boolean): ActionSet {
  const list = stringList(raw);
  if (!list) throw malformed('Policy has invalid action');
  const patterns = list.map((a) => {
    // A bare `*` is every action, as in AWS.
    if (a === '*') return 's3:*';
    // DEVIATION: AWS refuses s3 action names missing from its catalogue; Cellar accepts any
    // well-formed name so policies written for newer AWS features still load (they never match).
    if (!/^s3:[A-Za-z0-9*?]+$/i.test(a)) throw malformed('Policy has invalid action');
    return a.toLowerCase();
  });
  return { negated, patterns };
}

/** Which of the bucket itself and its objects a resource pattern can name. */
function coverage(pattern: string, bucket: string): { bucket: boolean; object: boolean } {
  const p = compilePattern(pattern, 'wildcard')!;
  return {
    bucket: patternMatches(p, S3_ARN_PREFIX + bucket),
    object: patternAllowsPrefix(p, `${S3_ARN_PREFIX}${bucket}/`),
  };
}

function parseResources(raw: unknown, negated: boolean, bucket: string): ResourceSet {
  const list = stringList(raw);
  if (!list) throw malformed('Policy has invalid resource');
  for (const r of list) {
    // A bucket policy may only speak of its own bucket and the objects in it (S3 user guide).
    if (r !== '*' && !r.startsWith(S3_ARN_PREFIX)) throw malformed('Policy has invalid resource');
    const c = coverage(r, bucket);
    if (!c.bucket && !c.object) throw malformed('Policy has invalid resource');
  }
  return { negated, patterns: list };
}

/**
 * AWS refuses a statement naming an action none of its resources can carry, the classic
 * being s3:ListBucket on `bucket/*`. Wildcard actions pass if any catalogued action they
 * cover fits; actions outside the catalogue are not judged.
 */
function checkActionsApply(action: ActionSet, resource: ResourceSet, bucket: string): void {
  if (action.negated || resource.negated) return;
  const kinds = new Set<ResourceKind>();
  for (const r of resource.patterns) {
    const c = coverage(r, bucket);
    if (c.bucket) kinds.add('bucket');
    if (c.object) kinds.add('object');
  }
  for (const pattern of action.patterns) {
    const p = compilePattern(pattern, 'literal')!;
    const matched = S3_ACTIONS.filter((a) => patternMatches(p, a.toLowerCase())).map((a) => actionResourceKind(a)!);
    if (matched.length > 0 && !matched.some((k) => kinds.has(k))) {
      throw malformed('Action does not apply to any resource(s) in statement');
    }
  }
}

function parseStatement(raw: unknown, bucket: string): Statement {
  if (!isObject(raw)) throw malformed('Statement must be an object');
  for (const k of Object.keys(raw)) if (!STATEMENT_FIELDS.has(k)) throw malformed(`Unknown field ${k}`);
  const { Sid, Effect, Condition } = raw;
  if (Sid !== undefined && typeof Sid !== 'string') throw malformed('Sid must be a string');
  if (Effect === undefined) throw malformed('Missing required field Effect');
  // JSON.stringify, not String(): `{"toString": ""}` makes String() throw a TypeError (a 500).
  if (Effect !== 'Allow' && Effect !== 'Deny')
    throw malformed(`Invalid effect: ${typeof Effect === 'string' ? Effect : JSON.stringify(Effect)}`);
  const p = pick(raw, 'Principal');
  const a = pick(raw, 'Action');
  const r = pick(raw, 'Resource');
  const statement: Statement = {
    effect: Effect,
    principal: parsePrincipal(p.raw, p.negated),
    action: parseActions(a.raw, a.negated),
    resource: parseResources(r.raw, r.negated, bucket),
    conditions: Condition === undefined ? [] : parseConditionBlock(Condition),
  };
  checkActionsApply(statement.action, statement.resource, bucket);
  return Sid === undefined ? statement : { sid: Sid, ...statement };
}

/**
 * Parses and validates a bucket policy for `bucket`, as PutBucketPolicy does; every refusal
 * is a MalformedPolicy with a reason close to AWS's wording.
 */
export function parsePolicy(json: string, bucket: string): PolicyDocument {
  if (Buffer.byteLength(json, 'utf8') > POLICY_MAX_BYTES)
    throw malformed('Policy exceeds the maximum allowed document size.');
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    raw = undefined;
  }
  if (!isObject(raw)) throw malformed("Policies must be valid JSON and the first byte must be '{'");
  for (const k of Object.keys(raw)) if (!TOP_FIELDS.has(k)) throw malformed(`Unknown field ${k}`);
  const { Version, Id, Statement } = raw;
  // A policy without Version is read with the original 2008-10-17 grammar (IAM docs, "Version").
  const version = Version ?? '2008-10-17';
  if (!POLICY_VERSIONS.includes(version as (typeof POLICY_VERSIONS)[number])) {
    throw malformed(`Invalid policy version: ${typeof Version === 'string' ? Version : JSON.stringify(Version)}`);
  }
  if (Id !== undefined && typeof Id !== 'string') throw malformed('Id must be a string');
  const list = Array.isArray(Statement) ? Statement : Statement === undefined ? [] : [Statement];
  if (list.length === 0) throw malformed('Missing required field Statement');
  const statements = list.map((s) => parseStatement(s, bucket));
  const sids = statements.flatMap((s) => (s.sid === undefined ? [] : [s.sid]));
  if (new Set(sids).size !== sids.length) throw malformed('Statement IDs (SID) in a single policy must be unique');
  return Id === undefined
    ? { version: version as string, statements }
    : { version: version as string, id: Id, statements };
}

/**
 * The add-on ids a policy names, so the caller can refuse ids that do not exist
 * ("Invalid principal in policy", as AWS does for unknown accounts).
 */
export function policyAddonIds(doc: PolicyDocument): string[] {
  return [...new Set(doc.statements.flatMap((s) => s.principal.addonIds))];
}
