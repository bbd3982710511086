import { StorageError } from '../errors.js';
import type { ObjectInfo } from '../types.js';

/**
 * Conditional writes (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html):
 * `If-None-Match: *` writes only when the key is absent, `If-Match: <etag>` only when the
 * current object has that ETag. ETags here are unquoted; `*` in ifMatch means "any object".
 */
export interface WritePrecondition {
  ifMatch?: readonly string[];
  ifNoneMatch?: '*';
}

/** Throws PreconditionFailed (412) or, for If-Match on a missing key, NoSuchKey (404) as S3 does. */
export function checkWritePrecondition(
  current: ObjectInfo | null,
  key: string,
  p: WritePrecondition | undefined,
): void {
  if (p === undefined) return;
  if (p.ifNoneMatch === '*' && current !== null) {
    throw new StorageError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
      Condition: 'If-None-Match',
    });
  }
  if (p.ifMatch === undefined) return;
  if (current === null) throw new StorageError('NoSuchKey', 'The specified key does not exist.', { Key: key });
  if (!p.ifMatch.some((etag) => etag === '*' || etag === current.etag)) {
    throw new StorageError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
      Condition: 'If-Match',
    });
  }
}
