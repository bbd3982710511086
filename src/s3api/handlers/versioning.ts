/**
 * PutBucketVersioning and GetBucketVersioning
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketVersioning.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketVersioning.html).
 */
import type { BucketInfo, VersioningStatus } from '#storage';
import { readSmallBody } from '../body.js';
import type { S3Context } from '../context.js';
import { S3Error } from '../errors.js';
import { sendEmpty, sendXml } from '../respond.js';
import { child, parseXml, type XmlValue } from '../xml.js';

const STATUSES: readonly string[] = ['Enabled', 'Suspended'];
const MFA_DELETE: readonly string[] = ['Enabled', 'Disabled'];

/** The single text value of element `name` in `doc`; undefined when absent, MalformedXML when repeated or not text. */
function field(doc: XmlValue, name: string): string | undefined {
  const v = child(doc, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new S3Error('MalformedXML');
  return v;
}

/**
 * The Status of a VersioningConfiguration document. Anything but Enabled or Suspended is
 * MalformedXML. MfaDelete cannot be honoured (no MFA device exists here), so any request
 * carrying it is refused as AWS refuses one without a valid x-amz-mfa: AccessDenied, "Mfa
 * Authentication must be used for this request"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiFactorAuthenticationDelete.html).
 */
export function parseVersioningConfiguration(text: string): VersioningStatus {
  const doc = child(parseXml(text), 'VersioningConfiguration');
  if (doc === undefined || doc === null || (typeof doc !== 'object' && doc !== '') || Array.isArray(doc))
    throw new S3Error('MalformedXML');
  const names = doc === '' ? [] : Object.keys(doc).filter((k) => !k.startsWith('@_'));
  if (names.some((n) => n !== 'Status' && n !== 'MfaDelete')) throw new S3Error('MalformedXML');
  const status = field(doc, 'Status');
  const mfa = field(doc, 'MfaDelete');
  if (status !== undefined && !STATUSES.includes(status)) throw new S3Error('MalformedXML');
  if (mfa !== undefined && !MFA_DELETE.includes(mfa)) throw new S3Error('MalformedXML');
  // DEVIATION: with a valid x-amz-mfa AWS would apply MfaDelete; with no MFA devices here, no
  // value of the header can be valid, so the answer is always the one AWS gives without it.
  if (mfa !== undefined) throw new S3Error('AccessDenied', 'Mfa Authentication must be used for this request');
  if (status === undefined) throw new S3Error('MalformedXML');
  return status as VersioningStatus;
}

export async function putBucketVersioning(ctx: S3Context, bucket: BucketInfo): Promise<void> {
  const body = await readSmallBody(ctx);
  if (body.length === 0) throw new S3Error('MalformedXML');
  ctx.deps.storage.setBucketVersioning(bucket.name, parseVersioningConfiguration(body.toString('utf8')));
  sendEmpty(ctx, 200);
}

/** A bucket never versioned answers an empty configuration: no Status element at all. */
export function getBucketVersioning(ctx: S3Context, bucket: BucketInfo): void {
  sendXml(ctx, 'VersioningConfiguration', bucket.versioning ? { Status: bucket.versioning } : {});
}
