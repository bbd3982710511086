/**
 * e) ListObjectsV2, 1000 keys a page, with and without a delimiter, in a bucket of 10k keys and
 * one of 1M keys: p50 latency (sequential requests) and the 1M/10k ratio.
 *
 * Keys are `p<6 digits>/f<0-4>`: five objects under each "directory", so a page with
 * delimiter=/ rolls 5,000 keys up into 1000 CommonPrefixes in both buckets. Each request starts
 * at a random point (start-after) so that the whole index is exercised, not one hot page.
 *
 * The buckets are filled through the S3 API (0-byte PutObject, 64 in flight, the same signed
 * client) once; the data directory is kept in .bench/cache/ and reused by later runs.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startCellar, type CellarServer } from '../lib/cellar.js';
import type { BenchContext, Scenario } from '../lib/context.js';
import { fmt, type Row } from '../lib/report.js';
import { forEachConcurrent, type S3Client } from '../lib/s3.js';
import { median, percentile, prng } from '../lib/stats.js';

const PER_PREFIX = 5;
const FILL_CONCURRENCY = 64;
const BATCH = 10_000;
const P50_LIMIT_MS = 20;
const RATIO_LIMIT = 1.5;

interface Bucket {
  name: string;
  keys: number;
}

interface FillRecord {
  buckets: Bucket[];
  /** Per bucket, the batches of BATCH keys already written (a fill can resume). */
  batchesDone: Record<string, number>;
  fillSeconds: Record<string, number>;
  complete: boolean;
}

const keyOf = (i: number): string => `p${String(Math.floor(i / PER_PREFIX)).padStart(6, '0')}/f${i % PER_PREFIX}`;
const prefixOf = (p: number): string => `p${String(p).padStart(6, '0')}`;

async function fill(
  cellar: CellarServer,
  recordFile: string,
  rec: FillRecord,
  log: (s: string) => void,
): Promise<void> {
  const s3 = cellar.client(FILL_CONCURRENCY);
  const empty = Buffer.alloc(0);
  try {
    for (const b of rec.buckets) {
      if ((rec.batchesDone[b.name] ?? 0) === 0) await s3.ok('PUT', `/${b.name}`);
      const batches = Math.ceil(b.keys / BATCH);
      let t0 = performance.now();
      let last = t0;
      for (let batch = rec.batchesDone[b.name] ?? 0; batch < batches; batch++) {
        const from = batch * BATCH;
        const n = Math.min(BATCH, b.keys - from);
        await forEachConcurrent(n, FILL_CONCURRENCY, async (i) => {
          await s3.ok('PUT', `/${b.name}/${keyOf(from + i)}`, { body: empty });
        });
        const now = performance.now();
        rec.fillSeconds[b.name] = (rec.fillSeconds[b.name] ?? 0) + (now - t0) / 1000;
        t0 = now;
        rec.batchesDone[b.name] = batch + 1;
        writeFileSync(recordFile, JSON.stringify(rec, null, 2));
        if (now - last > 15_000 || batch + 1 === batches) {
          last = now;
          const done = Math.min(b.keys, (batch + 1) * BATCH);
          log(
            `e: fill ${b.name}: ${done.toLocaleString('en-US')}/${b.keys.toLocaleString('en-US')} keys, ${(done / rec.fillSeconds[b.name]!).toFixed(0)} PUT/s`,
          );
        }
      }
    }
  } finally {
    s3.close();
  }
}

/** One ListObjectsV2 page; returns its latency in ms after checking it is a full page. */
async function listOnce(s3: S3Client, bucket: Bucket, delimiter: boolean, rand: () => number): Promise<number> {
  const prefixes = Math.ceil(bucket.keys / PER_PREFIX);
  const query: Record<string, string> = { 'list-type': '2', 'max-keys': '1000' };
  if (delimiter) {
    query['delimiter'] = '/';
    query['start-after'] = prefixOf(Math.floor(rand() * (prefixes - 1000)));
  } else {
    query['start-after'] = keyOf(Math.floor(rand() * (bucket.keys - 1000)));
  }
  const t0 = performance.now();
  const r = await s3.ok('GET', `/${bucket.name}`, { query, keepBody: true });
  const ms = performance.now() - t0;
  const xml = r.body!.toString('utf8');
  const count = Number(/<KeyCount>(\d+)<\/KeyCount>/.exec(xml)?.[1] ?? NaN);
  if (count !== 1000) throw new Error(`${bucket.name}: page of ${count} entries, expected 1000`);
  return ms;
}

