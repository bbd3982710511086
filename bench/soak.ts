/**
 * `npm run soak -- --minutes N`: a real server process under mixed S3 and website load for N
 * minutes (issue 12, scope 6). Not part of `npm test`: it takes as long as it is told to.
 *
 *   node dist/bench/soak.js [--minutes 30] [--sample-seconds 5] [--keep]
 *
 * Load, all on 127.0.0.1: writers that overwrite and delete keys they own (each key has one
 * writer, so the last acknowledged write is the one that must be read back), readers checking
 * MD5s, multipart uploads completed and aborted, listings, a visitor of the cached website page
 * while its object is rewritten, slow uploads trickled over seconds, uploads cut off halfway,
 * downloads dropped after the first bytes, and connections that send headers then go silent.
 *
 * Every `--sample-seconds` it records the server's RSS and open descriptors (/proc/PID) and, by
 * a probe loaded with `node --import` (bench/soak-probe.ts, nothing added to the product), its
 * V8 heap and event-loop delay. Exit 1 when a figure keeps growing (see `growing` below) or an
 * invariant breaks: an acknowledged object unreadable or with another MD5, a temp file left
 * after the stop, SQLite `integrity_check` not ok, the server dying, or a request answered 5xx.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { startCellar, type CellarServer } from './lib/cellar.js';
import { installSignalHandlers, memoryOf, runCleanups } from './lib/proc.js';
import { connect, readAnswer, requestHead, sleep } from './lib/rawhttp.js';
import { plainGet, type S3Client } from './lib/s3.js';
import { percentile, prng } from './lib/stats.js';

/** dist/bench/soak.js -> the repository root. */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUCKET = 'soak';
const SITE = 'site';
const WRITERS = 6;
const KEYS_PER_WRITER = 40;
/** S3's smallest part but the last (AWS: UploadPart). */
const PART = 5 * 1024 * 1024;
/** Short enough that silent clients are cut several times a minute; the defaults are 30 s. */
const BODY_IDLE_MS = 3000;
const HEADERS_MS = 3000;

