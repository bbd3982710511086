import type { RequestContext } from './conditions.js';

/**
 * s3:ExistingObjectTag/<key> for each tag of the object a request acts on
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/tagging-and-policies.html). Condition
 * key names are case-insensitive in IAM: they are stored lower-case, as the evaluator looks them up,
 * so of two tags differing only in case (which S3 allows) the later one names the condition key.
 */
export function existingObjectTagContext(
  tags: ReadonlyArray<{ key: string; value: string }> | undefined,
): RequestContext {
  const c: RequestContext = {};
  for (const t of tags ?? []) c[`s3:existingobjecttag/${t.key.toLowerCase()}`] = t.value;
  return c;
}
