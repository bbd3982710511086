import { closeSync, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { BlobRef } from '../types.js';

export interface ByteRange {
  /** Inclusive. */
  start: number;
  /** Inclusive. */
  end: number;
}

const CHUNK = 256 * 1024;

/**
 * Bodies up to this size are read synchronously, as SQLite metadata reads already are: on a
 * page-cached file, the three thread-pool round trips of an async open/read/close cost several
 * times the read itself (the bench's random small GETs spent a third of the server core there).
 */
const SYNC_MAX = 256 * 1024;

interface Segment {
  blob: BlobRef;
  /** Inclusive offsets inside the blob. */
  from: number;
  to: number;
}

function readSegmentsSync(segments: Segment[], pathOf: (id: string) => string, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let at = 0;
  for (const seg of segments) {
    const fd = openSync(pathOf(seg.blob.id), 'r');
    try {
      for (let pos = seg.from; pos <= seg.to; ) {
        const n = readSync(fd, out, at, seg.to - pos + 1, pos);
        if (n === 0) throw new Error(`blob ${seg.blob.id} is shorter than its recorded size`);
        pos += n;
        at += n;
      }
    } finally {
      closeSync(fd);
    }
  }
  return out;
}

/**
 * Streams `range` of an object made of consecutive blobs. The first blob's file is opened before
 * this returns, so a delete racing with a GET cannot cut a simple object's body short (the open
 * descriptor keeps the bytes alive after unlink).
 */
export async function openObjectStream(
  blobs: BlobRef[],
  pathOf: (id: string) => string,
  range: ByteRange | null,
): Promise<Readable> {
  const total = blobs.reduce((n, b) => n + b.size, 0);
  const start = range ? range.start : 0;
  const end = range ? range.end : total - 1;
  const segments: Segment[] = [];
  let offset = 0;
  for (const blob of blobs) {
    const bStart = offset;
    const bEnd = offset + blob.size - 1;
    offset += blob.size;
    if (blob.size === 0 || bEnd < start || bStart > end) continue;
    segments.push({ blob, from: Math.max(start, bStart) - bStart, to: Math.min(end, bEnd) - bStart });
  }
  if (segments.length > 0 && end - start + 1 <= SYNC_MAX) {
    const body = readSegmentsSync(segments, pathOf, end - start + 1);
    return new Readable({
      read() {
        this.push(body);
        this.push(null);
      },
    });
  }
  let first: FileHandle | null = segments.length > 0 ? await open(pathOf(segments[0]!.blob.id), 'r') : null;
  const takeFirst = (): FileHandle | null => {
    const fh = first;
    first = null;
    return fh;
  };
  async function* generate(): AsyncGenerator<Buffer> {
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      const fh: FileHandle = (i === 0 ? takeFirst() : null) ?? (await open(pathOf(seg.blob.id), 'r'));
      try {
        let pos = seg.from;
        while (pos <= seg.to) {
          const len = Math.min(CHUNK, seg.to - pos + 1);
          const buf = Buffer.allocUnsafe(len);
          const { bytesRead } = await fh.read(buf, 0, len, pos);
          if (bytesRead === 0) throw new Error(`blob ${seg.blob.id} is shorter than its recorded size`);
          pos += bytesRead;
          yield bytesRead === len ? buf : buf.subarray(0, bytesRead);
        }
      } finally {
        await fh.close();
      }
    }
  }
  const stream = Readable.from(generate(), { objectMode: false, highWaterMark: CHUNK });
  // A client that goes away before the first read must not leak the eagerly opened descriptor.
  stream.once('close', () => {
    takeFirst()
      ?.close()
      .catch(() => undefined);
  });
  return stream;
}
