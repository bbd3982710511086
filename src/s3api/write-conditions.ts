import type { WritePrecondition } from '#storage';
import { header, type S3Context } from './context.js';
import { S3Error } from './errors.js';

/**
 * If-Match / If-None-Match on PutObject, CopyObject (destination) and CompleteMultipartUpload
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html#API_PutObject_RequestSyntax).
 * If-Match takes an ETag (or a comma-separated list, RFC 9110 section 13.1.1); If-None-Match
 * takes only `*` on writes.
 */
export function writePrecondition(ctx: S3Context): WritePrecondition | undefined {
  const ifMatch = header(ctx, 'if-match');
  const ifNoneMatch = header(ctx, 'if-none-match');
  if (ifMatch === undefined && ifNoneMatch === undefined) return undefined;
  const p: WritePrecondition = {};
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== '*') {
      throw new S3Error('NotImplemented', 'If-None-Match on a write accepts only *', { Header: 'If-None-Match' });
    }
    p.ifNoneMatch = '*';
  }
  if (ifMatch !== undefined) {
    const etags = ifMatch
      .split(',')
      .map((t) =>
        t
          .trim()
          .replace(/^W\//, '')
          .replace(/^"(.*)"$/, '$1'),
      )
      .filter((t) => t !== '');
    if (etags.length === 0)
      throw new S3Error('InvalidArgument', 'Invalid If-Match header', {
        ArgumentName: 'If-Match',
        ArgumentValue: ifMatch,
      });
    p.ifMatch = etags;
  }
  return p;
}
