import { StorageError } from '../errors.js';
import { codePoints, globAllowsPrefix, globMatches, ONE, STAR } from './glob.js';

/**
 * Condition keys of one request, by lower-case name (IAM key names are case-insensitive).
 * A multi-valued key (for `ForAnyValue:` / `ForAllValues:`) is given as an array.
 */
export interface RequestContext {
  'aws:sourceip'?: string;
  'aws:securetransport'?: 'true' | 'false';
  'aws:referer'?: string;
  'aws:useragent'?: string;
  'aws:currenttime'?: string;
  'aws:epochtime'?: string;
  'aws:username'?: string;
  'aws:userid'?: string;
  's3:prefix'?: string;
  's3:delimiter'?: string;
  's3:max-keys'?: string;
  's3:x-amz-acl'?: string;
  [k: string]: string | readonly string[] | undefined;
}

/** Values of a key, or undefined when absent; an empty list counts as absent. */
export function contextValues(ctx: RequestContext, key: string): readonly string[] | undefined {
  const lower = key.toLowerCase();
  let v = ctx[lower];
  if (v === undefined) {
    const found = Object.keys(ctx).find((k) => k.toLowerCase() === lower);
    v = found === undefined ? undefined : ctx[found];
  }
  if (v === undefined) return undefined;
  const list = typeof v === 'string' ? [v] : v;
  return list.length === 0 ? undefined : list;
}

// ---- Wildcard patterns with policy variables --------------------------------------------------

/** A compiled pattern: code points, with STAR (`*`) and ONE (`?`) where wildcards stand. */
export type Pattern = Int32Array;

/**
 * How `${...}` is treated: substituted from a request (policy version 2012-10-17), kept as
 * literal text (version 2008-10-17 has no variables), or read as `*` (parse-time checks).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
 */
export type Variables = RequestContext | 'literal' | 'wildcard';

