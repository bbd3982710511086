import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cidrContains,
  compilePattern,
  evaluateCondition,
  parseCidr,
  parseConditionBlock,
  patternAllowsPrefix,
  patternMatches,
  type RequestContext,
} from './conditions.js';

/** Evaluates a whole Condition block (AND of its parts) against a request context. */
const holds = (block: Record<string, Record<string, unknown>>, ctx: RequestContext): boolean =>
  parseConditionBlock(block).every((c) => evaluateCondition(c, ctx, ctx));

type Row = [name: string, block: Record<string, Record<string, unknown>>, ctx: RequestContext, want: boolean];
const run = (rows: Row[]): void => {
  for (const [name, block, ctx, want] of rows) assert.equal(holds(block, ctx), want, name);
};

test('wildcard patterns', { timeout: 30_000 }, () => {
  const rows: Array<[string, string, boolean]> = [
    ['abc', 'abc', true],
    ['abc', 'abcd', false],
    ['a*', 'a', true],
    ['a*', 'a/b/c', true],
    ['*c', 'abc', true],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXbY', false],
    ['**', '', true],
    ['*', '', true],
    ['?', '', false],
    ['é?', 'éé', true],
    ['a*a*a*a*a*b', 'a'.repeat(5000), false],
  ];
  for (const [pattern, text, want] of rows)
    assert.equal(patternMatches(compilePattern(pattern, 'literal')!, text), want, `${pattern} ~ ${text}`);
  assert.equal(patternAllowsPrefix(compilePattern('arn:aws:s3:::pho*', 'literal')!, 'arn:aws:s3:::photos/'), true);
  assert.equal(patternAllowsPrefix(compilePattern('arn:aws:s3:::photos', 'literal')!, 'arn:aws:s3:::photos/'), false);
  assert.equal(compilePattern('${aws:username}/x', {}), null);
  assert.equal(patternMatches(compilePattern('${aws:username}/x', { 'aws:username': 'a?' })!, 'ab/x'), false);
});

test('CIDR parsing and matching, IPv4 and IPv6', { timeout: 30_000 }, () => {
  const rows: Array<[string, string, boolean]> = [
    ['192.0.2.0/24', '192.0.2.1', true],
    ['192.0.2.0/24', '192.0.2.255', true],
    ['192.0.2.0/24', '192.0.3.1', false],
    ['192.0.2.7', '192.0.2.7', true],
    ['192.0.2.7', '192.0.2.8', false],
    ['192.0.2.7/32', '192.0.2.7', true],
    ['0.0.0.0/0', '203.0.113.50', true],
    ['10.1.2.3/8', '10.200.0.1', true],
    ['192.0.2.0/24', '::ffff:192.0.2.9', true],
    ['192.0.2.0/24', '2001:db8::1', false],
    ['2001:db8::/32', '2001:db8:1234::1', true],
    ['2001:DB8:1234:5678::/64', '2001:db8:1234:5678:abcd::1', true],
    ['2001:db8:1234:5678::/64', '2001:db8:1234:5679::1', false],
    ['2001:db8::/32', '192.0.2.1', false],
    ['::/0', '::1', true],
    ['::1', '::1', true],
    ['::1/128', '0:0:0:0:0:0:0:1', true],
    ['64:ff9b::/96', '64:ff9b::192.0.2.33', true],
    ['fe80::/10', 'febf::1', true],
    ['fe80::/10', 'fec0::1', false],
    ['192.0.2.0/24', 'not-an-ip', false],
    ['192.0.2.0/24', '192.0.2', false],
  ];
  for (const [cidr, ip, want] of rows) assert.equal(cidrContains(parseCidr(cidr)!, ip), want, `${cidr} ∋ ${ip}`);
  for (const bad of [
    '10.0.0.0/33',
    '256.0.0.1',
    '1.2.3',
    '10.0.0.0/-1',
    '::1/129',
    '1::2::3',
    '2001:db8::g',
    '1:2:3:4:5:6:7:8:9',
    '10.0.0.0/8/8',
    'x',
    '',
  ]) {
    assert.equal(parseCidr(bad), null, bad);
  }
});

