import { statfs } from 'node:fs/promises';
import { StorageError } from '../errors.js';

/** How long one statfs of the data volume is trusted, together with the bytes written since. */
const STAT_TTL_MS = 1000;

/** The error every write gets when the data volume is (nearly) full. */
export function storageFull(): StorageError {
  return new StorageError('InsufficientStorage', 'There is not enough free space on the server to store this data.');
}

/** A disk-full failure from the file system or SQLite, as the storage error; anything else unchanged. */
export function asStorageFull(e: unknown): unknown {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL' ? storageFull() : e;
}

/**
 * Keeps `reserve` bytes of the data volume free for what must never fail for lack of space:
 * SQLite's commits (WAL frames, checkpoints) and the deletes that free space again. Free space
 * comes from one statfs per STAT_TTL_MS, less the body bytes counted since, so neither a request
 * nor a chunk costs a syscall; freeing space (a removed file) forgets the figure at once.
 */
export class SpaceGuard {
  private free = 0;
  private statAt = -Infinity;
  private sinceStat = 0;

  constructor(
    private readonly dir: string,
    private readonly reserve: number,
  ) {}

  /** Counts `bytes` about to be written when the cached figure allows it without a syscall. */
  admitNow(bytes: number): boolean {
    if (this.reserve === 0) return true;
    if (Date.now() - this.statAt >= STAT_TTL_MS || this.free - this.sinceStat - bytes < this.reserve) return false;
    this.sinceStat += bytes;
    return true;
  }

  /** Counts `bytes` about to be written; throws InsufficientStorage when they would eat into the reserve. */
  async admit(bytes: number): Promise<void> {
    if (this.admitNow(bytes)) return;
    // Stale, or short of space by our count: ask the file system before refusing.
    const st = await statfs(this.dir);
    this.free = st.bavail * st.bsize;
    this.statAt = Date.now();
    this.sinceStat = 0;
    if (this.free - bytes < this.reserve) throw storageFull();
    this.sinceStat += bytes;
  }

  /** Space was freed (or a failed write's bytes were dropped): the next admit asks the file system. */
  forget(): void {
    this.statAt = -Infinity;
  }
}
