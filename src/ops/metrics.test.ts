import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics } from './metrics.js';

const value = (text: string, re: RegExp): number => Number(re.exec(text)?.[1]);

test('certificate gauges over an asynchronous source: one read per scrape; a failed read keeps the last values', {
  timeout: 30_000,
}, async () => {
  const m = createMetrics();
  let reads = 0;
  let fail = false;
  m.setSources({
    certificates: async () => {
      reads++;
      if (fail) throw new Error('RGW down');
      return [
        { notAfter: '2030-01-02T00:00:00.000Z', status: 'valid' },
        { notAfter: '2030-01-01T00:00:00.000Z', status: 'renewal due' },
        { notAfter: null, status: 'failing' },
      ];
    },
  });
  const first = await m.registry.metrics();
  assert.equal(reads, 1, 'both gauges share one read');
  assert.equal(value(first, /^cellar_certificates\{state="valid"\} (\d+)$/m), 1);
  assert.equal(value(first, /^cellar_certificates\{state="failing"\} (\d+)$/m), 1);
  assert.equal(
    value(first, /^cellar_certificate_earliest_expiry_timestamp_seconds (\S+)$/m),
    Date.parse('2030-01-01T00:00:00Z') / 1000,
  );
  fail = true;
  const second = await m.registry.metrics();
  assert.equal(reads, 2);
  assert.equal(value(second, /^cellar_certificates\{state="renewal due"\} (\d+)$/m), 1);
  assert.equal(
    value(second, /^cellar_certificate_earliest_expiry_timestamp_seconds (\S+)$/m),
    Date.parse('2030-01-01T00:00:00Z') / 1000,
  );
});
