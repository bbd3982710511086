/**
 * Access log, metrics and in-flight accounting for every listener of one process (the
 * composition root makes one and wraps each request listener with it).
 */
import type { Side } from '../shared/request-record.js';
import type { AccessEntry } from './access-line.js';
import { createAccessLog, type AccessLog, type AccessLogOptions } from './access-log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { observeRequests, requestIds, type InFlight, type Listener } from './observe.js';

/** Finished requests are logged and counted in batches of this many (or every BATCH_MS). */
const BATCH = 256;
const BATCH_MS = 100;

export class Observability {
  readonly metrics: Metrics = createMetrics();
  readonly accessLog: AccessLog | null;
  private readonly nextId = requestIds();
  private readonly flight: InFlight = { count: 0 };
  private idle: (() => void)[] = [];
  /**
   * Finished requests not yet logged and counted. Handling them in batches keeps the formatting
   * and counting code hot in the CPU's caches: done one request at a time, between two
   * requests' network and parsing work, the same code took several times longer (the cached
   * page lost 15% to it, measured with bench scenario a).
   */
  private readonly finished: AccessEntry[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(accessLog: AccessLogOptions) {
    this.accessLog = createAccessLog(accessLog);
    const log = this.accessLog;
    if (log !== null) this.metrics.setAccessLogDrops(() => log.dropped);
    // A scrape sees every request that finished before it.
    this.metrics.setPending(() => this.drain());
    this.timer = setInterval(() => this.drain(), BATCH_MS);
    this.timer.unref();
  }

  /** `listener` with a request record, an access-log line and metrics per request. */
  wrap(listener: Listener, side: Side): Listener {
    const flight = this.flight;
    return observeRequests(listener, {
      side,
      nextId: this.nextId,
      inFlight: flight,
      done: (e: AccessEntry) => {
        flight.count--;
        if (this.finished.push(e) >= BATCH) this.drain();
        if (flight.count === 0 && this.idle.length > 0) for (const f of this.idle.splice(0)) f();
      },
    });
  }

  /** Logs and counts the finished requests waiting for their batch. */
  drain(): void {
    const batch = this.finished;
    const log = this.accessLog;
    for (let i = 0; i < batch.length; i++) {
      const e = batch[i]!;
      log?.write(e);
      this.metrics.request(e);
    }
    batch.length = 0;
  }

  /** Writes out every finished request's line. */
  flush(): void {
    this.drain();
    this.accessLog?.flush();
  }

  /** SIGHUP: lines of requests finished so far go to the old file, later ones to the new. */
  reopenLog(): Promise<void> {
    this.drain();
    return this.accessLog?.reopen() ?? Promise.resolve();
  }

  /** Shutdown: the last lines out, the batch timer stopped. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.drain();
    await this.accessLog?.close();
  }

  /** Requests started and not yet answered. */
  get inFlight(): number {
    return this.flight.count;
  }

  /** Resolves true once no request is in flight, or false after `ms`. */
  settled(ms: number): Promise<boolean> {
    if (this.flight.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.idle = this.idle.filter((f) => f !== done);
        resolve(false);
      }, ms);
      const done = (): void => {
        clearTimeout(t);
        resolve(true);
      };
      this.idle.push(done);
    });
  }
}
