/**
 * c) S3 PutObject and GetObject of 4 KiB objects, SigV4, at concurrency 1, 8 and 32, against
 * Ceph RGW (bluestore) started by scripts/ceph/up.sh, with the same Node client. Both
 * acknowledge a PUT only once it is durable (Cellar: fsync before 200; RGW: bluestore's WAL).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { startCellar } from '../lib/cellar.js';
import { cephToolsDir, startRgw } from '../lib/ceph.js';
import type { BenchContext, Scenario } from '../lib/context.js';
import { ratioRow, type Row } from '../lib/report.js';
import { closedLoop, S3Client } from '../lib/s3.js';
import { median } from '../lib/stats.js';

const BUCKET = 'bench-small';
const CONCURRENCY = [1, 8, 32];
/** A fixed port block for RGW, below the range scripts/ceph/up.sh picks free ports from (20000-50000). */
export const RGW_BASE_PORT = 17500;

interface Side {
  name: string;
  client: S3Client;
  /** Keys written per concurrency in the current round, read back by the GET runs. */
  written: Map<number, number>;
}

export const smallS3: Scenario = {
  id: 'c',
  title: '4 KiB PutObject/GetObject, SigV4, concurrency 1/8/32, vs Ceph RGW',
  needs: [],
  async run(ctx: BenchContext): Promise<Row[]> {
    cephToolsDir(ctx.repoRoot);
    const dir = ctx.scratch('c');
    const seconds = ctx.quick ? 2 : 5;
    const cellar = await startCellar({
      repoRoot: ctx.repoRoot,
      nodeArgs: ctx.cellarNodeArgs,
      dataDir: path.join(dir, 'cellar'),
      cpus: ctx.cpus.server,
    });
    const rgw = await startRgw({
      repoRoot: ctx.repoRoot,
      cephDir: ctx.cache('ceph'),
      cpus: ctx.cpus.server,
      basePort: RGW_BASE_PORT,
      log: ctx.log,
    });
    const sides: Side[] = [
      { name: 'cellar', client: cellar.client(64), written: new Map() },
      { name: 'rgw', client: new S3Client(rgw.target, 64), written: new Map() },
    ];
    const body = randomBytes(4096);
    try {
      for (const s of sides) await s.client.ok('PUT', `/${BUCKET}`);
      const put =
        (s: Side, conc: number) =>
        async (round: number): Promise<number> => {
          const r = await closedLoop(conc, seconds, async (i) => {
            await s.client.ok('PUT', `/${BUCKET}/c${conc}/r${round}/o${i}`, {
              body,
              headers: { 'content-type': 'application/octet-stream' },
            });
          });
          s.written.set(conc, r.ops);
          return r.opsPerSec;
        };
      const get =
        (s: Side, conc: number) =>
        async (round: number): Promise<number> => {
          const n = s.written.get(conc) ?? 0;
          if (n === 0) throw new Error(`${s.name}: nothing written to read back`);
          const r = await closedLoop(conc, seconds, async (i) => {
            const res = await s.client.ok('GET', `/${BUCKET}/c${conc}/r${round}/o${(i * 7919) % n}`);
            if (res.bytes !== body.length) throw new Error(`${s.name}: short GET (${res.bytes} bytes)`);
          });
          return r.opsPerSec;
        };
      // Warm-up: connections, JIT, RGW's bucket index.
      for (const s of sides) {
        await put(s, 8)(-1);
        await get(s, 8)(-1);
      }
      // Interleaved at the finest grain: every (round, concurrency, operation) cell runs Cellar then RGW.
      const samples = new Map<string, number[][]>();
      for (let round = 0; round < ctx.rounds; round++) {
        for (const conc of CONCURRENCY) {
          for (const [op, f] of [
            ['PUT', put],
            ['GET', get],
          ] as const) {
            const key = `${op} ${conc}`;
            const acc = samples.get(key) ?? sides.map(() => []);
            samples.set(key, acc);
            for (let i = 0; i < sides.length; i++) {
              const v = await f(sides[i]!, conc)(round);
              acc[i]!.push(v);
              ctx.log(`  round ${round + 1}/${ctx.rounds} ${sides[i]!.name} ${op} c=${conc}: ${v.toFixed(0)} ops/s`);
            }
          }
        }
      }
      const rows: Row[] = [];
      for (const op of ['PUT', 'GET']) {
        for (const conc of CONCURRENCY) {
          const [a, b] = samples.get(`${op} ${conc}`)!;
          rows.push(
            ratioRow(
              `c) 4 KiB ${op === 'PUT' ? 'PutObject' : 'GetObject'}, concurrency ${conc}, ops/s`,
              median(a!),
              median(b!),
              'ops/s',
              0,
              2,
              'RGW',
            ),
          );
        }
      }
      return rows;
    } finally {
      for (const s of sides) s.client.close();
      await rgw.stop();
      await cellar.stop();
    }
  },
};
