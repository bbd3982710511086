/**
 * The access log: one JSON line per request. pino because it is the fastest well-kept Node
 * logger (serialization without JSON.stringify of the whole line) and its destination
 * (sonic-boom) writes asynchronously in large chunks and can reopen its file, which is what
 * logrotate needs; the hot cached website path then pays one object and one buffered append.
 */
import pino from 'pino';
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
  /** Writes out what is buffered. */
  flush(): void;
}

/** `destination`: '' for stdout, 'off' for none, else a file path (appended to). */
export function createAccessLog(destination: string): AccessLog | null {
  if (destination === 'off') return null;
  const dest = pino.destination({
    dest: destination === '' ? 1 : destination,
    sync: false,
    minLength: 4096,
    mkdir: true,
  });
  const log = pino(
    { base: null, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
    dest,
  );
  return {
    write(e) {
      const r = e.rec;
      log.info({
        requestId: r.requestId,
        remote: e.remote,
        host: e.host,
        method: e.method,
        protocol: e.protocol,
        path: e.path,
        side: r.side,
        op: r.op,
        addon: r.addon,
        bucket: r.bucket,
        status: e.status,
        error: r.errorCode,
        bytesIn: e.bytesIn,
        bytesOut: e.bytesOut,
        ms: Math.round(e.durationMs * 1000) / 1000,
        cache: r.cache,
        completed: e.completed,
      });
    },
    reopen: () => {
      if (destination === '') return Promise.resolve();
      const reopened = new Promise<void>((resolve) => dest.once('ready', () => resolve()));
      dest.reopen();
      return reopened;
    },
    flush: () => {
      try {
        dest.flushSync();
      } catch {
        // Not open yet (nothing written): nothing to flush.
      }
    },
  };
}
