import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { AwsCrc32 } from '@aws-crypto/crc32';
import { AwsCrc32c } from '@aws-crypto/crc32c';
import { Crc64Nvme } from '@aws-sdk/crc64-nvme';
import { isStorageError } from '../errors.js';
import {
  CHECKSUM_ALGORITHMS,
  createChecksummer,
  tableCrc32,
  type ChecksumAlgorithm,
  type CrcAlgorithm,
} from './algorithms.js';
import {
  checksumAlgorithmOfHeader,
  checksumHeaderName,
  checksumMismatchError,
  combineFullObjectCrc,
  compositeChecksum,
  isValidChecksumValue,
  parseChecksumAlgorithm,
} from './index.js';

const CRCS: CrcAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME'];
const CHECK = Buffer.from('123456789');

function digest(alg: ChecksumAlgorithm, ...pieces: Buffer[]): string {
  const c = createChecksummer(alg);
  for (const p of pieces) c.update(p);
  return c.digestBase64();
}

function randomSplit(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    const n = Math.min(data.length - at, Math.floor(Math.random() * 40));
    out.push(data.subarray(at, at + n));
    at += n;
  }
  return out;
}

// The standard check values (CRC catalogue "check" = CRC of "123456789") and SHA test vectors.
const VECTORS: [ChecksumAlgorithm, string, string][] = [
  ['CRC32', 'cbf43926', 'y/Q5Jg=='],
  ['CRC32C', 'e3069283', '4waSgw=='],
  ['CRC64NVME', 'ae8b14860a799888', 'rosUhgp5mIg='],
  ['SHA1', 'f7c3bc1d808e04732adf679965ccc34ca7ae3441', '98O8HYCOBHMq32eZZczDTKeuNEE='],
  [
    'SHA256',
    '15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225',
    'FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=',
  ],
];

test('check values of "123456789", raw and in the base64 form S3 uses', { timeout: 30_000 }, () => {
  for (const [alg, hex, b64] of VECTORS) {
    assert.equal(Buffer.from(hex, 'hex').toString('base64'), b64, alg);
    assert.equal(digest(alg, CHECK), b64, alg);
  }
});

test('the empty input digests to the algorithm initial value', { timeout: 30_000 }, () => {
  const expected: Record<ChecksumAlgorithm, string> = {
    CRC32: 'AAAAAA==',
    CRC32C: 'AAAAAA==',
    CRC64NVME: 'AAAAAAAAAAA=',
    SHA1: createHash('sha1').digest('base64'),
    SHA256: createHash('sha256').digest('base64'),
  };
  for (const alg of CHECKSUM_ALGORITHMS) assert.equal(digest(alg), expected[alg], alg);
});

test('digest does not depend on how the input is split, and does not end the checksummer', { timeout: 30_000 }, () => {
  const data = randomBytes(5000);
  for (const alg of CHECKSUM_ALGORITHMS) {
    const whole = digest(alg, data);
    for (let round = 0; round < 5; round++) assert.equal(digest(alg, ...randomSplit(data)), whole, alg);
    const c = createChecksummer(alg);
    c.update(data.subarray(0, 1234));
    assert.equal(c.digestBase64(), digest(alg, data.subarray(0, 1234)), alg);
    c.update(data.subarray(1234));
    assert.equal(c.digestBase64(), whole, alg);
  }
});

test('CRCs agree with the AWS SDK implementations (@aws-crypto/crc32, crc32c, @aws-sdk/crc64-nvme)', {
  timeout: 30_000,
}, async () => {
  const refs: Record<CrcAlgorithm, () => { update(d: Uint8Array): void; digest(): Promise<Uint8Array> }> = {
    CRC32: () => new AwsCrc32(),
    CRC32C: () => new AwsCrc32c(),
    CRC64NVME: () => new Crc64Nvme(),
  };
  for (const len of [0, 1, 7, 8, 9, 15, 16, 17, 63, 1000, 65536 + 3]) {
    const data = randomBytes(len);
    for (const alg of CRCS) {
      const ref = refs[alg]();
      ref.update(data);
      assert.equal(digest(alg, data), Buffer.from(await ref.digest()).toString('base64'), `${alg} len=${len}`);
    }
  }
});

