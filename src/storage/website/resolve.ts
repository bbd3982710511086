/**
 * Website request path -> object keys, routing rules and redirect targets. Pure: the caller
 * looks the keys up and decides with the answers.
 */
import type { RoutingRule, WebsiteConfig } from './config.js';
import { WEBSITE_SERVE_CODES } from './config.js';

const HEX = /^[0-9A-Fa-f]{2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

function percentDecode(raw: string): string | null {
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; ) {
    if (raw[i] === '%') {
      const hex = raw.slice(i + 1, i + 3);
      if (!HEX.test(hex)) return null;
      bytes.push(parseInt(hex, 16));
      i += 3;
      continue;
    }
    const cp = raw.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    for (const b of encoder.encode(ch)) bytes.push(b);
    i += ch.length;
  }
  try {
    return utf8.decode(new Uint8Array(bytes));
  } catch {
    return null;
  }
}

/** True when more `..` segments than real ones precede them, i.e. the path climbs above `/`. */
function climbsAboveRoot(key: string): boolean {
  let depth = 0;
  for (const segment of key.split('/')) {
    if (segment === '..') {
      depth -= 1;
      if (depth < 0) return true;
    } else if (segment !== '' && segment !== '.') {
      depth += 1;
    }
  }
  return false;
}

/**
 * The object key a website path names. Keys are taken literally as AWS does: `//` and inner
 * `.`/`..` segments stay part of the key (S3 keys may hold them, and browsers resolve dot
 * segments before sending). Refused: a path not starting with '/', a bad `%` escape or invalid
 * UTF-8, a NUL, and `..` that would climb above the bucket root (only hand-made requests do
 * that, and serving them literally would look like a traversal succeeding).
 */
export function pathToKey(rawPath: string): { key: string } | { error: 'bad-path' } {
  if (!rawPath.startsWith('/')) return { error: 'bad-path' };
  const decoded = percentDecode(rawPath);
  if (decoded === null || decoded.includes('\0')) return { error: 'bad-path' };
  const key = decoded.slice(1);
  if (climbsAboveRoot(key)) return { error: 'bad-path' };
  return { key };
}

/**
 * Percent-encodes a key for a URL path: UTF-8 bytes, keeping unreserved characters, '/' and the
 * sub-delimiters that are safe in a path. '+' is encoded because some S3 front ends read it as a
 * space; '%' is encoded because the key is already decoded.
 */
export function encodeWebsitePath(key: string): string {
  let out = '';
  for (const b of encoder.encode(key)) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-._~/!$&'()*,;=:@]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const CLEAN_URL_EXTENSION = '.html';

/**
 * Keys to try, in order, for a website key
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/IndexDocumentSupport.html), plus Cellar's clean URLs:
 * - '' (bucket root) -> the index document;
 * - 'a/' -> 'a/<index>';
 * - 'x' -> 'x', then 'x.html' (Cellar's docs: `/login` is served by `login.html`); when neither
 *   exists and 'x/<index>' does, 302 Found to '/x/' as AWS does.
 */
export function candidateKeys(
  key: string,
  indexSuffix: string,
): { tryKeys: string[]; slashRedirectIfExists?: { key: string; location: string } } {
  if (key === '') return { tryKeys: [indexSuffix] };
  if (key.endsWith('/')) return { tryKeys: [key + indexSuffix] };
  const tryKeys = key.endsWith(CLEAN_URL_EXTENSION) ? [key] : [key, key + CLEAN_URL_EXTENSION];
  return {
    tryKeys,
    // A key starting with '/' would make `//host/...`, a protocol-relative URL to another site
    // (issue 12, F7): its first slash is sent escaped, which pathToKey decodes back to the key.
    slashRedirectIfExists: {
      key: `${key}/${indexSuffix}`,
      location: `/${encodeWebsitePath(key).replace(/^\//, '%2F')}/`,
    },
  };
}

export type RuleOutcome =
  | { type: 'redirect'; status: number; location: string }
  | { type: 'serve'; key: string; status: 200 | 404 }
  | { type: 'none' };

/** AWS default when a rule names no HttpRedirectCode (API_RedirectRule.html). */
const DEFAULT_REDIRECT_CODE = 301;

function conditionMatches(rule: RoutingRule, key: string, httpError: number | null): boolean {
  const c = rule.condition;
  if (c === undefined) return true;
  if (c.keyPrefixEquals !== undefined && !key.startsWith(c.keyPrefixEquals)) return false;
  if (c.httpErrorCodeReturnedEquals !== undefined) {
    return httpError !== null && Number(c.httpErrorCodeReturnedEquals) === httpError;
  }
  return true;
}

function rewriteKey(rule: RoutingRule, key: string): string {
  const r = rule.redirect;
  if (r.replaceKeyWith !== undefined) return r.replaceKeyWith;
  if (r.replaceKeyPrefixWith !== undefined) {
    const prefix = rule.condition?.keyPrefixEquals ?? '';
    return r.replaceKeyPrefixWith + key.slice(prefix.length);
  }
  return key;
}

/**
 * The first rule that matches decides ("Advanced conditional redirects",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/how-to-page-redirect.html). Call it once before the lookup with `httpError` null (only rules without an
 * error condition can match), and again with the error status when the lookup failed.
 * `key` is the requested key before index resolution ('' for the root).
 */
export function applyRoutingRules(
  rules: RoutingRule[],
  key: string,
  httpError: number | null,
  req: { protocol: 'http' | 'https'; host: string },
): RuleOutcome {
  const rule = rules.find((r) => conditionMatches(r, key, httpError));
  if (rule === undefined) return { type: 'none' };
  const target = rewriteKey(rule, key);
  const code =
    rule.redirect.httpRedirectCode === undefined ? DEFAULT_REDIRECT_CODE : Number(rule.redirect.httpRedirectCode);
  if (WEBSITE_SERVE_CODES.has(code)) return { type: 'serve', key: target, status: code as 200 | 404 };
  const protocol = rule.redirect.protocol ?? req.protocol;
  const host = rule.redirect.hostName ?? req.host;
  return { type: 'redirect', status: code, location: `${protocol}://${host}/${encodeWebsitePath(target)}` };
}

/**
 * The 301 target of RedirectAllRequestsTo: same path and query on the other host. The raw
 * request target is kept as sent, except that anything outside visible ASCII is escaped so it
 * cannot break the Location header.
 */
export function redirectAll(
  cfg: NonNullable<WebsiteConfig['redirectAllRequestsTo']>,
  rawPathAndQuery: string,
  reqProtocol: 'http' | 'https',
): string {
  const target = rawPathAndQuery.startsWith('/') ? rawPathAndQuery : `/${rawPathAndQuery}`;
  let safe = '';
  for (const ch of target) {
    safe += /^[\x21-\x7e]$/.test(ch) ? ch : encodeWebsitePath(ch);
  }
  return `${cfg.protocol ?? reqProtocol}://${cfg.hostName}${safe}`;
}