const VARIABLE = /\$\{([^}]*)\}/g;
const VARIABLE_BODY = /^\s*([^\s,']+)\s*(?:,\s*'([^']*)'\s*)?$/;

function pushText(out: number[], text: string, wild: boolean): void {
  for (const c of codePoints(text)) out.push(wild && c === 0x2a ? STAR : wild && c === 0x3f ? ONE : c);
}

function compile(pattern: string, vars: Variables, wildcards: boolean): number[] | null {
  const out: number[] = [];
  if (vars === 'literal') {
    pushText(out, pattern, wildcards);
    return out;
  }
  let last = 0;
  for (const m of pattern.matchAll(VARIABLE)) {
    pushText(out, pattern.slice(last, m.index), wildcards);
    last = m.index + m[0].length;
    const body = m[1]!;
    if (body === '*' || body === '?' || body === '$') {
      pushText(out, body, false); // the documented escapes for characters that are otherwise special
      continue;
    }
    const parsed = VARIABLE_BODY.exec(body);
    if (!parsed) {
      pushText(out, m[0], wildcards);
      continue;
    }
    if (vars === 'wildcard') {
      out.push(STAR);
      continue;
    }
    const values = contextValues(vars, parsed[1]!);
    const value = values?.length === 1 ? values[0] : parsed[2];
    if (value === undefined) return null;
    pushText(out, value, false);
  }
  pushText(out, pattern.slice(last), wildcards);
  return out;
}

/** Compiles `pattern`; null when a variable has no value and no default (nothing can match). */
export function compilePattern(pattern: string, vars: Variables, wildcards = true): Pattern | null {
  if (vars === 'literal' || !pattern.includes('${')) {
    // The common case, without variables: one pass over the code points, no intermediate array.
    const out = codePoints(pattern);
    if (wildcards)
      for (let i = 0; i < out.length; i++) out[i] = out[i] === 0x2a ? STAR : out[i] === 0x3f ? ONE : out[i]!;
    return out;
  }
  const p = compile(pattern, vars, wildcards);
  return p === null ? null : Int32Array.from(p);
}

/** Substitutes variables into a literal value (StringEquals and friends); null when unresolved. */
export function resolveVariables(value: string, vars: Variables): string | null {
  if (vars === 'literal' || !value.includes('${')) return value;
  const p = compile(value, vars, false);
  if (p === null) return null;
  let s = '';
  for (let i = 0; i < p.length; i += 4096) s += String.fromCodePoint(...p.slice(i, i + 4096));
  return s;
}

export function patternMatches(p: Pattern, text: string): boolean {
  return globMatches(p, codePoints(text));
}

/** True when some string starting with `prefix` matches the pattern. */
export function patternAllowsPrefix(p: Pattern, prefix: string): boolean {
  return globAllowsPrefix(p, codePoints(prefix));
}

// ---- IP addresses -----------------------------------------------------------------------------

interface Ip {
  v6: boolean;
  value: bigint;
}
export interface Cidr {
  v6: boolean;
  net: bigint;
  bits: number;
}

function parseV4(s: string): bigint | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return null;
    v = (v << 8n) | BigInt(Number(part));
  }
  return v;
}

function parseV6(s: string): bigint | null {
  let groups: string[];
  let tail: bigint | null = null;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    tail = parseV4(s.slice(lastColon + 1));
    if (tail === null) return null;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const split = (h: string): string[] => (h === '' ? [] : h.split(':'));
  if (halves.length === 2) {
    const head = split(halves[0]!);
    const rest = split(halves[1]!);
    if (head.length + rest.length > 7) return null;
    groups = [...head, ...Array<string>(8 - head.length - rest.length).fill('0'), ...rest];
  } else {
    groups = split(s);
  }
  if (groups.length !== 8) return null;
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  return tail === null ? v : v | tail;
}

const MAPPED_V4 = 0xffffn << 32n;

/** Parses an address; an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, as Node reports) is IPv4. */
function parseIp(s: string): Ip | null {
  if (!s.includes(':')) {
    const v4 = parseV4(s);
    return v4 === null ? null : { v6: false, value: v4 };
  }
  const v6 = parseV6(s);
  if (v6 === null) return null;
  return v6 >> 32n === 0xffffn ? { v6: false, value: v6 - MAPPED_V4 } : { v6: true, value: v6 };
}

export function parseCidr(s: string): Cidr | null {
  const [addr, len, extra] = s.trim().split('/');
  if (extra !== undefined || addr === undefined) return null;
  const v6 = addr.includes(':');
  const value = v6 ? parseV6(addr) : parseV4(addr);
  const max = v6 ? 128 : 32;
  if (value === null || (len !== undefined && !/^\d{1,3}$/.test(len))) return null;
  const bits = len === undefined ? max : Number(len);
  if (bits > max) return null;
  return { v6, net: value >> BigInt(max - bits), bits };
}

export function cidrContains(c: Cidr, address: string): boolean {
  const ip = parseIp(address.trim());
  if (!ip || ip.v6 !== c.v6) return false;
  return ip.value >> BigInt((c.v6 ? 128 : 32) - c.bits) === c.net;
}

// ---- Scalar parsing ---------------------------------------------------------------------------

/** IAM dates are ISO 8601 or epoch seconds. */
export function parseDate(s: string): number | null {
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  if (!/^\d{4}-\d{2}-\d{2}/.test(s)) return null;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

export function parseNumber(s: string): number | null {
  return /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(s.trim()) ? Number(s) : null;
}

// ---- Condition operators ----------------------------------------------------------------------
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html

type Family = 'string' | 'numeric' | 'date' | 'bool' | 'ip' | 'arn' | 'binary' | 'null';
type Test = (policy: string, actual: string, vars: Variables) => boolean;
interface OperatorSpec {
  name: string;
  family: Family;
  negated: boolean;
  test: Test;
}

const ORDER: Array<[string, boolean, (actual: number, policy: number) => boolean]> = [
  ['Equals', false, (a, p) => a === p],
  ['NotEquals', true, (a, p) => a === p],
  ['LessThan', false, (a, p) => a < p],
  ['LessThanEquals', false, (a, p) => a <= p],
  ['GreaterThan', false, (a, p) => a > p],
  ['GreaterThanEquals', false, (a, p) => a >= p],
];

const stringEquals: Test = (p, a, v) => resolveVariables(p, v) === a;
const stringEqualsIgnoreCase: Test = (p, a, v) => resolveVariables(p, v)?.toLowerCase() === a.toLowerCase();
const stringLike: Test = (p, a, v) => {
  const c = compilePattern(p, v);
  return c !== null && patternMatches(c, a);
};
/** ARNs compare component by component, so a wildcard never spans a `:` of the first five. */
const arnLike: Test = (p, a, v) => {
  const split = (s: string): string[] => {
    const parts = s.split(':');
    return [...parts.slice(0, 5), parts.slice(5).join(':')];
  };
  const pp = split(p);
  const ap = split(a);
  return a.split(':').length >= 6 && pp.every((part, i) => stringLike(part, ap[i]!, v));
};

const SPECS: OperatorSpec[] = [
  { name: 'StringEquals', family: 'string', negated: false, test: stringEquals },
  { name: 'StringNotEquals', family: 'string', negated: true, test: stringEquals },
  { name: 'StringEqualsIgnoreCase', family: 'string', negated: false, test: stringEqualsIgnoreCase },
  { name: 'StringNotEqualsIgnoreCase', family: 'string', negated: true, test: stringEqualsIgnoreCase },
  { name: 'StringLike', family: 'string', negated: false, test: stringLike },
  { name: 'StringNotLike', family: 'string', negated: true, test: stringLike },
  ...ORDER.map(
    ([suffix, negated, cmp]): OperatorSpec => ({
      name: `Numeric${suffix}`,
      family: 'numeric',
      negated,
      test: (p, a) => {
        const x = parseNumber(a);
        return x !== null && cmp(x, Number(p));
      },
    }),
  ),
  ...ORDER.map(
    ([suffix, negated, cmp]): OperatorSpec => ({
      name: `Date${suffix}`,
      family: 'date',
      negated,
      test: (p, a) => {
        const x = parseDate(a);
        return x !== null && cmp(x, parseDate(p)!);
      },
    }),
  ),
  { name: 'Bool', family: 'bool', negated: false, test: (p, a) => p.toLowerCase() === a.toLowerCase() },
  { name: 'BinaryEquals', family: 'binary', negated: false, test: (p, a) => p === a },
  { name: 'IpAddress', family: 'ip', negated: false, test: (p, a) => cidrContains(parseCidr(p)!, a) },
  { name: 'NotIpAddress', family: 'ip', negated: true, test: (p, a) => cidrContains(parseCidr(p)!, a) },
  { name: 'ArnEquals', family: 'arn', negated: false, test: arnLike },
  { name: 'ArnLike', family: 'arn', negated: false, test: arnLike },
  { name: 'ArnNotEquals', family: 'arn', negated: true, test: arnLike },
  { name: 'ArnNotLike', family: 'arn', negated: true, test: arnLike },
  { name: 'Null', family: 'null', negated: false, test: () => false },
];
const BY_NAME = new Map(SPECS.map((s) => [s.name.toLowerCase(), s]));

export type SetQualifier = 'ForAnyValue' | 'ForAllValues';

/** One operator/key pair of a Condition block, normalized. */
export interface Condition {
  /** The operator as written, e.g. `ForAnyValue:StringLikeIfExists`. */
  operator: string;
  /** The base operator, canonical spelling, e.g. `StringLike`. */
  test: string;
  set: SetQualifier | null;
  ifExists: boolean;
  /** Lower-case key name. */
  key: string;
  values: string[];
}

const malformed = (reason: string): StorageError => new StorageError('MalformedPolicy', reason);

function parseOperator(op: string): { spec: OperatorSpec; set: SetQualifier | null; ifExists: boolean } {
  let rest = op;
  let set: SetQualifier | null = null;
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    const q = rest.slice(0, colon).toLowerCase();
    if (q === 'foranyvalue') set = 'ForAnyValue';
    else if (q === 'forallvalues') set = 'ForAllValues';
    else throw malformed(`Invalid Condition type : ${op}`);
    rest = rest.slice(colon + 1);
  }
  const ifExists = /ifexists$/i.test(rest);
  if (ifExists) rest = rest.slice(0, -'IfExists'.length);
  const spec = BY_NAME.get(rest.toLowerCase());
  // The Null check tests presence itself, so IfExists on it is meaningless (IAM docs, "...IfExists").
  if (!spec || (spec.family === 'null' && (ifExists || set))) throw malformed(`Invalid Condition type : ${op}`);
  return { spec, set, ifExists };
}

function valueProblem(family: Family, v: string): boolean {
  switch (family) {
    case 'numeric':
      return parseNumber(v) === null;
    case 'date':
      return parseDate(v) === null;
    case 'bool':
    case 'null':
      return !/^(true|false)$/i.test(v);
    case 'ip':
      return parseCidr(v) === null;
    default:
      return false;
  }
}

function conditionValues(raw: unknown): string[] | null {
  const list = Array.isArray(raw) ? raw : [raw];
  const out: string[] = [];
  for (const v of list) {
    if (typeof v === 'string') out.push(v);
    else if (typeof v === 'number' || typeof v === 'boolean') out.push(String(v));
    else return null;
  }
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates and normalizes a statement's `Condition` element; throws MalformedPolicy. */
export function parseConditionBlock(raw: unknown): Condition[] {
  if (!isObject(raw)) throw malformed('Condition must be an object');
  const out: Condition[] = [];
  for (const [operator, keys] of Object.entries(raw)) {
    const { spec, set, ifExists } = parseOperator(operator);
    if (!isObject(keys) || Object.keys(keys).length === 0) throw malformed(`Invalid Condition block for ${operator}`);
    for (const [key, rawValues] of Object.entries(keys)) {
      // DEVIATION: AWS also refuses keys outside its catalogue; Cellar checks only the shape,
      // and a key it never fills is simply absent at evaluation.
      if (!/^[A-Za-z0-9-]+:\S+$/.test(key)) throw malformed(`Policy has an invalid condition key: ${key}`);
      const values = conditionValues(rawValues);
      if (values === null) throw malformed(`Invalid Condition value for ${operator} ${key}`);
      const bad = values.find((v) => valueProblem(spec.family, v));
      if (bad !== undefined) throw malformed(`Invalid Condition value for ${operator} ${key}: ${bad}`);
      out.push({ operator, test: spec.name, set, ifExists, key: key.toLowerCase(), values });
    }
  }
  return out;
}

/**
 * One condition against the request. A missing key makes a positive operator false and a
 * negated one true; `...IfExists` makes it true; `ForAllValues` holds on an empty set and
 * `ForAnyValue` does not (IAM docs, "Condition operators" and "Set operators").
 */
export function evaluateCondition(c: Condition, ctx: RequestContext, vars: Variables): boolean {
  const spec = BY_NAME.get(c.test.toLowerCase())!;
  const actual = contextValues(ctx, c.key);
  if (spec.family === 'null') return c.values.some((v) => (v.toLowerCase() === 'true') === (actual === undefined));
  if (actual === undefined) {
    if (c.ifExists) return true;
    if (c.set === 'ForAllValues') return true;
    if (c.set === 'ForAnyValue') return false;
    return spec.negated;
  }
  const hit = (a: string): boolean => c.values.some((p) => spec.test(p, a, vars));
  const ok = (a: string): boolean => (spec.negated ? !hit(a) : hit(a));
  if (c.set === 'ForAllValues') return actual.every(ok);
  if (c.set === 'ForAnyValue') return actual.some(ok);
  return spec.negated ? actual.every(ok) : actual.some(ok);
}
