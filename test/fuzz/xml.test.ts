/**
 * Fuzz target: request XML (src/s3api/xml.ts). Whatever a client sends, parseXml answers a
 * document or the S3Error its caller asked for (MalformedXML, MalformedACLError), nothing
 * else; and any string a response carries comes back unchanged through toXml -> parseXml, as
 * DeleteObjects needs for the keys a listing gave. Except NUL: toXml writes it as `&#x0;`,
 * which parseXml refuses on purpose (src/s3api/xml.test.ts, "NUL reference"; XML 1.1 forbids
 * it even as a reference), so a key holding NUL is listed but cannot be named in DeleteObjects.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { S3Error } from '../../src/s3api/errors.js';
import { parseXml, text, toXml } from '../../src/s3api/xml.js';
import { anyString, check, timeout, tokenString } from './harness.js';

const TOKENS = [
  '<',
  '>',
  '</',
  '/>',
  '<Delete>',
  '</Delete>',
  '<Object>',
  '</Object>',
  '<Key>',
  '</Key>',
  '<a:Key xmlns:a="x">',
  '<!--',
  '-->',
  '<![CDATA[',
  ']]>',
  '<?xml version="1.0" encoding="UTF-8"?>',
  '<!DOCTYPE x [<!ENTITY e "e">]>',
  '&amp;',
  '&lt;',
  '&e;',
  '&#x0;',
  '&#xD;',
  '&#1114112;',
  '&#',
  '&#x',
  ';',
  '"',
  "'",
  '=',
  ' a="1"',
  " b='>'",
  '\u0000',
  '\r\n',
  '\uFFFE',
  '\uD800',
];

const withoutNul = (a: fc.Arbitrary<string>): fc.Arbitrary<string> => a.map((s) => s.replaceAll('\0', ''));

/** parseXml's contract: a node, or exactly the S3Error code the caller chose. */
function parsesOrRefuses(input: string, code: 'MalformedXML' | 'MalformedACLError'): void {
  try {
    const doc = parseXml(input, code);
    assert.equal(typeof doc, 'object');
  } catch (e) {
    assert.ok(e instanceof S3Error, `not an S3Error: ${String(e)}`);
    assert.equal(e.code, code);
  }
}

test('parseXml: arbitrary text is a document or MalformedXML', { timeout: timeout() }, () =>
  check(
    fc.property(fc.oneof(anyString(400), tokenString(TOKENS, 60)), (input) => parsesOrRefuses(input, 'MalformedXML')),
    { runs: 3000, corpus: 'xml' },
  ),
);

test('parseXml: the ACL flavour refuses with MalformedACLError', { timeout: timeout() }, () =>
  check(
    fc.property(tokenString(TOKENS, 30), (input) => parsesOrRefuses(input, 'MalformedACLError')),
    { runs: 1000 },
  ),
);

test(
  'parseXml: nesting, elements and attributes beyond the caps fail fast as MalformedXML',
  { timeout: timeout() },
  () =>
    check(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.constantFrom('<a>', '<a x="1">', '<a/>', '<a b="1" c="2"/>'),
        (n, open) =>
          parsesOrRefuses(`<r>${open.repeat(n)}${open.endsWith('/>') ? '' : '</a>'.repeat(n)}</r>`, 'MalformedXML'),
      ),
      { runs: 200 },
    ),
);

test('toXml -> parseXml gives back any string, control characters included', { timeout: timeout() }, () =>
  check(
    fc.property(
      withoutNul(fc.string({ unit: 'binary', maxLength: 200 })),
      withoutNul(fc.string({ unit: 'binary-ascii', maxLength: 50 })),
      (a, b) => {
        const xml = toXml('Delete', { Object: [{ Key: a }, { Key: b }] });
        const doc = parseXml(xml);
        const objects = (doc['Delete'] as Record<string, unknown>)['Object'] as unknown[];
        assert.equal(text(objects[0] as never, 'Key'), a);
        assert.equal(text(objects[1] as never, 'Key'), b);
      },
    ),
    { runs: 2000, corpus: 'xml-roundtrip' },
  ),
);
