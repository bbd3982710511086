/**
 * The access log: one JSON line per request, written in batches.
 *
 * Why not a general logger: the line has a fixed shape, so it is built with one template
 * (JSON.stringify only for the strings a client chooses) in about 0.5 µs, where pino took 2-3 µs
 * to serialize the same object. The file side is sonic-boom (pino's own destination: asynchronous
 * writes, EAGAIN handling on pipes, reopen for logrotate, a bounded buffer), in buffer mode and
 * handed one 64 KiB batch at a time, never a line: in string mode its write() measures the byte
 * length of its whole pending string on every call, which made a line cost 4-5 µs at 4 KiB
 * batches and grows with the batch (sonic-boom 4.2.1, index.js `write`).
 */
// The package is CommonJS; its typings declare the class as a named member of the export.
import sonicBoom from 'sonic-boom';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { LEVEL_RANK, type LogLevel } from '../shared/logger.js';
import type { RequestRecord } from '../shared/request-record.js';

/** One finished request as the access log shows it. */
export interface AccessEntry {
  rec: RequestRecord;
  remote: string | undefined;
  host: string | undefined;
  method: string | undefined;
  /** HTTP/1.0, HTTP/1.1 or HTTP/2. */
  protocol: string;
  path: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  /** false when the connection ended before the answer was complete. */
  completed: boolean;
}

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

/** The line's level: a 5xx is the service's fault, a 4xx or a cut answer is worth a look. */
export function levelOf(e: AccessEntry): 'info' | 'warn' | 'error' {
  if (e.status >= 500) return 'error';
  if (e.status >= 400 || !e.completed) return 'warn';
  return 'info';
}

/** A JSON string, or null; for values a client chose (host, path, ...), which need escaping. */
function str(v: string | null | undefined): string {
  return v === null || v === undefined ? 'null' : JSON.stringify(v);
}

/** Our own values (IP addresses, protocol and operation names, cache results): nothing to escape. */
function token(v: string | null | undefined): string {
  return v === null || v === undefined ? 'null' : `"${v}"`;
}

/** A byte count; null rather than an invalid JSON number if one could not be taken. */
function count(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/**
 * Milliseconds with three decimals, from integers: turning an arbitrary double into its
 * shortest decimal form costs several times more, once per line.
 */
function millis(durationMs: number): string {
  const us = Math.round(durationMs * 1000);
  const frac = us % 1000;
  return `${(us - frac) / 1000}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`;
}

/**
 * ISO time of the current millisecond: one Date per millisecond however many lines it holds.
 */
function isoClock(): () => string {
  let ms = 0;
  let iso = '';
  return () => {
    const now = Date.now();
    if (now !== ms) {
      ms = now;
      iso = new Date(now).toISOString();
    }
    return iso;
  };
}

/**
 * The last value of a field with its JSON: a site's visitors send the same host, path and method
 * over and over, and comparing strings costs less than escaping them again.
 */
function memo(): (v: string | null | undefined) => string {
  let last: string | null | undefined;
  let json = 'null';
  return (v) => {
    if (v !== last) {
      last = v;
      json = str(v);
    }
    return json;
  };
}

/**
 * A line formatter (with its newline); `time` is an ISO 8601 string. Request ids are ours or
 * RGW's (checked where adopted): letters, digits, dots and dashes, printed as they are.
 */
export function lineFormatter(): (e: AccessEntry, time: string) => string {
  const host = memo();
  const path = memo();
  const method = memo();
  const addon = memo();
  const bucket = memo();
  return (e, time) => {
    const r = e.rec;
    return (
      `{"level":"${levelOf(e)}","time":"${time}","requestId":"${r.requestId}","remote":${token(e.remote)},` +
      `"host":${host(e.host)},"method":${method(e.method)},"protocol":${token(e.protocol)},"path":${path(e.path)},` +
      `"side":"${r.side}","op":${token(r.op)},"addon":${addon(r.addon)},"bucket":${bucket(r.bucket)},` +
      `"status":${e.status},"error":${str(r.errorCode)},"bytesIn":${count(e.bytesIn)},"bytesOut":${count(e.bytesOut)},` +
      `"ms":${millis(e.durationMs)},"cache":${token(r.cache)},"completed":${e.completed}}\n`
    );
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
  let dropped = 0;
  dest.on('drop', (data: Buffer) => {
    for (let i = data.indexOf(10); i >= 0; i = data.indexOf(10, i + 1)) dropped++;
  });
  const clock = isoClock();
  const formatLine = lineFormatter();
  // Lines are copied into a buffer as they come, so that none outlives its request as a string
  // (strings held for a batch survived into the old generation and cost more than writing them).
  let batch = Buffer.allocUnsafe(BATCH_BYTES);
  let used = 0;
  const hand = (): void => {
    if (used === 0) return;
    out.write(batch.subarray(0, used));
    batch = Buffer.allocUnsafe(BATCH_BYTES);
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
      const line = formatLine(e, clock());
      // At most 3 UTF-8 bytes per UTF-16 unit: checked before writing, as utf8Write truncates.
      if (used + line.length * 3 > BATCH_BYTES) {
        hand();
        if (line.length * 3 > BATCH_BYTES) {
          out.write(Buffer.from(line));
          return;
        }
      }
      used += batch.write(line, used);
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
