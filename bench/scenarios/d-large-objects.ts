/**
 * d) 1 GiB PutObject and GetObject, as one request and as a multipart upload, against the
 * disk itself (`dd if=/dev/zero bs=1M count=1024 conv=fsync` into the same directory) for PUT
 * and nginx serving that dd file for GET. The server's peak RSS (VmHWM) is reported too.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { startCellar } from '../lib/cellar.js';
import type { BenchContext, Scenario } from '../lib/context.js';
import { memoryOf, runOk } from '../lib/proc.js';
import { startNginx } from '../lib/refservers.js';
import { fmt, ratioRow, type Row } from '../lib/report.js';
import { forEachConcurrent, plainGet, repeatStream, type S3Client } from '../lib/s3.js';
import { median } from '../lib/stats.js';

const BUCKET = 'big';
const MiB = 1024 * 1024;
const PART = 16 * MiB;
const PART_CONCURRENCY = 4;
const RSS_LIMIT = 200 * MiB;

async function putSingle(s3: S3Client, key: string, block: Buffer, size: number): Promise<void> {
  await s3.ok('PUT', `/${BUCKET}/${key}`, {
    body: repeatStream(block, size),
    headers: { 'content-length': String(size) },
  });
}

/** CreateMultipartUpload, parts of 16 MiB (4 in flight, as SDKs do), CompleteMultipartUpload. */
async function putMultipart(s3: S3Client, key: string, block: Buffer, size: number): Promise<void> {
  const created = await s3.ok('POST', `/${BUCKET}/${key}`, { query: { uploads: '' }, keepBody: true });
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.body!.toString('utf8'))?.[1];
  if (uploadId === undefined) throw new Error('CreateMultipartUpload returned no UploadId');
  const parts = Math.ceil(size / PART);
  const etags: string[] = [];
  await forEachConcurrent(parts, PART_CONCURRENCY, async (i) => {
    const len = Math.min(PART, size - i * PART);
    const r = await s3.ok('PUT', `/${BUCKET}/${key}`, {
      query: { partNumber: String(i + 1), uploadId },
      body: repeatStream(block, len),
      headers: { 'content-length': String(len) },
    });
    etags[i] = String(r.headers.etag);
  });
  const xml = `<CompleteMultipartUpload>${etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
  const done = await s3.ok('POST', `/${BUCKET}/${key}`, {
    query: { uploadId },
    body: Buffer.from(xml),
    keepBody: true,
  });
  // CompleteMultipartUpload can fail inside a 200 (AWS: "a 200 OK response can contain an error").
  if (!done.body!.toString('utf8').includes('CompleteMultipartUploadResult'))
    throw new Error(`CompleteMultipartUpload failed: ${done.body!.toString('utf8').slice(0, 300)}`);
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

export const largeObjects: Scenario = {
  id: 'd',
  title: '1 GiB PutObject/GetObject, single request and multipart',
  needs: [
    { cmd: 'nginx', pkg: 'nginx-light' },
    { cmd: 'dd', pkg: 'coreutils' },
  ],
  async run(ctx: BenchContext): Promise<Row[]> {
    const size = ctx.quick ? 128 * MiB : 1024 * MiB;
    const mib = size / MiB;
    const dir = ctx.scratch('d');
    const www = path.join(dir, 'www');
    const ddFile = path.join(www, 'big.bin');
    await runOk('mkdir', ['-p', www]);
    const cellar = await startCellar({
      repoRoot: ctx.repoRoot,
      nodeArgs: ctx.cellarNodeArgs,
      dataDir: path.join(dir, 'cellar'),
      cpus: ctx.cpus.server,
    });
    const nginx = await startNginx({ dir: path.join(dir, 'nginx'), root: www, cpus: ctx.cpus.server });
    const s3 = cellar.client(PART_CONCURRENCY);
    const agent = new http.Agent({ keepAlive: true });
    const block = randomBytes(MiB);
    const dd = () =>
      runOk('dd', ['if=/dev/zero', `of=${ddFile}`, 'bs=1M', `count=${mib}`, 'conv=fsync'], { cpus: ctx.cpus.server });
    const get = async (fn: () => Promise<number>): Promise<number> => {
      let bytes = 0;
      const secs = await timed(async () => {
        bytes = await fn();
      });
      if (bytes !== size) throw new Error(`GET returned ${bytes} bytes, expected ${size}`);
      return mib / secs;
    };
    const cellarGet = (key: string) => get(async () => (await s3.ok('GET', `/${BUCKET}/${key}`)).bytes);
    const nginxGet = () =>
      get(async () => {
        const r = await plainGet(`http://127.0.0.1:${nginx.port}/big.bin`, agent);
        if (r.status !== 200) throw new Error(`nginx GET -> ${r.status}`);
        return r.bytes;
      });
    try {
      await s3.ok('PUT', `/${BUCKET}`);
      const s = {
        putSingle: [] as number[],
        putMulti: [] as number[],
        dd: [] as number[],
        getSingle: [] as number[],
        getMulti: [] as number[],
        nginx: [] as number[],
      };
      const note = (k: keyof typeof s, v: number, round: number): void => {
        s[k].push(v);
        ctx.log(`  round ${round + 1}/${ctx.rounds} ${k}: ${v.toFixed(0)} MiB/s`);
      };
      for (let r = 0; r < ctx.rounds; r++) {
        note('putSingle', mib / (await timed(() => putSingle(s3, 'single', block, size))), r);
        note('dd', mib / (await timed(dd)), r);
        note('putMulti', mib / (await timed(() => putMultipart(s3, 'multi', block, size))), r);
        note('dd', mib / (await timed(dd)), r);
        note('getSingle', await cellarGet('single'), r);
        note('nginx', await nginxGet(), r);
        note('getMulti', await cellarGet('multi'), r);
        note('nginx', await nginxGet(), r);
        await s3.ok('DELETE', `/${BUCKET}/single`);
        await s3.ok('DELETE', `/${BUCKET}/multi`);
      }
      const hwm = memoryOf(cellar.daemon.pid).hwm;
      const label = `${mib >= 1024 ? `${mib / 1024} GiB` : `${mib} MiB`}`;
      const ddMed = median(s.dd);
      const ngMed = median(s.nginx);
      return [
        ratioRow(
          `d) ${label} PutObject, single request, MiB/s`,
          median(s.putSingle),
          ddMed,
          'MiB/s',
          0,
          0.5,
          'dd conv=fsync',
        ),
        ratioRow(
          `d) ${label} PutObject, multipart ${PART / MiB} MiB x${PART_CONCURRENCY}, MiB/s`,
          median(s.putMulti),
          ddMed,
          'MiB/s',
          0,
          0.5,
          'dd conv=fsync',
        ),
        ratioRow(
          `d) ${label} GetObject, single-request object, MiB/s`,
          median(s.getSingle),
          ngMed,
          'MiB/s',
          0,
          0.5,
          'nginx',
        ),
        ratioRow(`d) ${label} GetObject, multipart object, MiB/s`, median(s.getMulti), ngMed, 'MiB/s', 0, 0.5, 'nginx'),
        {
          scenario: 'd) Cellar peak RSS (VmHWM) over all of d',
          cellar: `${fmt(hwm / MiB)} MiB`,
          reference: '',
          ratio: null,
          target: '<= 200 MiB',
          met: hwm <= RSS_LIMIT,
        },
      ];
    } finally {
      agent.destroy();
      s3.close();
      await nginx.stop();
      await cellar.stop();
    }
  },
};
