/**
 * Website configuration as plain data (the XML codec lives in s3api/) and its validation, with
 * the codes and messages AWS answers PutBucketWebsite with (API_PutBucketWebsite.html; messages
 * as recorded against AWS by LocalStack's validated tests and the Ceph RGW website notes).
 */
import { StorageError } from '../errors.js';

export interface RoutingRule {
  condition?: { keyPrefixEquals?: string; httpErrorCodeReturnedEquals?: string };
  redirect: {
    protocol?: 'http' | 'https';
    hostName?: string;
    replaceKeyPrefixWith?: string;
    replaceKeyWith?: string;
    httpRedirectCode?: string;
  };
}

export interface WebsiteConfig {
  indexDocument?: { suffix: string };
  errorDocument?: { key: string };
  redirectAllRequestsTo?: { hostName: string; protocol?: 'http' | 'https' };
  routingRules?: RoutingRule[];
}

/**
 * Cellar serves public buckets as websites without any PutBucketWebsite (its docs never mention
 * one), so a bucket with no stored configuration behaves as this.
 */
export const DEFAULT_INDEX_SUFFIX = 'index.html';
export const DEFAULT_WEBSITE_CONFIG: Readonly<WebsiteConfig> = Object.freeze({
  indexDocument: Object.freeze({ suffix: DEFAULT_INDEX_SUFFIX }),
});

export function indexSuffixOf(cfg: WebsiteConfig | undefined): string {
  return cfg?.indexDocument?.suffix ?? DEFAULT_INDEX_SUFFIX;
}

/** AWS's limit (API_PutBucketWebsite.html: "up to 50 routing rules"). Garage allows 1000. */
export const MAX_ROUTING_RULES = 50;

/**
 * "Valid codes are 3XX except 300", yet AWS answers 306 and 309..399 with that same error; the
 * codes it really accepts were probed by the Ceph RGW website work (robbat2's notes).
 */
export const WEBSITE_REDIRECT_CODES: ReadonlySet<number> = new Set([301, 302, 303, 304, 305, 307, 308]);

/**
 * Garage's extension: a rule conditioned on a 404 may answer 200 or 404 with another key of the
 * bucket instead of redirecting (SPA fallback, shared not-found page).
 */
export const WEBSITE_SERVE_CODES: ReadonlySet<number> = new Set([200, 404]);

const MALFORMED = 'The XML you provided was not well-formed or did not validate against our published schema';
const BAD_PROTOCOL =
  'Invalid protocol, protocol can be http or https. If not defined the protocol will be selected automatically.';

function malformed(): StorageError {
  return new StorageError('MalformedXML', MALFORMED);
}

function invalidRequest(message: string): StorageError {
  return new StorageError('InvalidRequest', message);
}

/**
 * A HostName goes verbatim into a Location header: CR/LF there would inject headers and any
 * character outside Latin-1 makes Node refuse the header (a 500 on every request). AWS does not
 * document its check; anything but visible ASCII is refused here (IDNs are written as punycode).
 * Found by test/fuzz/website.test.ts.
 */
function checkHostName(h: string | undefined): void {
  if (h !== undefined && h.trim() !== '' && !/^[\x21-\x7e]+$/.test(h)) {
    throw invalidRequest('The HostName is not a valid host name.');
  }
}

function checkProtocol(p: string | undefined): void {
  if (p !== undefined && p !== 'http' && p !== 'https') throw invalidRequest(BAD_PROTOCOL);
}

/** The status as an integer, or MalformedXML when the element is not a number at all. */
function statusCode(text: string): number {
  if (!/^\s*\d{1,3}\s*$/.test(text)) throw malformed();
  return Number(text.trim());
}

function validateCondition(c: NonNullable<RoutingRule['condition']>): void {
  if (c.keyPrefixEquals === undefined && c.httpErrorCodeReturnedEquals === undefined) {
    throw invalidRequest(
      'Condition cannot be empty. To redirect all requests without a condition, ' +
        "the condition element shouldn't be present.",
    );
  }
  if (c.httpErrorCodeReturnedEquals !== undefined) {
    const code = statusCode(c.httpErrorCodeReturnedEquals);
    if (code < 400 || code > 599) {
      throw invalidRequest(`The provided HTTP error code (${code}) is not valid. Valid codes are 4XX or 5XX.`);
    }
  }
}

