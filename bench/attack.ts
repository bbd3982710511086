/**
 * `npm run attack`: the attacks of issue 12 (F1, F2, F3 and a slowloris) against a real server
 * process with its default limits, each while a normal visitor fetches the cached website page;
 * prints the visitor's latency per phase and what the server did to the attacker. Not part of
 * `npm test`: it measures, it does not assert (exit 1 only when the server dies or the visitor
 * gets an error).
 *
 *   node dist/bench/attack.js [--seconds 20] [--f1-connections 4000] [--slowloris-seconds 50]
 *
 * The slowloris phase lasts longer than headersTimeoutMs (30 s by default) plus the server's
 * sweep interval, so that it shows the server cutting those connections.
 *
 * Every packet goes to 127.0.0.1. Attackers connect from other loopback source addresses
 * (127.0.0.2 and up; Linux routes all of 127.0.0.0/8 locally) so that they are distinct clients
 * for the per-client connection cap, as real attackers would be; the visitor is 127.0.0.1.
 * Each attack is bounded: a fixed number of connections, for a fixed time.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { startCellar, type CellarServer } from './lib/cellar.js';
import { installSignalHandlers, memoryOf, runCleanups } from './lib/proc.js';
import { connect, requestHead, sleep } from './lib/rawhttp.js';
import { plainGet } from './lib/s3.js';
import { percentile } from './lib/stats.js';

/** dist/bench/attack.js -> the repository root. */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SITE = 'site';
const VICTIM = 'victim';

