/**
 * Access-control decisions: bucket policies (parse, validate, evaluate), ACLs, and the
 * combined authorize() order. Pure code: no I/O, no HTTP.
 */
export {
  ALL_USERS_URI,
  AUTHENTICATED_USERS_URI,
  LOG_DELIVERY_URI,
  CANNED_ACLS,
  aclAllows,
  aclFromGrantHeaders,
  cannedAcl,
  type Acl,
  type CannedAcl,
  type Grant,
  type Grantee,
  type Owner,
} from './acl.js';
export {
  S3_ACTIONS,
  aclPermissionFor,
  actionResourceKind,
  type AclRequirement,
  type Permission,
  type ResourceKind,
} from './actions.js';
export { authorize, type AuthorizeInput, type AuthorizeReason, type AuthorizeResult } from './authorize.js';
export {
  anonymousRead,
  storedPolicy,
  type AnonymousRead,
  type AnonymousReadInput,
  type StoredPolicy,
} from './anonymous.js';
export { parseCidr, cidrContains, type Condition, type RequestContext, type SetQualifier } from './conditions.js';
export {
  POLICY_MAX_BYTES,
  POLICY_VERSIONS,
  parsePolicy,
  policyAddonIds,
  type ActionSet,
  type Effect,
  type PolicyDocument,
  type Principal,
  type PrincipalSet,
  type ResourceSet,
  type Statement,
} from './document.js';
export { evaluatePolicy, policyMayAllow, type PolicyDecision, type PolicyRequest } from './evaluate.js';
export { existingObjectTagContext } from './tags.js';
export {
  OBJECT_OWNERSHIPS,
  aclIsPublic,
  effectiveAcl,
  isPublicGrant,
  policyIsPublic,
  restrictedPolicy,
  type BucketGuards,
  type ObjectOwnership,
  type PublicAccessBlock,
} from './guards.js';
