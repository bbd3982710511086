import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Tag } from '#storage';
import { S3Error } from './errors.js';
import { parseTaggingHeader, parseTaggingXml, requestTagContext, validateTags } from './tagging.js';

const tag = (key: string, value = 'v'): Tag => ({ key, value });
const many = (n: number): Tag[] => Array.from({ length: n }, (_, i) => tag(`k${i}`));

/** [name, tags, target, expected error code or null when valid]. */
const rules: [string, Tag[], 'object' | 'bucket', string | null][] = [
  ['an empty set', [], 'object', null],
  [
    'the allowed punctuation + - = . _ : / @ and spaces',
    [tag('a+b-c=d.e_f:g/h@i j', '+ - = . _ : / @')],
    'object',
    null,
  ],
  ['letters and digits of any script', [tag('Ärger', '東京'), tag('١٢٣', 'ÆØÅ')], 'object', null],
  ['an empty value', [tag('k', '')], 'object', null],
  ['a 128-character key', [tag('k'.repeat(128))], 'object', null],
  [
    'a 128-character key of astral characters (counted as characters, not UTF-16 units)',
    [tag('𝒜'.repeat(128))],
    'object',
    null,
  ],
  ['a 129-character key', [tag('k'.repeat(129))], 'object', 'InvalidTag'],
  ['a 256-character value', [tag('k', 'v'.repeat(256))], 'object', null],
  ['a 257-character value', [tag('k', 'v'.repeat(257))], 'object', 'InvalidTag'],
  ['an empty key', [tag('')], 'object', 'InvalidTag'],
  ['a key with #', [tag('a#b')], 'object', 'InvalidTag'],
  ['a value with *', [tag('k', 'a*b')], 'object', 'InvalidTag'],
  ['a value with a control character', [tag('k', 'a\nb')], 'object', 'InvalidTag'],
  ['the reserved aws: prefix', [tag('aws:cloudformation')], 'object', 'InvalidTag'],
  ['the reserved prefix in capitals', [tag('AWS:x')], 'object', 'InvalidTag'],
  ['aws without the colon', [tag('awsome')], 'object', null],
  ['a repeated key', [tag('k', '1'), tag('k', '2')], 'object', 'InvalidTag'],
  ['keys differing in case only (case-sensitive)', [tag('k'), tag('K')], 'object', null],
  ['10 object tags', many(10), 'object', null],
  ['11 object tags', many(11), 'object', 'BadRequest'],
  ['11 bucket tags', many(11), 'bucket', null],
  ['50 bucket tags', many(50), 'bucket', null],
  ['51 bucket tags', many(51), 'bucket', 'BadRequest'],
];

for (const [name, tags, target, code] of rules) {
  test(`${target} tags, ${name}: ${code ?? 'valid'}`, { timeout: 5_000 }, () => {
    if (code === null) {
      assert.deepEqual(validateTags(tags, target), tags);
      return;
    }
    assert.throws(
      () => validateTags(tags, target),
      (e: unknown) => e instanceof S3Error && e.code === code && e.status === 400,
    );
  });
}

const headers: [string, Tag[] | string][] = [
  ['team=web&env=prod', [tag('team', 'web'), tag('env', 'prod')]],
  ['', []],
  ['flag', [tag('flag', '')]],
  ['k=', [tag('k', '')]],
  ['a%20b=c%2Fd', [tag('a b', 'c/d')]],
  ['a+b=c', [tag('a b', 'c')]],
  ['k=a%3Db', [tag('k', 'a=b')]],
  ['%E6%9D%B1=%C3%A4', [tag('東', 'ä')]],
  ['k=1&k=2', 'InvalidArgument'],
  ['k=%E0%A4', 'InvalidArgument'],
  ['a%23b=v', 'InvalidTag'],
  [Array.from({ length: 11 }, (_, i) => `k${i}=v`).join('&'), 'BadRequest'],
];

for (const [raw, want] of headers) {
  test(`x-amz-tagging "${raw.slice(0, 40)}": ${typeof want === 'string' ? want : JSON.stringify(want)}`, {
    timeout: 5_000,
  }, () => {
    if (typeof want !== 'string') {
      assert.deepEqual(parseTaggingHeader(raw), want);
      return;
    }
    assert.throws(
      () => parseTaggingHeader(raw),
      (e: unknown) => e instanceof S3Error && e.code === want,
    );
  });
}

const doc = (inner: string): string => `<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</Tagging>`;
const documents: [string, string, Tag[] | string][] = [
  [
    'two tags',
    doc('<TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>b</Key><Value>2</Value></Tag></TagSet>'),
    [tag('a', '1'), tag('b', '2')],
  ],
  [
    'one tag, indented',
    doc('\n  <TagSet>\n    <Tag>\n      <Key>a</Key>\n      <Value>1</Value>\n    </Tag>\n  </TagSet>\n'),
    [tag('a', '1')],
  ],
  ['an empty value', doc('<TagSet><Tag><Key>a</Key><Value></Value></Tag></TagSet>'), [tag('a', '')]],
  ['an empty TagSet', doc('<TagSet/>'), []],
  ['entities decoded', doc('<TagSet><Tag><Key>a&amp;b</Key><Value>x</Value></Tag></TagSet>'), 'InvalidTag'],
  [
    'character references decoded',
    doc('<TagSet><Tag><Key>&#x6B;</Key><Value>&#118;</Value></Tag></TagSet>'),
    [tag('k', 'v')],
  ],
  ['no TagSet', doc(''), 'MalformedXML'],
  ['a Tag without Value', doc('<TagSet><Tag><Key>a</Key></Tag></TagSet>'), 'MalformedXML'],
  ['a Tag without Key', doc('<TagSet><Tag><Value>a</Value></Tag></TagSet>'), 'MalformedXML'],
  ['another root', '<TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet>', 'MalformedXML'],
  ['not XML', 'team=web', 'MalformedXML'],
  [
    'a repeated key',
    doc('<TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value>2</Value></Tag></TagSet>'),
    'InvalidTag',
  ],
];

for (const [name, body, want] of documents) {
  test(`<Tagging> with ${name}: ${typeof want === 'string' ? want : 'parsed'}`, { timeout: 5_000 }, () => {
    if (typeof want !== 'string') {
      assert.deepEqual(parseTaggingXml(body, 'object'), want);
      return;
    }
    assert.throws(
      () => parseTaggingXml(body, 'object'),
      (e: unknown) => e instanceof S3Error && e.code === want,
    );
  });
}

test('request tags become s3:RequestObjectTag/<key> and the multi-valued s3:RequestObjectTagKeys', {
  timeout: 5_000,
}, () => {
  assert.deepEqual(requestTagContext([tag('Team', 'web'), tag('env', 'prod')]), {
    's3:requestobjecttagkeys': ['Team', 'env'],
    's3:requestobjecttag/team': 'web',
    's3:requestobjecttag/env': 'prod',
  });
  assert.deepEqual(requestTagContext(null), {});
  assert.deepEqual(requestTagContext([]), { 's3:requestobjecttagkeys': [] });
});
