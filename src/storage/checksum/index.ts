/**
 * S3 flexible checksums (x-amz-checksum-*): algorithm names, header names, value validation,
 * and the two multipart forms.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 */
import { StorageError } from '../errors.js';
import {
  CHECKSUM_ALGORITHMS,
  DIGEST_LENGTH,
  combineCrcValues,
  createChecksummer,
  isCrcAlgorithm,
  type ChecksumAlgorithm,
  type CrcAlgorithm,
} from './algorithms.js';

export { CHECKSUM_ALGORITHMS, createChecksummer, isCrcAlgorithm };
export type { ChecksumAlgorithm, Checksummer, CrcAlgorithm } from './algorithms.js';

const HEADER_PREFIX = 'x-amz-checksum-';

/** Case-insensitive, as S3 accepts `crc32` and `CRC32` alike in x-amz-(sdk-)checksum-algorithm. */
export function parseChecksumAlgorithm(s: string): ChecksumAlgorithm {
  const upper = s.toUpperCase();
  const alg = CHECKSUM_ALGORITHMS.find((a) => a === upper);
  if (!alg) {
    throw new StorageError(
      'InvalidRequest',
      'Checksum algorithm provided is unsupported. Please try again with any of the valid types: ' +
        `[${CHECKSUM_ALGORITHMS.join(', ')}]`,
    );
  }
  return alg;
}

export function checksumHeaderName(alg: ChecksumAlgorithm): string {
  return HEADER_PREFIX + alg.toLowerCase();
}

/** The algorithm a (lower-case) `x-amz-checksum-<alg>` header or trailer names, else null. */
export function checksumAlgorithmOfHeader(name: string): ChecksumAlgorithm | null {
  if (!name.startsWith(HEADER_PREFIX)) return null;
  const rest = name.slice(HEADER_PREFIX.length);
  return CHECKSUM_ALGORITHMS.find((a) => a.toLowerCase() === rest) ?? null;
}

/**
 * Canonical padded base64 of exactly the digest size. Node's base64 decoder skips junk, so the
 * value must also survive a round trip unchanged.
 */
export function isValidChecksumValue(alg: ChecksumAlgorithm, base64: string): boolean {
  if (base64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) return false;
  const raw = Buffer.from(base64, 'base64');
  return raw.length === DIGEST_LENGTH[alg] && raw.toString('base64') === base64;
}

/** AWS's BadDigest for a flexible checksum, e.g. "The CRC32 you specified did not match the calculated checksum." */
export function checksumMismatchError(alg: ChecksumAlgorithm): StorageError {
  return new StorageError('BadDigest', `The ${alg} you specified did not match the calculated checksum.`);
}

function decodeDigest(alg: ChecksumAlgorithm, base64: string): Buffer {
  if (!isValidChecksumValue(alg, base64)) {
    throw new StorageError('InvalidArgument', `Invalid Base64 or length for a ${alg} part checksum.`);
  }
  return Buffer.from(base64, 'base64');
}

/**
 * COMPOSITE multipart checksum: the algorithm over the concatenated raw part digests, then
 * "-<part count>" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html#large-object-checksums).
 * Whether an algorithm may be COMPOSITE (AWS refuses it for CRC64NVME) is decided at
 * CreateMultipartUpload, not here.
 */
export function compositeChecksum(alg: ChecksumAlgorithm, partDigestsBase64: string[]): string {
  const c = createChecksummer(alg);
  for (const d of partDigestsBase64) c.update(decodeDigest(alg, d));
  return `${c.digestBase64()}-${partDigestsBase64.length}`;
}

/**
 * FULL_OBJECT multipart checksum for a CRC: the CRC of the whole object, derived from each
 * part's CRC and length without reading the data again.
 */
export function combineFullObjectCrc(alg: CrcAlgorithm, parts: { digestBase64: string; length: number }[]): string {
  if (!isCrcAlgorithm(alg)) {
    throw new StorageError(
      'InvalidRequest',
      `The FULL_OBJECT checksum type cannot be used with the ${String(alg)} checksum algorithm.`,
    );
  }
  const values = parts.map(({ digestBase64, length }) => {
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new StorageError('InvalidArgument', `Invalid part length ${length}.`);
    }
    return { crc: BigInt('0x' + decodeDigest(alg, digestBase64).toString('hex')), length };
  });
  const crc = combineCrcValues(alg, values);
  return Buffer.from(crc.toString(16).padStart(DIGEST_LENGTH[alg] * 2, '0'), 'hex').toString('base64');
}
