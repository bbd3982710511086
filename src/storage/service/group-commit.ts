/**
 * Group commit for metadata: the commits that become ready in the same turn of the event loop
 * share one SQLite transaction, so one WAL fsync (synchronous=FULL) makes all of them durable.
 * Each one still succeeds or fails on its own (a savepoint each), and none resolves before the
 * shared commit is on disk. Under concurrent small PUTs the main thread otherwise spends a large
 * share of its time waiting on one fsync per object.
 */
export type Transaction = <T>(fn: () => T) => T;

interface Item {
  fn: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export class GroupCommit {
  private queue: Item[] = [];
  private scheduled = false;

  /** `transaction` must nest as a savepoint when called inside itself (better-sqlite3 does). */
  constructor(private readonly transaction: Transaction) {}

  /** Runs `fn` in a transaction shared with the other commits queued in this turn. */
  run<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits whatever is queued now (also before the database is closed). */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    if (batch.length === 1) {
      const it = batch[0]!;
      try {
        it.resolve(this.transaction(it.fn));
      } catch (e) {
        it.reject(e);
      }
      return;
    }
    const outcomes: Outcome[] = [];
    try {
      this.transaction(() => {
        for (const it of batch) {
          try {
            outcomes.push({ ok: true, value: this.transaction(it.fn) });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      // The shared commit itself failed (I/O error, disk full): nothing in it is durable.
      for (const it of batch) it.reject(error);
      return;
    }
    batch.forEach((it, i) => {
      const o = outcomes[i]!;
      if (o.ok) it.resolve(o.value);
      else it.reject(o.error);
    });
  }
}