function log(msg: string): void {
  process.stderr.write(`[attack ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** The n-th attacker source address: 127.0.0.2, 127.0.0.3, ... 127.0.1.2, ...; never 127.0.0.1. */
function attackerAddress(n: number): string {
  return `127.0.${Math.floor(n / 250)}.${(n % 250) + 2}`;
}

interface Phase {
  name: string;
  /** What the attacker sent, in a few words. */
  attack: string;
  /** What the server did to it. */
  outcome: string;
  visitor: number[];
  visitorErrors: number;
  maxFds: number;
  maxRss: number;
}

/**
 * The visitor, in a worker thread: its own event loop, so that the attackers' work in this
 * process (2 MB bodies, thousands of sockets) does not show up as the visitor's latency.
 */
const VISITOR_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const ms = [];
let errors = 0;
let running = true;
parentPort.on('message', () => { running = false; });
const once = () => new Promise((resolve) => {
  const t0 = performance.now();
  const req = http.get({ host: '127.0.0.1', port: workerData.port, path: '/index.html', agent, headers: { host: workerData.host } }, (res) => {
    res.resume();
    res.on('end', () => { if (res.statusCode === 200) ms.push(performance.now() - t0); else errors++; resolve(); });
    res.on('error', () => { errors++; resolve(); });
  });
  req.on('error', () => { errors++; resolve(); });
});
(async () => {
  while (running) {
    await once();
    await new Promise((r) => setTimeout(r, 10));
  }
  agent.destroy();
  parentPort.postMessage({ ms, errors });
})();
`;

/** Fetches the page in a loop from 127.0.0.1 over one keep-alive connection until `stop()`. */
function visitor(cellar: CellarServer): { stop: () => Promise<{ ms: number[]; errors: number }> } {
  const worker = new Worker(VISITOR_SOURCE, {
    eval: true,
    workerData: { port: cellar.port, host: `${SITE}.localhost:${cellar.port}` },
  });
  const done = new Promise<{ ms: number[]; errors: number }>((resolve, reject) => {
    worker.once('message', (m: { ms: number[]; errors: number }) => resolve(m));
    worker.once('error', reject);
  });
  return {
    stop: async () => {
      worker.postMessage('stop');
      const r = await done;
      await worker.terminate();
      return r;
    },
  };
}

/** Samples the server's descriptors and RSS every 250 ms while `fn` runs. */
async function watched(cellar: CellarServer, fn: () => Promise<string>): Promise<[string, number, number]> {
  let maxFds = 0;
  let maxRss = 0;
  const sample = (): void => {
    try {
      maxFds = Math.max(maxFds, readdirSync(`/proc/${cellar.daemon.pid}/fd`).length);
      maxRss = Math.max(maxRss, memoryOf(cellar.daemon.pid).rss);
    } catch {
      // The process is gone: reported by the caller.
    }
  };
  const timer = setInterval(sample, 250);
  try {
    const outcome = await fn();
    sample();
    return [outcome, maxFds, maxRss];
  } finally {
    clearInterval(timer);
  }
}

async function phase(cellar: CellarServer, name: string, attack: string, fn: () => Promise<string>): Promise<Phase> {
  log(`${name}: ${attack}`);
  const v = visitor(cellar);
  const [outcome, maxFds, maxRss] = await watched(cellar, fn);
  const { ms, errors } = await v.stop();
  log(`${name}: ${outcome}`);
  return { name, attack, outcome, visitor: ms, visitorErrors: errors, maxFds, maxRss };
}

/** The status line of the first answer an attacker's socket received. */
const statusOf = new WeakMap<net.Socket, string>();

/** Opens `n` connections, at most `conc` connects in flight, spread over source addresses. */
async function openMany(
  port: number,
  n: number,
  perAddress: number,
  onOpen: (s: net.Socket, i: number) => void,
): Promise<{ opened: net.Socket[]; refused: number }> {
  const opened: net.Socket[] = [];
  let refused = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      try {
        const s = await connect(port, attackerAddress(Math.floor(i / perAddress)));
        s.on('error', () => {});
        // Read what the server sends (its answer, its close): a paused socket never sees 'end'.
        s.on('data', (c: Buffer) => {
          if (!statusOf.has(s)) statusOf.set(s, /^HTTP\/1\.1 (\d{3})/.exec(c.toString('latin1'))?.[1] ?? '?');
        });
        opened.push(s);
        onOpen(s, i);
      } catch {
        refused++;
      }
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  return { opened, refused };
}

/** Counts the sockets that the server closed (or reset) before `deadline`, and destroys the rest. */
async function closedBy(
  sockets: net.Socket[],
  deadline: number,
): Promise<{ closed: number; open: number; answers: string }> {
  let closed = 0;
  const started = Date.now();
  const closeMs: number[] = [];
  const waits = sockets.map(
    (s) =>
      new Promise<void>((resolve) => {
        if (s.destroyed || s.readableEnded) {
          closed++;
          resolve();
          return;
        }
        const t = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        let seen = false;
        const done = (): void => {
          if (seen) return;
          seen = true;
          clearTimeout(t);
          closeMs.push(Date.now() - started);
          closed++;
          resolve();
        };
        s.once('end', done);
        s.once('close', done);
      }),
  );
  await Promise.all(waits);
  const answers = new Map<string, number>();
  for (const s of sockets) {
    const a = statusOf.get(s) ?? 'none';
    answers.set(a, (answers.get(a) ?? 0) + 1);
    s.destroy();
  }
  const when = closeMs.length === 0 ? '' : ` (last after ${(Math.max(...closeMs) / 1000).toFixed(1)} s)`;
  return {
    closed,
    open: sockets.length - closed,
    answers: `answers ${[...answers].map(([k, v]) => `${v}x${k}`).join(' ')}${when}`,
  };
}

/**
 * F1: connections that send headers announcing a 100 MB body, then nothing. Sent as the issue
 * found it (GET / on a website host) and as an anonymous S3 PUT (a request that does read
 * bodies), half each; in waves of `n` for `seconds` (at most 10 waves), since a server that
 * answers them at once would otherwise end the attack early.
 */
async function f1(cellar: CellarServer, n: number, seconds: number): Promise<string> {
  const host = `${SITE}.localhost:${cellar.port}`;
  const end = Date.now() + seconds * 1000;
  let accepted = 0;
  let refusedAll = 0;
  let closedAll = 0;
  let openAll = 0;
  const answers: string[] = [];
  for (let wave = 0; wave < 10 && Date.now() < end; wave++) {
    const { opened, refused } = await openMany(cellar.port, n, 200, (s, i) => {
      const req =
        i % 2 === 0
          ? requestHead('GET', '/', { host, 'content-length': '100000000' })
          : requestHead('PUT', `/${VICTIM}/f1-${i}`, {
              host: `127.0.0.1:${cellar.port}`,
              'content-length': '100000000',
            });
      s.write(req);
    });
    const r = await closedBy(opened, end);
    accepted += opened.length;
    refusedAll += refused;
    closedAll += r.closed;
    openAll += r.open;
    answers.push(r.answers);
  }
  return `${accepted + refusedAll} connections in ${answers.length} waves (${accepted} accepted, ${refusedAll} refused): ${closedAll} closed by the server, ${openAll} still open when the phase ended (opened in its last moments); wave 1 ${answers[0] ?? ''}`;
}

/** F2: a policy condition of 9,000 `*a`, and anonymous GETs with a 15 KB Referer, 10 at a time. */
async function f2(cellar: CellarServer, seconds: number): Promise<string> {
  const s3 = cellar.client(4);
  const pattern = `${'*a'.repeat(9000)}*b`;
  const policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: '*',
        Action: 's3:GetObject',
        Resource: `arn:aws:s3:::${VICTIM}/*`,
        Condition: { StringLike: { 'aws:Referer': pattern } },
      },
    ],
  });
  const put = await s3.request('PUT', `/${VICTIM}`, { query: { policy: '' }, body: Buffer.from(policy) });
  s3.close();
  const policyOutcome = put.status === 204 || put.status === 200 ? 'policy accepted' : `policy refused ${put.status}`;
  const referer = `http://x/${'a'.repeat(15_000)}`;
  const statuses = new Map<number, number>();
  const end = Date.now() + seconds * 1000;
  const agents = Array.from(
    { length: 10 },
    (_, i) => new http.Agent({ keepAlive: true, localAddress: attackerAddress(i) }),
  );
  await Promise.all(
    agents.map(async (agent) => {
      while (Date.now() < end) {
        try {
          const r = await plainGet(`http://127.0.0.1:${cellar.port}/${VICTIM}/page.html`, agent, { referer });
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        } catch {
          statuses.set(0, (statuses.get(0) ?? 0) + 1);
        }
      }
      agent.destroy();
    }),
  );
  return `${policyOutcome} (${policy.length} B); ${[...statuses.values()].reduce((a, b) => a + b, 0)} GETs answered ${[...statuses].map(([s, c]) => `${c}x${s}`).join(' ')}`;
}

