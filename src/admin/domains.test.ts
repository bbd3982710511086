import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeHost, servesHttps, type DomainReport } from './domains.js';

test('normalizeHost: case, spaces and the root dot do not matter', { timeout: 30_000 }, () => {
  const rows: [string | undefined, string | undefined][] = [
    [undefined, undefined],
    ['', ''],
    ['Example.COM', 'example.com'],
    [' www.example.org. ', 'www.example.org'],
    ['a.b.', 'a.b'],
  ];
  for (const [raw, want] of rows) assert.equal(normalizeHost(raw), want, String(raw));
});

test('servesHttps: a stored certificate, or on-demand issuance the gate allows', { timeout: 30_000 }, () => {
  const report = (certificate: boolean, onDemand: boolean, allowed: boolean): DomainReport => ({
    decision: { name: 'example.com', allowed, reason: '', steps: [] },
    certificate: certificate ? { names: ['example.com'], issuer: 'CA', notAfter: '2030-01-01T00:00:00.000Z' } : null,
    onDemand,
    backoff: null,
  });
  const rows: [boolean, boolean, boolean, boolean][] = [
    [true, false, false, true],
    [true, true, false, true],
    [false, true, true, true],
    [false, true, false, false],
    [false, false, true, false],
    [false, false, false, false],
  ];
  for (const [cert, onDemand, allowed, want] of rows)
    assert.equal(servesHttps(report(cert, onDemand, allowed)), want, `${cert} ${onDemand} ${allowed}`);
});
