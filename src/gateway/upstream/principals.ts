/**
 * Bucket-policy principals: Cellar's documentation names an add-on `arn:aws:iam::cellar_xxx`,
 * RGW names a user (of the empty tenant) `arn:aws:iam:::user/cellar_xxx`
 * (https://docs.ceph.com/en/pacific/radosgw/bucketpolicy/). The gateway rewrites whole JSON
 * string values only, so a policy keeps its layout and nothing else in it changes.
 */
const CELLAR_FORM = /"arn:aws:iam::(cellar_[a-z0-9]+)"/g;
const RGW_FORM = /"arn:aws:iam:::user\/(cellar_[a-z0-9]+)"/g;

/** A policy as the client wrote it, as RGW must receive it. */
export function principalsToRgw(policy: string): string {
  return policy.replace(CELLAR_FORM, '"arn:aws:iam:::user/$1"');
}

/** A policy as RGW returns it, as the client wrote it. */
export function principalsFromRgw(policy: string): string {
  return policy.replace(RGW_FORM, '"arn:aws:iam::$1"');
}

/** Whether the request is PutBucketPolicy or GetBucketPolicy (`?policy` on a bucket). */
export function policyOperation(method: string, rawQuery: string): 'put' | 'get' | null {
  if (!rawQuery.split('&').some((p) => p === 'policy' || p === 'policy=')) return null;
  return method === 'PUT' ? 'put' : method === 'GET' ? 'get' : null;
}
