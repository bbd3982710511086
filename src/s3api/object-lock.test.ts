import assert from 'node:assert/strict';
import { test } from 'node:test';
import { S3Error } from './errors.js';
import {
  lockConfigurationXml,
  lockResponseHeaders,
  parseLegalHold,
  parseLockConfiguration,
  parseLockHeaders,
  parseRetention,
} from './object-lock.js';

const NOW = new Date('2026-06-01T00:00:00.000Z');

/** The S3 error code `fn` throws, or 'ok'. */
function outcome(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof S3Error) return e.code;
    throw e;
  }
}

const conf = (inner: string) => `<ObjectLockConfiguration>${inner}</ObjectLockConfiguration>`;
const rule = (inner: string) =>
  conf(`<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>${inner}</DefaultRetention></Rule>`);

test('parseLockConfiguration: AWS validation', { timeout: 10_000 }, () => {
  const cases: Array<[string, string, string]> = [
    ['enabled only', conf('<ObjectLockEnabled>Enabled</ObjectLockEnabled>'), 'ok'],
    ['days', rule('<Mode>GOVERNANCE</Mode><Days>1</Days>'), 'ok'],
    ['years', rule('<Mode>COMPLIANCE</Mode><Years>100</Years>'), 'ok'],
    ['disabled', conf('<ObjectLockEnabled>Disabled</ObjectLockEnabled>'), 'MalformedXML'],
    ['missing enabled', conf(''), 'MalformedXML'],
    ['empty document', '<ObjectLockConfiguration/>', 'MalformedXML'],
    ['other root', '<Retention/>', 'MalformedXML'],
    ['not xml', 'nope', 'MalformedXML'],
    ['days and years', rule('<Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years>'), 'MalformedXML'],
    ['neither days nor years', rule('<Mode>GOVERNANCE</Mode>'), 'MalformedXML'],
    ['bad mode', rule('<Mode>invalid</Mode><Days>1</Days>'), 'MalformedXML'],
    ['lower-case mode', rule('<Mode>governance</Mode><Days>1</Days>'), 'MalformedXML'],
    ['no mode', rule('<Days>1</Days>'), 'MalformedXML'],
    ['zero days', rule('<Mode>GOVERNANCE</Mode><Days>0</Days>'), 'InvalidArgument'],
    ['negative years', rule('<Mode>GOVERNANCE</Mode><Years>-1</Years>'), 'InvalidArgument'],
    ['too many days', rule('<Mode>GOVERNANCE</Mode><Days>36501</Days>'), 'InvalidArgument'],
    ['too many years', rule('<Mode>GOVERNANCE</Mode><Years>101</Years>'), 'InvalidArgument'],
    ['days not a number', rule('<Mode>GOVERNANCE</Mode><Days>x</Days>'), 'MalformedXML'],
    ['empty rule', conf('<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule/>'), 'MalformedXML'],
  ];
  for (const [name, xml, want] of cases)
    assert.equal(
      outcome(() => parseLockConfiguration(xml)),
      want,
      name,
    );
  assert.deepEqual(parseLockConfiguration(rule('<Mode>GOVERNANCE</Mode><Days>3</Days>')), {
    enabled: true,
    rule: { mode: 'GOVERNANCE', days: 3 },
  });
  assert.deepEqual(lockConfigurationXml({ enabled: true, rule: { mode: 'COMPLIANCE', years: 2 } }), {
    ObjectLockEnabled: 'Enabled',
    Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: undefined, Years: 2 } },
  });
});

const ret = (inner: string) => `<Retention>${inner}</Retention>`;

