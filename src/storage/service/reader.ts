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
 * Streams `range` of an object made of consecutive blobs. The first blob's file is opened before
 * this returns, so a delete racing with a GET cannot cut a simple object's body short (the open
 * descriptor keeps the bytes alive after unlink).
 */
export async function openObjectStream(blobs: BlobRef[], pathOf: (id: string) => string, range: ByteRange | null): Promise<Readable> {
  const total = blobs.reduce((n, b) => n + b.size, 0);
  const start = range ? range.start : 0;
  const end = range ? range.end : total - 1;
  const segments: { blob: BlobRef; from: number; to: number }[] = [];
  let offset = 0;
  for (const blob of blobs) {
    const bStart = offset;
    const bEnd = offset + blob.size - 1;
    offset += blob.size;
    if (blob.size === 0 || bEnd < start || bStart > end) continue;
    segments.push({ blob, from: Math.max(start, bStart) - bStart, to: Math.min(end, bEnd) - bStart });
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
    takeFirst()?.close().catch(() => undefined);
  });
  return stream;
}