/** F3: anonymous DeleteObjects with 180,000 attributes on the Delete element, 10 at a time. */
async function f3(cellar: CellarServer, seconds: number): Promise<string> {
  let attrs = '';
  for (let i = 0; i < 180_000; i++) attrs += ` a${i}="x"`;
  const body = Buffer.from(`<Delete${attrs}><Object><Key>k</Key></Object></Delete>`);
  const md5 = createHash('md5').update(body).digest('base64');
  const statuses = new Map<number, number>();
  const ms: number[] = [];
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: 10 }, async (_, i) => {
      while (Date.now() < end) {
        const t0 = performance.now();
        const status = await new Promise<number>((resolve) => {
          const req = http.request(
            {
              host: '127.0.0.1',
              port: cellar.port,
              method: 'POST',
              path: `/${VICTIM}?delete`,
              localAddress: attackerAddress(i),
              agent: false,
              headers: { 'content-md5': md5, 'content-length': String(body.length), 'content-type': 'application/xml' },
            },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
              res.on('error', () => resolve(0));
            },
          );
          req.on('error', () => resolve(0));
          req.end(body);
        });
        ms.push(performance.now() - t0);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }),
  );
  return `${ms.length} requests of ${(body.length / 1e6).toFixed(1)} MB answered ${[...statuses].map(([s, c]) => `${c}x${s}`).join(' ')}, median ${percentile(ms, 50).toFixed(0)} ms each`;
}

/** Slowloris: 500 connections (100 per address) sending one header line every 2 s, never finishing. */
async function slowloris(cellar: CellarServer, seconds: number): Promise<string> {
  const { opened, refused } = await openMany(cellar.port, 500, 100, (s) => {
    s.write(`GET /index.html HTTP/1.1\r\nHost: ${SITE}.localhost:${cellar.port}\r\n`);
  });
  let n = 0;
  const trickle = setInterval(() => {
    for (const s of opened) if (!s.destroyed) s.write(`X-Slow-${n}: ${n}\r\n`);
    n++;
  }, 2000);
  try {
    const { closed, open, answers } = await closedBy(opened, Date.now() + seconds * 1000);
    return `500 connections (${opened.length} accepted, ${refused} refused): ${closed} closed by the server within ${seconds} s, ${open} still open; ${answers}`;
  } finally {
    clearInterval(trickle);
  }
}

/** The per-client cap, seen from one address opening more than it allows. */
async function perClientCap(cellar: CellarServer, cap: number): Promise<string> {
  const { opened } = await openMany(cellar.port, cap + 50, cap + 50, () => {});
  await sleep(500);
  const alive = opened.filter((s) => !s.destroyed && !s.readableEnded).length;
  for (const s of opened) s.destroy();
  return `${cap + 50} connections from one address: ${alive} kept, ${cap + 50 - alive} cut (cap ${cap})`;
}

