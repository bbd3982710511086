import { randomBytes } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, fsync, openSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, unlink, link } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { StorageError } from '../errors.js';
import { asStorageFull, SpaceGuard } from './space.js';

/** Sees every byte of a body as it streams to disk (hashes, checksums). */
export type ByteObserver = (chunk: Buffer) => void;

export interface WrittenBlob {
  id: string;
  size: number;
}

/**
 * Object bytes as immutable files named by random ids, never by key. A blob is written to
 * `tmp/`, fsynced, renamed into `blobs/<2 hex>/<id>`, and its directory fsynced before the
 * caller commits metadata naming it; a crash at any point leaves at most an unreferenced file,
 * which the collector removes.
 */
export class BlobStore {
  private readonly tmpDir: string;
  private readonly blobDir: string;
  /**
   * Open descriptors of the blob directories, kept for their fsync after each rename: one
   * thread-pool round trip per publish instead of three (open, fsync, close).
   */
  private readonly dirFds = new Map<string, number>();
  /**
   * Ids of blobs this process is writing or has written but not yet settled (metadata naming
   * them not committed, or the write not yet abandoned): the collector never touches their temp
   * or published files, whatever its grace time. The grace only bounds how long the leftovers of
   * a crashed process survive.
   */
  private readonly unsettled = new Set<string>();
  private readonly space: SpaceGuard;

  /** `minFreeBytes`: free space on the volume below which new blobs are refused (0: no reserve). */
  constructor(root: string, minFreeBytes = 0) {
    this.tmpDir = path.join(root, 'tmp');
    this.blobDir = path.join(root, 'blobs');
    this.space = new SpaceGuard(root, minFreeBytes);
  }

  async init(): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true });
    await Promise.all(
      Array.from({ length: 256 }, (_, i) =>
        mkdir(path.join(this.blobDir, i.toString(16).padStart(2, '0')), { recursive: true }),
      ),
    );
  }

  /** Closes the kept directory descriptors (the store is not used afterwards). */
  close(): void {
    for (const fd of this.dirFds.values()) closeSync(fd);
    this.dirFds.clear();
  }

  private dirFd(dir: string): number {
    let fd = this.dirFds.get(dir);
    if (fd === undefined) {
      fd = openSync(dir, 'r');
      this.dirFds.set(dir, fd);
    }
    return fd;
  }

  pathOf(id: string): string {
    return path.join(this.blobDir, id.slice(0, 2), id);
  }

  /** Streams `source` into a new durable blob; `maxSize` bounds it (EntityTooLarge). */
  async write(source: Readable, observers: ByteObserver[], maxSize: number): Promise<WrittenBlob> {
    const id = this.reserve();
    const tmp = path.join(this.tmpDir, id);
    const space = this.space;
    let size = 0;
    const pass = (chunk: Buffer, cb: TransformCallback): void => {
      for (const o of observers) o(chunk);
      cb(null, chunk);
    };
    const meter = new Transform({
      // The up-front refusal, inside the pipeline: an await before it would leave the source's
      // errors without a listener.
      construct(cb) {
        space.admit(0).then(() => cb(), cb);
      },
      transform(chunk: Buffer, _enc, cb: TransformCallback) {
        size += chunk.length;
        if (size > maxSize)
          return cb(new StorageError('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size'));
        // A body that would eat into the reserve stops here, before the file system runs out.
        if (space.admitNow(chunk.length)) return pass(chunk, cb);
        space.admit(chunk.length).then(() => pass(chunk, cb), cb);
      },
    });
    try {
      // flush: fsync before close, so the bytes are on disk before the rename publishes them.
      await pipeline(
        source,
        meter,
        createWriteStream(tmp, { flags: 'wx', mode: 0o644, flush: true, highWaterMark: 1 << 20 }),
      );
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      this.space.forget();
      this.unsettled.delete(id);
      throw asStorageFull(e);
    }
    await this.publish(tmp, id);
    return { id, size };
  }

  private reserve(): string {
    const id = newBlobId();
    this.unsettled.add(id);
    return id;
  }

  /**
   * Hands blobs from `write` or `clone` over to the collector's rules: call once the metadata
   * naming them is committed (or they were removed). Until then the collector leaves them alone.
   */
  settle(ids: Iterable<string>): void {
    for (const id of ids) this.unsettled.delete(id);
  }

  /** Whether the collector must leave this id alone: a write or clone of this process in flight. */
  isUnsettled(id: string): boolean {
    return this.unsettled.has(id);
  }

  /** A new blob sharing the bytes of `srcId` (hard link): copies cost no I/O and stay immutable. */
  async clone(srcId: string): Promise<string> {
    // No bytes, but a directory entry and metadata rows: refused with the other writes.
    await this.space.admit(0);
    const id = this.reserve();
    const tmp = path.join(this.tmpDir, id);
    try {
      await link(this.pathOf(srcId), tmp);
    } catch (e) {
      this.unsettled.delete(id);
      throw asStorageFull(e);
    }
    await this.publish(tmp, id);
    return id;
  }

  private async publish(tmp: string, id: string): Promise<void> {
    const final = this.pathOf(id);
    try {
      await rename(tmp, final);
      await fsyncFd(this.dirFd(path.dirname(final)));
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      this.space.forget();
      this.unsettled.delete(id);
      throw asStorageFull(e);
    }
  }

  /** Bytes `start..end` inclusive of a blob. */
  read(id: string, start?: number, end?: number): Readable {
    return createReadStream(this.pathOf(id), { start, end, highWaterMark: 256 * 1024 });
  }

  /** Deletes a blob file; it is settled afterwards (nothing left to protect). */
  async remove(id: string): Promise<void> {
    try {
      await unlink(this.pathOf(id)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
    } finally {
      this.space.forget();
      this.unsettled.delete(id);
    }
  }

  async clearTmp(olderThanMs: number): Promise<number> {
    let n = 0;
    const now = Date.now();
    for (const name of await readdir(this.tmpDir)) {
      if (this.unsettled.has(name)) continue;
      const p = path.join(this.tmpDir, name);
      const st = await stat(p).catch(() => null);
      if (st && now - st.mtimeMs >= olderThanMs) {
        await rm(p, { force: true });
        n++;
      }
    }
    return n;
  }

  /** Every published blob with its age, for the collector (unsettled ones are the caller's to skip). */
  async *list(): AsyncGenerator<{ id: string; changedMs: number }> {
    for (const dir of await readdir(this.blobDir)) {
      const full = path.join(this.blobDir, dir);
      for (const id of await readdir(full).catch(() => [] as string[])) {
        const st = await stat(path.join(full, id)).catch(() => null);
        // ctime, not mtime: a hard-linked clone keeps its source's mtime but gets a fresh ctime.
        if (st) yield { id, changedMs: st.ctimeMs };
      }
    }
  }
}

function newBlobId(): string {
  return randomBytes(16).toString('hex');
}

const fsyncFd = promisify(fsync);
