import type { ObjectInfo } from '#storage';
import { validateHeaderValue, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { S3Error } from './errors.js';
import { quoteEtag } from './respond.js';

/** Standard headers stored with an object and returned on GET/HEAD. */
const STORED = [
  'content-type',
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'expires',
  'x-amz-website-redirect-location',
];
const STORAGE_CLASSES = [
  'STANDARD',
  'REDUCED_REDUNDANCY',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER',
  'DEEP_ARCHIVE',
  'GLACIER_IR',
  'OUTPOSTS',
  'SNOW',
  'EXPRESS_ONEZONE',
];
/** https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html: user metadata is limited to 2 KB. */
const MAX_USER_METADATA = 2048;

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(',') : v;
}

/**
 * The headers to store for a new object, from the request. `aws-chunked` is a transfer detail
 * and is removed from Content-Encoding, as S3 does
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html).
 */
export function headersFromRequest(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of STORED) {
    const v = one(h[name]);
    if (v !== undefined) out[name] = v;
  }
  if (out['content-encoding'] !== undefined) {
    const rest = out['content-encoding']
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '' && s.toLowerCase() !== 'aws-chunked');
    if (rest.length > 0) out['content-encoding'] = rest.join(', ');
    else delete out['content-encoding'];
  }
  out['content-type'] ??= 'binary/octet-stream';
  const redirect = out['x-amz-website-redirect-location'];
  if (redirect !== undefined && !/^(\/|https?:\/\/)/.test(redirect)) {
    throw new S3Error(
      'InvalidArgument',
      "The website redirect location must have a prefix of 'http://' or 'https://' or '/'.",
    );
  }
  const sc = one(h['x-amz-storage-class']);
  if (sc !== undefined) {
    if (!STORAGE_CLASSES.includes(sc))
      throw new S3Error('InvalidStorageClass', undefined, { StorageClassRequested: sc });
    if (sc !== 'STANDARD') out['x-amz-storage-class'] = sc;
  }
  let metaSize = 0;
  for (const [name, value] of Object.entries(h)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
    const v = one(value)!;
    metaSize += Buffer.byteLength(name.slice('x-amz-meta-'.length)) + Buffer.byteLength(v);
    out[name] = v;
  }
  if (metaSize > MAX_USER_METADATA)
    throw new S3Error('MetadataTooLarge', undefined, {
      Size: String(metaSize),
      MaxSizeAllowed: String(MAX_USER_METADATA),
    });
  return out;
}

/** Response headers of GET/HEAD for `o` (without length/range, which depend on the request). */
export function objectResponseHeaders(o: ObjectInfo): OutgoingHttpHeaders {
  const h: OutgoingHttpHeaders = {
    etag: quoteEtag(o.etag),
    'last-modified': o.lastModified.toUTCString(),
    'accept-ranges': 'bytes',
  };
  for (const [k, v] of Object.entries(o.headers)) h[k] = v;
  return h;
}

/** `response-*` query overrides, honoured on signed requests only (S3 GetObject docs). */
const OVERRIDES: [string, string][] = [
  ['response-content-type', 'content-type'],
  ['response-content-language', 'content-language'],
  ['response-expires', 'expires'],
  ['response-cache-control', 'cache-control'],
  ['response-content-disposition', 'content-disposition'],
  ['response-content-encoding', 'content-encoding'],
];

export function applyResponseOverrides(h: OutgoingHttpHeaders, query: URLSearchParams, signed: boolean): void {
  for (const [param, name] of OVERRIDES) {
    const v = query.get(param);
    if (v === null) continue;
    if (!signed)
      throw new S3Error(
        'InvalidRequest',
        'Request specific response headers cannot be used for anonymous GET requests.',
      );
    // A value Node refuses as a header (CR, LF, other controls) would inject a header or fail
    // the response with a 500: it is the client's bad argument.
    try {
      validateHeaderValue(name, v);
    } catch {
      throw new S3Error('InvalidArgument', `Invalid value for ${param}`, { ArgumentName: param, ArgumentValue: v });
    }
    h[name] = v;
  }
}
