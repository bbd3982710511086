/**
 * Prometheus metrics (prom-client). Label values come from closed sets only (side, S3 operation
 * name, status class, direction, outcome): never a key, host, bucket or add-on id, so the
 * number of series stays bounded however the service is used.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { TallyHistogram, type HistogramSeries } from './tally-histogram.js';
import type { AccessEntry } from './access-line.js';

export interface CertSummary {
  notAfter: string | null;
  status: string;
}

/** What the metrics read at scrape time; each part is absent where it does not apply. */
export interface MetricSources {
  storageTotals?: () => { objects: number; bytes: number; buckets: number };
  websiteCache?: () => { bodyBytes: number; evictions: number };
  /** A promise where the certificates are on the upstream (the fleet's vault). */
  certificates?: () => CertSummary[] | Promise<CertSummary[]>;
}

export interface Metrics {
  readonly registry: Registry;
  request(e: AccessEntry): void;
  commit(seconds: number): void;
  acmeOrder(outcome: 'issued' | 'failed', reason: 'on-demand' | 'renewal'): void;
  setSources(s: MetricSources): void;
  /** Lines the access log dropped so far (its destination could not keep up). */
  setAccessLogDrops(read: () => number): void;
  /** Called before each scrape: hands over requests finished but not yet counted. */
  setPending(hand: () => void): void;
}