test('the table CRC-32 (fallback for Node < 20.15) equals zlib and the check value', { timeout: 30_000 }, () => {
  const data = randomBytes(4099);
  assert.equal(tableCrc32('CRC32', 0, CHECK), 0xcbf43926);
  assert.equal(tableCrc32('CRC32C', 0, CHECK), 0xe3069283);
  const incremental = tableCrc32('CRC32', tableCrc32('CRC32', 0, data.subarray(0, 11)), data.subarray(11));
  assert.equal(
    Buffer.from([incremental >>> 24, incremental >>> 16, incremental >>> 8, incremental].map((b) => b & 0xff)).toString(
      'base64',
    ),
    digest('CRC32', data),
  );
});

test('parseChecksumAlgorithm is case-insensitive and rejects unknown names with the AWS message', {
  timeout: 30_000,
}, () => {
  const ok: [string, ChecksumAlgorithm][] = [
    ['crc32', 'CRC32'],
    ['CRC32C', 'CRC32C'],
    ['Crc64Nvme', 'CRC64NVME'],
    ['sha1', 'SHA1'],
    ['SHA256', 'SHA256'],
  ];
  for (const [input, alg] of ok) assert.equal(parseChecksumAlgorithm(input), alg);
  for (const bad of ['MD5', 'crc', 'sha-256', '', ' crc32']) {
    assert.throws(
      () => parseChecksumAlgorithm(bad),
      (e: unknown) => {
        assert.ok(isStorageError(e));
        assert.equal(e.code, 'InvalidRequest');
        assert.equal(
          e.message,
          'Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]',
        );
        return true;
      },
    );
  }
});

test('header names map both ways', { timeout: 30_000 }, () => {
  for (const alg of CHECKSUM_ALGORITHMS) {
    assert.equal(checksumHeaderName(alg), `x-amz-checksum-${alg.toLowerCase()}`);
    assert.equal(checksumAlgorithmOfHeader(checksumHeaderName(alg)), alg);
  }
  for (const name of [
    'x-amz-checksum-md5',
    'x-amz-checksum-',
    'x-amz-checksum-type',
    'content-md5',
    'X-AMZ-CHECKSUM-CRC32',
  ]) {
    assert.equal(checksumAlgorithmOfHeader(name), null, name);
  }
});

test('isValidChecksumValue wants canonical padded base64 of the digest size', { timeout: 30_000 }, () => {
  const cases: [ChecksumAlgorithm, string, boolean][] = [
    ['CRC32', 'y/Q5Jg==', true],
    ['CRC32', 'y/Q5Jg', false], // unpadded
    ['CRC32', 'cbf43926', false], // hex
    ['CRC32', 'rosUhgp5mIg=', false], // 8 bytes
    ['CRC32', 'y/Q5Jh==', false], // non-canonical trailing bits
    ['CRC32', 'y/Q5\nJg==', false],
    ['CRC32', '', false],
    ['CRC32C', '4waSgw==', true],
    ['CRC64NVME', 'rosUhgp5mIg=', true],
    ['CRC64NVME', 'y/Q5Jg==', false],
    ['SHA1', '98O8HYCOBHMq32eZZczDTKeuNEE=', true],
    ['SHA256', 'FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=', true],
    ['SHA256', 'FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsi*=', false],
    ['SHA256', '98O8HYCOBHMq32eZZczDTKeuNEE=', false],
  ];
  for (const [alg, value, valid] of cases)
    assert.equal(isValidChecksumValue(alg, value), valid, `${alg} ${JSON.stringify(value)}`);
});