test('string operators', { timeout: 30_000 }, () => {
  run([
    ['StringEquals hit', { StringEquals: { 's3:prefix': 'home/' } }, { 's3:prefix': 'home/' }, true],
    ['StringEquals is case-sensitive', { StringEquals: { 's3:prefix': 'home/' } }, { 's3:prefix': 'HOME/' }, false],
    ['StringEquals, any of a list', { StringEquals: { 's3:prefix': ['a', 'b'] } }, { 's3:prefix': 'b' }, true],
    ['StringEquals with * is literal', { StringEquals: { 's3:prefix': 'a*' } }, { 's3:prefix': 'ab' }, false],
    ['StringNotEquals hit', { StringNotEquals: { 's3:prefix': ['a', 'b'] } }, { 's3:prefix': 'c' }, true],
    ['StringNotEquals miss', { StringNotEquals: { 's3:prefix': ['a', 'b'] } }, { 's3:prefix': 'a' }, false],
    [
      'StringEqualsIgnoreCase',
      { StringEqualsIgnoreCase: { 'aws:UserAgent': 'Curl/8' } },
      { 'aws:useragent': 'cURL/8' },
      true,
    ],
    [
      'StringNotEqualsIgnoreCase',
      { StringNotEqualsIgnoreCase: { 'aws:UserAgent': 'Curl/8' } },
      { 'aws:useragent': 'cURL/8' },
      false,
    ],
    [
      'StringLike *',
      { StringLike: { 'aws:Referer': 'https://*.example.com/*' } },
      { 'aws:referer': 'https://a.example.com/x' },
      true,
    ],
    ['StringLike ?', { StringLike: { 's3:prefix': 'v?/' } }, { 's3:prefix': 'v2/' }, true],
    ['StringLike case-sensitive', { StringLike: { 's3:prefix': 'A*' } }, { 's3:prefix': 'abc' }, false],
    ['StringNotLike hit', { StringNotLike: { 's3:prefix': 'private/*' } }, { 's3:prefix': 'public/' }, true],
    ['StringNotLike miss', { StringNotLike: { 's3:prefix': 'private/*' } }, { 's3:prefix': 'private/x' }, false],
    [
      'variable in value',
      { StringEquals: { 's3:prefix': 'home/${aws:username}/' } },
      { 's3:prefix': 'home/alice/', 'aws:username': 'alice' },
      true,
    ],
    [
      'variable in StringLike',
      { StringLike: { 's3:prefix': '${aws:username}/*' } },
      { 's3:prefix': 'bob/x', 'aws:username': 'alice' },
      false,
    ],
  ]);
});

test('numeric operators', { timeout: 30_000 }, () => {
  const k = (v: string): RequestContext => ({ 's3:max-keys': v });
  run([
    ['NumericEquals', { NumericEquals: { 's3:max-keys': '10' } }, k('10'), true],
    ['NumericEquals compares numbers, not text', { NumericEquals: { 's3:max-keys': '10' } }, k('10.0'), true],
    ['NumericNotEquals', { NumericNotEquals: { 's3:max-keys': '10' } }, k('11'), true],
    ['NumericNotEquals equal', { NumericNotEquals: { 's3:max-keys': '10' } }, k('10'), false],
    ['NumericLessThan', { NumericLessThan: { 's3:max-keys': '10' } }, k('9'), true],
    ['NumericLessThan bound', { NumericLessThan: { 's3:max-keys': '10' } }, k('10'), false],
    ['NumericLessThanEquals', { NumericLessThanEquals: { 's3:max-keys': '10' } }, k('10'), true],
    ['NumericGreaterThan', { NumericGreaterThan: { 's3:max-keys': '10' } }, k('10'), false],
    ['NumericGreaterThan above', { NumericGreaterThan: { 's3:max-keys': '10' } }, k('1000'), true],
    ['NumericGreaterThanEquals', { NumericGreaterThanEquals: { 's3:max-keys': '10' } }, k('10'), true],
    ['non-numeric request value', { NumericLessThan: { 's3:max-keys': '10' } }, k('abc'), false],
    ['decimals', { NumericLessThan: { 's3:max-keys': '2.5' } }, k('2.25'), true],
  ]);
});

test('date operators', { timeout: 30_000 }, () => {
  const at = (iso: string): RequestContext => ({ 'aws:currenttime': iso });
  run([
    [
      'DateLessThan before',
      { DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } },
      at('2029-12-31T23:59:59Z'),
      true,
    ],
    [
      'DateLessThan after',
      { DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } },
      at('2030-01-01T00:00:01Z'),
      false,
    ],
    [
      'DateLessThanEquals bound',
      { DateLessThanEquals: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } },
      at('2030-01-01T00:00:00Z'),
      true,
    ],
    ['DateGreaterThan', { DateGreaterThan: { 'aws:CurrentTime': '2020-01-01' } }, at('2024-05-01T10:00:00Z'), true],
    [
      'DateGreaterThanEquals',
      { DateGreaterThanEquals: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } },
      at('2019-12-31T23:59:59Z'),
      false,
    ],
    [
      'DateEquals across formats',
      { DateEquals: { 'aws:CurrentTime': '2020-01-01T01:00:00+01:00' } },
      at('2020-01-01T00:00:00Z'),
      true,
    ],
    [
      'DateNotEquals',
      { DateNotEquals: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } },
      at('2020-01-01T00:00:00Z'),
      false,
    ],
    [
      'epoch policy value',
      { DateLessThan: { 'aws:EpochTime': '1893456000' } },
      { 'aws:epochtime': '1700000000' },
      true,
    ],
    ['epoch against ISO', { DateGreaterThan: { 'aws:CurrentTime': '1577836800' } }, at('2020-01-01T00:00:01Z'), true],
    ['unparseable request date', { DateLessThan: { 'aws:CurrentTime': '2030-01-01' } }, at('soon'), false],
  ]);
});

