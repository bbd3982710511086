/**
 * f) HTTPS with the same ECDSA P-256 certificate in Cellar (operator certificate in its certs
 * directory) and nginx: new TLS handshakes per second (every request on a new connection, no
 * session resumption, see tls-shim.ts), then keep-alive GETs of the cached 4 KiB page; then
 * Cellar's HTTP/2 against its own HTTP/1.1 on the same listener (h2load for both).
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { startCellar } from '../lib/cellar.js';
import { interleave, type BenchContext, type Scenario } from '../lib/context.js';
import { runOk } from '../lib/proc.js';
import { startNginx } from '../lib/refservers.js';
import { ratioRow, type Row } from '../lib/report.js';
import { median } from '../lib/stats.js';
import { noResumeShim } from '../lib/tls-shim.js';
import { h2load } from '../lib/h2load.js';
import { wrkSample, type WrkResult } from '../lib/wrk.js';
import { PAGE_PATH, publishSite, SITE_BUCKET, writeSiteRoot } from './site.js';

/** A self-signed ECDSA P-256 certificate for localhost and *.localhost. */
export async function makeCertificate(dir: string): Promise<{ cert: string; key: string }> {
  mkdirSync(dir, { recursive: true });
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  await runOk('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '30',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,DNS:*.localhost',
  ]);
  return { cert, key };
}

export const https: Scenario = {
  id: 'f',
  title: 'HTTPS: new TLS handshakes/s, keep-alive GETs, same ECDSA P-256 certificate',
  needs: [
    { cmd: 'wrk', pkg: 'wrk' },
    { cmd: 'nginx', pkg: 'nginx-light' },
    { cmd: 'openssl', pkg: 'openssl' },
    { cmd: 'gcc', pkg: 'gcc' },
    { cmd: 'h2load', pkg: 'nghttp2-client' },
    { cmd: '/usr/include/dlfcn.h', pkg: 'libc6-dev' },
  ],
  async run(ctx: BenchContext): Promise<Row[]> {
    const dir = ctx.scratch('f');
    const root = path.join(dir, 'www');
    const page = writeSiteRoot(root);
    const tls = await makeCertificate(path.join(dir, 'tls'));
    const shim = await noResumeShim(dir);
    // Cellar's certificate store layout: <certs>/<name>/cert.pem + key.pem (src/gateway/tls/store.ts).
    const certsDir = path.join(dir, 'certs');
    mkdirSync(path.join(certsDir, 'bench'), { recursive: true });
    copyFileSync(tls.cert, path.join(certsDir, 'bench/cert.pem'));
    copyFileSync(tls.key, path.join(certsDir, 'bench/key.pem'));
    const cellar = await startCellar({
      repoRoot: ctx.repoRoot,
      nodeArgs: ctx.cellarNodeArgs,
      dataDir: path.join(dir, 'cellar'),
      cpus: ctx.cpus.server,
      // Throughput, not the abuse guard: one h2load connection may open more than the default
      // 1000 streams per second on a fast machine.
      env: { CELLAR_HTTPS_PORT: '0', CELLAR_CERTS_DIR: certsDir, CELLAR_HTTP2_MAX_STREAMS_PER_SECOND: '1000000' },
    });
    if (cellar.httpsPort === null)
      throw new Error(`Cellar started without an HTTPS listener:\n${cellar.daemon.output()}`);
    const nginx = await startNginx({ dir: path.join(dir, 'nginx'), root, cpus: ctx.cpus.server, tls });
    await publishSite(cellar, page);
    // SNI comes from the URL (localhost resolves, and the certificate covers it); Cellar routes
    // the site on the Host header.
    const sides = [
      {
        name: 'cellar',
        url: `https://localhost:${cellar.httpsPort}${PAGE_PATH}`,
        host: `${SITE_BUCKET}.localhost:${cellar.httpsPort}`,
        pid: cellar.daemon.pid,
      },
      { name: 'nginx', url: `https://localhost:${nginx.port}${PAGE_PATH}`, host: undefined, pid: nginx.daemon.pid },
    ];
    const seconds = ctx.quick ? 3 : 10;
    const sample = (side: (typeof sides)[number], fresh: boolean, s = seconds): Promise<WrkResult> =>
      wrkSample(
        `${side.name} ${fresh ? 'new connections' : 'keep-alive'}`,
        {
          url: side.url,
          host: side.host,
          seconds: s,
          cpus: ctx.cpus.client,
          serverPids: [side.pid],
          ...(fresh ? { connections: 16, headers: ['Connection: close'], preload: shim } : { connections: 32 }),
        },
        ctx.log,
      );
    for (const fresh of [true, false]) for (const side of sides) await sample(side, fresh, 2);
    const perCpu = sides.map((): number[] => []);
    const [hc, hn] = await interleave(
      ctx.rounds,
      sides.map((side, i) => ({
        name: `${side.name} new connections/s`,
        measure: async () => {
          const r = await sample(side, true);
          perCpu[i]!.push(r.requestsPerSec / r.serverCores);
          return r.requestsPerSec;
        },
      })),
      ctx.log,
    );
    const [kc, kn] = await interleave(
      ctx.rounds,
      sides.map((side) => ({
        name: `${side.name} keep-alive req/s`,
        measure: async () => (await sample(side, false)).requestsPerSec,
      })),
      ctx.log,
    );
    const cellarSide = sides[0]!;
    const protocolCpu: [number[], number[]] = [[], []];
    const [p2, p1] = await interleave(
      ctx.rounds,
      [false, true].map((http1, i) => ({
        name: `cellar ${http1 ? 'HTTP/1.1' : 'HTTP/2'} (h2load) req/s`,
        measure: async () => {
          const r = await h2load({
            url: cellarSide.url,
            authority: cellarSide.host,
            connections: 16,
            streams: 10,
            seconds,
            http1,
            cpus: ctx.cpus.client,
            serverPids: [cellarSide.pid],
          });
          ctx.log(
            `    cellar ${r.protocol}: ${r.requestsPerSec.toFixed(0)} req/s, server CPU ${r.serverCores.toFixed(2)} cores`,
          );
          protocolCpu[i]!.push(r.requestsPerSec / r.serverCores);
          return r.requestsPerSec;
        },
      })),
      ctx.log,
    );
    return [
      ratioRow(
        'f) HTTPS new connections (full TLS 1.3 handshake + GET)/s',
        median(hc!),
        median(hn!),
        '/s',
        0,
        0.5,
        'nginx',
      ),
      ratioRow('f) same, per server CPU-second', median(perCpu[0]!), median(perCpu[1]!), '/CPU-s', 0, 0.5, 'nginx'),
      ratioRow('f) HTTPS keep-alive GET 4 KiB, req/s', median(kc!), median(kn!), 'req/s', 0, 0.5, 'nginx'),
      ratioRow(
        'f) same over HTTP/2 (16 conns x 10 streams) vs Cellar HTTP/1.1 (16 conns), req/s',
        median(p2!),
        median(p1!),
        'req/s',
        0,
        0.5,
        'Cellar HTTP/1.1',
      ),
      ratioRow(
        'f) same, per server CPU-second',
        median(protocolCpu[0]),
        median(protocolCpu[1]),
        '/CPU-s',
        0,
        0.5,
        'Cellar HTTP/1.1',
      ),
    ];
  },
};
