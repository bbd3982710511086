/**
 * g) Upstream mode: the same RGW reached through one Cellar gateway and directly, same client,
 * same RGW user (an add-on made by `cellar addon create`), interleaved. The ratio is the
 * gateway's proxy overhead (target >= 0.9, i.e. under 10%):
 *  - a cached 4 KiB page on the website side (wrk -t1 -c32) vs RGW's own anonymous GET of the
 *    same public-read object (path style, RGW answers it from its own caches and the OSD);
 *  - S3 4 KiB PutObject/GetObject at concurrency 32;
 *  - 1 GiB PutObject/GetObject, one request each.
 * The gateway and the Ceph daemons share the server core, so the gateway's CPU is charged
 * against RGW's: on this machine the overhead is what the gateway costs in CPU.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { cephToolsDir, startRgw } from '../lib/ceph.js';
import type { BenchContext, Scenario } from '../lib/context.js';
import { startUpstreamGateway, targetOn } from '../lib/gateway.js';
import { cpuSeconds, memoryOf } from '../lib/proc.js';
import { fmt, ratioRow, type Row } from '../lib/report.js';
import { closedLoop, plainGet, repeatStream, S3Client } from '../lib/s3.js';
import { median, sleep } from '../lib/stats.js';
import { wrkSample } from '../lib/wrk.js';
import { htmlPage, PAGE_PATH, SITE_BUCKET } from './site.js';

const MiB = 1024 * 1024;
const SMALL_BUCKET = 'bench-small';
const BIG_BUCKET = 'big';
const CONCURRENCY = 32;
const TARGET = 0.9;

/** One sample: the rate, and how many ops (requests, or GiB) it covered. */
interface Measured {
  v: number;
  ops: number;
}

