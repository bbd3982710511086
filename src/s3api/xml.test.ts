import { test } from 'node:test';
import assert from 'node:assert/strict';
import { S3Error } from './errors.js';
import { XML_LIMITS, children, parseXml, text, toXml } from './xml.js';

const T = { timeout: 10_000 };

/** Request documents and the text of their <V> element; null means MalformedXML. */
const decoding: [string, string, string | null][] = [
  ['plain', '<R><V>abc</V></R>', 'abc'],
  [
    'Go encoding/xml part ETag (rclone)',
    '<R><V>&#34;9b2cf535f27731c974343645a3985328&#34;</V></R>',
    '"9b2cf535f27731c974343645a3985328"',
  ],
  ['hex reference, botocore newline', '<R><V>a&#xA;b</V></R>', 'a\nb'],
  ['upper-case hex', '<R><V>&#X41;</V></R>', null],
  ['decimal reference', '<R><V>&#65;&#97;</V></R>', 'Aa'],
  ['astral character', '<R><V>&#x1F600;</V></R>', '\u{1F600}'],
  ['carriage return survives as a reference', '<R><V>a&#13;b</V></R>', 'a\rb'],
  ['C0 control as a reference (our own listings write them)', '<R><V>&#x1;</V></R>', '\u0001'],
  ['non-characters as references (our own listings write them)', '<R><V>&#xFFFE;&#xFFFF;</V></R>', '\ufffe\uffff'],
  ['the five predefined entities', '<R><V>&amp;&lt;&gt;&apos;&quot;</V></R>', '&<>\'"'],
  ['double escaping decodes once', '<R><V>&amp;#34;</V></R>', '&#34;'],
  ['CDATA is literal', '<R><V><![CDATA[&nbsp;<x>]]></V></R>', '&nbsp;<x>'],
  ['undefined named entity', '<R><V>&nbsp;</V></R>', null],
  ['NUL reference', '<R><V>&#0;</V></R>', null],
  ['surrogate reference', '<R><V>&#xD800;</V></R>', null],
  ['beyond Unicode', '<R><V>&#x110000;</V></R>', null],
  ['unterminated reference', '<R><V>&#x41</V></R>', null],
  ['bare ampersand', '<R><V>a & b</V></R>', null],
  ['DOCTYPE with an entity', '<!DOCTYPE R [<!ENTITY e "x">]><R><V>&e;</V></R>', null],
  ['not well-formed', '<R><V>x</R>', null],
];

for (const [name, doc, want] of decoding) {
  test(`request XML: ${name}`, T, () => {
    if (want === null) {
      assert.throws(
        () => parseXml(doc),
        (e: unknown) => e instanceof S3Error && e.code === 'MalformedXML',
      );
      return;
    }
    assert.equal(text(parseXml(doc)['R'], 'V'), want);
  });
}

test('request XML: attribute values decode references too', T, () => {
  const doc = parseXml('<R><V a="&#34;q&amp;">t</V></R>');
  const v = children(doc['R'], 'V')[0] as Record<string, string>;
  assert.equal(v['@_a'], '"q&');
});

/** Hostile shapes fail fast as MalformedXML (or MalformedACLError where the caller asks). */
const hostile: [string, string][] = [
  ['nesting 100,000 deep', '<a>'.repeat(100_000) + '</a>'.repeat(100_000)],
  ['nesting one past the cap', '<a>'.repeat(XML_LIMITS.maxDepth + 1) + '</a>'.repeat(XML_LIMITS.maxDepth + 1)],
  ['180,000 attributes', `<Delete ${Array.from({ length: 180_000 }, (_, i) => `a${i}="x"`).join(' ')}/>`],
  ['elements past the cap', `<Delete>${'<O/>'.repeat(XML_LIMITS.maxElements)}</Delete>`],
  ['unterminated start tag', '<Delete a="x"'],
  ['unterminated comment', '<R><!-- x</R>'],
];

for (const [name, doc] of hostile) {
  test(`request XML refused: ${name}`, T, () => {
    assert.throws(
      () => parseXml(doc),
      (e: unknown) => e instanceof S3Error && e.code === 'MalformedXML',
    );
    assert.throws(
      () => parseXml(doc, 'MalformedACLError'),
      (e: unknown) => e instanceof S3Error && e.code === 'MalformedACLError',
    );
  });
}

test('request XML within the caps parses: depth at the cap, attributes with ">" in values, comments', T, () => {
  const deep = '<a>'.repeat(XML_LIMITS.maxDepth) + 'x' + '</a>'.repeat(XML_LIMITS.maxDepth);
  assert.ok(parseXml(deep));
  const doc = parseXml('<?xml version="1.0"?><!-- a > b --><R><V k="a>b"/><V>2</V></R>');
  assert.equal(children(doc['R'], 'V').length, 2);
});

/** Response documents: what a parser gives back must be the original text. */
const responses: [string, string, string][] = [
  ['carriage return as a reference (a raw one would read back as LF)', 'a\rb', '<Key>a&#xD;b</Key>'],
  ['C0 controls as references', '\u0001\u001f', '<Key>&#x1;&#x1F;</Key>'],
  ['tab and newline as they are', 'a\tb\nc', '<Key>a\tb\nc</Key>'],
  ['markup characters escaped', '<&>', '<Key>&lt;&amp;&gt;</Key>'],
];

for (const [name, key, fragment] of responses) {
  test(`response XML: ${name}`, T, () => {
    const xml = toXml('ListBucketResult', { Key: key });
    assert.ok(xml.includes(fragment), xml);
    assert.equal(text(parseXml(xml)['ListBucketResult'], 'Key'), key);
  });
}

test('a sequence body keeps its children in order, omitting undefined and repeating arrays', { timeout: 5_000 }, () => {
  const xml = toXml('R', [
    ['V', { K: 'a' }],
    ['D', { K: 'b\r' }],
    ['Skip', undefined],
    ['V', { K: 'c' }],
    ['P', [{ X: '1' }, { X: '2' }]],
    ['P', []],
  ]);
  assert.equal(
    xml,
    '<?xml version="1.0" encoding="UTF-8"?>\n<R xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      '<V><K>a</K></V><D><K>b&#xD;</K></D><V><K>c</K></V><P><X>1</X></P><P><X>2</X></P></R>',
  );
});
