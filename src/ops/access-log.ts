/**
 * The access log: one JSON line per request, written in batches.
 *
 * Why not a general logger: the line has a fixed shape, so it is encoded straight into the batch
 * (access-line.ts) in well under a microsecond, where pino took 2-3 µs to serialize the same
 * object. The file side is sonic-boom (pino's own destination: asynchronous writes, EAGAIN
 * handling on pipes, reopen for logrotate, a bounded buffer), in buffer mode and handed one
 * 256 KiB batch at a time, never a line: in string mode its write() measures the byte length of
 * its whole pending string on every call, which made a line cost 4-5 µs at 4 KiB batches and
 * grows with the batch (sonic-boom 4.2.1, index.js `write`).
 */
// The package is CommonJS; its typings declare the class as a named member of the export.
import sonicBoom from 'sonic-boom';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
// Imported: the `performance` global is a lazy getter, slower to reach on every line.
import { performance } from 'node:perf_hooks';
import { LEVEL_RANK, type LogLevel } from '../shared/logger.js';
import { type AccessEntry, encodeLine, levelOf, lineBound } from './access-line.js';
import { BatchBuffers } from './batch-buffers.js';

export interface AccessLog {
  write(e: AccessEntry): void;
  /**
   * Reopens the file (after logrotate moved it); resolves once lines go to the new file (those
   * written meanwhile still land in the old one: none is lost). No-op on stdout.
   */
  reopen(): Promise<void>;
  /** Writes out what is buffered, synchronously (shutdown). */
  flush(): void;
  /** Lines dropped because the destination could not keep up (bounded memory). */
  readonly dropped: number;
  /** Flushes and stops the batch timer (shutdown); resolves once every line is written. */
  close(): Promise<void>;
}

export interface AccessLogOptions {
  /** '' for stdout, 'off' for none, else a file path (appended to). */
  destination: string;
  /** info: every request; warn: 4xx answers and cut ones; error: 5xx only; silent: none. */
  level?: LogLevel;
  /** How long a line may wait in the batch (ms). */
  flushMs?: number;
}

/** A batch is handed to the destination once the next line might not fit. */
const BATCH_BYTES = 256 * 1024;
/** What may wait for a slow disk or a stalled stdout reader before lines are dropped. */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;

/** How often the offset between the wall clock and performance.now() is read again. */
const CLOCK_RESYNC_MS = 1000;

/**
 * The wall-clock time of a performance.now() reading, as ISO 8601 to the millisecond. Lines are
 * written in batches, up to 100 ms after their requests ended (observability.ts), so a line's time
 * comes from its own request's end, not from the moment it is written. The offset between the
 * two clocks is read again every second, which follows the wall clock's steps and slews; one Date
 * is made per millisecond however many lines it holds.
 */
function isoTimes(): (perfMs: number) => string {
  let syncedAt = performance.now();
  let offset = Date.now() - syncedAt;
  let ms = Number.NaN;
  let iso = '';
  return (perfMs) => {
    if (perfMs - syncedAt > CLOCK_RESYNC_MS) {
      syncedAt = performance.now();
      offset = Date.now() - syncedAt;
    }
    const wall = Math.floor(perfMs + offset);
    if (wall !== ms) {
      ms = wall;
      iso = new Date(wall).toISOString();
    }
    return iso;
  };
}

export function createAccessLog(o: AccessLogOptions): AccessLog | null {
  const min = LEVEL_RANK[o.level ?? 'info'];
  if (o.destination === 'off' || min >= LEVEL_RANK.silent) return null;
  const toStdout = o.destination === '';
  if (!toStdout) {
    // An unwritable path fails the start, with its reason, not the first write.
    mkdirSync(path.dirname(o.destination), { recursive: true });
    closeSync(openSync(o.destination, 'a'));
  }
  const dest = new sonicBoom.SonicBoom({
    dest: toStdout ? 1 : o.destination,
    sync: false,
    mkdir: true,
    minLength: 0,
    contentMode: 'buffer',
    maxWrite: 4 * BATCH_BYTES,
    maxLength: MAX_PENDING_BYTES,
  });
  // The typings declare write(string) only; in buffer mode it takes Buffers (README, contentMode).
  const out = dest as unknown as { write(b: Buffer): boolean };
  dest.on('error', (e: Error) => {
    process.stderr.write(`access log ${toStdout ? 'stdout' : o.destination}: ${e.message}\n`);
  });
  const timeOf = isoTimes();
  const buffers = new BatchBuffers(BATCH_BYTES);
  dest.on('write', (n: number) => buffers.wrote(n));
  let dropped = 0;
  // sonic-boom drops a batch beyond its maxLength synchronously, inside write(): it is the one
  // just handed over.
  dest.on('drop', (data: Buffer) => {
    buffers.droppedLast();
    for (let i = data.indexOf(10); i >= 0; i = data.indexOf(10, i + 1)) dropped++;
  });
  // Lines are encoded into a buffer as they come (access-line.ts), so none is ever a string.
  let batch = buffers.take();
  let used = 0;
  /** Every byte written goes through here, or the count of bytes out would be wrong. */
  const send = (buf: Buffer, length: number): void => {
    buffers.handedOver(buf, length);
    out.write(length === buf.length ? buf : buf.subarray(0, length));
  };
  const hand = (): void => {
    if (used === 0) return;
    send(batch, used);
    batch = buffers.take();
    used = 0;
  };
  // A quiet server still shows its lines within a second (tail -f).
  const timer = setInterval(hand, o.flushMs ?? 1000);
  timer.unref();
  // The file opens asynchronously; until it has, there is nothing to write synchronously to.
  const isOpen = (): boolean => (dest as unknown as { fd: number }).fd >= 0;
  const flush = (): void => {
    hand();
    if (isOpen()) dest.flushSync();
  };
  return {
    write(e) {
      if (min > LEVEL_RANK.info && LEVEL_RANK[levelOf(e)] < min) return;
      const time = timeOf(e.endedAt);
      const bound = lineBound(e, time);
      if (used + bound > BATCH_BYTES) {
        hand();
        if (bound > BATCH_BYTES) {
          const big = Buffer.allocUnsafe(bound);
          send(big, encodeLine(e, time, big, 0));
          return;
        }
      }
      used = encodeLine(e, time, batch, used);
    },
    reopen: () => {
      hand();
      if (toStdout) return Promise.resolve();
      const reopened = new Promise<void>((resolve) => dest.once('ready', () => resolve()));
      dest.reopen();
      return reopened;
    },
    flush,
    get dropped() {
      return dropped;
    },
    close: async () => {
      clearInterval(timer);
      hand();
      // end() lets a write in flight finish, writes the rest, then closes the file (never
      // stdout); once() rejects on 'error' (reported above), after which nothing can be written.
      const closed = once(dest, 'close').catch(() => undefined);
      dest.end();
      await closed;
    },
  };
}
