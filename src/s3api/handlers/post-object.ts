/**
 * PostObject: browser-based uploads with an HTML form
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html). The form, not the
 * Authorization header, authenticates the request: the policy, its signature and the caller's
 * permission are all checked when the file part begins, before any byte of it is stored. An
 * Authorization header, if sent, grants nothing here: the body it would sign is never checked.
 */
import {
  authorize,
  checkPostPolicy,
  checksumHeaderName,
  CHECKSUM_ALGORITHMS,
  checksumMismatchError,
  createChecksummer,
  isValidChecksumValue,
  missingFormField,
  parseChecksumAlgorithm,
  parsePolicy,
  parsePostAuth,
  parsePostPolicy,
  POST_EXEMPT_FIELDS,
  verifyPostSignature,
  type Acl,
  type Addon,
  type BucketInfo,
  type ChecksumAlgorithm,
  type ContentLengthRange,
  type Principal,
} from '#storage';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { header, type S3Context } from '../context.js';
import { S3Error } from '../errors.js';
import { headersFromRequest } from '../object-headers.js';
import { objectArn, requestContext } from '../pipeline.js';
import { readPostForm, type PostForm } from '../post-form.js';
import { treatmentOf } from '../request-headers.js';
import { quoteEtag, sendEmpty, sendXml } from '../respond.js';
import { versionHeader } from '../versions.js';
import { checkRequestedAcl, objectOwnership } from '../acl-guard.js';
import { aclFromHeaders } from './access.js';
import { defaultLock } from './object-lock.js';

/**
 * AWS documents no number for the fields before the file (MaxPostPreDataLengthExceededError);
 * this bound keeps them small in memory and fits any real policy.
 */
const LIMITS = { preData: 64 * 1024, textFile: 1024 * 1024 };

/** Form fields that are object headers on PutObject, stored as such. */
const HEADER_FIELDS = [
  'cache-control',
  'content-type',
  'content-disposition',
  'content-encoding',
  'content-language',
  'expires',
];

interface Upload {
  key: string;
  principal: Principal;
  addon: Addon | null;
  headers: Record<string, string>;
  acl: Acl | null;
  range: ContentLengthRange;
  md5: string | undefined;
  checksums: { alg: ChecksumAlgorithm; expected: string | null }[];
}

export async function postObject(ctx: S3Context, bucket: BucketInfo): Promise<void> {
  if (!/^multipart\/form-data\s*(;|$)/i.test(header(ctx, 'content-type') ?? '')) {
    throw new S3Error('PreconditionFailed', undefined, {
      Condition: 'Bucket POST must be of the enclosure-type multipart/form-data',
    });
  }
  const form = await readPostForm(ctx.req, LIMITS);
  try {
    const upload = prepare(ctx, bucket, form);
    const obj = await store(ctx, bucket, upload, form.file!.stream);
    await form.finished;
    for (const [name, v] of Object.entries(versionHeader(bucket, obj))) ctx.res.setHeader(name, v);
    respond(ctx, bucket, form.fields, upload.key, quoteEtag(obj.etag), obj.checksum ?? {});
  } catch (e) {
    form.abandon();
    throw e;
  }
}