test('Bool, BinaryEquals, ARN operators', { timeout: 30_000 }, () => {
  run([
    ['Bool true', { Bool: { 'aws:SecureTransport': 'true' } }, { 'aws:securetransport': 'true' }, true],
    ['Bool false', { Bool: { 'aws:SecureTransport': 'false' } }, { 'aws:securetransport': 'true' }, false],
    ['Bool is case-insensitive', { Bool: { 'aws:SecureTransport': 'TRUE' } }, { 'aws:securetransport': 'true' }, true],
    ['Bool missing key', { Bool: { 'aws:SecureTransport': 'false' } }, {}, false],
    ['BinaryEquals', { BinaryEquals: { 'x:bin': 'QmluYXJ5' } }, { 'x:bin': 'QmluYXJ5' }, true],
    [
      'ArnLike',
      { ArnLike: { 'aws:SourceArn': 'arn:aws:s3:::photos*' } },
      { 'aws:sourcearn': 'arn:aws:s3:::photos-logs' },
      true,
    ],
    [
      'ArnEquals with wildcard',
      { ArnEquals: { 'aws:SourceArn': 'arn:aws:iam::*:root' } },
      { 'aws:sourcearn': 'arn:aws:iam::cellar_a:root' },
      true,
    ],
    [
      'Arn * stays in its component',
      { ArnLike: { 'aws:SourceArn': 'arn:aws:iam::*' } },
      { 'aws:sourcearn': 'arn:aws:iam::a:root' },
      false,
    ],
    [
      'ArnNotLike',
      { ArnNotLike: { 'aws:SourceArn': 'arn:aws:s3:::photos*' } },
      { 'aws:sourcearn': 'arn:aws:s3:::other' },
      true,
    ],
    [
      'ArnNotEquals',
      { ArnNotEquals: { 'aws:SourceArn': 'arn:aws:s3:::photos' } },
      { 'aws:sourcearn': 'arn:aws:s3:::photos' },
      false,
    ],
    ['not an ARN', { ArnLike: { 'aws:SourceArn': '*' } }, { 'aws:sourcearn': 'photos' }, false],
  ]);
});

