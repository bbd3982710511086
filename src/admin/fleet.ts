/** Upstream mode's shared state (the system bucket on RGW), for one admin command or the gateway. */
import { StorageError } from '#storage';
import type { Config } from '../config/index.js';
import { UpstreamUnavailableError } from '../gateway/upstream/rgw-admin.js';
import { SystemBucket } from '../gateway/upstream/system-bucket.js';

export function systemBucketOf(config: Config): SystemBucket {
  return new SystemBucket({
    url: config.upstreamUrl,
    accessKey: config.upstreamAccessKey,
    secretKey: config.upstreamSecretKey,
    bucket: config.systemBucket,
    timeoutMs: config.upstreamTimeoutMs,
  });
}

/**
 * Runs `fn` over the system bucket and closes its connections afterwards. RGW unreachable is the
 * one-line failure the CLI prints for storage errors.
 */
export async function withSystemBucket<T>(config: Config, fn: (b: SystemBucket) => Promise<T>): Promise<T> {
  const bucket = systemBucketOf(config);
  try {
    return await fn(bucket);
  } catch (e) {
    if (e instanceof UpstreamUnavailableError)
      throw new StorageError('InternalError', `RGW is unavailable: ${e.message}`);
    throw e;
  } finally {
    bucket.close();
  }
}
