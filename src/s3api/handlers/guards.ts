/**
 * Bucket guards: PublicAccessBlock (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutPublicAccessBlock.html)
 * and OwnershipControls (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketOwnershipControls.html).
 * What they enforce lives in authorize() and anonymousRead() (storage) and in ../acl-guard.ts.
 */
import { OBJECT_OWNERSHIPS, type BucketInfo, type ObjectOwnership, type PublicAccessBlock } from '#storage';
import { bucketAclAllowsEnforced } from '../acl-guard.js';
import { readSmallBody } from '../body.js';
import { header, type S3Context } from '../context.js';
import { S3Error } from '../errors.js';
import { sendEmpty, sendXml } from '../respond.js';
import { child, children, parseXml, text, type XmlValue } from '../xml.js';

const PAB_FIELDS = {
  BlockPublicAcls: 'blockPublicAcls',
  IgnorePublicAcls: 'ignorePublicAcls',
  BlockPublicPolicy: 'blockPublicPolicy',
  RestrictPublicBuckets: 'restrictPublicBuckets',
} as const satisfies Record<string, keyof PublicAccessBlock>;

/** Element names of `node` (attributes such as xmlns aside), or null when it is not an element with children. */
function elementNames(node: XmlValue): string[] | null {
  if (node === '') return [];
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return null;
  return Object.keys(node).filter((k) => !k.startsWith('@_'));
}

async function document(ctx: S3Context, root: string): Promise<XmlValue> {
  const body = await readSmallBody(ctx);
  if (body.length === 0) throw new S3Error('MissingRequestBodyError');
  const doc = child(parseXml(body.toString('utf8')), root);
  if (doc === undefined) throw new S3Error('MalformedXML');
  return doc;
}

/** Each flag at most once, `true` or `false`; a flag left out is false, as AWS stores it. */
export function parsePublicAccessBlock(doc: XmlValue): PublicAccessBlock {
  const names = elementNames(doc);
  if (names === null) throw new S3Error('MalformedXML');
  const pab: PublicAccessBlock = {
    blockPublicAcls: false,
    ignorePublicAcls: false,
    blockPublicPolicy: false,
    restrictPublicBuckets: false,
  };
  for (const name of names) {
    if (!Object.hasOwn(PAB_FIELDS, name)) throw new S3Error('MalformedXML');
    const v = text(doc, name)?.trim().toLowerCase();
    if (v !== 'true' && v !== 'false') throw new S3Error('MalformedXML');
    pab[PAB_FIELDS[name as keyof typeof PAB_FIELDS]] = v === 'true';
  }
  return pab;
}

export async function putPublicAccessBlock(ctx: S3Context, bucket: BucketInfo): Promise<void> {
  const pab = parsePublicAccessBlock(await document(ctx, 'PublicAccessBlockConfiguration'));
  ctx.deps.storage.setBucketPublicAccessBlock(bucket.name, pab);
  sendEmpty(ctx, 200);
}

export function getPublicAccessBlock(ctx: S3Context, bucket: BucketInfo): void {
  const pab = bucket.publicAccessBlock;
  if (!pab) throw new S3Error('NoSuchPublicAccessBlockConfiguration', undefined, { BucketName: bucket.name });
  sendXml(ctx, 'PublicAccessBlockConfiguration', {
    BlockPublicAcls: pab.blockPublicAcls,
    IgnorePublicAcls: pab.ignorePublicAcls,
    BlockPublicPolicy: pab.blockPublicPolicy,
    RestrictPublicBuckets: pab.restrictPublicBuckets,
  });
}

export function deletePublicAccessBlock(ctx: S3Context, bucket: BucketInfo): void {
  ctx.deps.storage.setBucketPublicAccessBlock(bucket.name, null);
  sendEmpty(ctx, 204);
}

function isOwnership(v: string | undefined): v is ObjectOwnership {
  return (OBJECT_OWNERSHIPS as readonly string[]).includes(v ?? '');
}

/** Exactly one Rule with one ObjectOwnership among the three values. */
export function parseOwnershipControls(doc: XmlValue): ObjectOwnership {
  const rules = children(doc, 'Rule');
  if (elementNames(doc)?.join() !== 'Rule' || rules.length !== 1) throw new S3Error('MalformedXML');
  const rule = rules[0];
  const value = text(rule, 'ObjectOwnership')?.trim();
  if (elementNames(rule ?? null)?.join() !== 'ObjectOwnership' || !isOwnership(value))
    throw new S3Error('MalformedXML');
  return value;
}

export async function putBucketOwnershipControls(ctx: S3Context, bucket: BucketInfo): Promise<void> {
  const ownership = parseOwnershipControls(await document(ctx, 'OwnershipControls'));
  // Grants in the bucket ACL would silently stop working: the owner must remove them first
  // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-ownership-migrating-acls-prerequisites.html).
  if (ownership === 'BucketOwnerEnforced' && !bucketAclAllowsEnforced(bucket))
    throw new S3Error('InvalidBucketAclWithObjectOwnership');
  ctx.deps.storage.setBucketOwnership(bucket.name, ownership);
  sendEmpty(ctx, 200);
}

export function getBucketOwnershipControls(ctx: S3Context, bucket: BucketInfo): void {
  if (!bucket.ownership) throw new S3Error('OwnershipControlsNotFoundError', undefined, { BucketName: bucket.name });
  sendXml(ctx, 'OwnershipControls', { Rule: { ObjectOwnership: bucket.ownership } });
}

export function deleteBucketOwnershipControls(ctx: S3Context, bucket: BucketInfo): void {
  ctx.deps.storage.setBucketOwnership(bucket.name, null);
  sendEmpty(ctx, 204);
}

/** CreateBucket's x-amz-object-ownership: one of the three values, or none. */
export function requestedOwnership(ctx: S3Context): ObjectOwnership | null {
  const raw = header(ctx, 'x-amz-object-ownership');
  if (raw === undefined) return null;
  const v = raw.trim();
  if (isOwnership(v)) return v;
  throw new S3Error('InvalidArgument', 'Invalid x-amz-object-ownership header', {
    ArgumentName: 'x-amz-object-ownership',
    ArgumentValue: raw,
  });
}
