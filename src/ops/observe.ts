/**
 * Wraps a request listener so that every request gets a record (request id, side, S3 details)
 * and, once its answer is over, one access-log line and its metrics.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
// Imported: the `performance` global is a lazy getter, slower to reach on every request.
import { performance } from 'node:perf_hooks';
import { attachRecord, recordOf, type Side } from '../shared/request-record.js';
import type { AccessEntry, Protocol } from './access-line.js';

export type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Request ids: a random per-process prefix and a counter, 16 upper-case hex digits like S3's.
 * Unique across restarts by the prefix (and within a process for 2^40 requests, after which the
 * counter wraps). The counter's digits are kept as character codes and stepped in place, and the
 * id made by one String.fromCharCode, which returns a flat string: formatting the number
 * (toString(16), padStart, toUpperCase) took about 0.13 µs more a request, some 2% of the cached
 * page's speed (bench/compare.ts).
 */
export function requestIds(): () => string {
  const codes = new Uint8Array(16);
  const prefix = randomBytes(3).toString('hex').toUpperCase();
  for (let i = 0; i < 16; i++) codes[i] = i < 6 ? prefix.charCodeAt(i) : 0x30;
  return () => {
    // Add one to the hex digits 6-15: '9' steps to 'A', 'F' to '0' with a carry.
    for (let i = 15; i >= 6; i--) {
      const c = codes[i]!;
      if (c !== 0x46) {
        codes[i] = c === 0x39 ? 0x41 : c + 1;
        break;
      }
      codes[i] = 0x30;
    }
    const c = codes;
    return String.fromCharCode(
      c[0]!,
      c[1]!,
      c[2]!,
      c[3]!,
      c[4]!,
      c[5]!,
      c[6]!,
      c[7]!,
      c[8]!,
      c[9]!,
      c[10]!,
      c[11]!,
      c[12]!,
      c[13]!,
      c[14]!,
      c[15]!,
    );
  };
}

const MARK = Symbol('cellar.byteMark');
/**
 * Per connection: its byte counters at the end of its previous request, and its peer address,
 * read once (socket.remoteAddress goes through several property lookups on every read).
 */
interface Mark {
  read: number;
  written: number;
  remote: string | undefined;
}
type Marked = IncomingMessage['socket'] & { [MARK]?: Mark };

function markOf(socket: Marked): Mark {
  let mark = socket[MARK];
  if (mark === undefined) {
    mark = { read: 0, written: 0, remote: socket.remoteAddress };
    socket[MARK] = mark;
  }
  return mark;
}

/** What the HTTP/2 adapter's request and response count (gateway/http2.ts). */
interface BodyCounted {
  bodyBytes: number;
}

/**
 * One request's record and access-log entry in a single object, made when it starts and
 * completed when it closes. It travels on the response as the request record, so one shared
 * 'close' listener serves every request (a closure per request registered with once() was a
 * visible part of the cached page's cost).
 */
class Observation implements AccessEntry {
  op: string | null = null;
  addon: string | null = null;
  bucket: string | null = null;
  errorCode: string | null = null;
  cache: 'hit' | 'miss' | null = null;
  path = '';
  status = 0;
  bytesIn = 0;
  bytesOut = 0;
  durationMs = 0;
  endedAt = 0;
  completed = false;
  /** Set once the answer is over and the entry handed on. */
  closed = false;

  constructor(
    public requestId: string,
    public side: Side,
    /** Dropped once read: the entry waits for its batch (observability.ts), the socket need not. */
    public socket: Marked | null,
    /** The request under HTTP/2 (it counts its body bytes), else null. */
    public h2: Partial<BodyCounted> | null,
    readonly remote: string | undefined,
    readonly method: string | undefined,
    readonly protocol: Protocol,
    readonly t0: number,
    // url and host at the start: routers (Express) rewrite req.url on the way down, and the
    // upstream proxy replaces req.headers with those it sends to RGW.
    readonly url: string | undefined,
    readonly host: string | undefined,
    readonly done: (e: AccessEntry) => void,
  ) {}
}

function pathOf(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q < 0 ? u : u.slice(0, q);
}

/** A bounded label: Node's parser accepts no other versions. */
function protocolOf(req: IncomingMessage): Protocol {
  if (req.httpVersionMajor === 2) return 'HTTP/2';
  return req.httpVersion === '1.0' ? 'HTTP/1.0' : 'HTTP/1.1';
}

function onClose(this: ServerResponse): void {
  const o = recordOf(this);
  if (!(o instanceof Observation) || o.closed) return;
  o.closed = true;
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
    const mark = markOf(socket);
    o.bytesIn = read - mark.read;
    o.bytesOut = written - mark.written;
    mark.read = read;
    mark.written = written;
  }
  o.socket = null;
  o.path = pathOf(o.url);
  o.status = this.statusCode;
  o.endedAt = performance.now();
  o.durationMs = o.endedAt - o.t0;
  o.completed = this.writableFinished;
  o.done(o);
}

/** Requests started and not yet over, counted across the listeners of one process. */
export interface InFlight {
  count: number;
}

/**
 * `listener` with a record per request, handed to `done` once its answer is over; `inFlight`
 * counts the requests started and not yet over.
 */
export function observeRequests(
  listener: Listener,
  opts: { side: Side; nextId: () => string; inFlight: InFlight; done: (e: AccessEntry) => void },
): Listener {
  const { side, nextId, inFlight, done } = opts;
  return (req, res) => {
    inFlight.count++;
    const socket = req.socket as Marked;
    const h2 = req.httpVersionMajor === 2;
    attachRecord(
      res,
      new Observation(
        nextId(),
        side,
        socket,
        h2 ? (req as Partial<BodyCounted>) : null,
        // Under HTTP/2 the socket is the adapter's stand-in for the session's (gateway/http2.ts).
        h2 ? socket.remoteAddress : markOf(socket).remote,
        req.method,
        protocolOf(req),
        performance.now(),
        req.url,
        req.headers.host,
        done,
      ),
    );
    res.on('close', onClose);
    listener(req, res);
  };
}
