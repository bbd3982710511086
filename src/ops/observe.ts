/**
 * Wraps a request listener so that every request gets a record (request id, side, S3 details)
 * and, once its answer is over, one access-log line and its metrics.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
// Imported: the `performance` global is a lazy getter, slower to reach on every request.
import { performance } from 'node:perf_hooks';
import { attachRecord, type RequestRecord, type Side } from '../shared/request-record.js';
import type { AccessEntry } from './access-log.js';

export type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Request ids: a random per-process prefix and a counter, 16 upper-case hex digits like S3's.
 * Unique across restarts by the prefix, and no random bytes drawn per request on the hot path.
 */
export function requestIds(): () => string {
  const prefix = randomBytes(3).toString('hex');
  let n = 0;
  return () => {
    n++;
    // Upper-cased last: toUpperCase() returns one flat string, where a concatenation would leave
    // a rope that every later use (Node's header-value check, the log's JSON) flattens again.
    return (prefix + n.toString(16).padStart(10, '0')).toUpperCase();
  };
}

const MARK = Symbol('cellar.byteMark');
const STATE = Symbol('cellar.observed');
type Marked = IncomingMessage['socket'] & { [MARK]?: { read: number; written: number } };

/**
 * One request's entry, made when it starts and completed when it closes: a single object per
 * request, kept on the response so that one shared 'close' listener serves every request (a
 * closure per request registered with once() was a visible part of the cached page's cost).
 */
/** What the HTTP/2 adapter's request and response count (gateway/http2.ts). */
interface BodyCounted {
  bodyBytes: number;
}

class Observation implements AccessEntry {
  path = '';
  status = 0;
  bytesIn = 0;
  bytesOut = 0;
  durationMs = 0;
  completed = false;

  constructor(
    readonly rec: RequestRecord,
    /** Dropped once read: the entry waits for its batch (observability.ts), the socket need not. */
    public socket: Marked | null,
    /** The request under HTTP/2 (it counts its body bytes), else null. */
    public h2: Partial<BodyCounted> | null,
    readonly remote: string | undefined,
    readonly method: string | undefined,
    readonly protocol: string,
    readonly t0: number,
    // url and host at the start: routers (Express) rewrite req.url on the way down, and the
    // upstream proxy replaces req.headers with those it sends to RGW.
    readonly url: string | undefined,
    readonly host: string | undefined,
    readonly done: (e: AccessEntry) => void,
  ) {}
}
type Carrier = ServerResponse & { [STATE]?: Observation };

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

function onClose(this: Carrier): void {
  const o = this[STATE];
  if (o === undefined) return;
  this[STATE] = undefined;
  if (o.h2 !== null) {
    // The session's socket carries every stream: the HTTP/2 adapter counts each stream's body
    // bytes instead (gateway/http2.ts).
    o.bytesIn = o.h2.bodyBytes ?? 0;
    o.bytesOut = (this as Partial<BodyCounted>).bodyBytes ?? 0;
    o.h2 = null;
  } else {
    // Socket counters, so that observing never touches the body streams (a 'data' listener
    // would switch them to flowing mode): bytes on the wire, headers included, since the end of
    // the connection's previous request.
    const socket = o.socket!;
    const read = socket.bytesRead;
    const written = socket.bytesWritten;
    let mark = socket[MARK];
    if (mark === undefined) {
      mark = { read: 0, written: 0 };
      socket[MARK] = mark;
    }
    o.bytesIn = read - mark.read;
    o.bytesOut = written - mark.written;
    mark.read = read;
    mark.written = written;
  }
  o.socket = null;
  o.path = pathOf(o.url);
  o.status = this.statusCode;
  o.durationMs = performance.now() - o.t0;
  o.completed = this.writableFinished;
  o.done(o);
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
    (res as Carrier)[STATE] = new Observation(
      rec,
      req.socket as Marked,
      req.httpVersionMajor === 2 ? (req as Partial<BodyCounted>) : null,
      req.socket.remoteAddress,
      req.method,
      protocolOf(req),
      performance.now(),
      req.url,
      req.headers.host,
      opts.done,
    );
    res.on('close', onClose);
    listener(req, res);
  };
}
