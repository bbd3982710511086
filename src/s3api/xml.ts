import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { S3Error } from './errors.js';

export const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  suppressEmptyNode: false,
  processEntities: true,
  suppressBooleanAttributes: false,
});

/** The five entities XML 1.0 predefines (https://www.w3.org/TR/xml/#sec-predefined-ent). */
const PREDEFINED_ENTITIES: Readonly<Record<string, string>> = { amp: '&', apos: "'", gt: '>', lt: '<', quot: '"' };

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
  // Go's encoding/xml writes the quotes around part ETags as `&#34;` (rclone) and botocore sends
  // a newline in a key as `&#xA;`: character references must decode (the parser's default
  // decoder keeps them as text). The decoder is stateless: DOCTYPEs are refused before parsing.
  entityDecoder: {
    decode: decodeReferences,
    setExternalEntities: () => {},
    addInputEntities: () => {},
    reset: () => {},
    setXmlVersion: () => {},
  },
  ignoreDeclaration: true,
});

const REFERENCE = /&(?:#x([0-9a-fA-F]+)|#([0-9]+)|([a-z]+));/g;

/** Decodes the predefined entities and character references of text that referencesValid() passed. */
export function decodeReferences(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(REFERENCE, (ref, hex: string | undefined, dec: string | undefined, name: string | undefined) => {
    if (name !== undefined) return PREDEFINED_ENTITIES[name] ?? ref;
    return String.fromCodePoint(hex !== undefined ? parseInt(hex, 16) : parseInt(dec as string, 10));
  });
}

/**
 * Caps on request documents, checked by a linear scan before the parser runs so that hostile
 * input fails fast as MalformedXML instead of costing seconds or the stack. The largest
 * documents S3 accepts are DeleteObjects (1000 objects, about 4 elements each) and ACLs (100
 * grants, two attributes each); the deepest, website routing rules, nest 5 levels.
 */
export const XML_LIMITS = { maxDepth: 32, maxElements: 20_000, maxAttributes: 1_000 } as const;

export type XmlValue = string | number | boolean | null | undefined | XmlNode | XmlValue[];
export interface XmlNode {
  [name: string]: XmlValue;
}

/**
 * Children in document order, for documents where elements of different names alternate (an
 * object groups each name's elements together): ListVersionsResult lists Version and
 * DeleteMarker entries in one sequence, in listing order.
 */
export type XmlSequence = readonly (readonly [name: string, value: XmlValue])[];

/** `{ Root: {...} }` as an S3 response document; undefined fields are omitted, arrays repeat the element. */
export function toXml(root: string, body: XmlNode | XmlSequence, namespace: string | null = S3_NS): string {
  if (Array.isArray(body)) return toXmlSequence(root, body as XmlSequence, namespace);
  const node: XmlNode = namespace ? { '@_xmlns': namespace, ...prune(body as XmlNode) } : prune(body as XmlNode);
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + escapeControls(builder.build({ [root]: node }) as string);
}

function toXmlSequence(root: string, body: XmlSequence, namespace: string | null): string {
  // The root is built empty and its closing tag replaced by the children, built one by one.
  const shell = builder.build({ [root]: namespace ? { '@_xmlns': namespace, '#text': '' } : '' }) as string;
  const close = `</${root}>`;
  let inner = '';
  for (const [name, value] of body) if (value !== undefined) inner += builder.build({ [name]: pruneValue(value) });
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + escapeControls(shell.slice(0, -close.length) + inner + close);
}

/**
 * Characters a parser would not give back as they are: a raw CR is normalised to LF on read
 * (https://www.w3.org/TR/xml/#sec-line-ends) and the C0 controls are not XML 1.0 characters at
 * all. S3 writes them as character references (keys may hold any UTF-8); clients that need
 * strict XML ask for `encoding-type=url`. Tab and LF survive in element content as they are.
 */
function escapeControls(xml: string): string {
  return xml.replace(
    /[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ufffe\uffff]/g,
    (c) => `&#x${c.charCodeAt(0).toString(16).toUpperCase()};`,
  );
}

function prune(n: XmlNode): XmlNode {
  const out: XmlNode = {};
  for (const [k, v] of Object.entries(n)) {
    if (v === undefined) continue;
    out[k] = pruneValue(v);
  }
  return out;
}

function pruneValue(v: XmlValue): XmlValue {
  if (Array.isArray(v)) return v.map(pruneValue);
  if (v !== null && typeof v === 'object') return prune(v);
  return v;
}

/**
 * Parses a request document; anything not well-formed, or with a DOCTYPE (entity expansion is
 * a classic XML bomb), is MalformedXML.
 */
export function parseXml(text: string, code: 'MalformedXML' | 'MalformedACLError' = 'MalformedXML'): XmlNode {
  if (
    /<!DOCTYPE/i.test(text) ||
    !withinLimits(text) ||
    !referencesValid(text) ||
    XMLValidator.validate(text) !== true
  ) {
    throw new S3Error(code);
  }
  return parser.parse(text) as XmlNode;
}

/** Depth, element and attribute counts within XML_LIMITS; one pass, no allocation per character. */
export function withinLimits(text: string): boolean {
  let depth = 0;
  let elements = 0;
  let attributes = 0;
  let i = text.indexOf('<');
  while (i !== -1 && i < text.length) {
    const next = text.charCodeAt(i + 1);
    if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      if (end === -1) return false;
      i = text.indexOf('<', end + 3);
      continue;
    }
    if (text.startsWith('<![CDATA[', i)) {
      const end = text.indexOf(']]>', i + 9);
      if (end === -1) return false;
      i = text.indexOf('<', end + 3);
      continue;
    }
    if (next === 0x3f /* ? */ || next === 0x21 /* ! */) {
      const end = text.indexOf('>', i + 2);
      if (end === -1) return false;
      i = text.indexOf('<', end + 1);
      continue;
    }
    if (next === 0x2f /* / */) {
      depth--;
      const end = text.indexOf('>', i + 2);
      if (end === -1) return false;
      i = text.indexOf('<', end + 1);
      continue;
    }
    // A start tag: attribute values may hold '>' but never '<', so scan with quote state.
    let quote = 0;
    let j = i + 1;
    let selfClosing = false;
    for (; j < text.length; j++) {
      const c = text.charCodeAt(j);
      if (quote !== 0) {
        if (c === quote) quote = 0;
      } else if (c === 0x22 || c === 0x27) {
        quote = c;
      } else if (c === 0x3d /* = */) {
        if (++attributes > XML_LIMITS.maxAttributes) return false;
      } else if (c === 0x3e /* > */) {
        selfClosing = text.charCodeAt(j - 1) === 0x2f;
        break;
      }
    }
    if (j >= text.length) return false;
    if (++elements > XML_LIMITS.maxElements) return false;
    if (!selfClosing && ++depth > XML_LIMITS.maxDepth) return false;
    i = text.indexOf('<', j + 1);
  }
  return true;
}

