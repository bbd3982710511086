import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run, runOk } from './run.js';

/** A small ext4 file system on a loop device, mounted on a fresh directory (needs root). */
export interface LoopFs {
  readonly mountPoint: string;
  /** Unmounts and removes the image; safe to call twice and after a failed mount. */
  dispose(): Promise<void>;
}

export async function mountLoopExt4(sizeMiB: number): Promise<LoopFs> {
  if (process.getuid?.() !== 0) throw new Error('a loop-mounted file system needs root (CI runs e2e as root)');
  const dir = mkdtempSync(path.join(tmpdir(), 'cellar-loopfs-'));
  const image = path.join(dir, 'fs.img');
  const mountPoint = path.join(dir, 'mnt');
  mkdirSync(mountPoint);
  let mounted = false;
  const dispose = async (): Promise<void> => {
    if (mounted) {
      // A lazy unmount as fallback: a straggling descriptor must not leave the mount behind.
      const r = await run('umount', [mountPoint]);
      if (r.code !== 0) await run('umount', ['-l', mountPoint]);
      mounted = false;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await runOk('truncate', ['-s', `${sizeMiB}M`, image]);
    // -m 0: no blocks reserved for root, so the server (root in CI) sees the same free space as statfs reports.
    await runOk('mkfs.ext4', ['-q', '-F', '-m', '0', image]);
    await runOk('mount', ['-o', 'loop', image, mountPoint]);
    mounted = true;
  } catch (e) {
    await dispose();
    throw e;
  }
  return { mountPoint, dispose };
}
