import { StorageError } from '../errors.js';

/**
 * Bucket naming rules for general-purpose buckets:
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 * 3-63 chars of a-z 0-9 . -, starting and ending with a letter or digit, no `..`, not shaped
 * like an IPv4 address, no reserved prefixes/suffixes. Cellar's docs add: never underscores.
 */
export function bucketNameProblem(name: string): string | null {
  if (name.length < 3 || name.length > 63) return 'Bucket name must be between 3 and 63 characters long';
  if (!/^[a-z0-9.-]+$/.test(name)) return 'Bucket name can only contain lowercase letters, numbers, dots and hyphens';
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name))
    return 'Bucket name must begin and end with a letter or number';
  if (name.includes('..')) return 'Bucket name must not contain two adjacent periods';
  if (name.includes('.-') || name.includes('-.')) return 'Bucket name must not contain a period next to a hyphen';
  if (/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)) return 'Bucket name must not be formatted as an IP address';
  if (name.startsWith('xn--') || name.startsWith('sthree-') || name.startsWith('amzn-s3-demo-'))
    return 'Bucket name must not start with a reserved prefix';
  if (name.endsWith('-s3alias') || name.endsWith('--ol-s3') || name.endsWith('.mrap') || name.endsWith('--x-s3'))
    return 'Bucket name must not end with a reserved suffix';
  return null;
}

export function assertBucketName(name: string): void {
  const problem = bucketNameProblem(name);
  if (problem)
    throw new StorageError('InvalidBucketName', 'The specified bucket is not valid.', {
      BucketName: name,
      Reason: problem,
    });
}

/** Keys are any UTF-8 up to 1024 bytes (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html). */
export function assertObjectKey(key: string): void {
  if (key.length === 0) throw new StorageError('InvalidArgument', 'Object key must not be empty');
  if (Buffer.byteLength(key, 'utf8') > 1024)
    throw new StorageError('KeyTooLongError', 'Your key is too long', {
      Size: String(Buffer.byteLength(key, 'utf8')),
      MaxSizeAllowed: '1024',
    });
}