interface Side {
  name: string;
  client: S3Client;
  written: number;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

export const upstream: Scenario = {
  id: 'g',
  title: 'upstream mode: gateway in front of RGW vs RGW directly (page, 4 KiB c=32, 1 GiB)',
  needs: [{ cmd: 'wrk', pkg: 'wrk' }],
  async run(ctx: BenchContext): Promise<Row[]> {
    cephToolsDir(ctx.repoRoot);
    const dir = ctx.scratch('g');
    const seconds = ctx.quick ? 3 : 8;
    const size = ctx.quick ? 128 * MiB : 1024 * MiB;
    const mib = size / MiB;
    const rgw = await startRgw({
      repoRoot: ctx.repoRoot,
      cephDir: ctx.cache('ceph-upstream'),
      cpus: ctx.cpus.server,
      log: ctx.log,
    });
    const gw = await startUpstreamGateway({
      repoRoot: ctx.repoRoot,
      dataDir: path.join(dir, 'gateway'),
      rgw,
      cpus: ctx.cpus.server,
      nodeArgs: ctx.cellarNodeArgs,
    });
    const keys = await gw.createAddon();
    const sides: Side[] = [
      { name: 'gateway', client: new S3Client(targetOn(gw.endpoint, keys), 64), written: 0 },
      { name: 'rgw', client: new S3Client(targetOn(rgw.target.endpoint, keys), 64), written: 0 },
    ];
    const [viaGw, direct] = sides as [Side, Side];
    const agent = new http.Agent({ keepAlive: true });
    try {
      // The site: a public-read bucket and page, written through the gateway.
      const page = htmlPage();
      await viaGw.client.ok('PUT', `/${SITE_BUCKET}`, { headers: { 'x-amz-acl': 'public-read' } });
      await viaGw.client.ok('PUT', `/${SITE_BUCKET}${PAGE_PATH}`, {
        body: page,
        headers: { 'x-amz-acl': 'public-read', 'content-type': 'text/html; charset=utf-8' },
      });
      await viaGw.client.ok('PUT', `/${SMALL_BUCKET}`);
      await viaGw.client.ok('PUT', `/${BIG_BUCKET}`);
      const pages = [
        { name: 'gateway', url: `${gw.endpoint}${PAGE_PATH}`, host: `${SITE_BUCKET}.localhost:${gw.port}` },
        { name: 'rgw', url: `${rgw.target.endpoint}/${SITE_BUCKET}${PAGE_PATH}`, host: undefined },
      ];
      for (const p of pages) {
        const r = await plainGet(p.url, agent, p.host === undefined ? {} : { host: p.host });
        if (r.status !== 200 || r.bytes !== page.length)
          throw new Error(`${p.name}: GET ${p.url} gave ${r.status} with ${r.bytes} bytes`);
      }
      const wrkPage = async (p: (typeof pages)[number], s = seconds): Promise<Measured> => {
        const r = await wrkSample(
          p.name,
          {
            url: p.url,
            host: p.host,
            connections: CONCURRENCY,
            seconds: s,
            cpus: ctx.cpus.client,
            serverPids: p.name === 'gateway' ? [gw.daemon.pid, ...rgw.pids] : rgw.pids,
          },
          ctx.log,
        );
        return { v: r.requestsPerSec, ops: r.requests };
      };
      const body = randomBytes(4096);
      const put = async (s: Side, round: number): Promise<Measured> => {
        const r = await closedLoop(CONCURRENCY, seconds, async (i) => {
          await s.client.ok('PUT', `/${SMALL_BUCKET}/${s.name}/r${round}/o${i}`, {
            body,
            headers: { 'content-type': 'application/octet-stream' },
          });
        });
        s.written = r.ops;
        return { v: r.opsPerSec, ops: r.ops };
      };
      // Both sides read the objects the gateway side wrote (the same RGW objects).
      const get = async (s: Side, round: number): Promise<Measured> => {
        const n = viaGw.written;
        const r = await closedLoop(CONCURRENCY, seconds, async (i) => {
          const res = await s.client.ok('GET', `/${SMALL_BUCKET}/gateway/r${round}/o${(i * 7919) % n}`);
          if (res.bytes !== body.length) throw new Error(`${s.name}: short GET (${res.bytes} bytes)`);
        });
        return { v: r.opsPerSec, ops: r.ops };
      };
      const block = randomBytes(MiB);
      // One "op" is one GiB, so CPU per op reads as CPU seconds per GiB.
      const bigPut = async (s: Side): Promise<Measured> => ({
        v:
          mib /
          (await timed(() =>
            s.client.ok('PUT', `/${BIG_BUCKET}/${s.name}`, {
              body: repeatStream(block, size),
              headers: { 'content-length': String(size) },
            }),
          )),
        ops: mib / 1024,
      });
      const bigGet = async (s: Side): Promise<Measured> => {
        let bytes = 0;
        const secs = await timed(async () => {
          bytes = (await s.client.ok('GET', `/${BIG_BUCKET}/${s.name}`)).bytes;
        });
        if (bytes !== size) throw new Error(`${s.name}: GET returned ${bytes} bytes, expected ${size}`);
        return { v: mib / secs, ops: mib / 1024 };
      };

      // Warm-up: connections, JIT, RGW's bucket index, the gateway's secret and page caches.
      for (const p of pages) await wrkPage(p, 2);
      await put(viaGw, -1);
      await put(direct, -1);
      for (const s of sides) await get(s, -1);

      const cells = ['page', 'PUT', 'GET', 'bigPUT', 'bigGET'] as const;
      const samples = new Map<string, [number[], number[]]>(cells.map((c) => [c, [[], []]]));
      // CPU seconds and ops per cell and side: [gateway CPU, RGW CPU, ops].
      const cpu = new Map<string, [number, number, number][]>(
        cells.map((c) => [
          c,
          [
            [0, 0, 0],
            [0, 0, 0],
          ],
        ]),
      );
      const rgwCpu = (): number => rgw.pids.reduce((a, p) => a + cpuSeconds(p), 0);
      // What the daemons burn with no request at all (mon and OSD ticks, RGW's background
      // threads, the gateway's timers): taken off each cell, or the slower side would be
      // charged more of it per op.
      const idle = { gw: cpuSeconds(gw.daemon.pid), rgw: rgwCpu(), t: performance.now() };
      await sleep(5000);
      const idleSecs = (performance.now() - idle.t) / 1000;
      const idleRate = {
        gw: (cpuSeconds(gw.daemon.pid) - idle.gw) / idleSecs,
        rgw: (rgwCpu() - idle.rgw) / idleSecs,
      };
      ctx.log(`  idle CPU: gateway ${idleRate.gw.toFixed(3)} cores, Ceph daemons ${idleRate.rgw.toFixed(3)} cores`);
      const note = async (cell: string, i: number, f: () => Promise<Measured>, round: number, unit: string) => {
        const g0 = cpuSeconds(gw.daemon.pid);
        const r0 = rgwCpu();
        const t0 = performance.now();
        const m = await f();
        const secs = (performance.now() - t0) / 1000;
        const acc = cpu.get(cell)![i]!;
        acc[0] += Math.max(0, cpuSeconds(gw.daemon.pid) - g0 - idleRate.gw * secs);
        acc[1] += Math.max(0, rgwCpu() - r0 - idleRate.rgw * secs);
        acc[2] += m.ops;
        samples.get(cell)![i]!.push(m.v);
        ctx.log(`  round ${round + 1}/${ctx.rounds} ${sides[i]!.name} ${cell}: ${m.v.toFixed(0)} ${unit}`);
      };
      // Interleaved at the finest grain: each cell runs gateway then RGW, round after round.
      for (let round = 0; round < ctx.rounds; round++) {
        for (let i = 0; i < 2; i++) await note('page', i, () => wrkPage(pages[i]!), round, 'req/s');
        for (let i = 0; i < 2; i++) await note('PUT', i, () => put(sides[i]!, round), round, 'ops/s');
        for (let i = 0; i < 2; i++) await note('GET', i, () => get(sides[i]!, round), round, 'ops/s');
        for (let i = 0; i < 2; i++) await note('bigPUT', i, () => bigPut(sides[i]!), round, 'MiB/s');
        for (let i = 0; i < 2; i++) await note('bigGET', i, () => bigGet(sides[i]!), round, 'MiB/s');
      }
      const hwm = memoryOf(gw.daemon.pid).hwm;
      const m = (cell: string): [number, number] => {
        const [a, b] = samples.get(cell)!;
        return [median(a), median(b)];
      };
      const label = mib >= 1024 ? `${mib / 1024} GiB` : `${mib} MiB`;
      const row = (title: string, cell: string, unit: string, ref: string): Row =>
        ratioRow(`g) ${title}, ${unit}`, ...m(cell), unit, 0, TARGET, ref);
      /**
       * Where the server core went, idle use taken off: gateway + Ceph daemons per op through
       * the gateway, Ceph daemons per op direct. When both sides are CPU-bound on the one
       * server core, the throughput ratio tends to direct / (gateway + RGW via gateway).
       */
      const cpuRow = (title: string, cell: string, scale: number, unit: string): Row => {
        const [[gg, gr, gn], [, dr, dn]] = cpu.get(cell)! as [[number, number, number], [number, number, number]];
        const per = (x: number, n: number): string => fmt((x / n) * scale, scale === 1 ? 1 : 0);
        return {
          scenario: `g) server CPU per ${title}`,
          cellar: `gateway ${per(gg, gn)} + RGW ${per(gr, gn)} ${unit}`,
          reference: `RGW ${per(dr, dn)} ${unit} (direct)`,
          ratio: null,
          target: '',
          met: null,
        };
      };
      return [
        row('4 KiB cached page via gateway vs anonymous GET on RGW', 'page', 'req/s', 'RGW anonymous GET'),
        row(`4 KiB PutObject c=${CONCURRENCY} via gateway`, 'PUT', 'ops/s', 'RGW direct'),
        row(`4 KiB GetObject c=${CONCURRENCY} via gateway`, 'GET', 'ops/s', 'RGW direct'),
        row(`${label} PutObject via gateway`, 'bigPUT', 'MiB/s', 'RGW direct'),
        row(`${label} GetObject via gateway`, 'bigGET', 'MiB/s', 'RGW direct'),
        cpuRow('page', 'page', 1e6, 'µs'),
        cpuRow('4 KiB PUT', 'PUT', 1e6, 'µs'),
        cpuRow('4 KiB GET', 'GET', 1e6, 'µs'),
        cpuRow('GiB PUT', 'bigPUT', 1, 's'),
        cpuRow('GiB GET', 'bigGET', 1, 's'),
        {
          scenario: 'g) gateway peak RSS (VmHWM) over all of g',
          cellar: `${fmt(hwm / MiB)} MiB`,
          reference: '',
          ratio: null,
          target: '<= 200 MiB',
          met: hwm <= 200 * MiB,
        },
      ];
    } finally {
      agent.destroy();
      for (const s of sides) s.client.close();
      await gw.stop();
      await rgw.stop();
    }
  },
};
