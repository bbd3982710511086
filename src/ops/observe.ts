/**
 * Wraps a request listener so that every request gets a record (request id, side, S3 details)
 * and, once its answer is over, one access-log line and its metrics.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { attachRecord, type RequestRecord, type Side } from '../shared/request-record.js';
import type { AccessEntry } from './access-log.js';

export type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Request ids: a random per-process prefix and a counter, 16 upper-case hex digits like S3's.
 * Unique across restarts by the prefix, and no random bytes drawn per request on the hot path.
 */
export function requestIds(): () => string {
  const prefix = randomBytes(3).toString('hex').toUpperCase();
  let n = 0;
  return () => {
    n++;
    return prefix + n.toString(16).toUpperCase().padStart(10, '0');
  };
}

const MARK = Symbol('cellar.byteMark');
type Marked = IncomingMessage['socket'] & { [MARK]?: { read: number; written: number } };

function pathOf(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q < 0 ? u : u.slice(0, q);
}

/** A bounded label: Node's parser accepts no other versions. */
function protocolOf(req: IncomingMessage): string {
  if (req.httpVersionMajor === 2) return 'HTTP/2';
  return req.httpVersion === '1.0' ? 'HTTP/1.0' : 'HTTP/1.1';
}

export function observeRequests(
  listener: Listener,
  opts: { side: Side; nextId: () => string; done: (e: AccessEntry) => void },
): Listener {
  return (req, res) => {
    const rec: RequestRecord = {
      requestId: opts.nextId(),
      side: opts.side,
      op: null,
      addon: null,
      bucket: null,
      errorCode: null,
      cache: null,
    };
    attachRecord(res, rec);
    const socket = req.socket as Marked;
    const t0 = performance.now();
    // Now: routers (Express) rewrite req.url on the way down, and the upstream proxy replaces
    // req.headers with those it sends to RGW.
    const url = req.url;
    const host = req.headers.host;
    res.once('close', () => {
      // Socket counters, so that observing never touches the body streams (a 'data' listener
      // would switch them to flowing mode): bytes on the wire, headers included, since the end of
      // the connection's previous request.
      const read = socket.bytesRead;
      const written = socket.bytesWritten;
      const mark = socket[MARK] ?? { read: 0, written: 0 };
      socket[MARK] = { read, written };
      opts.done({
        rec,
        remote: socket.remoteAddress,
        host,
        method: req.method,
        protocol: protocolOf(req),
        path: pathOf(url),
        status: res.statusCode,
        bytesIn: read - mark.read,
        bytesOut: written - mark.written,
        durationMs: performance.now() - t0,
        completed: res.writableFinished,
      });
    });
    listener(req, res);
  };
}
