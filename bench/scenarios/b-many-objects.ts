/**
 * b) 10,000 distinct 4-64 KiB objects, uniformly random GETs through the website gateway, with a
 * website cache (16 MiB) far smaller than the working set (~340 MiB), against nginx over the
 * same files on disk. Both read from the page cache; Cellar has to go through its metadata and
 * blob store for almost every request.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startCellar } from '../lib/cellar.js';
import { interleave, type BenchContext, type Scenario } from '../lib/context.js';
import { startNginx } from '../lib/refservers.js';
import { ratioRow, type Row } from '../lib/report.js';
import { forEachConcurrent } from '../lib/s3.js';
import { median, prng } from '../lib/stats.js';
import { randomPathScript, wrkSample } from '../lib/wrk.js';
import { expectServes } from './site.js';

const BUCKET = 'many';
const CACHE_BYTES = 16 * 1024 * 1024;

const keyOf = (i: number): string => `o/${String(i).padStart(5, '0')}.bin`;

export const manyObjects: Scenario = {
  id: 'b',
  title: '10,000 objects of 4-64 KiB, random GETs, working set > cache',
  needs: [
    { cmd: 'wrk', pkg: 'wrk' },
    { cmd: 'nginx', pkg: 'nginx-light' },
  ],
  async run(ctx: BenchContext): Promise<Row[]> {
    const n = ctx.quick ? 2000 : 10_000;
    const dir = ctx.scratch('b');
    const root = path.join(dir, 'www');
    mkdirSync(path.join(root, 'o'), { recursive: true });
    const cellar = await startCellar({
      repoRoot: ctx.repoRoot,
      nodeArgs: ctx.cellarNodeArgs,
      dataDir: path.join(dir, 'cellar'),
      cpus: ctx.cpus.server,
      env: { CELLAR_CACHE_MAX_BYTES: String(CACHE_BYTES) },
    });
    const s3 = cellar.client(16);
    try {
      await s3.ok('PUT', `/${BUCKET}`, { headers: { 'x-amz-acl': 'public-read' } });
      const rand = prng(7);
      const sizes = Array.from({ length: n }, () => 4096 + Math.floor(rand() * 60 * 1024));
      const total = sizes.reduce((a, b) => a + b, 0);
      const t0 = Date.now();
      await forEachConcurrent(n, 16, async (i) => {
        const body = randomBytes(sizes[i]!);
        writeFileSync(path.join(root, keyOf(i)), body);
        await s3.ok('PUT', `/${BUCKET}/${keyOf(i)}`, {
          body,
          headers: { 'x-amz-acl': 'public-read', 'content-type': 'application/octet-stream' },
        });
      });
      ctx.log(
        `b: ${n} objects, ${(total / 1024 ** 2).toFixed(0)} MiB, uploaded in ${((Date.now() - t0) / 1000).toFixed(1)} s (website cache ${CACHE_BYTES / 1024 ** 2} MiB)`,
      );
      const nginx = await startNginx({ dir: path.join(dir, 'nginx'), root, cpus: ctx.cpus.server });
      const host = `${BUCKET}.localhost:${cellar.port}`;
      await expectServes('cellar', `http://127.0.0.1:${cellar.port}/${keyOf(1)}`, sizes[1]!, host);
      await expectServes('nginx', `http://127.0.0.1:${nginx.port}/${keyOf(1)}`, sizes[1]!);
      const script = path.join(dir, 'random.lua');
      writeFileSync(script, randomPathScript('/o/', n, 5, '.bin'));
      const seconds = ctx.quick ? 3 : 10;
      const sides = [
        { name: 'cellar', url: `http://127.0.0.1:${cellar.port}/`, host, pid: cellar.daemon.pid },
        { name: 'nginx', url: `http://127.0.0.1:${nginx.port}/`, host: undefined, pid: nginx.daemon.pid },
      ];
      const sample = async (side: (typeof sides)[number], s = seconds): Promise<number> =>
        (
          await wrkSample(
            side.name,
            {
              url: side.url,
              host: side.host,
              script,
              connections: 32,
              seconds: s,
              cpus: ctx.cpus.client,
              serverPids: [side.pid],
            },
            ctx.log,
          )
        ).requestsPerSec;
      for (const side of sides) await sample(side, 2);
      const [c, g] = await interleave(
        ctx.rounds,
        sides.map((side) => ({ name: side.name, measure: () => sample(side) })),
        ctx.log,
      );
      return [
        ratioRow(
          `b) ${n.toLocaleString('en-US')} objects 4-64 KiB, random GET, req/s`,
          median(c!),
          median(g!),
          'req/s',
          0,
          0.3,
          'nginx',
        ),
      ];
    } finally {
      s3.close();
    }
  },
};