function log(msg: string): void {
  process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

interface Sample {
  t: number;
  rss: number;
  fds: number;
  heapUsed: number;
  eldP99: number;
}

class Soak {
  /** key -> MD5 of its last acknowledged write; absent after an acknowledged delete. */
  readonly expected = new Map<string, string>();
  readonly counts = new Map<string, number>();
  readonly failures: string[] = [];
  readonly visitorMs: number[] = [];
  stopping = false;

  constructor(
    readonly cellar: CellarServer,
    readonly s3: S3Client,
  ) {}

  count(what: string): void {
    this.counts.set(what, (this.counts.get(what) ?? 0) + 1);
  }

  fail(what: string): void {
    if (this.failures.length < 50) this.failures.push(what);
    log(`FAIL ${what}`);
  }

  /** A writer: PUT, overwrite, GET-and-check and DELETE over the keys it alone owns. */
  async writer(w: number): Promise<void> {
    const rand = prng(1000 + w);
    while (!this.stopping) {
      const key = `w${w}/k${Math.floor(rand() * KEYS_PER_WRITER)}`;
      const roll = rand();
      try {
        if (roll < 0.5) {
          const size = rand() < 0.1 ? 0 : Math.floor(rand() * rand() * 512 * 1024);
          const body = randomBytes(size);
          const r = await this.s3.request('PUT', `/${BUCKET}/${key}`, { body });
          if (r.status === 200) this.expected.set(key, md5(body));
          else this.fail(`PUT ${key} -> ${r.status}`);
          this.count('put');
        } else if (roll < 0.85) {
          const r = await this.s3.request('GET', `/${BUCKET}/${key}`, { keepBody: true });
          const want = this.expected.get(key);
          if (want === undefined) {
            if (r.status !== 404) this.fail(`GET deleted ${key} -> ${r.status}`);
          } else if (r.status !== 200 || md5(r.body ?? Buffer.alloc(0)) !== want) {
            this.fail(`GET ${key} -> ${r.status}, MD5 ${r.body ? md5(r.body) : '-'} (want ${want})`);
          }
          this.count('get');
        } else if (roll < 0.97) {
          const r = await this.s3.request('DELETE', `/${BUCKET}/${key}`);
          if (r.status === 204) this.expected.delete(key);
          else this.fail(`DELETE ${key} -> ${r.status}`);
          this.count('delete');
        } else {
          const r = await this.s3.request('GET', `/${BUCKET}`, {
            query: { 'list-type': '2', prefix: `w${w}/` },
            keepBody: true,
          });
          if (r.status !== 200) this.fail(`LIST -> ${r.status}`);
          this.count('list');
        }
      } catch (e) {
        this.fail(`writer ${w}: ${(e as Error).message}`);
        await sleep(500);
      }
    }
  }

  /** Multipart uploads of two parts (5 MiB + a tail), one in four aborted instead of completed. */
  async multipart(): Promise<void> {
    const rand = prng(77);
    let n = 0;
    while (!this.stopping) {
      const key = `mp/k${n++ % 8}`;
      try {
        const init = await this.s3.ok('POST', `/${BUCKET}/${key}`, { query: { uploads: '' }, keepBody: true });
        const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(init.body?.toString('utf8') ?? '')?.[1];
        if (uploadId === undefined) throw new Error('no UploadId');
        const parts = [randomBytes(PART), randomBytes(1 + Math.floor(rand() * 300_000))];
        const etags: string[] = [];
        for (const [i, body] of parts.entries()) {
          const r = await this.s3.ok('PUT', `/${BUCKET}/${key}`, {
            query: { partNumber: String(i + 1), uploadId },
            body,
          });
          etags.push(String(r.headers.etag));
        }
        if (rand() < 0.25) {
          await this.s3.ok('DELETE', `/${BUCKET}/${key}`, { query: { uploadId } });
          this.count('multipart-abort');
        } else {
          const xml = `<CompleteMultipartUpload>${etags
            .map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`)
            .join('')}</CompleteMultipartUpload>`;
          const r = await this.s3.ok('POST', `/${BUCKET}/${key}`, {
            query: { uploadId },
            body: Buffer.from(xml),
            keepBody: true,
          });
          if (!r.body?.toString('utf8').includes('<CompleteMultipartUploadResult')) throw new Error('complete failed');
          this.expected.set(key, md5(Buffer.concat(parts)));
          this.count('multipart-complete');
        }
      } catch (e) {
        this.fail(`multipart ${key}: ${(e as Error).message}`);
      }
      await sleep(1500);
    }
  }

  /** A visitor of the cached page, and an editor rewriting that page now and then. */
  async visitor(): Promise<void> {
    const url = `http://127.0.0.1:${this.cellar.port}/index.html`;
    const host = `${SITE}.localhost:${this.cellar.port}`;
    const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 2 });
    let i = 0;
    while (!this.stopping) {
      try {
        if (i++ % 200 === 0) {
          const page = Buffer.from(`<!DOCTYPE html><title>soak</title><p>${randomBytes(2048).toString('hex')}</p>`);
          await this.s3.ok('PUT', `/${SITE}/index.html`, {
            body: page,
            headers: { 'content-type': 'text/html', 'x-amz-acl': 'public-read' },
          });
        }
        const t0 = performance.now();
        const r = await plainGet(url, agent, { host });
        this.visitorMs.push(performance.now() - t0);
        if (r.status !== 200) this.fail(`website GET -> ${r.status}`);
        this.count('website-get');
      } catch (e) {
        this.fail(`visitor: ${(e as Error).message}`);
      }
      await sleep(20);
    }
    agent.destroy();
  }

  /** Uploads trickled at ~4 KiB/s (above the server's minimum rate): they must be acknowledged. */
  async slowWriter(): Promise<void> {
    let n = 0;
    while (!this.stopping) {
      const key = `slow/k${n++ % 4}`;
      const body = randomBytes(12 * 1024);
      try {
        const headers = this.s3.sign('PUT', `/${BUCKET}/${key}`, {}, { 'content-length': String(body.length) });
        headers['connection'] = 'close';
        const s = await connect(this.cellar.port);
        const answer = readAnswer(s, 60_000);
        s.write(requestHead('PUT', `/${BUCKET}/${key}`, headers));
        for (let off = 0; off < body.length; off += 1024) {
          s.write(body.subarray(off, off + 1024));
          await sleep(250);
        }
        const a = await answer;
        if (a.status === 200) this.expected.set(key, md5(body));
        else this.fail(`slow PUT ${key} -> ${a.status} ${a.body.slice(0, 200)}`);
        this.count('slow-put');
      } catch (e) {
        this.fail(`slow writer: ${(e as Error).message}`);
      }
    }
  }

  /** Clients that give up: an upload cut off halfway, a download dropped, headers then silence. */
  async quitter(): Promise<void> {
    let n = 0;
    while (!this.stopping) {
      const kind = n++ % 4;
      try {
        if (kind === 0) {
          // Never acknowledged, so the key's expected content is whatever it was.
          const key = `w0/k${n % KEYS_PER_WRITER}-cut`;
          const headers = this.s3.sign('PUT', `/${BUCKET}/${key}`, {}, { 'content-length': '200000' });
          const s = await connect(this.cellar.port);
          s.write(requestHead('PUT', `/${BUCKET}/${key}`, headers));
          s.write(randomBytes(70_000));
          await sleep(100);
          s.destroy();
          this.count('aborted-put');
        } else if (kind === 1) {
          const headers = this.s3.sign('GET', `/${BUCKET}/mp/k0`, {}, {});
          const s = await connect(this.cellar.port);
          s.write(requestHead('GET', `/${BUCKET}/mp/k0`, headers));
          await new Promise<void>((r) => {
            s.once('data', () => r());
            s.once('close', () => r());
          });
          s.destroy();
          this.count('aborted-get');
        } else if (kind === 2) {
          // A signed upload whose body never comes: cut after the body idle timeout, nothing stored.
          const key = `w1/k${n % KEYS_PER_WRITER}-silent`;
          const headers = this.s3.sign('PUT', `/${BUCKET}/${key}`, {}, { 'content-length': '100000' });
          const s = await connect(this.cellar.port);
          const answer = readAnswer(s, HEADERS_MS + BODY_IDLE_MS + 10_000);
          s.write(requestHead('PUT', `/${BUCKET}/${key}`, headers));
          s.write(randomBytes(1000));
          const a = await answer;
          if (!a.closedByServer) this.fail('a silent uploader was not disconnected');
          this.count('silent-upload');
        } else {
          // Announces a body on the website host and sends nothing more: the server must cut it.
          const s = await connect(this.cellar.port);
          const answer = readAnswer(s, HEADERS_MS + BODY_IDLE_MS + 10_000);
          s.write(
            requestHead('PUT', '/index.html', {
              host: `${SITE}.localhost:${this.cellar.port}`,
              'content-length': '100000000',
            }),
          );
          const a = await answer;
          if (!a.closedByServer) this.fail('a silent client was not disconnected');
          this.count('silent-client');
        }
      } catch (e) {
        this.fail(`quitter: ${(e as Error).message}`);
      }
      await sleep(300);
    }
  }

  /** GETs every key the load believes exists, and checks the listing names exactly those. */
  async verifyAll(): Promise<void> {
    const listed = new Set<string>();
    let token: string | undefined;
    do {
      const query: Record<string, string> = { 'list-type': '2' };
      if (token !== undefined) query['continuation-token'] = token;
      const r = await this.s3.ok('GET', `/${BUCKET}`, { query, keepBody: true });
      const xml = r.body?.toString('utf8') ?? '';
      for (const m of xml.matchAll(/<Key>([^<]*)<\/Key>/g)) listed.add(m[1]!);
      token = /<NextContinuationToken>([^<]+)</.exec(xml)?.[1];
    } while (token !== undefined);
    for (const [key, want] of this.expected) {
      const r = await this.s3.request('GET', `/${BUCKET}/${key}`, { keepBody: true });
      if (r.status !== 200 || md5(r.body ?? Buffer.alloc(0)) !== want) this.fail(`final GET ${key} -> ${r.status}`);
      if (!listed.has(key)) this.fail(`final listing lacks ${key}`);
    }
    for (const key of listed)
      if (!this.expected.has(key)) this.fail(`final listing has ${key}, deleted or never acknowledged`);
    log(`verified ${this.expected.size} objects (listing: ${listed.size})`);
  }
}

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function lastProbe(file: string): { heapUsed: number; eldP99: number } {
  try {
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const last = JSON.parse(lines[lines.length - 1] ?? '{}') as { heapUsed?: number; eldP99?: number };
    return { heapUsed: last.heapUsed ?? Number.NaN, eldP99: last.eldP99 ?? Number.NaN };
  } catch {
    return { heapUsed: Number.NaN, eldP99: Number.NaN };
  }
}

