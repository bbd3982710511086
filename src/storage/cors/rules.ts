/**
 * Bucket CORS rules: validation as PutBucketCors does it, first-match evaluation and the
 * response headers. Behaviour follows AWS as recorded against it (LocalStack's AWS-validated
 * test_s3_cors snapshots, ceph s3-tests) where the docs (cors.html, ManageCorsUsing.html,
 * RESTOPTIONSobject.html) are silent.
 */
import { StorageError } from '../errors.js';

export interface CorsRule {
  id?: string;
  allowedOrigins: string[];
  allowedMethods: string[];
  allowedHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds?: number;
}

/** API_CORSRule.html: "Valid values are GET, PUT, HEAD, POST, and DELETE" (upper case only). */
export const CORS_METHODS: ReadonlySet<string> = new Set(['GET', 'PUT', 'POST', 'DELETE', 'HEAD']);
/** API_CORSConfiguration.html: "You can add up to 100 rules to the configuration." */
export const MAX_CORS_RULES = 100;
/** API_CORSRule.html: the ID "cannot be longer than 255 characters". */
export const MAX_CORS_ID_LENGTH = 255;

const MALFORMED = 'The XML you provided was not well-formed or did not validate against our published schema';

function malformed(): StorageError {
  return new StorageError('MalformedXML', MALFORMED);
}

function wildcards(s: string): number {
  return s.split('*').length - 1;
}

function validateRule(rule: CorsRule): void {
  // "Each CORSRule must identify at least one origin and one method": a schema failure.
  if (rule.allowedOrigins.length === 0 || rule.allowedMethods.length === 0) throw malformed();
  for (const method of rule.allowedMethods) {
    if (!CORS_METHODS.has(method)) {
      throw new StorageError(
        'InvalidRequest',
        `Found unsupported HTTP method in CORS config. Unsupported method is ${method}`,
      );
    }
  }
  for (const origin of rule.allowedOrigins) {
    if (wildcards(origin) > 1) {
      throw new StorageError('InvalidRequest', `AllowedOrigin "${origin}" can not have more than one wildcard.`);
    }
  }
  for (const header of rule.allowedHeaders) {
    if (wildcards(header) > 1) {
      throw new StorageError('InvalidRequest', `AllowedHeader "${header}" can not have more than one wildcard.`);
    }
  }
  for (const header of rule.exposeHeaders) {
    if (header.includes('*')) {
      throw new StorageError(
        'InvalidRequest',
        `ExposeHeader "${header}" contains wildcard. We currently do not support wildcard for ExposeHeader.`,
      );
    }
  }
  // Not recorded against AWS: the codes for these two bounds follow RustFS's reading of the docs.
  if (rule.id !== undefined && rule.id.length > MAX_CORS_ID_LENGTH) {
    throw new StorageError(
      'InvalidArgument',
      `The ID of a CORSRule cannot be longer than ${MAX_CORS_ID_LENGTH} characters.`,
    );
  }
  if (rule.maxAgeSeconds !== undefined && !(Number.isSafeInteger(rule.maxAgeSeconds) && rule.maxAgeSeconds >= 0)) {
    throw new StorageError('InvalidArgument', 'MaxAgeSeconds must be a non-negative integer.');
  }
}

/** Returns the rules unchanged when AWS would accept them; throws StorageError otherwise. */
export function validateCorsRules(rules: CorsRule[]): CorsRule[] {
  if (rules.length === 0) throw malformed();
  if (rules.length > MAX_CORS_RULES) {
    throw new StorageError('InvalidRequest', `The CORS configuration allows a maximum of ${MAX_CORS_RULES} CORSRules.`);
  }
  for (const rule of rules) validateRule(rule);
  return rules;
}

/** `*` matches any run of characters, the empty one included; the rest is literal and anchored. */
function wildcardMatch(pattern: string, value: string): boolean {
  const star = pattern.indexOf('*');
  if (star < 0) return pattern === value;
  const head = pattern.slice(0, star);
  const tail = pattern.slice(star + 1);
  if (tail.includes('*')) return false; // validation forbids it; never widen a broken rule
  return value.length >= head.length + tail.length && value.startsWith(head) && value.endsWith(tail);
}

/**
 * `Access-Control-Request-Headers` as the list of names: split on ',', trimmed, lower-cased,
 * empties dropped (RFC 9110 §5.6.1 lists).
 */
export function parseCorsRequestHeaders(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const joined = Array.isArray(value) ? value.join(',') : value;
  return joined
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
}

/**
 * The first rule allowing this origin, method and every requested header (cors.html: "uses the
 * first CORSRule rule that matches"). Origins match case-sensitively, as Ceph RGW and s3rver do
 * (browsers serialise origins in lower case anyway); header names match case-insensitively.
 * For an actual (non-preflight) request pass the request's method and no headers: AWS checks
 * request headers only on preflights. An empty origin is "no Origin": never a CORS request.
 */
export function matchCorsRule(
  rules: CorsRule[],
  origin: string,
  method: string,
  requestHeaders: string[],
): CorsRule | null {
  if (origin === '') return null;
  const wanted = requestHeaders.map((h) => h.trim().toLowerCase()).filter((h) => h !== '');
  for (const rule of rules) {
    if (!rule.allowedOrigins.some((o) => wildcardMatch(o, origin))) continue;
    if (!rule.allowedMethods.includes(method)) continue;
    const allowed = rule.allowedHeaders.map((h) => h.toLowerCase());
    if (!wanted.every((h) => allowed.some((a) => wildcardMatch(a, h)))) continue;
    return rule;
  }
  return null;
}

/** S3 varies every CORS answer on all three request headers, preflight or not. */
export const CORS_VARY = 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method';

/**
 * Headers for a request `matchCorsRule` accepted. As AWS answers (recorded responses):
 * - Allow-Origin: '*' when the rule allows the origin '*', with no Allow-Credentials; otherwise
 *   the request's Origin echoed, with `Allow-Credentials: true`;
 * - Allow-Methods: the rule's methods, Max-Age and Expose-Headers when the rule sets them, on
 *   preflights and actual requests alike;
 * - Allow-Headers: on preflights only, the requested names (lower case, request order);
 * - Vary: CORS_VARY on both.
 */
export function corsResponseHeaders(
  rule: CorsRule,
  origin: string,
  opts: { preflight: boolean; requestHeaders: string[]; method: string },
): Record<string, string> {
  const headers: Record<string, string> = {};
  if (rule.allowedOrigins.includes('*')) {
    headers['Access-Control-Allow-Origin'] = '*';
  } else {
    headers['Access-Control-Allow-Origin'] = origin;
    headers['Access-Control-Allow-Credentials'] = 'true';
  }
  headers['Access-Control-Allow-Methods'] = rule.allowedMethods.join(', ');
  const requested = opts.requestHeaders.map((h) => h.trim().toLowerCase()).filter((h) => h !== '');
  if (opts.preflight && requested.length > 0) headers['Access-Control-Allow-Headers'] = requested.join(', ');
  if (rule.maxAgeSeconds !== undefined) headers['Access-Control-Max-Age'] = String(rule.maxAgeSeconds);
  // Stored values are not checked as header names (AWS accepts any), so one holding a control
  // character or space is left out rather than breaking the response (Ceph escapes them).
  const expose = rule.exposeHeaders.filter((h) => /^[\x21-\x7e]+$/.test(h));
  if (expose.length > 0) headers['Access-Control-Expose-Headers'] = expose.join(', ');
  headers['Vary'] = CORS_VARY;
  return headers;
}
