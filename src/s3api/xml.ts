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

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: false,
  ignoreDeclaration: true,
});

export type XmlValue = string | number | boolean | null | undefined | XmlNode | XmlValue[];
export interface XmlNode {
  [name: string]: XmlValue;
}

/** `{ Root: {...} }` as an S3 response document; undefined fields are omitted, arrays repeat the element. */
export function toXml(root: string, body: XmlNode, namespace: string | null = S3_NS): string {
  const node: XmlNode = namespace ? { '@_xmlns': namespace, ...prune(body) } : prune(body);
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + (builder.build({ [root]: node }) as string);
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
  if (/<!DOCTYPE/i.test(text) || XMLValidator.validate(text) !== true) throw new S3Error(code);
  const doc = parser.parse(text) as XmlNode;
  return doc;
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

export function errorXml(code: string, message: string, resource: string, requestId: string, details: Record<string, string>): string {
  const body: XmlNode = { Code: code, Message: message, ...details, Resource: resource, RequestId: requestId };
  return toXml('Error', body, null);
}
