/**
 * A histogram whose observations are counted in plain arrays and which prom-client's registry
 * exports like its own Histogram.
 *
 * Why not prom-client's Histogram on the hot path: its observe() builds a closure and a label
 * object, validates and hashes the labels, and looks up the bucket through a number-keyed
 * object, about a microsecond per request, measured at 6% of the cached page's throughput.
 * Here a series is resolved once (the caller keeps it) and an observation is a short loop and
 * three additions. The registry only needs name, help, type, aggregator, get() and reset()
 * (prom-client 15, lib/registry.js getMetricsAsString), which this provides.
 */
import type { Histogram } from 'prom-client';

export interface HistogramSeries {
  readonly labels: Readonly<Record<string, string>>;
  /** Per bucket, not cumulative; the last one is +Inf. */
  readonly counts: number[];
  sum: number;
  count: number;
}

interface ExportedValue {
  value: number;
  labels: Record<string, string | number>;
  metricName: string;
}

export class TallyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    /** Upper bounds, ascending. */
    private readonly bounds: readonly number[],
    /** Runs before each export (hands over pending observations). */
    private readonly collect: () => void = () => {},
  ) {}

  /** The series of `labels`, made on first use; `key` names it among the others. */
  seriesOf(key: string, labels: Record<string, string>): HistogramSeries {
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels, counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    return s;
  }

  observe(s: HistogramSeries, value: number): void {
    const b = this.bounds;
    let i = 0;
    // Prometheus buckets are upper-inclusive (le).
    while (i < b.length && value > b[i]!) i++;
    s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: ExportedValue[] }> {
    this.collect();
    const values: ExportedValue[] = [];
    for (const s of this.series.values()) {
      let acc = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        acc += s.counts[i]!;
        values.push({
          value: acc,
          // le first, as prom-client's own Histogram writes it.
          labels: { le: i < this.bounds.length ? this.bounds[i]! : '+Inf', ...s.labels },
          metricName: `${this.name}_bucket`,
        });
      }
      values.push({ value: s.sum, labels: { ...s.labels }, metricName: `${this.name}_sum` });
      values.push({ value: s.count, labels: { ...s.labels }, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {
    for (const s of this.series.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }

  /** For Registry.registerMetric, whose typings list prom-client's own classes only. */
  asMetric(): Histogram {
    return this as unknown as Histogram;
  }
}
