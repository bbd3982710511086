import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketNameProblem, assertObjectKey } from './names.js';
import { StorageError } from '../errors.js';

const valid = [
  'abc',
  'my-bucket',
  'my.bucket.name',
  'a'.repeat(63),
  '123',
  'www.site-one.test',
  'bucket1',
  '1.2.3',
  '1.2.3.4.5',
];
const invalid: [string, RegExp][] = [
  ['ab', /between 3 and 63/],
  ['a'.repeat(64), /between 3 and 63/],
  ['my_bucket', /lowercase letters/],
  ['MyBucket', /lowercase letters/],
  ['-bucket', /begin and end/],
  ['bucket-', /begin and end/],
  ['.bucket', /begin and end/],
  ['my..bucket', /adjacent periods/],
  ['my.-bucket', /period next to a hyphen/],
  ['192.168.1.1', /IP address/],
  ['xn--bucket', /reserved prefix/],
  ['bucket-s3alias', /reserved suffix/],
  ['buck et', /lowercase letters/],
  ['bücket', /lowercase letters/],
];

test('valid bucket names', { timeout: 30_000 }, () => {
  for (const n of valid) assert.equal(bucketNameProblem(n), null, n);
});

test('invalid bucket names are refused with a reason', { timeout: 30_000 }, () => {
  for (const [n, re] of invalid) assert.match(bucketNameProblem(n) ?? '', re, n);
});

test('object keys: 1024 bytes max, counted in UTF-8', { timeout: 30_000 }, () => {
  assertObjectKey('a'.repeat(1024));
  assertObjectKey('é'.repeat(512));
  assert.throws(
    () => assertObjectKey('a'.repeat(1025)),
    (e: unknown) => e instanceof StorageError && e.code === 'KeyTooLongError',
  );
  assert.throws(
    () => assertObjectKey('é'.repeat(513)),
    (e: unknown) => e instanceof StorageError && e.code === 'KeyTooLongError',
  );
  assert.throws(
    () => assertObjectKey(''),
    (e: unknown) => e instanceof StorageError && e.code === 'InvalidArgument',
  );
});
