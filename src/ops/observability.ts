/**
 * Access log, metrics and in-flight accounting for every listener of one process (the
 * composition root makes one and wraps each request listener with it).
 */
import type { Side } from '../shared/request-record.js';
import { createAccessLog, type AccessEntry, type AccessLog } from './access-log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { observeRequests, requestIds, type Listener } from './observe.js';

export class Observability {
  readonly metrics: Metrics = createMetrics();
  readonly accessLog: AccessLog | null;
  private readonly nextId = requestIds();
  private inflight = 0;
  private idle: (() => void)[] = [];

  constructor(accessLogDestination: string) {
    this.accessLog = createAccessLog(accessLogDestination);
  }

  /** `listener` with a request record, an access-log line and metrics per request. */
  wrap(listener: Listener, side: Side): Listener {
    const observed = observeRequests(listener, {
      side,
      nextId: this.nextId,
      done: (e: AccessEntry) => {
        this.inflight--;
        this.accessLog?.write(e);
        this.metrics.request(e);
        if (this.inflight === 0) for (const f of this.idle.splice(0)) f();
      },
    });
    return (req, res) => {
      this.inflight++;
      observed(req, res);
    };
  }

  /** Requests started and not yet answered. */
  get inFlight(): number {
    return this.inflight;
  }

  /** Resolves true once no request is in flight, or false after `ms`. */
  settled(ms: number): Promise<boolean> {
    if (this.inflight === 0) return Promise.resolve(true);
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
