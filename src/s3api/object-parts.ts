import { checksumTypeOf, type ObjectInfo } from '#storage';
import type { RangeResult } from '../shared/http-semantics.js';
import { header, type S3Context } from './context.js';
import { S3Error } from './errors.js';

/**
 * The stored checksums as GET/HEAD return them with `x-amz-checksum-mode: ENABLED`, with
 * x-amz-checksum-type: COMPOSITE values ("<digest>-<parts>") are skipped by SDK validation,
 * FULL_OBJECT ones are checked against the body
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html).
 */
export function checksumHeaders(obj: ObjectInfo): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [alg, value] of Object.entries(obj.checksum ?? {})) {
    out[`x-amz-checksum-${alg.toLowerCase()}`] = value;
    out['x-amz-checksum-type'] = checksumTypeOf(value);
  }
  return out;
}

/** The number of parts of a multipart object (its ETag ends in "-<parts>", one blob per part), else null. */
export function partsCountOf(obj: ObjectInfo): number | null {
  const m = /-(\d+)$/.exec(obj.etag);
  return m && Number(m[1]) === obj.blobs.length ? obj.blobs.length : null;
}

/**
 * GetObject/HeadObject `?partNumber=N`: the bytes of part N, as a range, and the part count for
 * x-amz-mp-parts-count (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html).
 * `n` is the part number as the router validated it (1 to 10,000), null when none is asked for.
 * An object not uploaded in parts has one part, the whole object. Null when no part is asked for.
 * DEVIATION: AWS returns the part's own checksum with x-amz-checksum-mode; the object row keeps
 * only the object-level checksum, so a part read returns none.
 */
export function partRead(
  ctx: S3Context,
  obj: ObjectInfo,
  n: number | null,
): { range: RangeResult; partsCount: number | null } | null {
  if (n === null) return null;
  if (header(ctx, 'range') !== undefined)
    throw new S3Error('InvalidRequest', 'Cannot specify both Range header and partNumber query parameter');
  const count = partsCountOf(obj);
  if (count === null) {
    if (n !== 1)
      throw new S3Error('InvalidPartNumber', undefined, { PartNumberRequested: String(n), ActualPartCount: '1' });
    return { range: { type: 'full' }, partsCount: null };
  }
  if (n > count)
    throw new S3Error('InvalidPartNumber', undefined, {
      PartNumberRequested: String(n),
      ActualPartCount: String(count),
    });
  let start = 0;
  for (let i = 0; i < n - 1; i++) start += obj.blobs[i]!.size;
  const size = obj.blobs[n - 1]!.size;
  // An empty (last) part has no byte range to name.
  const range: RangeResult = size === 0 ? { type: 'unsatisfiable' } : { type: 'partial', start, end: start + size - 1 };
  return { range, partsCount: count };
}
