/**
 * Object Lock documents and headers (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html):
 * <ObjectLockConfiguration>, <Retention>, <LegalHold>, the x-amz-object-lock-* request headers,
 * and the answers built from stored lock state. Validation and errors follow the API reference
 * (API_PutObjectLockConfiguration, API_PutObjectRetention, API_PutObjectLegalHold, API_PutObject).
 */
import { RETENTION_MODES, type LockState, type ObjectLockConfig, type Retention, type RetentionMode } from '#storage';
import type { IncomingHttpHeaders } from 'node:http';
import { S3Error } from './errors.js';
import { isoDate } from './respond.js';
import { child, parseXml, text, type XmlNode, type XmlValue } from './xml.js';

/** The largest default retention periods AWS accepts (the S3 console's limits, 100 years). */
const MAX_DAYS = 36_500;
const MAX_YEARS = 100;

const isMode = (v: string | undefined): v is RetentionMode => RETENTION_MODES.includes(v as RetentionMode);

function element(node: XmlValue | undefined): XmlNode | null {
  return node !== null && typeof node === 'object' && !Array.isArray(node) ? (node as XmlNode) : null;
}

/** The root element of a request document, or MalformedXML. */
function root(xml: string, name: string): XmlNode {
  const r = child(parseXml(xml), name);
  if (r === '') return {};
  const node = element(r);
  if (node === null) throw new S3Error('MalformedXML');
  return node;
}

/** A Days or Years count: digits only (else MalformedXML), positive and bounded (else InvalidArgument). */
function period(raw: string, max: number): number {
  const v = raw.trim();
  if (!/^-?\d{1,12}$/.test(v)) throw new S3Error('MalformedXML');
  const n = Number(v);
  if (n <= 0) throw new S3Error('InvalidArgument', 'Default retention period must be a positive integer value.');
  if (n > max) throw new S3Error('InvalidArgument', 'Default retention period is too large.');
  return n;
}

/**
 * PutObjectLockConfiguration's body. ObjectLockEnabled must be `Enabled`; a Rule holds one
 * DefaultRetention with a Mode and exactly one of Days and Years (API_DefaultRetention.html).
 */
export function parseLockConfiguration(xml: string): ObjectLockConfig {
  const doc = root(xml, 'ObjectLockConfiguration');
  if (text(doc, 'ObjectLockEnabled') !== 'Enabled') throw new S3Error('MalformedXML');
  const ruleNode = child(doc, 'Rule');
  if (ruleNode === undefined) return { enabled: true, rule: null };
  const dr = element(child(element(ruleNode), 'DefaultRetention'));
  if (dr === null) throw new S3Error('MalformedXML');
  const mode = text(dr, 'Mode');
  const days = text(dr, 'Days');
  const years = text(dr, 'Years');
  if (!isMode(mode) || (days === undefined) === (years === undefined)) throw new S3Error('MalformedXML');
  return {
    enabled: true,
    rule: days !== undefined ? { mode, days: period(days, MAX_DAYS) } : { mode, years: period(years!, MAX_YEARS) },
  };
}

export function lockConfigurationXml(config: ObjectLockConfig): XmlNode {
  const r = config.rule;
  return {
    ObjectLockEnabled: 'Enabled',
    Rule: r ? { DefaultRetention: { Mode: r.mode, Days: r.days, Years: r.years } } : undefined,
  };
}

/** ISO 8601 date-times as SDKs send them (`2030-01-01T00:00:00Z`, with or without fractions or an offset). */
function parseDate(raw: string): Date | null {
  const v = raw.trim();
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/.test(v)) return null;
  const d = new Date(v.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(d.getTime()) ? null : d;
}

const pastDate = (): S3Error => new S3Error('InvalidArgument', 'The retain until date must be in the future!');

/**
 * PutObjectRetention's body: Mode and RetainUntilDate together, or neither (which removes the
 * retention, allowed only where a shortening would be). An unknown mode or a date that is not
 * a date is MalformedXML; a date not in the future InvalidArgument.
 */
