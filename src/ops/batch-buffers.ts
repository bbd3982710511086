/**
 * Buffers for a writer that takes batches whole and writes them out in order (sonic-boom in
 * buffer mode): a batch comes back for reuse once the writer has reported, by its documented
 * 'write' event (bytes written), that every byte up to the batch's end is out. A fresh buffer per
 * batch cost the cached page about 1% (bench/compare.ts): new memory is zeroed and faulted in by
 * the kernel and starts cold in the CPU's caches, where a reused one is warm.
 *
 * Nothing is reused early when the writer skips its event (a synchronous flush at shutdown, a
 * failed write): the count then falls behind by the bytes not reported, so every later batch
 * comes back that much later, never sooner.
 */
export class BatchBuffers {
  /** Bytes handed to the writer (dropped ones excepted) and bytes it reported written. */
  private handed = 0;
  private written = 0;
  /** Batches handed and not yet known to be written, oldest first, with their stream end. */
  private readonly pending: { buf: Buffer; used: number; end: number }[] = [];
  private readonly free: Buffer[] = [];

  constructor(
    readonly size: number,
    /** At most this many spare buffers are kept. */
    private readonly spare = 4,
  ) {}

  /** A buffer of `size` bytes to fill. */
  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(this.size);
  }

  /** The first `used` bytes of `buf` were handed to the writer. */
  handedOver(buf: Buffer, used: number): void {
    this.handed += used;
    this.pending.push({ buf, used, end: this.handed });
  }

  /** The writer refused the batch just handed over (it will never write it). */
  droppedLast(): void {
    const last = this.pending.pop();
    if (last === undefined) return;
    this.handed -= last.used;
    this.recycle(last.buf);
  }

  /** The writer reports `n` more bytes written. */
  wrote(n: number): void {
    this.written += n;
    while (this.pending.length > 0 && this.pending[0]!.end <= this.written) this.recycle(this.pending.shift()!.buf);
  }

  /** Only buffers of this pool's size are kept (a writer may also be handed others). */
  private recycle(buf: Buffer): void {
    if (buf.length === this.size && this.free.length < this.spare) this.free.push(buf);
  }
}
