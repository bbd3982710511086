import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StorageError, type StorageErrorCode } from '../errors.js';
import { validateLifecycleConfig, type LifecycleRuleInput } from './config.js';

const base = (over: Partial<LifecycleRuleInput> = {}): LifecycleRuleInput => ({
  id: 'r1',
  status: 'Enabled',
  filter: { prefix: 'logs/' },
  expiration: { days: '1' },
  ...over,
});

test('valid configurations are stored as typed rules', { timeout: 5_000 }, () => {
  const cases: Array<[string, LifecycleRuleInput[], unknown]> = [
    [
      'filter prefix, days',
      [base()],
      { id: 'r1', status: 'Enabled', filter: { prefix: 'logs/' }, expiration: { days: 1 } },
    ],
    [
      'legacy prefix',
      [base({ filter: undefined, prefix: 'a/' })],
      { id: 'r1', status: 'Enabled', prefix: 'a/', expiration: { days: 1 } },
    ],
    ['empty filter', [base({ filter: {} })], { id: 'r1', status: 'Enabled', filter: {}, expiration: { days: 1 } }],
    [
      'date at midnight',
      [base({ expiration: { date: '2030-01-01T00:00:00Z' } })],
      { id: 'r1', status: 'Enabled', filter: { prefix: 'logs/' }, expiration: { date: '2030-01-01T00:00:00.000Z' } },
    ],
    [
      'date without time',
      [base({ expiration: { date: '2030-01-01' } })],
      { id: 'r1', status: 'Enabled', filter: { prefix: 'logs/' }, expiration: { date: '2030-01-01T00:00:00.000Z' } },
    ],
    [
      'tag filter',
      [base({ filter: { tag: { key: 'k', value: 'v' } } })],
      { id: 'r1', status: 'Enabled', filter: { tag: { key: 'k', value: 'v' } }, expiration: { days: 1 } },
    ],
    [
      'size filter',
      [base({ filter: { objectSizeGreaterThan: '100' } })],
      { id: 'r1', status: 'Enabled', filter: { objectSizeGreaterThan: 100 }, expiration: { days: 1 } },
    ],
    [
      'and filter',
      [
        base({
          filter: {
            and: {
              prefix: 'p/',
              tags: [{ key: 'a', value: '1' }],
              objectSizeGreaterThan: '1',
              objectSizeLessThan: '9',
            },
          },
        }),
      ],
      {
        id: 'r1',
        status: 'Enabled',
        filter: {
          and: { prefix: 'p/', tags: [{ key: 'a', value: '1' }], objectSizeGreaterThan: 1, objectSizeLessThan: 9 },
        },
        expiration: { days: 1 },
      },
    ],
    [
      'delete markers, noncurrent versions, uploads',
      [
        base({
          status: 'Disabled',
          expiration: { expiredObjectDeleteMarker: 'true' },
          noncurrentVersionExpiration: { noncurrentDays: '3', newerNoncurrentVersions: '2' },
          abortIncompleteMultipartUpload: { daysAfterInitiation: '7' },
        }),
      ],
      {
        id: 'r1',
        status: 'Disabled',
        filter: { prefix: 'logs/' },
        expiration: { expiredObjectDeleteMarker: true },
        noncurrentVersionExpiration: { noncurrentDays: 3, newerNoncurrentVersions: 2 },
        abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
      },
    ],
  ];
  for (const [name, input, want] of cases) assert.deepEqual(validateLifecycleConfig(input).rules[0], want, name);
});

test('a rule without an ID gets a unique one', { timeout: 5_000 }, () => {
  const cfg = validateLifecycleConfig([base({ id: undefined }), base({ id: undefined })]);
  assert.ok(cfg.rules[0]!.id.length > 0);
  assert.notEqual(cfg.rules[0]!.id, cfg.rules[1]!.id);
});