/** Every check of the form, in AWS's order: the fields it needs, the signature, the policy, the permission. */
function prepare(ctx: S3Context, bucket: BucketInfo, form: PostForm): Upload {
  const fields = form.fields;
  if (form.file === null)
    throw new S3Error('InvalidArgument', 'POST requires exactly one file upload per request.', {
      ArgumentName: 'file',
      ArgumentValue: '0',
    });
  const rawKey = fields.get('key');
  if (rawKey === undefined) throw missingFormField('key');
  const key = rawKey.replaceAll('${filename}', form.file.filename);
  const auth = parsePostAuth(fields);
  let addon: Addon | null = null;
  let range: ContentLengthRange = { min: 0, max: Infinity };
  if (auth.type !== 'anonymous') {
    addon = ctx.deps.storage.addonByAccessKey(auth.accessKeyId);
    if (!addon) throw new S3Error('InvalidAccessKeyId', undefined, { AWSAccessKeyId: auth.accessKeyId });
    verifyPostSignature(auth, addon.secretAccessKey);
    // Conditions on the key see it after ${filename} is replaced (RESTObjectPOST.html, "key").
    const named = new Map(fields).set('key', key);
    range = checkPostPolicy(parsePostPolicy(auth.policy), {
      fields: named,
      bucket: bucket.name,
      exempt: new Set(POST_EXEMPT_FIELDS[auth.type]),
      now: ctx.deps.now(),
    });
  }
  const principal: Principal = addon ? { type: 'addon', id: addon.id } : { type: 'anonymous' };
  const view = headerView(fields);
  const decision = authorize({
    principal,
    bucketOwnerId: bucket.ownerId,
    action: 's3:PutObject',
    resource: objectArn(bucket.name, key),
    policy: bucket.policy ? parsePolicy(bucket.policy, bucket.name) : null,
    bucketAcl: bucket.acl,
    objectAcl: null,
    context: { ...requestContext({ ...ctx, addon }), 's3:x-amz-acl': fields.get('acl') },
    guards: bucket,
  });
  if (!decision.allowed) throw new S3Error('AccessDenied');
  refuseUnsupported(fields, bucket);
  const owner = addon ? { id: addon.id, displayName: addon.name } : bucket.acl.owner;
  // The ACL fields read as the x-amz-acl and x-amz-grant-* headers of a PutObject would.
  const aclCtx = { ...ctx, req: { headers: view } as unknown as IncomingMessage };
  return {
    key,
    principal,
    addon,
    headers: headersFromRequest(view),
    acl: guardedAcl(bucket, aclFromHeaders(aclCtx, owner, bucket.acl.owner)),
    range,
    md5: contentMd5(fields.get('content-md5')),
    checksums: checksumFields(fields),
  };
}

/** The form fields as the request headers PutObject would have carried. */
function headerView(fields: ReadonlyMap<string, string>): IncomingHttpHeaders {
  const h: IncomingHttpHeaders = {};
  for (const [name, value] of fields) {
    if (HEADER_FIELDS.includes(name) || name.startsWith('x-amz-meta-') || name.startsWith('x-amz-grant-'))
      h[name] = value;
    if (name === 'x-amz-storage-class' || name === 'x-amz-website-redirect-location') h[name] = value;
  }
  const acl = fields.get('acl');
  if (acl !== undefined) h['x-amz-acl'] = acl;
  return h;
}

/** Fields asking for what PutObject refuses as a header are refused here too (request-headers.ts). */
function refuseUnsupported(fields: ReadonlyMap<string, string>, bucket: BucketInfo): void {
  if (fields.has('tagging'))
    throw new S3Error('NotImplemented', 'Object tagging is not implemented', { Header: 'tagging' });
  for (const [name, value] of fields) {
    if (!name.startsWith('x-amz-')) continue;
    // DEVIATION: a POST upload cannot ask for a retention or legal hold here (the bucket's
    // default retention still applies); refused rather than dropped.
    if (name.startsWith('x-amz-object-lock-'))
      throw new S3Error('NotImplemented', 'Object Lock fields of POST uploads are not implemented', { Header: name });
    const t = treatmentOf('PutObject', name);
    if (t?.kind === 'refused') throw t.error();
    if (name === 'x-amz-expected-bucket-owner' && value.trim() !== bucket.ownerId) throw new S3Error('AccessDenied');
  }
}

function contentMd5(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const raw = Buffer.from(v.trim(), 'base64');
  if (raw.length !== 16 || raw.toString('base64') !== v.trim()) throw new S3Error('InvalidDigest');
  return v.trim();
}

/** x-amz-checksum-<alg> fields are verified; x-amz-checksum-algorithm alone asks for one to be computed. */
function checksumFields(fields: ReadonlyMap<string, string>): Upload['checksums'] {
  const out: Upload['checksums'] = [];
  for (const alg of CHECKSUM_ALGORITHMS) {
    const expected = fields.get(checksumHeaderName(alg));
    if (expected === undefined) continue;
    if (!isValidChecksumValue(alg, expected))
      throw new S3Error('InvalidRequest', `Value for ${checksumHeaderName(alg)} header is invalid.`);
    out.push({ alg, expected });
  }
  if (out.length > 1)
    throw new S3Error(
      'InvalidRequest',
      'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.',
    );
  const named = fields.get('x-amz-checksum-algorithm');
  if (named !== undefined) {
    const alg = parseChecksumAlgorithm(named);
    if (out.length === 1 && out[0]!.alg !== alg)
      throw new S3Error(
        'InvalidRequest',
        `Value for x-amz-checksum-algorithm does not match the ${checksumHeaderName(out[0]!.alg)} field.`,
      );
    if (out.length === 0) out.push({ alg, expected: null });
  }
  return out;
}

