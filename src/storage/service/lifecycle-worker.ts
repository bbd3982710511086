/**
 * Applies bucket lifecycle rules (userguide/object-lifecycle-mgmt.html) in the background: expires
 * current objects, aborts incomplete multipart uploads. It walks each configured bucket along the
 * primary key, a bounded page at a time, and yields to the event loop between pages, so a bucket of
 * a million objects costs many short transactions instead of one that stalls every request.
 */
import {
  type LifecycleConfig,
  type LifecycleRule,
  objectExpiration,
  scanPrefixes,
  uploadAbortDue,
} from '../lifecycle/index.js';
import type { LifecycleRepo, ScannedObject } from '../meta/lifecycle-repo.js';

/** What the worker asks of the store; each call is one transaction. */
export interface LifecycleTarget {
  /** Removes (or, in a versioned bucket, hides behind a delete marker) these current objects, when unchanged since scanned; returns how many. */
  expireCurrent(bucket: string, objects: ScannedObject[]): Promise<number>;
  /** Aborts an upload; false when it was completed or aborted meanwhile. */
  abortUpload(bucket: string, key: string, uploadId: string): Promise<boolean>;
  closed(): boolean;
}

export interface LifecycleOptions {
  /** Length of a lifecycle "day" in milliseconds (86,400,000; shorter in tests). */
  dayMs: number;
  /** Rows read (and at most removed) per transaction. */
  batchSize?: number;
}

export interface LifecycleRunResult {
  /** Current objects scanned, expired; uploads aborted. */
  scanned: number;
  expired: number;
  aborted: number;
}

const DEFAULT_BATCH = 500;

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const expires = (r: LifecycleRule): boolean =>
  r.status === 'Enabled' && (r.expiration?.days !== undefined || r.expiration?.date !== undefined);

export class LifecycleWorker {
  /** The pass in progress (or the last one): passes run one after another, never side by side. */
  private last: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly repo: LifecycleRepo,
    private readonly target: LifecycleTarget,
    private readonly opts: LifecycleOptions,
  ) {}

  /** One pass over every configured bucket, as of `now`; starts once the pass in progress has ended. */
  run(now: number = Date.now()): Promise<LifecycleRunResult> {
    const pass = this.last.then(() => this.pass(now));
    this.last = pass.catch(() => undefined);
    return pass;
  }

  private async pass(now: number): Promise<LifecycleRunResult> {
    const total: LifecycleRunResult = { scanned: 0, expired: 0, aborted: 0 };
    for (const { bucket, config } of this.repo.configuredBuckets()) {
      if (this.target.closed()) break;
      await this.expireObjects(bucket, config, now, total);
      await this.abortUploads(bucket, config, now, total);
    }
    return total;
  }

  private async expireObjects(bucket: string, cfg: LifecycleConfig, now: number, total: LifecycleRunResult) {
    const rules = cfg.rules.filter(expires);
    if (rules.length === 0) return;
    const batch = this.opts.batchSize ?? DEFAULT_BATCH;
    for (const prefix of scanPrefixes(rules)) {
      let after = '';
      for (;;) {
        if (this.target.closed()) return;
        const page = this.repo.objectsFrom(bucket, after, prefix, batch);
        const inRange = page.filter((o) => o.key.startsWith(prefix));
        total.scanned += inRange.length;
        const due = inRange.filter((o) => (objectExpiration(cfg, o, this.opts.dayMs)?.at ?? Infinity) <= now);
        if (due.length > 0) total.expired += await this.target.expireCurrent(bucket, due);
        if (page.length < batch || inRange.length < page.length) break;
        after = page[page.length - 1]!.key;
        await yieldToLoop();
      }
    }
  }

  private async abortUploads(bucket: string, cfg: LifecycleConfig, now: number, total: LifecycleRunResult) {
    if (!cfg.rules.some((r) => r.status === 'Enabled' && r.abortIncompleteMultipartUpload)) return;
    const batch = this.opts.batchSize ?? DEFAULT_BATCH;
    let after = { key: '', initiated: -1, id: '' };
    for (;;) {
      if (this.target.closed()) return;
      const page = this.repo.uploadsAfter(bucket, after, batch);
      for (const u of page)
        if (
          uploadAbortDue(cfg, u.key, u.initiated, now, this.opts.dayMs) &&
          (await this.target.abortUpload(bucket, u.key, u.id))
        )
          total.aborted++;
      if (page.length < batch) return;
      after = page[page.length - 1]!;
      await yieldToLoop();
    }
  }
}
