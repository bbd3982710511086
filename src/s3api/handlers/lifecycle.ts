/**
 * PutBucketLifecycleConfiguration / GetBucketLifecycleConfiguration / DeleteBucketLifecycle and
 * the LifecycleConfiguration XML (API_PutBucketLifecycleConfiguration.html,
 * API_BucketLifecycleConfiguration.html), and the x-amz-expiration response header. Validation
 * is storage's; this module only maps elements to fields and refuses what the schema does not
 * allow (unknown or repeated elements: MalformedXML).
 */
import {
  CHECKSUM_ALGORITHMS,
  checksumHeaderName,
  validateLifecycleConfig,
  type BucketInfo,
  type LifecycleAndInput,
  type LifecycleConfig,
  type LifecycleFilter,
  type LifecycleFilterInput,
  type LifecycleRule,
  type LifecycleRuleInput,
  type ObjectInfo,
  type Tag,
} from '#storage';
import { readSmallBody } from '../body.js';
import { header, type S3Context } from '../context.js';
import { S3Error } from '../errors.js';
import { sendEmpty, sendXml } from '../respond.js';
import { child, children, parseXml, type XmlNode, type XmlValue } from '../xml.js';

const isElement = (v: XmlValue | undefined): v is XmlNode =>
  v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v);

/** An element's children, refusing any the schema does not name. `<X/>` has none. */
function element(v: XmlValue | undefined, allowed: readonly string[]): XmlNode {
  if (v === '') return {};
  if (!isElement(v)) throw new S3Error('MalformedXML');
  for (const k of Object.keys(v)) if (!k.startsWith('@_') && !allowed.includes(k)) throw new S3Error('MalformedXML');
  return v;
}

/** A child that may appear at most once, as text (undefined when absent). */
function single(node: XmlNode, name: string): string | undefined {
  const v = node[name];
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) throw new S3Error('MalformedXML');
  if (typeof v === 'object') {
    if (Object.keys(v).some((k) => k !== '#text' && !k.startsWith('@_'))) throw new S3Error('MalformedXML');
    return v['#text'] === undefined ? '' : String(v['#text']);
  }
  return String(v);
}

/** A child element that may appear at most once (undefined when absent). */
function section(node: XmlNode, name: string, allowed: readonly string[]): XmlNode | undefined {
  const v = node[name];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) throw new S3Error('MalformedXML');
  return element(v, allowed);
}

function tagOf(v: XmlValue): Tag {
  const t = element(v, ['Key', 'Value']);
  const key = single(t, 'Key');
  if (key === undefined) throw new S3Error('MalformedXML');
  // "If you specify only a Key element and no Value element, the rule will apply only to objects
  // that match the tag key and that do not have a value specified" (intro-lifecycle-filters.html).
  return { key, value: single(t, 'Value') ?? '' };
}

const SIZE = ['ObjectSizeGreaterThan', 'ObjectSizeLessThan'] as const;

function filterOf(v: XmlValue): LifecycleFilterInput {
  const f = element(v, ['Prefix', 'Tag', ...SIZE, 'And']);
  const out: LifecycleFilterInput = {
    prefix: single(f, 'Prefix'),
    objectSizeGreaterThan: single(f, 'ObjectSizeGreaterThan'),
    objectSizeLessThan: single(f, 'ObjectSizeLessThan'),
  };
  if (f.Tag !== undefined) {
    if (Array.isArray(f.Tag)) throw new S3Error('MalformedXML');
    out.tag = tagOf(f.Tag);
  }
  const and = section(f, 'And', ['Prefix', 'Tag', ...SIZE]);
  if (and !== undefined) {
    const a: LifecycleAndInput = {
      prefix: single(and, 'Prefix'),
      tags: children(and, 'Tag').map(tagOf),
      objectSizeGreaterThan: single(and, 'ObjectSizeGreaterThan'),
      objectSizeLessThan: single(and, 'ObjectSizeLessThan'),
    };
    out.and = a;
  }
  return out;
}

const RULE_ELEMENTS = [
  'ID',
  'Status',
  'Prefix',
  'Filter',
  'Expiration',
  'Transition',
  'NoncurrentVersionTransition',
  'NoncurrentVersionExpiration',
  'AbortIncompleteMultipartUpload',
];

function ruleOf(v: XmlValue): LifecycleRuleInput {
  const r = element(v, RULE_ELEMENTS);
  const rule: LifecycleRuleInput = {
    id: single(r, 'ID'),
    status: single(r, 'Status'),
    prefix: single(r, 'Prefix'),
    transitions: children(r, 'Transition').length,
    noncurrentVersionTransitions: children(r, 'NoncurrentVersionTransition').length,
  };
  if (r.Filter !== undefined) {
    if (Array.isArray(r.Filter)) throw new S3Error('MalformedXML');
    rule.filter = filterOf(r.Filter);
  }
  const exp = section(r, 'Expiration', ['Days', 'Date', 'ExpiredObjectDeleteMarker']);
  if (exp !== undefined)
    rule.expiration = {
      days: single(exp, 'Days'),
      date: single(exp, 'Date'),
      expiredObjectDeleteMarker: single(exp, 'ExpiredObjectDeleteMarker'),
    };
  const nve = section(r, 'NoncurrentVersionExpiration', ['NoncurrentDays', 'NewerNoncurrentVersions']);
  if (nve !== undefined)
    rule.noncurrentVersionExpiration = {
      noncurrentDays: single(nve, 'NoncurrentDays'),
      newerNoncurrentVersions: single(nve, 'NewerNoncurrentVersions'),
    };
  const abort = section(r, 'AbortIncompleteMultipartUpload', ['DaysAfterInitiation']);
  if (abort !== undefined)
    rule.abortIncompleteMultipartUpload = { daysAfterInitiation: single(abort, 'DaysAfterInitiation') };
  return rule;
}