/** Passes the file through, failing with EntityTooLarge past the policy's content-length-range. */
function sizeLimit(max: number): Transform & { size: number } {
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      t.size += chunk.length;
      if (t.size > max) return cb(new S3Error('EntityTooLarge', undefined, { MaxSizeAllowed: String(max) }));
      cb(null, chunk);
    },
  }) as Transform & { size: number };
  t.size = 0;
  return t;
}

async function store(ctx: S3Context, bucket: BucketInfo, u: Upload, file: Readable) {
  const body = sizeLimit(u.range.max);
  // A body cut short or malformed under the file fails the write, and nothing is stored.
  file.on('error', () => body.destroy(new S3Error('MalformedPOSTRequest')));
  file.pipe(body);
  const sums = u.checksums.map((c) => ({ ...c, sum: createChecksummer(c.alg) }));
  return ctx.deps.storage.putObject({
    bucket: bucket.name,
    key: u.key,
    ...objectOwnership(bucket, u.addon?.id ?? bucket.ownerId, u.acl),
    body,
    headers: u.headers,
    lock: defaultLock(ctx, bucket),
    expectedMd5Base64: u.md5,
    observers: sums.map((s) => (c: Buffer) => s.sum.update(c)),
    verify: () => {
      if (body.size < u.range.min) {
        throw new S3Error('EntityTooSmall', undefined, {
          ProposedSize: String(body.size),
          MinSizeAllowed: String(u.range.min),
        });
      }
      const stored: Record<string, string> = {};
      for (const s of sums) {
        const actual = s.sum.digestBase64();
        if (s.expected !== null && actual !== s.expected) throw checksumMismatchError(s.alg);
        stored[s.alg] = actual;
      }
      return sums.length > 0 ? stored : null;
    },
  });
}

/** An absolute http(s) URL, or null: AWS ignores a success_action_redirect it cannot interpret. */
function redirectTarget(v: string | undefined): URL | null {
  if (v === undefined) return null;
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u : null;
  } catch {
    return null;
  }
}

/**
 * success_action_redirect wins (303 with bucket, key and etag in the query), then
 * success_action_status: 200 or 201 (with the PostResponse document), else 204.
 */
function respond(
  ctx: S3Context,
  bucket: BucketInfo,
  fields: ReadonlyMap<string, string>,
  key: string,
  etag: string,
  checksum: Record<string, string>,
): void {
  const headers: Record<string, string> = { etag };
  for (const [alg, value] of Object.entries(checksum)) headers[`x-amz-checksum-${alg.toLowerCase()}`] = value;
  const redirect = redirectTarget(fields.get('success_action_redirect') ?? fields.get('redirect'));
  if (redirect) {
    for (const [name, value] of [
      ['bucket', bucket.name],
      ['key', key],
      ['etag', etag],
    ] as const)
      redirect.searchParams.append(name, value);
    sendEmpty(ctx, 303, { ...headers, location: redirect.href });
    return;
  }
  const base = (ctx.req.url ?? '/').split('?')[0]!.replace(/\/+$/, '');
  const location = `${ctx.secure ? 'https' : 'http'}://${header(ctx, 'host') ?? 'localhost'}${base}/${encodeURIComponent(key)}`;
  const status = fields.get('success_action_status');
  if (status === '201') {
    for (const [name, value] of Object.entries(headers)) ctx.res.setHeader(name, value);
    ctx.res.setHeader('location', location);
    sendXml(ctx, 'PostResponse', { Location: location, Bucket: bucket.name, Key: key, ETag: etag }, 201);
    return;
  }
  sendEmpty(ctx, status === '200' ? 200 : 204, { ...headers, location });
}

function guardedAcl(bucket: BucketInfo, acl: Acl | null): Acl | null {
  checkRequestedAcl(bucket, acl);
  return acl;
}
