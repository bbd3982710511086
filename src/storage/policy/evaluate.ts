import {
  compilePattern,
  evaluateCondition,
  patternMatches,
  type RequestContext,
  type Variables,
} from './conditions.js';
import type { Principal, PolicyDocument, PrincipalSet, Statement } from './document.js';

export interface PolicyRequest {
  principal: Principal;
  /** IAM action, e.g. `s3:GetObject`. */
  action: string;
  /** `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`. */
  resource: string;
  context: RequestContext;
}

export type PolicyDecision = 'allow' | 'deny' | 'none';

function principalIn(set: PrincipalSet, p: Principal): boolean {
  // Only a wildcard names the anonymous user (S3 user guide, "Principals").
  if (set.wildcard) return true;
  return p.type === 'addon' && set.addonIds.includes(p.id);
}

function anyMatches(patterns: string[], text: string, vars: Variables): boolean {
  return patterns.some((pattern) => {
    const p = compilePattern(pattern, vars);
    return p !== null && patternMatches(p, text);
  });
}

function applies(st: Statement, req: PolicyRequest, vars: Variables): boolean {
  if (principalIn(st.principal, req.principal) === st.principal.negated) return false;
  // Action names are case-insensitive and never hold policy variables.
  if (anyMatches(st.action.patterns, req.action.toLowerCase(), 'literal') === st.action.negated) return false;
  if (anyMatches(st.resource.patterns, req.resource, vars) === st.resource.negated) return false;
  return st.conditions.every((c) => evaluateCondition(c, req.context, vars));
}

/**
 * The bucket policy's verdict: an explicit Deny beats any Allow, and no matching statement
 * leaves the decision to the rest of the chain (IAM "Policy evaluation logic").
 */
export function evaluatePolicy(doc: PolicyDocument, req: PolicyRequest): PolicyDecision {
  // Policy variables exist only in the 2012-10-17 grammar; older documents keep `${` literally.
  const vars: Variables = doc.version === '2012-10-17' ? req.context : 'literal';
  let allowed = false;
  for (const st of doc.statements) {
    if (!applies(st, req, vars)) continue;
    if (st.effect === 'Deny') return 'deny';
    allowed = true;
  }
  return allowed ? 'allow' : 'none';
}

/**
 * Whether some statement could allow `action` to `principal` on some resource of the bucket,
 * whatever the request: resources and conditions are not looked at. An over-approximation, for
 * refusing a request before reading a body that names the resources (DeleteObjects).
 */
export function policyMayAllow(doc: PolicyDocument, principal: Principal, action: string): boolean {
  return doc.statements.some(
    (st) =>
      st.effect === 'Allow' &&
      principalIn(st.principal, principal) !== st.principal.negated &&
      anyMatches(st.action.patterns, action.toLowerCase(), 'literal') !== st.action.negated,
  );
}