export function lifecycleFromXml(body: string): LifecycleConfig {
  const doc = element(child(parseXml(body), 'LifecycleConfiguration'), ['Rule']);
  return validateLifecycleConfig(children(doc, 'Rule').map(ruleOf));
}

function tagXml(t: Tag): XmlNode {
  return { Key: t.key, Value: t.value };
}

function filterXml(f: LifecycleFilter): XmlNode {
  return {
    Prefix: f.prefix,
    Tag: f.tag && tagXml(f.tag),
    ObjectSizeGreaterThan: f.objectSizeGreaterThan,
    ObjectSizeLessThan: f.objectSizeLessThan,
    And: f.and && {
      Prefix: f.and.prefix,
      Tag: f.and.tags.map(tagXml),
      ObjectSizeGreaterThan: f.and.objectSizeGreaterThan,
      ObjectSizeLessThan: f.and.objectSizeLessThan,
    },
  };
}

function ruleXml(r: LifecycleRule): XmlNode {
  const e = r.expiration;
  const n = r.noncurrentVersionExpiration;
  // Element order of the LifecycleRule schema, as AWS returns it.
  return {
    Expiration: e && {
      Date: e.date === undefined ? undefined : e.date.replace(/\.000Z$/, 'Z'),
      Days: e.days,
      ExpiredObjectDeleteMarker: e.expiredObjectDeleteMarker,
    },
    ID: r.id,
    Prefix: r.prefix,
    Filter: r.filter && filterXml(r.filter),
    Status: r.status,
    NoncurrentVersionExpiration: n && {
      NoncurrentDays: n.noncurrentDays,
      NewerNoncurrentVersions: n.newerNoncurrentVersions,
    },
    AbortIncompleteMultipartUpload: r.abortIncompleteMultipartUpload && {
      DaysAfterInitiation: r.abortIncompleteMultipartUpload.daysAfterInitiation,
    },
  };
}

export function lifecycleToXml(cfg: LifecycleConfig): XmlNode {
  return { Rule: cfg.rules.map(ruleXml) };
}

/**
 * PutBucketLifecycleConfiguration demands an integrity check of its body: Content-MD5, or one of
 * the flexible checksums SDKs send instead (API_PutBucketLifecycleConfiguration.html, request
 * headers Content-MD5 and x-amz-sdk-checksum-algorithm); readSmallBody verifies whichever came.
 */
function requireIntegrityHeader(ctx: S3Context): void {
  if (header(ctx, 'content-md5') !== undefined) return;
  if (CHECKSUM_ALGORITHMS.some((alg) => header(ctx, checksumHeaderName(alg)) !== undefined)) return;
  if (header(ctx, 'x-amz-sdk-checksum-algorithm') !== undefined) return;
  throw new S3Error('InvalidRequest', 'Missing required header for this request: Content-MD5');
}

export async function putBucketLifecycleConfiguration(ctx: S3Context, bucket: BucketInfo): Promise<void> {
  const body = await readSmallBody(ctx);
  requireIntegrityHeader(ctx);
  if (body.length === 0) throw new S3Error('MissingRequestBodyError');
  ctx.deps.storage.setBucketLifecycle(bucket.name, lifecycleFromXml(body.toString('utf8')));
  sendEmpty(ctx, 200);
}

export function getBucketLifecycleConfiguration(ctx: S3Context, bucket: BucketInfo): void {
  if (!bucket.lifecycle) throw new S3Error('NoSuchLifecycleConfiguration', undefined, { BucketName: bucket.name });
  sendXml(ctx, 'LifecycleConfiguration', lifecycleToXml(bucket.lifecycle));
}

/** "Returns 204 No Content" (API_DeleteBucketLifecycle.html), also when none was set. */
export function deleteBucketLifecycle(ctx: S3Context, bucket: BucketInfo): void {
  ctx.deps.storage.setBucketLifecycle(bucket.name, null);
  sendEmpty(ctx, 204);
}

/**
 * `x-amz-expiration: expiry-date="Fri, 23 Dec 2012 00:00:00 GMT", rule-id="picture-deletion-rule"`
 * when an enabled rule will expire the object; "the value of the rule-id is URL-encoded"
 * (API_GetObject.html, API_PutObject.html, response header x-amz-expiration).
 */
export function expirationHeader(ctx: S3Context, bucket: BucketInfo, obj: ObjectInfo): Record<string, string> {
  const due = ctx.deps.storage.objectExpiration(bucket, obj);
  const date = new Date(due?.at ?? Number.NaN);
  // Beyond the year 275760 (Days near 2^31) a Date cannot name the day: no header rather than a wrong one.
  if (due === null || Number.isNaN(date.getTime())) return {};
  return { 'x-amz-expiration': `expiry-date="${date.toUTCString()}", rule-id="${encodeURIComponent(due.ruleId)}"` };
}