/** What one (side, operation) series gathered since the last scrape. */
interface Tally {
  labels: { side: string; operation: string };
  /** Requests by status class, index 1-5 (1xx-5xx). */
  byClass: number[];
  bytesIn: number;
  bytesOut: number;
  latency: HistogramSeries;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createMetrics(): Metrics {
  const registry = new Registry();
  // Process metrics, event-loop delay (nodejs_eventloop_lag_*) among them.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  let sources: MetricSources = {};
  /**
   * Both certificate gauges collect at once in a scrape (prom-client starts every collect before
   * awaiting any): they share one read. A failed read (RGW down) leaves the last values in place.
   */
  let certRead: Promise<CertSummary[] | null> | null = null;
  const certList = (): Promise<CertSummary[] | null> => {
    const source = sources.certificates;
    if (source === undefined) return Promise.resolve(null);
    certRead ??= (async () => source())()
      .catch(() => null)
      .finally(() => {
        certRead = null;
      });
    return certRead;
  };

  /**
   * The per-request counters are tallied in plain objects and handed to prom-client when it is
   * scraped (each counter's collect() drains the tallies): prom-client hashes and validates the
   * label set on every inc(), about 0.2 µs a call and five calls a request, a visible share of a
   * cached page's cost. The latency histogram counts into the same tally (tally-histogram.ts).
   */
  const tallies = new Map<string, Map<string, Tally>>();
  const protocolTally = new Map<string, number>();
  const cacheTally = { hit: 0, miss: 0 };
  let pending: (() => void) | null = null;
  const drain = (): void => {
    pending?.();
    for (const bySide of tallies.values())
      for (const t of bySide.values()) {
        for (let c = 1; c < t.byClass.length; c++)
          if (t.byClass[c]! > 0) {
            requests.inc({ side: t.labels.side, operation: t.labels.operation, status_class: `${c}xx` }, t.byClass[c]!);
            t.byClass[c] = 0;
          }
        if (t.bytesIn > 0) bytes.inc({ side: t.labels.side, direction: 'in' }, t.bytesIn);
        if (t.bytesOut > 0) bytes.inc({ side: t.labels.side, direction: 'out' }, t.bytesOut);
        t.bytesIn = 0;
        t.bytesOut = 0;
      }
    for (const [protocol, n] of protocolTally)
      if (n > 0) {
        protocols.inc({ protocol }, n);
        protocolTally.set(protocol, 0);
      }
    for (const result of ['hit', 'miss'] as const)
      if (cacheTally[result] > 0) {
        cacheRequests.inc({ result }, cacheTally[result]);
        cacheTally[result] = 0;
      }
  };
  const tallyOf = (side: string, operation: string): Tally => {
    let bySide = tallies.get(side);
    if (bySide === undefined) {
      bySide = new Map();
      tallies.set(side, bySide);
    }
    let t = bySide.get(operation);
    if (t === undefined) {
      const labels = { side, operation };
      t = {
        labels,
        byClass: [0, 0, 0, 0, 0, 0],
        bytesIn: 0,
        bytesOut: 0,
        latency: duration.seriesOf(`${side}\0${operation}`, labels),
      };
      bySide.set(operation, t);
    }
    return t;
  };

  const requests = new Counter({
    name: 'cellar_requests_total',
    help: 'Requests answered, by side, S3 operation and status class',
    labelNames: ['side', 'operation', 'status_class'] as const,
    registers: [registry],
    collect: drain,
  });
  const duration = new TallyHistogram(
    'cellar_request_duration_seconds',
    'Time from the request headers to the end of the answer',
    LATENCY_BUCKETS,
    drain,
  );
  registry.registerMetric(duration.asMetric());
  const bytes = new Counter({
    name: 'cellar_http_bytes_total',
    help: 'Bytes on the wire (headers included), by side and direction',
    labelNames: ['side', 'direction'] as const,
    registers: [registry],
    collect: drain,
  });
  const protocols = new Counter({
    name: 'cellar_requests_by_protocol_total',
    help: 'Requests answered, by HTTP version (HTTP/2 only on the HTTPS listener)',
    labelNames: ['protocol'] as const,
    registers: [registry],
    collect: drain,
  });
  const cacheRequests = new Counter({
    name: 'cellar_website_cache_requests_total',
    help: 'Website requests answered from the cached hot path (hit) or not (miss)',
    labelNames: ['result'] as const,
    registers: [registry],
    collect: drain,
  });
  new Gauge({
    name: 'cellar_website_cache_bytes',
    help: 'Bytes of website bodies held in the cache',
    registers: [registry],
    collect() {
      const c = sources.websiteCache?.();
      if (c) this.set(c.bodyBytes);
    },
  });
  let evictionsSeen = 0;
  new Counter({
    name: 'cellar_website_cache_evictions_total',
    help: 'Website bodies pushed out of the cache to make room',
    registers: [registry],
    collect() {
      const c = sources.websiteCache?.();
      if (c && c.evictions > evictionsSeen) {
        this.inc(c.evictions - evictionsSeen);
        evictionsSeen = c.evictions;
      }
    },
  });
  let readDrops: (() => number) | null = null;
  let dropsSeen = 0;
  new Counter({
    name: 'cellar_access_log_dropped_lines_total',
    help: 'Access-log lines dropped because the destination could not keep up (16 MiB waiting)',
    registers: [registry],
    collect() {
      const n = readDrops?.() ?? 0;
      if (n > dropsSeen) {
        this.inc(n - dropsSeen);
        dropsSeen = n;
      }
    },
  });
  const acme = new Counter({
    name: 'cellar_acme_orders_total',
    help: 'ACME orders finished, by outcome (issued or failed) and reason (on-demand or renewal)',
    labelNames: ['outcome', 'reason'] as const,
    registers: [registry],
  });
  const certs = new Gauge({
    name: 'cellar_certificates',
    help: 'Stored certificates by state',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const list = await certList();
      if (!list) return;
      certs.reset();
      for (const c of list) certs.inc({ state: c.status });
    },
  });
  // One series for all certificates: a label per certificate would be a label per host.
  new Gauge({
    name: 'cellar_certificate_earliest_expiry_timestamp_seconds',
    help: 'Expiry (Unix time) of the stored certificate that expires first',
    registers: [registry],
    async collect() {
      const list = await certList();
      if (!list) return;
      const times = list.flatMap((c) => (c.notAfter === null ? [] : [Date.parse(c.notAfter) / 1000]));
      if (times.length > 0) this.set(Math.min(...times));
    },
  });
  const storage = new Gauge({
    name: 'cellar_storage',
    help: 'Stored totals: current objects, bytes of every stored version (noncurrent ones included) and buckets',
    labelNames: ['what'] as const,
    registers: [registry],
    collect() {
      const t = sources.storageTotals?.();
      if (!t) return;
      storage.set({ what: 'objects' }, t.objects);
      storage.set({ what: 'bytes' }, t.bytes);
      storage.set({ what: 'buckets' }, t.buckets);
    },
  });
  const commits = new Histogram({
    name: 'cellar_sqlite_commit_seconds',
    help: 'Metadata commit latency (one SQLite transaction, fsync included)',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });

  return {
    registry,
    request(e) {
      const t = tallyOf(e.side, e.op ?? '');
      t.byClass[Math.min(5, Math.max(1, Math.floor(e.status / 100)))]!++;
      t.bytesIn += e.bytesIn;
      t.bytesOut += e.bytesOut;
      duration.observe(t.latency, e.durationMs / 1000);
      protocolTally.set(e.protocol, (protocolTally.get(e.protocol) ?? 0) + 1);
      if (e.cache !== null) cacheTally[e.cache]++;
    },
    commit: (s) => commits.observe(s),
    acmeOrder: (outcome, reason) => acme.inc({ outcome, reason }),
    setSources(s) {
      sources = s;
    },
    setAccessLogDrops(read) {
      readDrops = read;
    },
    setPending(hand) {
      pending = hand;
    },
  };
}