/**
 * Every `&` starts a predefined entity or a character reference. The parser would pass an
 * undefined entity through as text and drop `&#0;`; a well-formed document has neither.
 */
export function referencesValid(xml: string): boolean {
  // CDATA content is literal: an `&` there is not a reference.
  const text = xml.includes('<![CDATA[') ? xml.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '') : xml;
  for (let i = text.indexOf('&'); i !== -1; i = text.indexOf('&', i + 1)) {
    const end = text.indexOf(';', i + 1);
    if (end === -1 || end - i > 12) return false;
    const name = text.slice(i + 1, end);
    if (name.startsWith('#')) {
      const m = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(name);
      if (!m) return false;
      const cp = m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2] as string, 10);
      if (!referable(cp)) return false;
    } else if (!Object.hasOwn(PREDEFINED_ENTITIES, name)) {
      return false;
    }
  }
  return true;
}

/**
 * DEVIATION: XML 1.0 allows references only to its Char production; we also take the C0
 * controls that XML 1.1 allows as references (https://www.w3.org/TR/xml11/#NT-RestrictedChar),
 * and the non-characters U+FFFE and U+FFFF, because our listings write keys holding them that
 * way (escapeControls) and DeleteObjects must accept them back (found by test/fuzz/xml.test.ts).
 */
function referable(cp: number): boolean {
  return (cp >= 0x1 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xffff) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/** The single child element `name` of `node` as text, or undefined. */
export function text(node: XmlValue, name: string): string | undefined {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
  const v = node[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object' && !Array.isArray(v)) {
    const t = v['#text'];
    return t === undefined ? '' : String(t);
  }
  if (Array.isArray(v)) return undefined;
  return String(v);
}

/** Child elements named `name` as a list (XML repeats elements; the parser collapses one to a scalar). */
export function children(node: XmlValue, name: string): XmlValue[] {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return [];
  const v = node[name];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

export function child(node: XmlValue, name: string): XmlValue | undefined {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
  const v = node[name];
  return Array.isArray(v) ? undefined : v;
}

export function errorXml(
  code: string,
  message: string,
  resource: string,
  requestId: string,
  details: Record<string, string>,
): string {
  const body: XmlNode = { Code: code, Message: message, ...details, Resource: resource, RequestId: requestId };
  return toXml('Error', body, null);
}