export function parseRetention(xml: string, now: Date): Retention | null {
  const doc = root(xml, 'Retention');
  const mode = text(doc, 'Mode');
  const until = text(doc, 'RetainUntilDate');
  if (mode === undefined && until === undefined) return null;
  if (!isMode(mode) || until === undefined) throw new S3Error('MalformedXML');
  const retainUntil = parseDate(until);
  if (retainUntil === null) throw new S3Error('MalformedXML');
  if (retainUntil.getTime() <= now.getTime()) throw pastDate();
  return { mode, retainUntil };
}

export function retentionXml(r: Retention): XmlNode {
  return { Mode: r.mode, RetainUntilDate: isoDate(r.retainUntil) };
}

/** PutObjectLegalHold's body: <LegalHold><Status>ON|OFF</Status></LegalHold>. */
export function parseLegalHold(xml: string): boolean {
  const status = text(root(xml, 'LegalHold'), 'Status');
  if (status !== 'ON' && status !== 'OFF') throw new S3Error('MalformedXML');
  return status === 'ON';
}

function one(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** What the x-amz-object-lock-* headers of a write ask for; each part null when not named. */
export interface RequestedLockHeaders {
  retention: Retention | null;
  legalHold: boolean | null;
}

/** Whether a write names any Object Lock header. */
export function namesLock(h: IncomingHttpHeaders): boolean {
  return Object.keys(h).some((n) => n.startsWith('x-amz-object-lock-'));
}

/**
 * x-amz-object-lock-mode and -retain-until-date (both or neither) and -legal-hold on PutObject,
 * CopyObject and CreateMultipartUpload, with the errors AWS sends for each
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html#API_PutObject_RequestSyntax).
 */
export function parseLockHeaders(h: IncomingHttpHeaders, now: Date): RequestedLockHeaders {
  const mode = one(h, 'x-amz-object-lock-mode');
  const until = one(h, 'x-amz-object-lock-retain-until-date');
  const hold = one(h, 'x-amz-object-lock-legal-hold');
  let retention: Retention | null = null;
  if (mode !== undefined || until !== undefined) {
    if (mode === undefined || until === undefined)
      throw new S3Error(
        'InvalidArgument',
        'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied',
      );
    if (!isMode(mode))
      throw new S3Error('InvalidArgument', 'Unknown wormMode directive.', {
        ArgumentName: 'x-amz-object-lock-mode',
        ArgumentValue: mode,
      });
    const retainUntil = parseDate(until);
    if (retainUntil === null)
      throw new S3Error('InvalidArgument', 'The retain until date must be in ISO 8601 format.', {
        ArgumentName: 'x-amz-object-lock-retain-until-date',
        ArgumentValue: until,
      });
    if (retainUntil.getTime() <= now.getTime()) throw pastDate();
    retention = { mode, retainUntil };
  }
  let legalHold: boolean | null = null;
  if (hold !== undefined) {
    if (hold !== 'ON' && hold !== 'OFF')
      throw new S3Error('InvalidArgument', "Legal Hold must be either of 'ON' or 'OFF'", {
        ArgumentName: 'x-amz-object-lock-legal-hold',
        ArgumentValue: hold,
      });
    legalHold = hold === 'ON';
  }
  return { retention, legalHold };
}

/** The x-amz-object-lock-* answer headers of GET and HEAD for a version's lock. */
export function lockResponseHeaders(
  state: LockState,
  show: { retention: boolean; legalHold: boolean },
): Record<string, string> {
  const h: Record<string, string> = {};
  if (show.retention && state.retention) {
    h['x-amz-object-lock-mode'] = state.retention.mode;
    h['x-amz-object-lock-retain-until-date'] = isoDate(state.retention.retainUntil);
  }
  if (show.legalHold && state.legalHold !== null) h['x-amz-object-lock-legal-hold'] = state.legalHold ? 'ON' : 'OFF';
  return h;
}
