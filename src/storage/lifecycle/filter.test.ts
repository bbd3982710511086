import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LifecycleRule } from './config.js';
import { ruleMatches, scanPrefixes, type LifecycleSubject } from './filter.js';

const rule = (over: Partial<LifecycleRule>): LifecycleRule => ({ id: 'r', status: 'Enabled', ...over });
const obj = (key: string, size = 10, tags: LifecycleSubject['tags'] = []): LifecycleSubject => ({ key, size, tags });

test('filters match as AWS documents them', { timeout: 5_000 }, () => {
  const cases: Array<[string, LifecycleRule, LifecycleSubject, boolean]> = [
    ['legacy prefix in', rule({ prefix: 'logs/' }), obj('logs/a'), true],
    ['legacy prefix out', rule({ prefix: 'logs/' }), obj('log/a'), false],
    ['empty filter: everything', rule({ filter: {} }), obj('x'), true],
    ['empty prefix: everything', rule({ filter: { prefix: '' } }), obj('x'), true],
    ['prefix is case-sensitive', rule({ filter: { prefix: 'Logs/' } }), obj('logs/a'), false],
    ['tag present', rule({ filter: { tag: { key: 'k', value: 'v' } } }), obj('a', 1, [{ key: 'k', value: 'v' }]), true],
    [
      'tag with another value',
      rule({ filter: { tag: { key: 'k', value: 'v' } } }),
      obj('a', 1, [{ key: 'k', value: 'w' }]),
      false,
    ],
    ['tag absent', rule({ filter: { tag: { key: 'k', value: 'v' } } }), obj('a'), false],
    [
      'extra tags on the object do not matter',
      rule({ filter: { tag: { key: 'k', value: 'v' } } }),
      obj('a', 1, [
        { key: 'z', value: '1' },
        { key: 'k', value: 'v' },
      ]),
      true,
    ],
    ['greater than is exclusive', rule({ filter: { objectSizeGreaterThan: 10 } }), obj('a', 10), false],
    ['greater than', rule({ filter: { objectSizeGreaterThan: 10 } }), obj('a', 11), true],
    ['less than is exclusive', rule({ filter: { objectSizeLessThan: 10 } }), obj('a', 10), false],
    ['less than', rule({ filter: { objectSizeLessThan: 10 } }), obj('a', 9), true],
    [
      'And: all predicates hold',
      rule({
        filter: {
          and: {
            prefix: 'p/',
            tags: [
              { key: 'a', value: '1' },
              { key: 'b', value: '2' },
            ],
            objectSizeLessThan: 5,
          },
        },
      }),
      obj('p/x', 4, [
        { key: 'b', value: '2' },
        { key: 'a', value: '1' },
      ]),
      true,
    ],
    [
      'And: one tag missing',
      rule({
        filter: {
          and: {
            prefix: 'p/',
            tags: [
              { key: 'a', value: '1' },
              { key: 'b', value: '2' },
            ],
          },
        },
      }),
      obj('p/x', 4, [{ key: 'a', value: '1' }]),
      false,
    ],
    ['And: size out of range', rule({ filter: { and: { tags: [], objectSizeGreaterThan: 5 } } }), obj('p/x', 5), false],
  ];
  for (const [name, r, o, want] of cases) assert.equal(ruleMatches(r, o), want, name);
});

test('scanPrefixes keeps the fewest covering prefixes', { timeout: 5_000 }, () => {
  const cases: Array<[string[], string[]]> = [
    [['logs/'], ['logs/']],
    [['logs/', 'logs/2024/'], ['logs/']],
    [
      ['b/', 'a/', 'b/'],
      ['a/', 'b/'],
    ],
    [['x', ''], ['']],
  ];
  for (const [prefixes, want] of cases)
    assert.deepEqual(scanPrefixes(prefixes.map((p) => rule({ filter: { prefix: p } }))), want, prefixes.join(','));
});