function table(phases: Phase[]): string {
  const f = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '-');
  const rows = [
    '| phase | visitor GETs | p50 ms | p99 ms | max ms | visitor errors | server max fds | server max RSS MiB | p99 < 50 ms |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const p of phases) {
    const p99 = percentile(p.visitor, 99);
    rows.push(
      `| ${p.name} | ${p.visitor.length} | ${f(percentile(p.visitor, 50))} | ${f(p99)} | ${f(Math.max(...p.visitor))} | ${p.visitorErrors} | ${p.maxFds} | ${f(p.maxRss / 1048576)} | ${p99 < 50 ? 'yes' : 'NO'} |`,
    );
  }
  rows.push('', '| phase | attack | what the server did |', '|---|---|---|');
  for (const p of phases) rows.push(`| ${p.name} | ${p.attack} | ${p.outcome} |`);
  return rows.join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '20' },
      'f1-connections': { type: 'string', default: '4000' },
      'slowloris-seconds': { type: 'string', default: '50' },
    },
  });
  const seconds = Number(values.seconds);
  const f1n = Number(values['f1-connections']);
  const slowSeconds = Number(values['slowloris-seconds']);
  if (!(seconds > 0) || !(f1n > 0) || !(slowSeconds > 0)) {
    process.stderr.write('usage: npm run attack -- [--seconds 20] [--f1-connections 4000] [--slowloris-seconds 50]\n');
    return 2;
  }
  installSignalHandlers();
  const dir = mkdtempSync(path.join(tmpdir(), 'cellar-attack-'));
  // The product's default limits (config/default.json): the attack must meet what ships.
  const cellar = await startCellar({ repoRoot: REPO_ROOT, dataDir: path.join(dir, 'data'), cpus: null });
  const s3 = cellar.client(4);
  await s3.ok('PUT', `/${SITE}`, { headers: { 'x-amz-acl': 'public-read' } });
  await s3.ok('PUT', `/${SITE}`, {
    query: { website: '' },
    body: Buffer.from(
      '<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument></WebsiteConfiguration>',
    ),
  });
  await s3.ok('PUT', `/${SITE}/index.html`, {
    body: Buffer.from(`<!DOCTYPE html><title>visitor</title>${'<p>The quick brown fox.</p>\n'.repeat(150)}`),
    headers: { 'content-type': 'text/html', 'x-amz-acl': 'public-read' },
  });
  await s3.ok('PUT', `/${VICTIM}`);
  await s3.ok('PUT', `/${VICTIM}/page.html`, { body: Buffer.from('victim') });
  s3.close();
  log(`server pid ${cellar.daemon.pid} on port ${cellar.port} (default limits)`);
  const phases: Phase[] = [];
  phases.push(
    await phase(cellar, 'baseline', 'none', async () => {
      await sleep(seconds * 1000);
      return 'nothing to do';
    }),
  );
  phases.push(
    await phase(
      cellar,
      'F1 silent bodies',
      `${f1n} connections, headers with Content-Length 100000000, then silence`,
      () => f1(cellar, f1n, seconds),
    ),
  );
  phases.push(
    await phase(cellar, 'F2 policy glob', '9,000 `*a` StringLike + 15 KB Referer, 10 clients in a loop', () =>
      f2(cellar, seconds),
    ),
  );
  phases.push(
    await phase(cellar, 'F3 DeleteObjects attrs', 'anonymous, 180,000 attributes, 10 clients in a loop', () =>
      f3(cellar, seconds),
    ),
  );
  phases.push(
    await phase(cellar, 'slowloris', '500 connections, a header line every 2 s', () => slowloris(cellar, slowSeconds)),
  );
  phases.push(
    await phase(cellar, 'per-client cap', 'one address opens 306 connections', () => perClientCap(cellar, 256)),
  );
  const alive = cellar.daemon.alive();
  await cellar.stop();
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(
    `\nCellar under attack (default limits, server ${alive ? 'alive' : 'DEAD'} at the end)\n\n${table(phases)}\n`,
  );
  return alive && phases.every((p) => p.visitorErrors === 0) ? 0 : 1;
}

main()
  .then(async (code) => {
    await runCleanups();
    process.exit(code);
  })
  .catch(async (e: unknown) => {
    process.stderr.write(`attack: ${(e as Error).stack ?? String(e)}\n`);
    await runCleanups();
    process.exit(1);
  });
