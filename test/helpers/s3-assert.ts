import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { S3ServiceException } from '@aws-sdk/client-s3';

/**
 * Runs `fn`, expects an S3 error with this status and name (the <Code>; HEAD answers have no body,
 * so the SDK names a 404 NotFound and any other status Unknown: pass null to check the status only).
 */
export async function rejects(
  fn: () => Promise<unknown>,
  name: string | null,
  status: number,
): Promise<S3ServiceException> {
  let caught: S3ServiceException | undefined;
  await assert.rejects(fn, (e: unknown) => {
    assert.ok(e instanceof S3ServiceException, `expected an S3 error, got ${String(e)}`);
    if (name !== null) assert.equal(e.name, name, e.message);
    assert.equal(e.$metadata.httpStatusCode, status, `${e.name}: ${e.message}`);
    caught = e;
    return true;
  });
  return caught!;
}

export function md5Hex(data: Buffer | string): string {
  return createHash('md5').update(data).digest('hex');
}

export function sha256(data: Buffer | Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