function validateRedirect(rule: RoutingRule): void {
  const r = rule.redirect;
  const given = [r.protocol, r.hostName, r.replaceKeyPrefixWith, r.replaceKeyWith, r.httpRedirectCode];
  // The schema marks Redirect required with at least one child; an empty one redirects nowhere.
  if (given.every((v) => v === undefined)) throw malformed();
  checkProtocol(r.protocol);
  checkHostName(r.hostName);
  if (r.hostName !== undefined && r.hostName.trim() === '') {
    throw invalidRequest(
      'The HostName cannot be blank. To redirect within the same domain, the element should not be present.',
    );
  }
  if (r.replaceKeyPrefixWith !== undefined && r.replaceKeyWith !== undefined) {
    throw invalidRequest('You can only define ReplaceKeyPrefix or ReplaceKey but not both.');
  }
  if (r.httpRedirectCode === undefined) return;
  const code = statusCode(r.httpRedirectCode);
  if (WEBSITE_REDIRECT_CODES.has(code)) return;
  const on404 =
    rule.condition?.httpErrorCodeReturnedEquals !== undefined &&
    statusCode(rule.condition.httpErrorCodeReturnedEquals) === 404;
  if (WEBSITE_SERVE_CODES.has(code) && on404) {
    // DEVIATION: Garage's 200/404 "serve this key" extension (see WEBSITE_SERVE_CODES). It
    // stays inside the bucket, so another host or protocol makes no sense.
    if (r.hostName !== undefined || r.protocol !== undefined) {
      throw invalidRequest(
        `An HttpRedirectCode of ${code} serves another key of this bucket ` +
          'and cannot be combined with HostName or Protocol.',
      );
    }
    return;
  }
  throw invalidRequest(`The provided HTTP redirect code (${code}) is not valid. Valid codes are 3XX except 300.`);
}

/** Returns the configuration unchanged when AWS would accept it; throws StorageError otherwise. */
export function validateWebsiteConfig(c: WebsiteConfig): WebsiteConfig {
  if (c.redirectAllRequestsTo !== undefined) {
    if (c.indexDocument !== undefined || c.errorDocument !== undefined || c.routingRules !== undefined) {
      throw new StorageError(
        'InvalidArgument',
        'RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules.',
        { ArgumentName: 'RedirectAllRequestsTo', ArgumentValue: 'not null' },
      );
    }
    if (c.redirectAllRequestsTo.hostName.trim() === '') throw malformed();
    checkHostName(c.redirectAllRequestsTo.hostName);
    checkProtocol(c.redirectAllRequestsTo.protocol);
    return c;
  }
  if (c.indexDocument === undefined) {
    throw new StorageError(
      'InvalidArgument',
      'A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty',
      { ArgumentName: 'IndexDocument', ArgumentValue: 'null' },
    );
  }
  const suffix = c.indexDocument.suffix;
  if (suffix === '' || suffix.includes('/')) {
    throw new StorageError('InvalidArgument', 'The IndexDocument Suffix is not well formed', {
      ArgumentName: 'IndexDocument',
      ArgumentValue: suffix,
    });
  }
  if (c.errorDocument !== undefined && c.errorDocument.key === '') throw malformed();
  if (c.routingRules !== undefined) {
    // An empty <RoutingRules/> fails the schema (it needs one RoutingRule).
    if (c.routingRules.length === 0) throw malformed();
    if (c.routingRules.length > MAX_ROUTING_RULES) {
      throw invalidRequest(
        `${c.routingRules.length} routing rules provided, the number of routing rules ` +
          `in a website configuration is limited to ${MAX_ROUTING_RULES}.`,
      );
    }
    for (const rule of c.routingRules) {
      if (rule.condition !== undefined) validateCondition(rule.condition);
      validateRedirect(rule);
    }
  }
  return c;
}
