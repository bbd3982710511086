import { StorageError } from '../errors.js';
import type { Permission } from './actions.js';
import type { Principal } from './document.js';

export type Grantee =
  | { type: 'CanonicalUser'; id: string; displayName?: string }
  | { type: 'Group'; uri: string }
  | { type: 'AmazonCustomerByEmail'; email: string };
export interface Grant {
  grantee: Grantee;
  permission: Permission;
}
export interface Owner {
  id: string;
  displayName: string;
}
export interface Acl {
  owner: Owner;
  grants: Grant[];
}

export const ALL_USERS_URI = 'http://acs.amazonaws.com/groups/global/AllUsers';
export const AUTHENTICATED_USERS_URI = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';
export const LOG_DELIVERY_URI = 'http://acs.amazonaws.com/groups/s3/LogDelivery';
const GROUP_URIS = new Set([ALL_USERS_URI, AUTHENTICATED_USERS_URI, LOG_DELIVERY_URI]);

export const CANNED_ACLS = [
  'private',
  'public-read',
  'public-read-write',
  'authenticated-read',
  'aws-exec-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
  'log-delivery-write',
] as const;
export type CannedAcl = (typeof CANNED_ACLS)[number];

const user = (o: Owner, permission: Permission): Grant => ({
  grantee: { type: 'CanonicalUser', id: o.id, displayName: o.displayName },
  permission,
});
const group = (uri: string, permission: Permission): Grant => ({ grantee: { type: 'Group', uri }, permission });

/**
 * The ACL a canned name stands for (S3 user guide, "Canned ACL"). `owner` owns the resource;
 * `bucketOwner` matters only for the bucket-owner-* names, which collapse to `private` when
 * both are the same add-on (as on a bucket, where AWS ignores them).
 */
export function cannedAcl(name: string, owner: Owner, bucketOwner: Owner): Acl {
  const grants: Grant[] = [user(owner, 'FULL_CONTROL')];
  const other = bucketOwner.id !== owner.id;
  switch (name as CannedAcl) {
    case 'private':
    // DEVIATION: aws-exec-read also grants READ to Amazon EC2, which has no Cellar counterpart.
    case 'aws-exec-read':
      break;
    case 'public-read':
      grants.push(group(ALL_USERS_URI, 'READ'));
      break;
    case 'public-read-write':
      grants.push(group(ALL_USERS_URI, 'READ'), group(ALL_USERS_URI, 'WRITE'));
      break;
    case 'authenticated-read':
      grants.push(group(AUTHENTICATED_USERS_URI, 'READ'));
      break;
    case 'bucket-owner-read':
      if (other) grants.push(user(bucketOwner, 'READ'));
      break;
    case 'bucket-owner-full-control':
      if (other) grants.push(user(bucketOwner, 'FULL_CONTROL'));
      break;
    case 'log-delivery-write':
      grants.push(group(LOG_DELIVERY_URI, 'WRITE'), group(LOG_DELIVERY_URI, 'READ_ACP'));
      break;
    default:
      throw new StorageError('InvalidArgument', `Invalid canned ACL: ${name}`, {
        ArgumentName: 'x-amz-acl',
        ArgumentValue: name,
      });
  }
  return { owner, grants };
}

const GRANT_HEADERS: Array<[string, Permission]> = [
  ['x-amz-grant-read', 'READ'],
  ['x-amz-grant-write', 'WRITE'],
  ['x-amz-grant-read-acp', 'READ_ACP'],
  ['x-amz-grant-write-acp', 'WRITE_ACP'],
  ['x-amz-grant-full-control', 'FULL_CONTROL'],
];

type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  const v = key === undefined ? undefined : headers[key];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Splits on commas outside double quotes. */
function splitList(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of value) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  out.push(cur);
  return out;
}

const ITEM = /^([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^"\s]+))$/;

function parseGrantee(item: string, headerName: string, headerValue: string): Grantee {
  const bad = (why: string): StorageError =>
    new StorageError('InvalidArgument', why, { ArgumentName: headerName, ArgumentValue: headerValue });
  const m = ITEM.exec(item.trim());
  if (!m) throw bad('Invalid grant header value');
  const key = m[1]!.toLowerCase();
  const value = (m[2] ?? m[3]!).trim();
  if (value === '') throw bad('Invalid grant header value');
  switch (key) {
    case 'id':
      return { type: 'CanonicalUser', id: value };
    case 'uri':
      if (!GROUP_URIS.has(value)) throw bad(`Invalid group uri: ${value}`);
      return { type: 'Group', uri: value };
    case 'emailaddress':
      if (!/^[^@\s]+@[^@\s]+$/.test(value)) throw bad(`Invalid email address: ${value}`);
      return { type: 'AmazonCustomerByEmail', email: value };
    default:
      throw bad(`Invalid grantee type: ${m[1]!}`);
  }
}

const sameGrantee = (a: Grantee, b: Grantee): boolean =>
  (a.type === 'CanonicalUser' && b.type === 'CanonicalUser' && a.id === b.id) ||
  (a.type === 'Group' && b.type === 'Group' && a.uri === b.uri) ||
  (a.type === 'AmazonCustomerByEmail' &&
    b.type === 'AmazonCustomerByEmail' &&
    a.email.toLowerCase() === b.email.toLowerCase());

/**
 * The ACL given by `x-amz-grant-*` headers (`id="..."`, `uri="..."`, `emailAddress="..."`,
 * comma-separated), or null when there are none. Explicit grants replace the default ACL,
 * so the owner is not added. Combining them with `x-amz-acl` is an InvalidRequest, as AWS.
 */
export function aclFromGrantHeaders(headers: Headers, owner: Owner): Acl | null {
  const grants: Grant[] = [];
  let seen = false;
  for (const [name, permission] of GRANT_HEADERS) {
    const value = header(headers, name);
    if (value === undefined) continue;
    seen = true;
    for (const item of splitList(value)) {
      const grantee = parseGrantee(item, name, value);
      if (!grants.some((g) => g.permission === permission && sameGrantee(g.grantee, grantee)))
        grants.push({ grantee, permission });
    }
  }
  if (!seen) return null;
  if (header(headers, 'x-amz-acl') !== undefined) {
    throw new StorageError('InvalidRequest', 'Specifying both Canned ACLs and Header Grants is not allowed');
  }
  return { owner, grants };
}

function granteeIncludes(g: Grantee, p: Principal): boolean {
  switch (g.type) {
    case 'CanonicalUser':
      return p.type === 'addon' && p.id === g.id;
    case 'Group':
      return g.uri === ALL_USERS_URI || (g.uri === AUTHENTICATED_USERS_URI && p.type === 'addon');
    case 'AmazonCustomerByEmail':
      // Unresolved addresses match nobody; the caller stores them resolved to ids.
      return false;
  }
}

/**
 * Whether the ACL grants `permission` to the principal. FULL_CONTROL implies every permission.
 * The owner gets nothing implicitly here: AWS ACLs carry an explicit owner grant.
 */
export function aclAllows(acl: Acl, principal: Principal, permission: Permission): boolean {
  return acl.grants.some(
    (g) => (g.permission === permission || g.permission === 'FULL_CONTROL') && granteeIncludes(g.grantee, principal),
  );
}
