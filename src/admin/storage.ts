import { Storage } from '#storage';
import type { Config } from '../config/index.js';

/**
 * Opens the data directory for one admin command run beside (or without) the server, and closes
 * it afterwards. No start-up garbage collection: that is the server's job, and a CLI call must not
 * pay for it.
 */
export async function withStorage<T>(
  config: Pick<Config, 'dataDir' | 'maxObjectSize' | 'gcGraceSeconds'>,
  fn: (s: Storage) => T | Promise<T>,
): Promise<T> {
  const storage = await Storage.open({
    dataDir: config.dataDir,
    maxObjectSize: config.maxObjectSize,
    gcGraceMs: config.gcGraceSeconds * 1000,
    collectOnOpen: false,
  });
  try {
    return await fn(storage);
  } finally {
    storage.close();
  }
}