/** Least-squares slope of ys over xs. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/**
 * "Keeps growing": over the second half of the run, the fitted line rises by more than
 * `tolerance` (absolute floor or a share of the level, whichever is larger) AND the last
 * quarter's median is above the third quarter's. The first half is warm-up: JIT, caches filling
 * to their bounds, the heap finding its size. Both conditions, because a single late spike moves
 * the fit but not the medians, and a plateau reached late moves the medians but not much the fit.
 */
function growing(
  samples: Sample[],
  pick: (s: Sample) => number,
  floor: number,
  share: number,
): { grew: boolean; rise: number; first: number; last: number } {
  const half = samples.slice(Math.floor(samples.length / 2)).filter((s) => Number.isFinite(pick(s)));
  if (half.length < 4) return { grew: false, rise: 0, first: Number.NaN, last: Number.NaN };
  const xs = half.map((s) => s.t / 1000);
  const ys = half.map(pick);
  const rise = slope(xs, ys) * (xs[xs.length - 1]! - xs[0]!);
  const q = Math.floor(half.length / 2);
  const med = (a: number[]): number => percentile(a, 50);
  const q3 = med(ys.slice(0, q));
  const q4 = med(ys.slice(q));
  const level = med(ys);
  return { grew: rise > Math.max(floor, share * level) && q4 > q3, rise, first: ys[0]!, last: ys[ys.length - 1]! };
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = path.join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(dir);
  return out;
}