test('invalid configurations get the error AWS answers', { timeout: 5_000 }, () => {
  const cases: Array<[string, LifecycleRuleInput[], StorageErrorCode, RegExp?]> = [
    ['no rules', [], 'MalformedXML'],
    [
      '1001 rules',
      Array.from({ length: 1001 }, (_, i) => base({ id: `r${i}` })),
      'InvalidRequest',
      /must not exceed the allowed limit of 1000 rules/,
    ],
    ['duplicate IDs', [base(), base()], 'InvalidArgument', /Rule ID must be unique/],
    [
      'ID of 256 characters',
      [base({ id: 'x'.repeat(256) })],
      'InvalidArgument',
      /ID length should not exceed allowed limit of 255/,
    ],
    ['status missing', [base({ status: undefined })], 'MalformedXML'],
    ['status lower case', [base({ status: 'enabled' })], 'MalformedXML'],
    ['neither prefix nor filter', [base({ filter: undefined })], 'MalformedXML'],
    ['prefix and filter', [base({ prefix: 'x' })], 'MalformedXML'],
    ['two filter predicates', [base({ filter: { prefix: 'a', objectSizeLessThan: '3' } })], 'MalformedXML'],
    ['empty And', [base({ filter: { and: { tags: [] } } })], 'MalformedXML'],
    [
      'duplicate tag keys in And',
      [
        base({
          filter: {
            and: {
              tags: [
                { key: 'a', value: '1' },
                { key: 'a', value: '2' },
              ],
            },
          },
        }),
      ],
      'InvalidRequest',
      /Duplicate Tag Keys/,
    ],
    ['size not a number', [base({ filter: { objectSizeGreaterThan: 'big' } })], 'MalformedXML'],
    ['negative size', [base({ filter: { objectSizeLessThan: '-1' } })], 'InvalidArgument'],
    [
      'empty size range',
      [base({ filter: { and: { tags: [], objectSizeGreaterThan: '10', objectSizeLessThan: '10' } } })],
      'InvalidArgument',
      /ObjectSizeGreaterThan must be less than ObjectSizeLessThan/,
    ],
    [
      'no action',
      [base({ expiration: undefined })],
      'InvalidRequest',
      /At least one action needs to be specified in a rule/,
    ],
    ['empty Expiration', [base({ expiration: {} })], 'MalformedXML'],
    ['Days and Date', [base({ expiration: { days: '1', date: '2030-01-01T00:00:00Z' } })], 'MalformedXML'],
    [
      'Days and ExpiredObjectDeleteMarker',
      [base({ expiration: { days: '1', expiredObjectDeleteMarker: 'true' } })],
      'MalformedXML',
    ],
    [
      'Days zero',
      [base({ expiration: { days: '0' } })],
      'InvalidArgument',
      /'Days' for Expiration action must be a positive integer/,
    ],
    ['Days negative', [base({ expiration: { days: '-3' } })], 'InvalidArgument', /positive integer/],
    ['Days not a number', [base({ expiration: { days: '1.5' } })], 'MalformedXML'],
    [
      'Date not at midnight',
      [base({ expiration: { date: '2030-01-01T10:00:00Z' } })],
      'InvalidArgument',
      /'Date' must be at midnight GMT/,
    ],
    ['Date not a date', [base({ expiration: { date: 'tomorrow' } })], 'MalformedXML'],
    ['marker flag not a boolean', [base({ expiration: { expiredObjectDeleteMarker: 'yes' } })], 'MalformedXML'],
    [
      'ExpiredObjectDeleteMarker with a tag filter',
      [base({ filter: { tag: { key: 'a', value: 'b' } }, expiration: { expiredObjectDeleteMarker: 'true' } })],
      'InvalidRequest',
      /ExpiredObjectDeleteMarker cannot be specified with Tags/,
    ],
    [
      'AbortIncompleteMultipartUpload with a tag filter',
      [
        base({
          filter: { and: { prefix: 'p', tags: [{ key: 'a', value: 'b' }] } },
          abortIncompleteMultipartUpload: { daysAfterInitiation: '1' },
        }),
      ],
      'InvalidRequest',
      /AbortIncompleteMultipartUpload cannot be specified with Tags/,
    ],
    [
      'DaysAfterInitiation zero',
      [base({ abortIncompleteMultipartUpload: { daysAfterInitiation: '0' } })],
      'InvalidArgument',
    ],
    ['DaysAfterInitiation missing', [base({ abortIncompleteMultipartUpload: {} })], 'MalformedXML'],
    ['NoncurrentDays zero', [base({ noncurrentVersionExpiration: { noncurrentDays: '0' } })], 'InvalidArgument'],
    [
      'NewerNoncurrentVersions 101',
      [base({ noncurrentVersionExpiration: { noncurrentDays: '1', newerNoncurrentVersions: '101' } })],
      'InvalidArgument',
    ],
    ['a Transition', [base({ transitions: 1 })], 'InvalidStorageClass', /STANDARD storage class/],
    ['a NoncurrentVersionTransition', [base({ noncurrentVersionTransitions: 1 })], 'InvalidStorageClass'],
  ];
  for (const [name, input, code, message] of cases) {
    assert.throws(
      () => validateLifecycleConfig(input),
      (e: unknown) => {
        assert.ok(e instanceof StorageError, name);
        assert.equal(e.code, code, name);
        if (message) assert.match(e.message, message, name);
        return true;
      },
      name,
    );
  }
});