test('parseRetention: mode and date together, in the future', { timeout: 10_000 }, () => {
  const cases: Array<[string, string, string]> = [
    ['governance', ret('<Mode>GOVERNANCE</Mode><RetainUntilDate>2030-01-01T00:00:00Z</RetainUntilDate>'), 'ok'],
    ['fractions', ret('<Mode>COMPLIANCE</Mode><RetainUntilDate>2030-01-01T00:00:00.123456Z</RetainUntilDate>'), 'ok'],
    ['offset', ret('<Mode>COMPLIANCE</Mode><RetainUntilDate>2030-01-01T00:00:00+02:00</RetainUntilDate>'), 'ok'],
    ['empty: removal', '<Retention/>', 'ok'],
    ['mode only', ret('<Mode>GOVERNANCE</Mode>'), 'MalformedXML'],
    ['date only', ret('<RetainUntilDate>2030-01-01T00:00:00Z</RetainUntilDate>'), 'MalformedXML'],
    ['bad mode', ret('<Mode>invalid</Mode><RetainUntilDate>2030-01-01T00:00:00Z</RetainUntilDate>'), 'MalformedXML'],
    ['bad date', ret('<Mode>GOVERNANCE</Mode><RetainUntilDate>tomorrow</RetainUntilDate>'), 'MalformedXML'],
    ['past', ret('<Mode>GOVERNANCE</Mode><RetainUntilDate>2020-01-01T00:00:00Z</RetainUntilDate>'), 'InvalidArgument'],
    ['now', ret('<Mode>GOVERNANCE</Mode><RetainUntilDate>2026-06-01T00:00:00Z</RetainUntilDate>'), 'InvalidArgument'],
  ];
  for (const [name, xml, want] of cases)
    assert.equal(
      outcome(() => parseRetention(xml, NOW)),
      want,
      name,
    );
  assert.deepEqual(
    parseRetention(ret('<Mode>GOVERNANCE</Mode><RetainUntilDate>2030-01-01T02:00:00+02:00</RetainUntilDate>'), NOW),
    { mode: 'GOVERNANCE', retainUntil: new Date('2030-01-01T00:00:00Z') },
  );
  assert.equal(parseRetention('<Retention/>', NOW), null);
});

test('parseLegalHold: ON or OFF, nothing else', { timeout: 10_000 }, () => {
  const cases: Array<[string, string]> = [
    ['<LegalHold><Status>ON</Status></LegalHold>', 'ok'],
    ['<LegalHold><Status>OFF</Status></LegalHold>', 'ok'],
    ['<LegalHold><Status>on</Status></LegalHold>', 'MalformedXML'],
    ['<LegalHold><Status>abc</Status></LegalHold>', 'MalformedXML'],
    ['<LegalHold/>', 'MalformedXML'],
    ['<Hold><Status>ON</Status></Hold>', 'MalformedXML'],
  ];
  for (const [xml, want] of cases)
    assert.equal(
      outcome(() => parseLegalHold(xml)),
      want,
      xml,
    );
  assert.equal(parseLegalHold('<LegalHold><Status>ON</Status></LegalHold>'), true);
});

test('parseLockHeaders: AWS errors for each header', { timeout: 10_000 }, () => {
  const future = '2030-01-01T00:00:00Z';
  const cases: Array<[string, Record<string, string>, string]> = [
    ['none', {}, 'ok'],
    ['retention', { 'x-amz-object-lock-mode': 'GOVERNANCE', 'x-amz-object-lock-retain-until-date': future }, 'ok'],
    ['legal hold', { 'x-amz-object-lock-legal-hold': 'ON' }, 'ok'],
    ['mode alone', { 'x-amz-object-lock-mode': 'GOVERNANCE' }, 'InvalidArgument'],
    ['date alone', { 'x-amz-object-lock-retain-until-date': future }, 'InvalidArgument'],
    ['bad mode', { 'x-amz-object-lock-mode': 'X', 'x-amz-object-lock-retain-until-date': future }, 'InvalidArgument'],
    [
      'past date',
      { 'x-amz-object-lock-mode': 'COMPLIANCE', 'x-amz-object-lock-retain-until-date': '2020-01-01T00:00:00Z' },
      'InvalidArgument',
    ],
    [
      'bad date',
      { 'x-amz-object-lock-mode': 'COMPLIANCE', 'x-amz-object-lock-retain-until-date': 'soon' },
      'InvalidArgument',
    ],
    ['bad hold', { 'x-amz-object-lock-legal-hold': 'yes' }, 'InvalidArgument'],
  ];
  for (const [name, h, want] of cases)
    assert.equal(
      outcome(() => parseLockHeaders(h, NOW)),
      want,
      name,
    );
  assert.deepEqual(parseLockHeaders({ 'x-amz-object-lock-legal-hold': 'OFF' }, NOW), {
    retention: null,
    legalHold: false,
  });
});

test('lockResponseHeaders shows only what the caller may read', { timeout: 10_000 }, () => {
  const state = {
    retention: { mode: 'COMPLIANCE' as const, retainUntil: new Date('2030-01-01T00:00:00Z') },
    legalHold: true,
  };
  assert.deepEqual(lockResponseHeaders(state, { retention: true, legalHold: true }), {
    'x-amz-object-lock-mode': 'COMPLIANCE',
    'x-amz-object-lock-retain-until-date': '2030-01-01T00:00:00.000Z',
    'x-amz-object-lock-legal-hold': 'ON',
  });
  assert.deepEqual(lockResponseHeaders(state, { retention: false, legalHold: true }), {
    'x-amz-object-lock-legal-hold': 'ON',
  });
  assert.deepEqual(lockResponseHeaders({ retention: null, legalHold: null }, { retention: true, legalHold: true }), {});
});