test('IpAddress and NotIpAddress', { timeout: 30_000 }, () => {
  const from = (ip: string): RequestContext => ({ 'aws:sourceip': ip });
  run([
    ['IpAddress v4 inside', { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, from('203.0.113.7'), true],
    ['IpAddress v4 outside', { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, from('198.51.100.7'), false],
    [
      'IpAddress list v4+v6',
      { IpAddress: { 'aws:SourceIp': ['203.0.113.0/24', '2001:db8::/32'] } },
      from('2001:db8::5'),
      true,
    ],
    ['IpAddress mapped v4', { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, from('::ffff:203.0.113.7'), true],
    ['NotIpAddress outside', { NotIpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, from('198.51.100.7'), true],
    [
      'NotIpAddress inside',
      { NotIpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '203.0.113.0/24'] } },
      from('203.0.113.7'),
      false,
    ],
    ['NotIpAddress v6', { NotIpAddress: { 'aws:SourceIp': '2001:db8::/32' } }, from('2001:db9::1'), true],
    ['IpAddress missing key', { IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } }, {}, false],
    ['NotIpAddress missing key', { NotIpAddress: { 'aws:SourceIp': '0.0.0.0/0' } }, {}, true],
  ]);
});

test('missing keys, IfExists and Null', { timeout: 30_000 }, () => {
  run([
    ['positive operator, key missing', { StringEquals: { 'aws:Referer': 'x' } }, {}, false],
    ['negated operator, key missing', { StringNotEquals: { 'aws:Referer': 'x' } }, {}, true],
    ['StringNotLike, key missing', { StringNotLike: { 'aws:Referer': 'x*' } }, {}, true],
    ['NumericLessThan, key missing', { NumericLessThan: { 's3:max-keys': '5' } }, {}, false],
    ['IfExists, key missing', { StringEqualsIfExists: { 'aws:Referer': 'x' } }, {}, true],
    [
      'IfExists, key present and matching',
      { StringEqualsIfExists: { 'aws:Referer': 'x' } },
      { 'aws:referer': 'x' },
      true,
    ],
    [
      'IfExists, key present and not matching',
      { StringEqualsIfExists: { 'aws:Referer': 'x' } },
      { 'aws:referer': 'y' },
      false,
    ],
    [
      'NumericLessThanIfExists present',
      { NumericLessThanIfExists: { 's3:max-keys': '5' } },
      { 's3:max-keys': '9' },
      false,
    ],
    ['IpAddressIfExists missing', { IpAddressIfExists: { 'aws:SourceIp': '10.0.0.0/8' } }, {}, true],
    ['Null true, key missing', { Null: { 'aws:Referer': 'true' } }, {}, true],
    ['Null true, key present', { Null: { 'aws:Referer': 'true' } }, { 'aws:referer': '' }, false],
    ['Null false, key present', { Null: { 'aws:Referer': 'false' } }, { 'aws:referer': 'x' }, true],
    ['Null false, key missing', { Null: { 'aws:Referer': 'false' } }, {}, false],
    ['empty list counts as missing', { Null: { 'x:tags': 'true' } }, { 'x:tags': [] }, true],
    ['AND across keys', { StringEquals: { 's3:prefix': 'a', 's3:delimiter': '/' } }, { 's3:prefix': 'a' }, false],
    [
      'AND across keys, both present',
      { StringEquals: { 's3:prefix': 'a', 's3:delimiter': '/' } },
      { 's3:prefix': 'a', 's3:delimiter': '/' },
      true,
    ],
  ]);
});

test('condition key names are case-insensitive', { timeout: 30_000 }, () => {
  run([
    ['mixed-case key in policy', { StringEquals: { 'AWS:REFERER': 'x' } }, { 'aws:referer': 'x' }, true],
    ['mixed-case key in context', { StringEquals: { 'aws:referer': 'x' } }, { 'AWS:Referer': 'x' }, true],
    ['operator names fold case too', { stringequals: { 'aws:referer': 'x' } }, { 'aws:referer': 'x' }, true],
  ]);
});

test('ForAnyValue and ForAllValues on multi-valued keys', { timeout: 30_000 }, () => {
  const tags = (...v: string[]): RequestContext => ({ 'aws:tagkeys': v });
  run([
    ['ForAnyValue: one matches', { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['a', 'b'] } }, tags('x', 'b'), true],
    ['ForAnyValue: none matches', { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['a', 'b'] } }, tags('x', 'y'), false],
    ['ForAnyValue: key missing', { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['a'] } }, {}, false],
    ['ForAnyValue: IfExists, key missing', { 'ForAnyValue:StringEqualsIfExists': { 'aws:TagKeys': ['a'] } }, {}, true],
    [
      'ForAllValues: all match',
      { 'ForAllValues:StringLike': { 'aws:TagKeys': ['team-*', 'env'] } },
      tags('team-a', 'env'),
      true,
    ],
    [
      'ForAllValues: one does not',
      { 'ForAllValues:StringLike': { 'aws:TagKeys': ['team-*', 'env'] } },
      tags('team-a', 'cost'),
      false,
    ],
    ['ForAllValues: key missing holds', { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['a'] } }, {}, true],
    [
      'ForAllValues: single value',
      { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['a'] } },
      { 'aws:tagkeys': 'a' },
      true,
    ],
    [
      'ForAnyValue:StringNotEquals: some value outside',
      { 'ForAnyValue:StringNotEquals': { 'aws:TagKeys': ['a'] } },
      tags('a', 'z'),
      true,
    ],
    [
      'ForAllValues:StringNotEquals: all outside',
      { 'ForAllValues:StringNotEquals': { 'aws:TagKeys': ['a'] } },
      tags('y', 'z'),
      true,
    ],
    [
      'ForAllValues:StringNotEquals: one inside',
      { 'ForAllValues:StringNotEquals': { 'aws:TagKeys': ['a'] } },
      tags('a', 'z'),
      false,
    ],
    ['plain operator on a multi-valued key: any', { StringEquals: { 'aws:TagKeys': 'b' } }, tags('a', 'b'), true],
    [
      'plain negated operator on a multi-valued key: none',
      { StringNotEquals: { 'aws:TagKeys': 'b' } },
      tags('a', 'b'),
      false,
    ],
  ]);
});

test('parsed condition shape', { timeout: 30_000 }, () => {
  assert.deepEqual(parseConditionBlock({ 'ForAllValues:StringLikeIfExists': { 'AWS:TagKeys': ['a', 'b'] } }), [
    {
      operator: 'ForAllValues:StringLikeIfExists',
      test: 'StringLike',
      set: 'ForAllValues',
      ifExists: true,
      key: 'aws:tagkeys',
      values: ['a', 'b'],
    },
  ]);
});