export const listing: Scenario = {
  id: 'e',
  title: 'ListObjectsV2 1000-key pages, 10k vs 1M keys, with/without delimiter',
  needs: [],
  async run(ctx: BenchContext): Promise<Row[]> {
    const small: Bucket = { name: 'list10k', keys: 10_000 };
    const large: Bucket = ctx.quick ? { name: 'list100k', keys: 100_000 } : { name: 'list1m', keys: 1_000_000 };
    const dataDir = ctx.cache(ctx.quick ? 'listing-quick' : 'listing');
    const recordFile = path.join(dataDir, 'bench-fill.json');
    let rec: FillRecord | null = existsSync(recordFile)
      ? (JSON.parse(readFileSync(recordFile, 'utf8')) as FillRecord)
      : null;
    if (rec === null || JSON.stringify(rec.buckets) !== JSON.stringify([small, large])) {
      // No record (or another layout): start from an empty data directory.
      rmSync(dataDir, { recursive: true, force: true });
      rec = { buckets: [small, large], batchesDone: {}, fillSeconds: {}, complete: false };
    }
    const cellar = await startCellar({
      repoRoot: ctx.repoRoot,
      nodeArgs: ctx.cellarNodeArgs,
      dataDir,
      cpus: ctx.cpus.server,
    });
    try {
      if (!rec.complete) {
        ctx.log(
          `e: filling ${small.keys.toLocaleString('en-US')} + ${large.keys.toLocaleString('en-US')} keys through the API (once; kept in ${dataDir})`,
        );
        await fill(cellar, recordFile, rec, ctx.log);
        rec.complete = true;
        writeFileSync(recordFile, JSON.stringify(rec, null, 2));
      }
      const s3 = cellar.client(1);
      const queries = ctx.quick ? 30 : 100;
      const rand = prng(42);
      try {
        for (const b of [small, large])
          for (const d of [false, true]) for (let i = 0; i < 10; i++) await listOnce(s3, b, d, rand);
        // Per round and variant: p50 of `queries` sequential requests; 10k and 1M alternate.
        const p50 = new Map<string, number[]>();
        for (let r = 0; r < ctx.rounds; r++) {
          for (const d of [false, true]) {
            for (const b of [small, large]) {
              const lat: number[] = [];
              for (let i = 0; i < queries; i++) lat.push(await listOnce(s3, b, d, rand));
              const k = `${b.name} ${d}`;
              p50.set(k, [...(p50.get(k) ?? []), percentile(lat, 50)]);
              ctx.log(
                `  round ${r + 1}/${ctx.rounds} ${b.name} delimiter=${d}: p50 ${percentile(lat, 50).toFixed(2)} ms, p99 ${percentile(lat, 99).toFixed(2)} ms`,
              );
            }
          }
        }
        const label = large.keys >= 1_000_000 ? '1M' : `${large.keys / 1000}k`;
        const fillNote = `fill ${label}: ${fmt(rec.fillSeconds[large.name] ?? NaN)} s through the API`;
        ctx.log(`e: ${fillNote}; fill 10k: ${fmt(rec.fillSeconds[small.name] ?? NaN, 1)} s`);
        return [false, true].map((d): Row => {
          const l = median(p50.get(`${large.name} ${d}`)!);
          const s = median(p50.get(`${small.name} ${d}`)!);
          const ratio = l / s;
          return {
            scenario: `e) ListObjectsV2 1000/page ${d ? 'delimiter=/' : 'no delimiter'}, p50 ${label} vs 10k keys`,
            cellar: `${l.toFixed(2)} ms (${label})`,
            reference: `${s.toFixed(2)} ms (10k)`,
            ratio,
            target: `p50 <= ${P50_LIMIT_MS} ms, <= ${RATIO_LIMIT}x`,
            met: l <= P50_LIMIT_MS && s <= P50_LIMIT_MS && ratio <= RATIO_LIMIT,
          };
        });
      } finally {
        s3.close();
      }
    } finally {
      await cellar.stop();
    }
  },
};