const MiB = 1024 * 1024;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '30' },
      'sample-seconds': { type: 'string', default: '5' },
      keep: { type: 'boolean', default: false },
    },
  });
  const minutes = Number(values.minutes);
  const every = Number(values['sample-seconds']) * 1000;
  if (!(minutes > 0) || !(every > 0)) {
    process.stderr.write('usage: npm run soak -- [--minutes N (default 30)] [--sample-seconds S] [--keep]\n');
    return 2;
  }
  installSignalHandlers();
  const dir = mkdtempSync(path.join(tmpdir(), 'cellar-soak-'));
  const probeFile = path.join(dir, 'probe.jsonl');
  const dataDir = path.join(dir, 'data');
  const cellar = await startCellar({
    repoRoot: REPO_ROOT,
    dataDir,
    cpus: null,
    nodeArgs: ['--import', path.join(REPO_ROOT, 'dist/bench/soak-probe.js')],
    env: {
      CELLAR_SOAK_PROBE_FILE: probeFile,
      CELLAR_HEADERS_TIMEOUT_MS: String(HEADERS_MS),
      CELLAR_BODY_IDLE_TIMEOUT_MS: String(BODY_IDLE_MS),
      // The collector runs during the load (its grace stays long: it must not race writes in flight).
      CELLAR_GC_INTERVAL_SECONDS: '120',
    },
  });
  log(`server pid ${cellar.daemon.pid} on port ${cellar.port}, data in ${dataDir}, ${minutes} min`);
  const s3 = cellar.client(32);
  await s3.ok('PUT', `/${BUCKET}`);
  await s3.ok('PUT', `/${SITE}`, { headers: { 'x-amz-acl': 'public-read' } });
  await s3.ok('PUT', `/${SITE}`, {
    query: { website: '' },
    body: Buffer.from(
      '<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument></WebsiteConfiguration>',
    ),
  });
  const soak = new Soak(cellar, s3);
  const samples: Sample[] = [];
  const started = Date.now();
  const end = started + minutes * 60_000;
  const load = [
    ...Array.from({ length: WRITERS }, (_, w) => soak.writer(w)),
    soak.multipart(),
    soak.visitor(),
    soak.slowWriter(),
    soak.quitter(),
  ];
  let lastLog = 0;
  while (Date.now() < end && cellar.daemon.alive()) {
    await sleep(every);
    const pid = cellar.daemon.pid;
    try {
      const probe = lastProbe(probeFile);
      samples.push({ t: Date.now() - started, rss: memoryOf(pid).rss, fds: fdCount(pid), ...probe });
    } catch (e) {
      soak.fail(`sampling: ${(e as Error).message}`);
    }
    if (Date.now() - lastLog > 60_000) {
      lastLog = Date.now();
      const s = samples[samples.length - 1];
      if (s)
        log(
          `t=${Math.round(s.t / 1000)}s rss=${(s.rss / MiB).toFixed(1)}MiB heap=${(s.heapUsed / MiB).toFixed(1)}MiB fds=${s.fds} eldP99=${s.eldP99.toFixed(1)}ms ops=${JSON.stringify(Object.fromEntries(soak.counts))}`,
        );
    }
  }
  if (!cellar.daemon.alive()) soak.fail(`the server died:\n${cellar.daemon.output()}`);
  soak.stopping = true;
  await Promise.all(load);
  if (cellar.daemon.alive()) await soak.verifyAll();
  s3.close();
  // Silent and lingering connections end within the server's timeouts; then nothing may be in tmp/.
  await sleep(HEADERS_MS + BODY_IDLE_MS + 3000);
  await cellar.stop();
  const leftovers = filesUnder(path.join(dataDir, 'tmp'));
  if (leftovers.length > 0) soak.fail(`temp files left after the stop: ${leftovers.slice(0, 5).join(', ')}`);
  const db = new Database(path.join(dataDir, 'meta.db'), { readonly: true });
  const integrity = db.pragma('integrity_check', { simple: true });
  db.close();
  if (integrity !== 'ok') soak.fail(`SQLite integrity_check: ${String(integrity)}`);

  const checks = [
    { name: 'RSS (MiB)', pick: (s: Sample) => s.rss / MiB, floor: 32, share: 0.15 },
    { name: 'V8 heap used (MiB)', pick: (s: Sample) => s.heapUsed / MiB, floor: 16, share: 0.15 },
    { name: 'open descriptors', pick: (s: Sample) => s.fds, floor: 16, share: 0.25 },
    { name: 'event-loop delay p99 (ms)', pick: (s: Sample) => s.eldP99, floor: 20, share: 0.5 },
  ];
  const rows: string[] = [];
  rows.push('| figure | min | median | max | 2nd half: first -> last | fitted rise over 2nd half | verdict |');
  rows.push('|---|---|---|---|---|---|---|');
  for (const c of checks) {
    const ys = samples.map(c.pick).filter(Number.isFinite);
    const g = growing(samples, c.pick, c.floor, c.share);
    if (g.grew) soak.fail(`${c.name} keeps growing: +${g.rise.toFixed(1)} over the second half`);
    const f = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '-');
    rows.push(
      `| ${c.name} | ${f(Math.min(...ys))} | ${f(percentile(ys, 50))} | ${f(Math.max(...ys))} | ${f(g.first)} -> ${f(g.last)} | ${g.rise >= 0 ? '+' : ''}${f(g.rise)} | ${g.grew ? 'GROWING' : 'flat'} |`,
    );
  }
  const v = soak.visitorMs;
  process.stdout.write(
    `\nCellar soak: ${minutes} min, ${samples.length} samples every ${every / 1000} s, server pid ${cellar.daemon.pid}\n\n${rows.join('\n')}\n\n` +
      `operations: ${JSON.stringify(Object.fromEntries(soak.counts))}\n` +
      `website visitor: ${v.length} GETs, p50 ${percentile(v, 50).toFixed(1)} ms, p99 ${percentile(v, 99).toFixed(1)} ms\n` +
      `objects verified at the end: ${soak.expected.size}; temp files after stop: ${leftovers.length}; integrity_check: ${String(integrity)}\n` +
      `result: ${soak.failures.length === 0 ? 'PASS' : `FAIL (${soak.failures.length} problems)\n  ${soak.failures.join('\n  ')}`}\n`,
  );
  if (values.keep) log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  return soak.failures.length === 0 ? 0 : 1;
}

main()
  .then(async (code) => {
    await runCleanups();
    process.exit(code);
  })
  .catch(async (e: unknown) => {
    process.stderr.write(`soak: ${(e as Error).stack ?? String(e)}\n`);
    await runCleanups();
    process.exit(1);
  });
