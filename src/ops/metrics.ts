/**
 * Prometheus metrics (prom-client). Label values come from closed sets only (side, S3 operation
 * name, status class, direction, outcome): never a key, host, bucket or add-on id, so the
 * number of series stays bounded however the service is used.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AccessEntry } from './access-log.js';

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

  const requests = new Counter({
    name: 'cellar_requests_total',
    help: 'Requests answered, by side, S3 operation and status class',
    labelNames: ['side', 'operation', 'status_class'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'cellar_request_duration_seconds',
    help: 'Time from the request headers to the end of the answer',
    labelNames: ['side', 'operation'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const bytes = new Counter({
    name: 'cellar_http_bytes_total',
    help: 'Bytes on the wire (headers included), by side and direction',
    labelNames: ['side', 'direction'] as const,
    registers: [registry],
  });
  const protocols = new Counter({
    name: 'cellar_requests_by_protocol_total',
    help: 'Requests answered, by HTTP version (HTTP/2 only on the HTTPS listener)',
    labelNames: ['protocol'] as const,
    registers: [registry],
  });
  const cacheRequests = new Counter({
    name: 'cellar_website_cache_requests_total',
    help: 'Website requests answered from the cached hot path (hit) or not (miss)',
    labelNames: ['result'] as const,
    registers: [registry],
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
      const side = e.rec.side;
      const operation = e.rec.op ?? '';
      requests.inc({ side, operation, status_class: `${Math.floor(e.status / 100)}xx` });
      duration.observe({ side, operation }, e.durationMs / 1000);
      bytes.inc({ side, direction: 'in' }, e.bytesIn);
      bytes.inc({ side, direction: 'out' }, e.bytesOut);
      protocols.inc({ protocol: e.protocol });
      if (e.rec.cache !== null) cacheRequests.inc({ result: e.rec.cache });
    },
    commit: (s) => commits.observe(s),
    acmeOrder: (outcome, reason) => acme.inc({ outcome, reason }),
    setSources(s) {
      sources = s;
    },
  };
}