test('checksumMismatchError is AWS BadDigest wording', { timeout: 30_000 }, () => {
  const e = checksumMismatchError('CRC64NVME');
  assert.equal(e.code, 'BadDigest');
  assert.equal(e.message, 'The CRC64NVME you specified did not match the calculated checksum.');
});

test('combineFullObjectCrc equals the CRC of the concatenation for random splits', { timeout: 30_000 }, () => {
  const data = randomBytes(20000);
  for (const alg of CRCS) {
    const whole = digest(alg, data);
    for (let round = 0; round < 20; round++) {
      const cuts = [
        0,
        ...Array.from({ length: Math.floor(Math.random() * 6) }, () => Math.floor(Math.random() * data.length)),
        data.length,
      ].sort((a, b) => a - b);
      const parts = cuts.slice(1).map((end, i) => {
        const slice = data.subarray(cuts[i]!, end); // may be empty
        return { digestBase64: digest(alg, slice), length: slice.length };
      });
      assert.equal(combineFullObjectCrc(alg, parts), whole, `${alg} cuts=${cuts.join(',')}`);
    }
    assert.equal(combineFullObjectCrc(alg, [{ digestBase64: whole, length: data.length }]), whole);
    assert.equal(combineFullObjectCrc(alg, []), digest(alg));
  }
});

test('combineFullObjectCrc is associative for lengths beyond 32 bits', { timeout: 30_000 }, () => {
  const lengths = [1, 5 * 2 ** 30 + 7, 3 * 2 ** 32];
  for (const alg of CRCS) {
    const [pa, pb, pc] = lengths.map((length, i) => ({
      digestBase64: digest(alg, Buffer.from('abc'[i]!)),
      length,
    })) as [
      { digestBase64: string; length: number },
      { digestBase64: string; length: number },
      { digestBase64: string; length: number },
    ];
    const ab = { digestBase64: combineFullObjectCrc(alg, [pa, pb]), length: pa.length + pb.length };
    assert.equal(combineFullObjectCrc(alg, [pa, pb, pc]), combineFullObjectCrc(alg, [ab, pc]), alg);
    // The shift depends on the length: change it and the result changes.
    assert.notEqual(combineFullObjectCrc(alg, [pa, { ...pb, length: pb.length + 1 }]), ab.digestBase64, alg);
  }
});

test('combineFullObjectCrc rejects bad part digests and lengths', { timeout: 30_000 }, () => {
  for (const parts of [
    [{ digestBase64: 'nope', length: 1 }],
    [{ digestBase64: 'y/Q5Jg==', length: -1 }],
    [{ digestBase64: 'y/Q5Jg==', length: 1.5 }],
  ]) {
    assert.throws(
      () => combineFullObjectCrc('CRC32', parts),
      (e: unknown) => isStorageError(e) && e.code === 'InvalidArgument',
    );
  }
});

test('compositeChecksum hashes the concatenated raw part digests and appends -N', { timeout: 30_000 }, () => {
  const parts = [randomBytes(100), randomBytes(3000), randomBytes(1)];
  for (const alg of CHECKSUM_ALGORITHMS) {
    const digests = parts.map((p) => digest(alg, p));
    const raw = Buffer.concat(digests.map((d) => Buffer.from(d, 'base64')));
    const value = compositeChecksum(alg, digests);
    assert.equal(value, `${digest(alg, raw)}-3`, alg);
    assert.match(value, /^[A-Za-z0-9+/]+={0,2}-3$/);
  }
  // Independent of our hashers for SHA-256:
  const sha = parts.map((p) => createHash('sha256').update(p).digest());
  assert.equal(
    compositeChecksum(
      'SHA256',
      sha.map((d) => d.toString('base64')),
    ),
    createHash('sha256').update(Buffer.concat(sha)).digest('base64') + '-3',
  );
  assert.throws(
    () => compositeChecksum('SHA1', ['y/Q5Jg==']),
    (e: unknown) => isStorageError(e) && e.code === 'InvalidArgument',
  );
});
