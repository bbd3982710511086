import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { S3Client } from '@aws-sdk/client-s3';
import { auditBlobs } from '../../e2e/helpers/blob-audit.js';
import type { Addon } from '#storage';
import { loadConfig, type Config } from '../../src/config/index.js';
import { startCellar, type RunningCellar } from '../../src/main.js';
import { createLogger } from '../../src/shared/logger.js';

export interface TestCellar {
  cellar: RunningCellar;
  /** http://127.0.0.1:<port> */
  endpoint: string;
  port: number;
  dataDir: string;
  /** The add-on created on first start. */
  owner: Addon;
  newAddon(name?: string): Addon;
  client(addon?: Addon, opts?: { forcePathStyle?: boolean }): S3Client;
  /**
   * Stops the server, checks the blob accounting of its data directory (every blob file named by
   * exactly one object, version or part, none missing, none leaked; see e2e/helpers/blob-audit.ts)
   * and removes the directory.
   */
  stop(): Promise<void>;
}

/** A real server on an ephemeral port over a fresh data directory, in this process. */
export async function startTestCellar(overrides: Partial<Config> = {}): Promise<TestCellar> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'cellar-test-'));
  const config = loadConfig(
    {},
    {
      dataDir,
      httpPort: 0,
      host: '127.0.0.1',
      domain: 'localhost',
      logLevel: 'silent',
      adminPort: 0,
      accessLog: 'off',
      ...overrides,
    },
  );
  const cellar = await startCellar(config, createLogger('silent'));
  const owner = cellar.firstAddon!.addon;
  const endpoint = `http://127.0.0.1:${cellar.port}`;
  const clients: S3Client[] = [];
  return {
    cellar,
    endpoint,
    port: cellar.port,
    dataDir,
    owner,
    newAddon: (name) => cellar.storage.createAddon({ name }),
    client(addon = owner, opts = {}) {
      const c = new S3Client({
        endpoint,
        region: config.region,
        forcePathStyle: opts.forcePathStyle ?? true,
        credentials: { accessKeyId: addon.accessKeyId, secretAccessKey: addon.secretAccessKey },
      });
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.destroy();
      await cellar.close();
      try {
        assert.deepEqual(auditBlobs(dataDir).problems, [], `blob accounting of ${dataDir}`);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}
