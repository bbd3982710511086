import {
  ALL_USERS_URI,
  AUTHENTICATED_USERS_URI,
  LOG_DELIVERY_URI,
  type Acl,
  type Grant,
  type Grantee,
  type Owner,
  type Permission,
} from '#storage';
import { S3Error } from './errors.js';
import { child, children, parseXml, text, type XmlNode, type XmlValue } from './xml.js';

const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
const PERMISSIONS: Permission[] = ['READ', 'WRITE', 'READ_ACP', 'WRITE_ACP', 'FULL_CONTROL'];
const GROUPS = [ALL_USERS_URI, AUTHENTICATED_USERS_URI, LOG_DELIVERY_URI];

function granteeXml(g: Grantee, displayName: (id: string) => string | undefined): XmlNode {
  switch (g.type) {
    case 'CanonicalUser':
      return {
        '@_xmlns:xsi': XSI,
        '@_xsi:type': 'CanonicalUser',
        ID: g.id,
        DisplayName: g.displayName ?? displayName(g.id),
      };
    case 'Group':
      return { '@_xmlns:xsi': XSI, '@_xsi:type': 'Group', URI: g.uri };
    case 'AmazonCustomerByEmail':
      return { '@_xmlns:xsi': XSI, '@_xsi:type': 'AmazonCustomerByEmail', EmailAddress: g.email };
  }
}

/** The AccessControlPolicy document of GetBucketAcl/GetObjectAcl. */
export function aclToXml(acl: Acl, displayName: (id: string) => string | undefined): XmlNode {
  return {
    Owner: { ID: acl.owner.id, DisplayName: acl.owner.displayName },
    AccessControlList: {
      Grant: acl.grants.map((g) => ({ Grantee: granteeXml(g.grantee, displayName), Permission: g.permission })),
    },
  };
}

export interface GranteeResolver {
  /** The add-on id for an e-mail grant, or null (UnresolvableGrantByEmailAddress). */
  byEmail(email: string): Owner | null;
  /** Whether a canonical id names an add-on. */
  exists(id: string): boolean;
}

function parseGrantee(node: XmlValue, resolve: GranteeResolver): Grantee {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) throw new S3Error('MalformedACLError');
  const type = (node as XmlNode)['@_type'];
  const id = text(node, 'ID');
  const uri = text(node, 'URI');
  const email = text(node, 'EmailAddress');
  if (type === 'CanonicalUser' || (type === undefined && id !== undefined)) {
    if (!id) throw new S3Error('MalformedACLError');
    if (!resolve.exists(id))
      throw new S3Error('InvalidArgument', 'Invalid id', { ArgumentName: 'CanonicalUser/ID', ArgumentValue: id });
    return { type: 'CanonicalUser', id };
  }
  if (type === 'Group' || (type === undefined && uri !== undefined)) {
    if (!uri || !GROUPS.includes(uri))
      throw new S3Error('InvalidArgument', 'Invalid group uri', {
        ArgumentName: 'Group/URI',
        ArgumentValue: uri ?? '',
      });
    return { type: 'Group', uri };
  }
  if (type === 'AmazonCustomerByEmail' || (type === undefined && email !== undefined)) {
    if (!email) throw new S3Error('MalformedACLError');
    const owner = resolve.byEmail(email);
    if (!owner) throw new S3Error('UnresolvableGrantByEmailAddress', undefined, { EmailAddress: email });
    return { type: 'CanonicalUser', id: owner.id, displayName: owner.displayName };
  }
  throw new S3Error('MalformedACLError');
}

/**
 * Parses a PutBucketAcl/PutObjectAcl body. The owner stays the resource's owner: S3 refuses a
 * document naming another owner, and so do we (AccessDenied).
 */
export function aclFromXml(body: string, owner: Owner, resolve: GranteeResolver): Acl {
  const doc = child(parseXml(body, 'MalformedACLError'), 'AccessControlPolicy');
  if (doc === undefined || doc === null || typeof doc !== 'object') throw new S3Error('MalformedACLError');
  const ownerId = text(child(doc, 'Owner'), 'ID');
  if (ownerId !== undefined && ownerId !== owner.id) throw new S3Error('AccessDenied');
  const list = child(doc, 'AccessControlList');
  const grants: Grant[] = [];
  for (const g of children(list ?? null, 'Grant')) {
    const permission = text(g, 'Permission') as Permission | undefined;
    if (!permission || !PERMISSIONS.includes(permission)) throw new S3Error('MalformedACLError');
    grants.push({ grantee: parseGrantee(child(g, 'Grantee') ?? null, resolve), permission });
  }
  return { owner, grants };
}
