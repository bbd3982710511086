import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Histogram, Registry } from 'prom-client';
import { TallyHistogram } from './tally-histogram.js';

const BOUNDS = [0.001, 0.01, 0.1, 1];

/** The exposition of one registry, as `name{labels} value` lines without HELP/TYPE. */
async function samples(register: (r: Registry) => void): Promise<string[]> {
  const r = new Registry();
  register(r);
  return (await r.metrics()).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

test("exports exactly what prom-client's own Histogram exports for the same observations", {
  timeout: 5000,
}, async () => {
  // Boundaries included (Prometheus buckets are "less than or equal"), 0, and past the last.
  const values = [0, 0.0005, 0.001, 0.0011, 0.01, 0.05, 0.1, 0.5, 1, 2, 100];
  const series = [
    { side: 'website', operation: '' },
    { side: 's3', operation: 'PutObject' },
  ];
  const ours = await samples((r) => {
    const h = new TallyHistogram('lat_seconds', 'latency', BOUNDS);
    r.registerMetric(h.asMetric());
    for (const labels of series) {
      const s = h.seriesOf(`${labels.side}\0${labels.operation}`, labels);
      for (const v of values) h.observe(s, v);
    }
  });
  const theirs = await samples((r) => {
    const h = new Histogram({
      name: 'lat_seconds',
      help: 'latency',
      labelNames: ['side', 'operation'],
      buckets: BOUNDS,
    });
    r.registerMetric(h);
    for (const labels of series) for (const v of values) h.observe(labels, v);
  });
  assert.deepEqual(ours, theirs);
  assert.ok(ours.includes('lat_seconds_bucket{le="0.001",side="website",operation=""} 3'));
  assert.ok(ours.includes('lat_seconds_count{side="s3",operation="PutObject"} 11'));
});

test('a series is made once per key; collect runs before each export; reset zeroes', { timeout: 5000 }, async () => {
  let collected = 0;
  const h = new TallyHistogram('t_seconds', 'help', BOUNDS, () => {
    collected++;
  });
  const a = h.seriesOf('k', { side: 'x' });
  assert.equal(h.seriesOf('k', { side: 'ignored' }), a);
  h.observe(a, 0.02);
  h.observe(a, 0.02);
  const got = await h.get();
  assert.equal(collected, 1);
  const count = got.values.find((v) => v.metricName === 't_seconds_count');
  assert.equal(count?.value, 2);
  assert.equal(got.values.find((v) => v.metricName === 't_seconds_sum')?.value, 0.04);
  h.reset();
  const after = await h.get();
  assert.equal(after.values.find((v) => v.metricName === 't_seconds_count')?.value, 0);
});
