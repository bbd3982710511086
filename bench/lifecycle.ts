/**
 * `npm run bench:lifecycle [-- --objects N]`: the lifecycle worker on a bucket of a million
 * objects. Seeds N (default 1,000,000) expired object rows under `logs/` straight into meta.db
 * with one INSERT ... SELECT (metadata rows only, no blob files: the figure is the worker's
 * metadata throughput; unlinking files costs the same per object as a DeleteObject), then
 * measures signed GETs of one real object from 8 concurrent clients without the worker, and
 * again while one pass expires every seeded row. Prints objects/s and GET p50/p99.
 *
 * The server runs in this process (as in the integration tests), so the GET latencies include
 * every stall the worker causes on the event loop: the figure this bench exists to bound.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { loadConfig } from '../src/config/index.js';
import { startCellar } from '../src/main.js';
import { createLogger } from '../src/shared/logger.js';
import { S3Client } from './lib/s3.js';
import { percentile } from './lib/stats.js';

const BUCKET = 'lifecycle-bench';
const CONCURRENCY = 8;
const BASELINE_SECONDS = 10;

const RULES =
  '<LifecycleConfiguration><Rule><ID>logs</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status>' +
  '<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>';

function log(msg: string): void {
  process.stderr.write(`[lifecycle ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** GETs from `conc` clients until `until()` says stop; latencies in milliseconds. */
async function getLoad(s3: S3Client, until: () => boolean): Promise<number[]> {
  const lat: number[] = [];
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (!until()) {
        const t0 = performance.now();
        const r = await s3.request('GET', `/${BUCKET}/keep/hot.txt`);
        if (r.status !== 200) throw new Error(`GET answered ${r.status}`);
        lat.push(performance.now() - t0);
      }
    }),
  );
  return lat;
}

const ms = (x: number): string => `${x.toFixed(2)} ms`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { objects: { type: 'string', default: '1000000' } } });
  const n = Number(values.objects);
  if (!Number.isInteger(n) || n < 1) throw new Error('--objects must be a positive integer');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'cellar-bench-lifecycle-'));
  const config = loadConfig(
    {},
    {
      dataDir,
      httpPort: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      adminPort: null,
      accessLog: 'off',
      // Passes are started by this script, never by the timer.
      lifecycleIntervalSeconds: 1_000_000,
    },
  );
  const cellar = await startCellar(config, createLogger('silent'));
  try {
    const owner = cellar.firstAddon!.addon;
    const s3 = new S3Client({
      endpoint: `http://127.0.0.1:${cellar.port}`,
      accessKeyId: owner.accessKeyId,
      secretAccessKey: owner.secretAccessKey,
      region: config.region,
    });
    await s3.ok('PUT', `/${BUCKET}`);
    await s3.ok('PUT', `/${BUCKET}/keep/hot.txt`, { body: Buffer.alloc(1024, 1) });
    await s3.ok('PUT', `/${BUCKET}`, {
      query: { lifecycle: '' },
      body: Buffer.from(RULES),
      headers: { 'content-md5': createHash('md5').update(RULES).digest('base64') },
    });

    log(`seeding ${n} expired object rows`);
    const t0 = performance.now();
    const db = new Database(path.join(dataDir, 'meta.db'));
    db.pragma('journal_mode = WAL');
    db.prepare(
      `WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < ?)
       INSERT INTO objects (bucket, key, size, etag, last_modified, owner_id, headers, acl, checksum, blobs, tags)
       SELECT ?, printf('logs/%08d', i), 1, 'd41d8cd98f00b204e9800998ecf8427e', ?, ?, '{}', NULL, NULL, '[]', NULL FROM seq`,
    ).run(n, BUCKET, Date.now() - 10 * 86_400_000, owner.id);
    db.close();
    log(`seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    log(`GET load without the worker (${BASELINE_SECONDS} s, ${CONCURRENCY} clients)`);
    const end = performance.now() + BASELINE_SECONDS * 1000;
    const idle = await getLoad(s3, () => performance.now() > end);

    log('GET load while one lifecycle pass expires every seeded row');
    let running = true;
    const t1 = performance.now();
    const pass = cellar.storage.applyLifecycle().finally(() => {
      running = false;
    });
    const [busy, result] = await Promise.all([getLoad(s3, () => !running), pass]);
    const seconds = (performance.now() - t1) / 1000;
    if (result.expired !== n) throw new Error(`expected ${n} expired, got ${result.expired}`);
    s3.close();

    const rows = [
      ['objects expired', String(result.expired)],
      ['pass duration', `${seconds.toFixed(1)} s`],
      ['worker throughput', `${Math.round(result.expired / seconds)} objects/s`],
      ['GET p50 / p99, worker idle', `${ms(percentile(idle, 50))} / ${ms(percentile(idle, 99))} (${idle.length} GETs)`],
      [
        'GET p50 / p99, worker running',
        `${ms(percentile(busy, 50))} / ${ms(percentile(busy, 99))} (${busy.length} GETs)`,
      ],
      ['GET max, worker running', ms(Math.max(...busy))],
    ];
    const w = Math.max(...rows.map((r) => r[0]!.length));
    for (const [k, v] of rows) process.stdout.write(`${k!.padEnd(w)}  ${v}\n`);
  } finally {
    await cellar.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
