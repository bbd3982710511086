/**
 * Tag sets of objects and buckets: the x-amz-tagging header, the <Tagging> document, AWS's
 * limits, and the policy condition keys tags feed
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/tagging-and-policies.html).
 */
import type { RequestContext, Tag } from '#storage';
import type { S3Context } from './context.js';
import { S3Error } from './errors.js';
import { child, children, parseXml, text, type XmlNode, type XmlValue } from './xml.js';

export const MAX_OBJECT_TAGS = 10;
export const MAX_BUCKET_TAGS = 50;
const MAX_KEY_CHARS = 128;
const MAX_VALUE_CHARS = 256;
/** Letters, digits and spaces in any script, and `+ - = . _ : / @` (the AWS tag character set). */
const TAG_CHARACTERS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

export type TagTarget = 'object' | 'bucket';

/** Lengths count Unicode characters (code points), not bytes or UTF-16 units. */
const chars = (s: string): number => [...s].length;

/**
 * Checks a tag set against AWS's rules, with the errors AWS sends: InvalidTag for a bad key or
 * value, a reserved `aws:` key or a repeated key; BadRequest for too many tags.
 */
export function validateTags(tags: readonly Tag[], target: TagTarget): Tag[] {
  for (const { key, value } of tags) {
    if (chars(key) < 1 || chars(key) > MAX_KEY_CHARS || !TAG_CHARACTERS.test(key)) {
      throw new S3Error('InvalidTag', 'The TagKey you have provided is invalid', { TagKey: key });
    }
    if (chars(value) > MAX_VALUE_CHARS || !TAG_CHARACTERS.test(value)) {
      throw new S3Error('InvalidTag', 'The TagValue you have provided is invalid', { TagKey: key, TagValue: value });
    }
    if (key.toLowerCase().startsWith('aws:'))
      throw new S3Error('InvalidTag', 'Your TagKey cannot be prefixed with aws:', { TagKey: key });
  }
  const keys = new Set(tags.map((t) => t.key));
  if (keys.size !== tags.length) throw new S3Error('InvalidTag', 'Cannot provide multiple Tags with the same key');
  if (target === 'object' && tags.length > MAX_OBJECT_TAGS)
    throw new S3Error('BadRequest', `Object tags cannot be greater than ${MAX_OBJECT_TAGS}`);
  if (target === 'bucket' && tags.length > MAX_BUCKET_TAGS)
    throw new S3Error('BadRequest', `Bucket tag count cannot be greater than ${MAX_BUCKET_TAGS}`);
  return [...tags];
}

const BAD_HEADER =
  "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.";

/**
 * x-amz-tagging: `k1=v1&k2=v2`, URL-encoded (API_PutObject.html). A name without `=` has the
 * empty value. A repeated name is InvalidArgument here, as AWS answers for the header form.
 */
export function parseTaggingHeader(raw: string): Tag[] {
  const tags: Tag[] = [];
  if (raw.trim() === '') return tags;
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
      value = decodeURIComponent(rawValue.replace(/\+/g, ' '));
    } catch {
      throw new S3Error('InvalidArgument', BAD_HEADER, { ArgumentName: 'x-amz-tagging', ArgumentValue: raw });
    }
    if (tags.some((t) => t.key === key))
      throw new S3Error('InvalidArgument', BAD_HEADER, { ArgumentName: 'x-amz-tagging', ArgumentValue: raw });
    tags.push({ key, value });
  }
  return validateTags(tags, 'object');
}

/** `<Tagging><TagSet><Tag><Key/><Value/></Tag>...</TagSet></Tagging>`; a missing TagSet, Key or Value is MalformedXML. */
export function parseTaggingXml(body: string, target: TagTarget): Tag[] {
  const doc = child(parseXml(body), 'Tagging');
  if (doc === undefined || doc === null || typeof doc !== 'object') throw new S3Error('MalformedXML');
  const set = children(doc, 'TagSet');
  if (set.length !== 1) throw new S3Error('MalformedXML');
  const tagSet: XmlValue = set[0]!;
  // <TagSet/> parses as the empty string: an empty set, which is valid.
  const tags = typeof tagSet === 'object' && tagSet !== null ? children(tagSet, 'Tag').map(tagOf) : [];
  return validateTags(tags, target);
}

function tagOf(node: XmlValue): Tag {
  const key = text(node, 'Key');
  const value = text(node, 'Value');
  if (key === undefined || value === undefined) throw new S3Error('MalformedXML');
  return { key, value };
}

/** The <Tagging> answer of GetObjectTagging / GetBucketTagging. */
export function taggingXml(tags: readonly Tag[]): XmlNode {
  return { TagSet: { Tag: tags.map((t) => ({ Key: t.key, Value: t.value })) } };
}

/** s3:RequestObjectTag/<key> for each tag a write asks for, and s3:RequestObjectTagKeys (multi-valued). */
export function requestTagContext(tags: readonly Tag[] | null): RequestContext {
  if (tags === null) return {};
  const c: RequestContext = { 's3:requestobjecttagkeys': tags.map((t) => t.key) };
  for (const t of tags) c[`s3:requestobjecttag/${t.key.toLowerCase()}`] = t.value;
  return c;
}

/**
 * The tag set an object write asks for in x-amz-tagging, for the policy's condition keys: null
 * when there is none or it is not valid (the handler refuses it then, after authorization).
 * CopyObject's header counts only with x-amz-tagging-directive REPLACE, as AWS applies it only then.
 */
export function headerTags(ctx: Pick<S3Context, 'req'>): Tag[] | null {
  const raw = ctx.req.headers['x-amz-tagging'];
  if (typeof raw !== 'string') return null;
  // A PUT naming a copy source is CopyObject (or UploadPartCopy, which takes no tags).
  if (ctx.req.headers['x-amz-copy-source'] !== undefined && taggingDirective(ctx) !== 'REPLACE') return null;
  try {
    return parseTaggingHeader(raw);
  } catch {
    return null;
  }
}

/** x-amz-tagging-directive of CopyObject: COPY (the default) or REPLACE. */
export function taggingDirective(ctx: Pick<S3Context, 'req'>): 'COPY' | 'REPLACE' {
  const raw = ctx.req.headers['x-amz-tagging-directive'];
  const v = typeof raw === 'string' ? raw.trim().toUpperCase() : 'COPY';
  if (v === 'COPY' || v === 'REPLACE') return v;
  throw new S3Error('InvalidArgument', 'Unknown tagging directive.', {
    ArgumentName: 'x-amz-tagging-directive',
    ArgumentValue: String(raw),
  });
}
